"""Precedence (one table) and resolution end to end against the built-in providers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.factory import make_project
from vaultline.errors import ResolutionError
from vaultline.project.model import Project
from vaultline.resolve.bundle import Layer, Provenance, ResolvedValue
from vaultline.resolve.resolver import Resolver, merge
from vaultline.store import EmbeddedStore

D, P, S, O = Layer.DEFAULTS, Layer.PACK, Layer.SECRETS, Layer.OVERRIDE


def candidate(layer: Layer, value: str, secret: bool = False) -> ResolvedValue:
    return ResolvedValue("K", value, secret, Provenance(layer, f"src-{layer.value}"))


# (layers present, in any order, as (layer, value, secret)) -> (winner value, shadowed values, secret)
PRECEDENCE_TABLE = [
    ([(D, "d", False)], "d", [], False),
    ([(D, "d", False), (P, "p", False)], "p", ["d"], False),
    ([(P, "p", False), (D, "d", False)], "p", ["d"], False),
    ([(D, "d", False), (P, "p", False), (S, "s", True)], "s", ["p", "d"], True),
    ([(S, "s", True), (P, "p", False)], "s", ["p"], True),
    ([(D, "d", False), (P, "p", False), (S, "s", True), (O, "o", False)], "o", ["s", "p", "d"], True),
    ([(O, "o", False), (D, "d", False)], "o", ["d"], False),
    ([(S, "s", True), (O, "o", True)], "o", ["s"], True),
]


@pytest.mark.parametrize(("layers", "winner", "shadowed", "secret"), PRECEDENCE_TABLE)
def test_precedence(layers: list[tuple[Layer, str, bool]], winner: str, shadowed: list[str],
                    secret: bool) -> None:
    winners, shadows = merge(candidate(layer, value, s) for layer, value, s in layers)
    assert winners["K"].value == winner
    assert [c.value for c in shadows.get("K", [])] == shadowed
    # A key that is secret in any layer stays secret, whoever wins.
    assert winners["K"].secret is secret
    # And so does every value it shadowed: `env explain` masks them all.
    assert all(c.secret is secret for c in shadows.get("K", []))


def test_explain_masks_a_committed_value_shadowed_by_a_secret(tmp_path: Path) -> None:
    """A key not secret in the schema, given a secret reference in prod: the value committed in
    defaults (often one pasted there) is shown by `env explain` only as masked."""
    import os
    import subprocess
    import sys

    from tests.factory import master_key_env

    environ = master_key_env()
    root = make_project(tmp_path, {
        "vaultline.yaml": """
            version: 1
            app: nexus-engine
            environments: [prod]
            defaults:
              Api:Key: committed-api-key-123
        """,
        "env/prod/secrets.yaml": "Api:Key: local\n",
    }, environ=environ)
    with EmbeddedStore.open(root / ".vaultline", environ=environ) as store:
        store.put("nexus-engine/prod/Api/Key", b"stored-api-key")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULTLINE_")}
    env.update(environ, HOME=str(root), PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    for fmt in ("table", "json"):
        done = subprocess.run(
            [sys.executable, "-c", "import sys; from vaultline.cli import main; sys.exit(main())",
             "env", "explain", "Api:Key", "--env", "prod", "--format", fmt],
            cwd=root, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert "committed-api-key-123" not in done.stdout
        assert "stored-api-key" not in done.stdout
        assert done.stdout.count("********") == 2


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, master_key: dict[str, str]) -> Path:
    monkeypatch.chdir(tmp_path)
    make_project(tmp_path, {
        "vaultline.yaml": """
            version: 1
            app: nexus-engine
            environments: [dev, prod]
            defaults:
              Logging:Level: Information
              Http:Timeout: 30
            schema:
              ConnectionStrings:Primary: {secret: true, required: true}
              Jwt:Issuer: {required: true}
              Sentry:Dsn: {secret: true, required: false}
            providers:
              dotfile: {type: dotenv, path: .env.test}
        """,
        "env/prod/values.yaml": "Logging:Level: Warning\nJwt:Issuer: https://issuer/\n",
        "env/prod/secrets.yaml": """
            ConnectionStrings:Primary: local
            Db:Password: local:shared/db#password
            Api:Key: env:NEXUS_API_KEY
            Jwt:SigningKey: file:keys/jwt.pem
            Smtp:Password: dotfile:SMTP_PASSWORD
            Sentry:Dsn: local:not/there
        """,
        ".env.test": "SMTP_PASSWORD='smtp \"quoted\" pw'\n",
        "keys/jwt.pem": "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n",
    }, environ=master_key)
    monkeypatch.setenv("NEXUS_API_KEY", "api-key-value")
    store = EmbeddedStore.open(tmp_path / ".vaultline")
    store.put("nexus-engine/prod/ConnectionStrings/Primary", b"postgres://old")
    store.put("nexus-engine/prod/ConnectionStrings/Primary", b"postgres://app:pw@db/app")
    store.put("shared/db", json.dumps({"password": "db-pw", "user": "app"}).encode())
    store.close()
    return tmp_path


def test_resolves_every_layer_and_provider(project: Path) -> None:
    with Resolver(Project.load(project), "prod") as resolver:
        bundle = resolver.resolve()
    assert bundle.flat() == {
        "Api:Key": "api-key-value",
        "ConnectionStrings:Primary": "postgres://app:pw@db/app",
        "Db:Password": "db-pw",
        "Http:Timeout": 30,
        "Jwt:Issuer": "https://issuer/",
        "Jwt:SigningKey": "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----",
        "Logging:Level": "Warning",
        "Smtp:Password": 'smtp "quoted" pw',
    }
    primary = bundle.resolved("ConnectionStrings:Primary")
    assert primary.secret and primary.provenance == Provenance(
        Layer.SECRETS, "local", "local", "nexus-engine/prod/ConnectionStrings/Primary", "2")
    explanation = bundle.explain("Logging:Level")
    assert explanation.winner.provenance.source == "env/prod/values.yaml:1"
    assert [s.provenance.source for s in explanation.shadowed] == ["vaultline.yaml:5"]
    assert any("Sentry:Dsn: optional secret skipped" in w for w in bundle.warnings)


def test_version_pin(project: Path) -> None:
    (project / "env/prod/secrets.yaml").write_text("ConnectionStrings:Primary: local@1\n")
    with Resolver(Project.load(project), "prod") as resolver:
        assert resolver.resolve()["ConnectionStrings:Primary"] == "postgres://old"


def test_all_or_nothing_lists_every_failure(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEXUS_API_KEY")
    (project / "env/prod/secrets.yaml").write_text(
        "ConnectionStrings:Primary: local:nexus-engine/prod/Nope\n"
        "Api:Key: env:NEXUS_API_KEY\n"
        "Db:Password: local:shared/db#pass\n"
        "Ok: local:shared/db#user\n")
    (project / "env/prod/values.yaml").write_text("Logging:Level: Warning\n")
    with Resolver(Project.load(project), "prod") as resolver, \
            pytest.raises(ResolutionError) as caught:
        resolver.resolve()
    failures = {f.key: f.reason for f in caught.value.failures}
    assert failures == {
        "Api:Key": "environment variable NEXUS_API_KEY is not set (nor NEXUS_API_KEY_FILE)",
        "ConnectionStrings:Primary": "no secret at nexus-engine/prod/Nope",
        "Db:Password": "field 'pass' not found (fields: password, user)",
        "Jwt:Issuer": "required, but no layer gives it a value",
    }
    assert "db-pw" not in str(caught.value) and "app" not in str(caught.value).split("fields")[0]


def test_each_distinct_secret_is_fetched_once(project: Path) -> None:
    (project / "env/prod/secrets.yaml").write_text(
        "ConnectionStrings:Primary: local\nDb:User: local:shared/db#user\n"
        "Db:Password: local:shared/db#password\n")
    with Resolver(Project.load(project), "prod") as resolver:
        provider = resolver.provider("local")
        calls: list[list[tuple[str, str | None]]] = []
        original = provider.fetch_many

        def spy(requests):  # type: ignore[no-untyped-def]
            requests = list(requests)
            calls.append(requests)
            return original(requests)

        provider.fetch_many = spy  # type: ignore[method-assign]
        bundle = resolver.resolve()
    assert bundle["Db"]["User"] == "app"
    assert len(calls) == 1
    assert sorted(calls[0]) == sorted(set(calls[0]))
    assert len(set(calls[0])) == 2


def test_env_file_convention(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEXUS_API_KEY")
    secret_file = project / "api-key.txt"
    secret_file.write_text("from-a-file\n")
    monkeypatch.setenv("NEXUS_API_KEY_FILE", str(secret_file))
    with Resolver(Project.load(project), "prod") as resolver:
        assert resolver.resolve()["Api:Key"] == "from-a-file"


def test_references_show_concrete_paths(project: Path) -> None:
    with Resolver(Project.load(project), "prod") as resolver:
        rows = {r.key: (str(r.reference), r.path) for r in resolver.references()}
    assert rows["ConnectionStrings:Primary"] == ("local", "nexus-engine/prod/ConnectionStrings/Primary")
    assert rows["Db:Password"] == ("local:shared/db#password", "shared/db")


@pytest.mark.parametrize(
    ("value", "field", "expected"),
    [
        ("text", None, "text"),
        ({"value": "plain"}, None, "plain"),
        ({"value": "plain"}, "value", "plain"),
        ({"user": "app", "password": "pw"}, None, '{"user":"app","password":"pw"}'),
        ({"user": "app", "password": "pw"}, "password", "pw"),
        ('{"port": 5432}', "port", "5432"),
    ],
)
def test_select_field(value: object, field: str | None, expected: str) -> None:
    from vaultline.project.reference import Reference
    from vaultline.providers.base import Fetched
    from vaultline.resolve.resolver import select_field

    assert select_field(Fetched(value), Reference("p", "x", field)) == expected  # type: ignore[arg-type]


def test_an_environment_that_resolves_nothing_says_where_to_add_keys(tmp_path: Path) -> None:
    make_project(tmp_path, {"vaultline.yaml": "app: a\nenvironments: [dev]\n",
                            "env/dev/values.yaml": "{}\n", "env/dev/secrets.yaml": "{}\n"})
    with Resolver(Project.load(tmp_path), "dev", environ={}) as resolver:
        bundle = resolver.resolve()
    assert len(bundle) == 0
    assert bundle.warnings == ["dev resolves no keys: add values to env/dev/values.yaml or "
                               "references to env/dev/secrets.yaml"]


def test_schema_secret_false_marks_a_provider_value_public(project: Path) -> None:
    (project / "vaultline.yaml").write_text((project / "vaultline.yaml").read_text().replace(
        "schema:\n", "schema:\n  Db:User: {secret: false}\n", 1))
    (project / "env/prod/secrets.yaml").write_text(
        "ConnectionStrings:Primary: local\nDb:User: local:shared/db#user\n"
        "Db:Password: local:shared/db#password\n")
    with Resolver(Project.load(project), "prod") as resolver:
        bundle = resolver.resolve()
    assert bundle.resolved("Db:User").secret is False
    assert bundle.resolved("Db:Password").secret is True
    assert bundle["Db:User"] not in bundle.secret_values()
