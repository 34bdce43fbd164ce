"""``put`` through a ``#field`` reference patches that field only, and a write that lands
between the read and the write is not lost — on every provider that stores maps: the embedded
store, OpenBao KV v2 (real server), AWS Secrets Manager (moto_server), Azure Key Vault (fake)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest

from tests.providers import test_aws, test_azure, test_vault
from tests.providers.azure_fake import FakeKeyVault, fake_key_vault
from tests.servers import BaoServer, MotoServer
from vaultline.errors import ProviderError, VersionConflictError
from vaultline.providers.base import Fetched, Provider, ProviderContext
from vaultline.providers.local import LocalProvider
from vaultline.store import EmbeddedStore

# Each case: (provider, path, write(value) by someone else, read back as a dict).
Case = tuple[Provider, str, Callable[[dict[str, str]], None], Callable[[], dict[str, str]]]


@pytest.fixture(scope="module")
def azure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeKeyVault]:
    with fake_key_vault(tmp_path_factory.mktemp("akv")) as server:
        yield server


def _local(tmp_path: Path, environ: dict[str, str]) -> Case:
    EmbeddedStore.create(tmp_path / ".vaultline", environ=environ)[0].close()
    provider = LocalProvider("local", {}, ProviderContext(
        app="nexus-engine", env="prod", root=tmp_path, environ=environ,
        store_dir=Path(".vaultline")))
    path = "db/prod"
    return (provider, path,
            lambda data: provider.store.put(path, json.dumps(data).encode()) and None,
            lambda: json.loads(provider.store.get(path).value))


def _vault(server: BaoServer, tmp_path: Path) -> Case:
    provider = test_vault.provider(server, tmp_path)
    path = f"patch-{secrets.token_hex(4)}/db"
    full = provider._full(path)  # under the provider's prefix
    return (provider, path, lambda data: test_vault.write(server, full, data) and None,
            lambda: dict(server.api("GET", f"kv/data/{full}")["data"]["data"]))


def _aws(server: MotoServer, tmp_path: Path) -> Case:
    provider = test_aws.provider(server, tmp_path)
    client = boto3.client("secretsmanager", endpoint_url=server.endpoint_url,
                          region_name="us-east-1")
    path = f"patch-{secrets.token_hex(4)}/db"

    def other(data: dict[str, str]) -> None:
        try:
            client.put_secret_value(SecretId=path, SecretString=json.dumps(data))
        except client.exceptions.ResourceNotFoundException:
            client.create_secret(Name=path, SecretString=json.dumps(data))

    return (provider, path, other,
            lambda: json.loads(client.get_secret_value(
                SecretId=path, VersionStage="AWSCURRENT")["SecretString"]))


def _azure(server: FakeKeyVault, tmp_path: Path) -> Case:
    provider = test_azure.provider(server, tmp_path)
    path = f"patch-{secrets.token_hex(4)}"
    return (provider, path, lambda data: server.set(path, json.dumps(data)) and None,
            lambda: json.loads(str(provider.fetch(path).value)))


@pytest.fixture(params=["local", "vault", "aws", "azure"])
def case(request: pytest.FixtureRequest, tmp_path: Path, environ: dict[str, str]) -> Case:
    name = request.param
    if name == "local":
        return _local(tmp_path, environ)
    if name == "vault":
        return _vault(request.getfixturevalue("openbao"), tmp_path)
    if name == "aws":
        return _aws(request.getfixturevalue("moto_server"), tmp_path)
    return _azure(request.getfixturevalue("azure"), tmp_path)


def test_a_field_write_keeps_the_other_fields(case: Case) -> None:
    provider, path, other, read = case
    other({"user": "app", "password": "old", "host": "db"})
    provider.put_field(path, "password", "new")
    assert read() == {"user": "app", "password": "new", "host": "db"}


def test_a_missing_secret_is_created_with_the_field(case: Case) -> None:
    provider, path, _, read = case
    provider.put_field(path, "password", "first")
    assert read() == {"password": "first"}


def test_a_concurrent_write_between_read_and_write_is_not_lost(case: Case) -> None:
    provider, path, other, read = case
    other({"user": "app", "password": "old"})
    real = provider.fetch
    raced = []

    def fetch_then_someone_writes(p: str, version: str | None = None) -> Fetched:
        fetched = real(p, version)
        if not raced:  # after our first read, before our write
            raced.append(True)
            other({"user": "app2", "password": "old"})
        return fetched

    provider.fetch = fetch_then_someone_writes  # type: ignore[method-assign]
    provider.put_field(path, "password", "new")
    assert raced and read() == {"user": "app2", "password": "new"}


def test_a_field_write_with_a_stale_cas_is_refused(case: Case) -> None:
    provider, path, other, read = case
    other({"user": "app", "password": "old"})
    other({"user": "app", "password": "older"})
    with pytest.raises(VersionConflictError, match="check-and-set failed"):
        provider.put_field(path, "password", "new", cas=1)
    assert read()["password"] == "older"


def test_a_field_write_into_a_text_secret_is_refused(case: Case) -> None:
    provider, path, _, _ = case
    if isinstance(provider, test_vault.VaultProvider):
        provider.put(path, "plain")  # KV stores {"value": "plain"}: a map, patched below
        provider.put_field(path, "extra", "x")
        assert provider.fetch(path).value == {"value": "plain", "extra": "x"}
        return
    provider.put(path, "plain text")
    with pytest.raises(ProviderError, match="not a JSON object"):
        provider.put_field(path, "password", "x")
    assert provider.fetch(path).value == "plain text"


def test_session_put_by_key_patches_the_referenced_field(openbao: BaoServer, tmp_path: Path,
                                                         environ: dict[str, str]) -> None:
    from tests.factory import make_project
    from vaultline.project.model import Project
    from vaultline.resolve.session import Session

    app = f"app-{secrets.token_hex(4)}"
    root = make_project(tmp_path, {
        "vaultline.yaml": f"""
            version: 1
            app: {app}
            environments: [prod]
            providers:
              vault: {{type: vault, url: "{openbao.url}", mount: kv, prefix: "{{app}}/{{env}}"}}
        """,
        "env/prod/secrets.yaml": "ConnectionStrings:Primary: vault:db#password\n",
    }, environ=environ)
    test_vault.write(openbao, f"{app}/prod/db", {"user": "app", "password": "old"})
    with Session(Project.load(root), "prod",
                 environ={**environ, "VAULT_TOKEN": openbao.token}) as session:
        written = session.put("ConnectionStrings:Primary", "newpw")
        assert written.version == "2"
        assert session.resolve(reveal=True)["ConnectionStrings:Primary"] == "newpw"
    data = openbao.api("GET", f"kv/data/{app}/prod/db")["data"]["data"]
    assert data == {"user": "app", "password": "newpw"}
    events = [json.loads(line) for line in (root / ".vaultline/audit.log").read_text().splitlines()]
    write = next(e for e in events if e["action"] == "write" and e["outcome"] == "ok")
    assert {k: write["detail"][k] for k in ("field", "version")} == {"field": "password",
                                                                     "version": "2"}
