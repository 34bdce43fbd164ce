"""Small leaks: pydantic errors, optional secrets on auth failure, pasted values in secrets.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from tests.factory import make_project
from tests.servers import BaoServer
from vaultline.errors import ConfigError, ResolutionError
from vaultline.project.model import Project
from vaultline.project.pasted import looks_like_value
from vaultline.resolve.bundle import Bundle, Layer, Provenance, ResolvedValue
from vaultline.resolve.resolver import Resolver
from vaultline.settings_source import VaultlineSettingsSource

SECRET = "not-a-port-s3cr3t-9f8e7d"


class Db(BaseModel):
    port: int
    password: SecretStr
    user: str


def settings_class() -> type[BaseSettings]:
    class Settings(BaseSettings):
        db: Db

        @classmethod
        def settings_customise_sources(
            cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            bundle = Bundle("prod", {k: ResolvedValue(k, v, k != "Db:User",
                                                      Provenance(Layer.SECRETS, "t"))
                                     for k, v in VALUES.items()})
            return (VaultlineSettingsSource(settings_cls, bundle=bundle),)

    return Settings


VALUES: dict[str, object] = {}


def test_validation_error_does_not_show_the_secret() -> None:
    VALUES.clear()
    VALUES.update({"Db:Port": SECRET, "Db:Password": SECRET, "Db:User": ["not", "a", "str"]})
    with pytest.raises(ValidationError) as caught:
        settings_class()()
    text = str(caught.value) + repr(caught.value) + repr(caught.value.errors())
    assert SECRET not in text
    assert SECRET not in caught.value.json()  # what web frameworks send back and loggers keep
    assert "input_value='********'" in str(caught.value)
    assert "'not', 'a', 'str'" in str(caught.value)  # not a secret: shown as pydantic does


class Pool(BaseModel):
    hosts: list[int]
    options: dict[str, int]


def test_secret_lists_and_mappings_are_masked_item_by_item() -> None:
    class Settings(BaseSettings):
        pool: Pool

        @classmethod
        def settings_customise_sources(
            cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            values = {"Pool:Hosts": ["1", SECRET], "Pool:Options": {"retries": SECRET}}
            bundle = Bundle("prod", {k: ResolvedValue(k, v, True, Provenance(Layer.SECRETS, "t"))
                                     for k, v in values.items()})
            return (VaultlineSettingsSource(settings_cls, bundle=bundle),)

    with pytest.raises(ValidationError) as caught:
        Settings()
    assert [e["loc"] for e in caught.value.errors()] == [("pool", "hosts", 1),
                                                         ("pool", "options", "retries")]
    assert SECRET not in str(caught.value) + caught.value.json()


def test_valid_secrets_arrive_as_plain_values() -> None:
    VALUES.clear()
    VALUES.update({"Db:Port": "5432", "Db:Password": SECRET, "Db:User": "app"})
    settings = settings_class()()
    db = settings.db  # type: ignore[attr-defined]
    assert db.port == 5432 and db.user == "app"
    assert type(db.password.get_secret_value()) is str
    assert db.password.get_secret_value() == SECRET


@pytest.fixture
def bao_project(tmp_path: Path, openbao: BaoServer) -> Path:
    openbao.api("POST", "kv/data/leaks/prod/present", {"data": {"value": "v-present"}})
    return make_project(tmp_path, {
        "vaultline.yaml": f"""
            version: 1
            app: leaks
            environments: [prod]
            schema:
              Opt:Missing: {{secret: true, required: false}}
              Opt:Present: {{secret: true, required: false}}
            providers:
              bao: {{type: vault, url: "{openbao.url}", mount: kv, prefix: "{{app}}/{{env}}"}}
        """,
        "env/prod/values.yaml": "A: b\n",
        "env/prod/secrets.yaml": "Opt:Missing: bao:absent\n"
                                 "Opt:Present: bao:present\n",
    })


def test_optional_secret_skipped_only_when_missing(bao_project: Path, openbao: BaoServer) -> None:
    project = Project.load(bao_project)
    with Resolver(project, "prod", environ={"VAULT_TOKEN": openbao.token}) as resolver:
        bundle = resolver.resolve()
    assert bundle["Opt:Present"] == "v-present" and "Opt:Missing" not in bundle
    assert any("Opt:Missing: optional secret skipped" in w for w in bundle.warnings)
    for token in ("wrong-token", policy_less_token(openbao)):
        with Resolver(Project.load(bao_project), "prod", environ={"VAULT_TOKEN": token}) as resolver, \
                pytest.raises(ResolutionError) as caught:
            resolver.resolve()
        assert {f.key for f in caught.value.failures} == {"Opt:Missing", "Opt:Present"}


def policy_less_token(openbao: BaoServer) -> str:
    """A valid token that may read nothing: 403, not 404."""
    answer = openbao.api("POST", "auth/token/create", {"policies": ["default"], "ttl": "10m"})
    return str(answer["auth"]["client_token"])


PASTED = [
    "sk-live-4eC39HqLyjWDarjtT1zdp7dc",
    "ghp_R8aK2mQ9xL4vT7nB3cZ6wY1pF5sD0hJgE2uW",
    "postgres://app:s3cret-pasted@db/app",
    "AKIAZ3MHALXQ4PQRT7VN",
    "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5",
    "sk_live_4eC39HqLy@jWDarjtT1zdp7dc",
]
REFERENCES = ["hashicorp:db#pw", "vault:nexus-engine/prod/db.primary#password", "awsx",
              "aws-secretsmanager2:app/db", "vault-eu-west-1-prod:x", "my-very-long-provider"]


@pytest.mark.parametrize("text", PASTED)
def test_pasted_value_is_never_quoted(tmp_path: Path, text: str) -> None:
    make_project(tmp_path, {"env/prod/secrets.yaml": f"ConnectionStrings:Primary: '{text}'\n"})
    with pytest.raises(ConfigError) as caught:
        Project.load(tmp_path).pack("prod")
    message = str(caught.value)
    assert message.startswith(f"{tmp_path}/env/prod/secrets.yaml:1: 'ConnectionStrings:Primary': "
                              "this looks like a value, not a reference (not shown)")
    for piece in (text, text[:12], text[-8:]):
        assert piece not in message


@pytest.mark.parametrize("text", REFERENCES)
def test_mistyped_references_are_quoted(text: str) -> None:
    assert not looks_like_value(text)
