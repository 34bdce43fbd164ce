"""``policy generate``: the generated HCL, loaded into a real OpenBao, grants exactly the
environment's secrets — resolving works, a neighbouring path is denied — and lints clean."""

from __future__ import annotations

import secrets
from pathlib import Path

import hvac
import pytest
from click.testing import CliRunner

from tests.factory import write
from tests.servers import BaoServer
from vaultline.cli._app import cli
from vaultline.errors import ConfigError, PermissionDeniedError, ProviderError
from vaultline.policy.generate import generate_policy
from vaultline.policy.lint import lint_text
from vaultline.project.model import Project
from vaultline.providers.base import ProviderContext
from vaultline.providers.vault import VaultProvider
from vaultline.resolve.resolver import Resolver

SECRETS = """
    ConnectionStrings:Primary: vault:db.primary#password
    ConnectionStrings:User: vault:db.primary#user
    AI:OpenAI:ApiKey: vault
    Jwt:SigningKey: vault:jwt#value@1
"""


def project(root: Path, url: str, app: str, extra_providers: str = "") -> Project:
    write(root, {
        "vaultline.yaml": f"""
            version: 1
            app: {app}
            environments: [dev, prod]
            providers:
              vault: {{type: vault, url: "{url}", mount: kv}}
              {extra_providers}
        """,
        "env/prod/secrets.yaml": SECRETS,
    })
    return Project.load(root)


def seed(server: BaoServer, app: str) -> None:
    for path, data in [
        (f"{app}/prod/db.primary", {"password": "pw-canary", "user": "app"}),
        (f"{app}/prod/AI/OpenAI/ApiKey", {"value": "sk-canary"}),
        (f"{app}/prod/jwt", {"value": "jwt-1"}),
        (f"{app}/prod/jwt", {"value": "jwt-2"}),
        (f"{app}/prod/neighbour", {"value": "not-yours"}),
        (f"{app}/dev/db.primary", {"password": "dev-pw"}),
    ]:
        server.api("POST", f"kv/data/{path}", {"data": data})


def token_with_only(server: BaoServer, name: str, policy: str) -> str:
    client = hvac.Client(url=server.url, token=server.token)
    client.sys.create_or_update_policy(name=name, policy=policy)
    created = client.auth.token.create(policies=[name], no_default_policy=True, ttl="10m")
    return str(created["auth"]["client_token"])


def vault_as(server: BaoServer, root: Path, token: str, app: str,
             **options: str) -> VaultProvider:
    context = ProviderContext(app=app, env="prod", root=root, environ={"VAULT_TOKEN": token})
    return VaultProvider("vault", {"url": server.url, "mount": "kv", "retries": 0, **options},
                         context)


@pytest.fixture
def app() -> str:
    return f"gen-{secrets.token_hex(4)}"


def test_runtime_policy_resolves_the_environment_and_nothing_else(
        openbao: BaoServer, tmp_path: Path, app: str) -> None:
    seed(openbao, app)
    proj = project(tmp_path, openbao.url, app)
    generated = generate_policy(proj, "prod", "runtime", environ={})
    assert lint_text(generated.text, "generated.hcl") == []
    assert set(generated.rules) == {
        "auth/token/lookup-self", f"kv/data/{app}/prod/db.primary",
        f"kv/data/{app}/prod/AI/OpenAI/ApiKey", f"kv/data/{app}/prod/jwt"}
    assert all(caps == ("read",) for caps in generated.rules.values())

    token = token_with_only(openbao, f"{app}-prod-runtime", generated.text)
    with Resolver(proj, "prod", environ={"VAULT_TOKEN": token}) as resolver:
        bundle = resolver.resolve()
    assert bundle["ConnectionStrings:Primary"] == "pw-canary"
    assert bundle["Jwt:SigningKey"] == "jwt-1"  # the pinned version, through the same data/ rule

    vault = vault_as(openbao, tmp_path, token, app)
    dev = vault_as(openbao, tmp_path, token, app, prefix=f"{app}/dev")
    try:
        with pytest.raises(PermissionDeniedError):
            vault.fetch("neighbour")
        with pytest.raises(PermissionDeniedError):  # another environment: the server refuses
            dev.fetch("db.primary")
        with pytest.raises(ProviderError, match=r"no '\.' or '\.\.' segments"):
            vault.fetch("../dev/db.primary")  # and vaultline does not even ask
        with pytest.raises(PermissionDeniedError):
            vault.put("db.primary", '{"password": "overwritten"}')
        with pytest.raises(PermissionDeniedError):
            vault.list_paths()
    finally:
        vault.close()
        dev.close()


def test_ci_policy_writes_with_check_and_set_but_reads_no_neighbour(
        openbao: BaoServer, tmp_path: Path, app: str) -> None:
    seed(openbao, app)
    proj = project(tmp_path, openbao.url, app)
    generated = generate_policy(proj, "prod", "ci", environ={})
    assert lint_text(generated.text, "generated.hcl") == []
    assert generated.rules[f"kv/data/{app}/prod/jwt"] == ("create", "read", "update")
    assert generated.rules[f"kv/metadata/{app}/prod/jwt"] == ("read",)

    token = token_with_only(openbao, f"{app}-prod-ci", generated.text)
    vault = vault_as(openbao, tmp_path, token, app)
    try:
        assert vault.put("jwt", "jwt-3", cas=2) == "3"
        client = hvac.Client(url=openbao.url, token=token)
        meta = client.secrets.kv.v2.read_secret_metadata(path=f"{app}/prod/jwt", mount_point="kv")
        assert meta["data"]["current_version"] == 3
        with pytest.raises(PermissionDeniedError):
            vault.fetch("neighbour")
        with pytest.raises(PermissionDeniedError):
            vault.put("neighbour", "x")
    finally:
        vault.close()


def test_output_is_deterministic_and_names_its_origin(tmp_path: Path) -> None:
    proj = project(tmp_path, "http://127.0.0.1:1", "nexus-engine")
    first = generate_policy(proj, "prod", "runtime", environ={})
    assert first.text == generate_policy(proj, "prod", "runtime", environ={}).text
    head = first.text.splitlines()[:4]
    assert head[0] == "# vaultline: role=runtime"
    assert "environment prod, role runtime" in head[1]
    assert head[3] == "# Generated by: vaultline policy generate --env prod --role runtime"
    # two keys on one secret share one rule; the pinned key says so
    assert first.text.count('path "kv/data/nexus-engine/prod/db.primary"') == 1
    assert "# Jwt:SigningKey (pinned @1)" in first.text

    result = CliRunner().invoke(cli, ["policy", "generate", "--env", "prod", "--role", "runtime",
                                      "-C", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.output == first.text


@pytest.mark.parametrize(("secrets_yaml", "providers", "provider", "message"), [
    ("A: local\n", "", None, "references no vault provider"),
    ("A: vault\nB: vault2\n", "vault2: {type: vault, url: 'http://x:1'}", None,
     "several vault providers"),
    ("A: vault\n", "", "local", "not a vault provider"),
    ("A: vault\n", "vault2: {type: vault, url: 'http://x:1'}", "vault2", "references nothing"),
    ("A: 'vault:app/*'\n", "", None, "glob character"),
])
def test_refusals(tmp_path: Path, secrets_yaml: str, providers: str, provider: str | None,
                  message: str) -> None:
    project(tmp_path, "http://127.0.0.1:1", "nexus-engine", providers)
    (tmp_path / "env/prod/secrets.yaml").write_text(secrets_yaml)
    with pytest.raises(ConfigError, match=message):
        generate_policy(Project.load(tmp_path), "prod", "runtime", provider, environ={})


def test_unknown_role(tmp_path: Path) -> None:
    proj = project(tmp_path, "http://127.0.0.1:1", "nexus-engine")
    with pytest.raises(ConfigError, match="unknown role"):
        generate_policy(proj, "prod", "admin", environ={})


def test_openbao_reads_escapes_in_a_policy_path(openbao: BaoServer, tmp_path: Path,
                                                app: str) -> None:
    """Why a backslash is refused: Vault's HCL decodes ``\\x2a`` to ``*``, a glob."""
    seed(openbao, app)
    token = token_with_only(openbao, f"{app}-escape", (
        'path "auth/token/lookup-self" {\n  capabilities = ["read"]\n}\n'
        f'path "kv/data/{app}/prod/\\x2a" {{\n  capabilities = ["read"]\n}}\n'))
    vault = vault_as(openbao, tmp_path, token, app)
    try:
        assert vault.fetch("neighbour").value == {"value": "not-yours"}
    finally:
        vault.close()


# What a pull request could commit to widen the policy, each refused. In the order: an escape
# Vault decodes to a glob; a pinned version whose line break ends the comment and adds a
# rule ('${' then hides the rest of the line in a string the path's '}' closes); an app
# name doing the same in the header (the provider's prefix does not use it); a line break
# in a key (refused with the project); '${' in a path.
INJECTIONS = '[\\"read\\", \\"list\\", \\"sudo\\"]'  # in a YAML "string"


@pytest.mark.parametrize(("app_name", "prefix", "secrets_yaml", "message"), [
    ("nexus-engine", None, "A: 'vault:\\x2a#password'\n", "has a backslash"),
    ("nexus-engine", None,
     f'A: "vault:x}}#password@1\\npath \\"*\\" {{ capabilities = {INJECTIONS} }}\\npath \\"${{"\n',
     "line break"),
    (f'"nexus-engine\\npath \\"*\\" {{ capabilities = {INJECTIONS} }}\\n#"', "nexus-engine/prod",
     "A: vault:db#password\n", "app name .* line break"),
    ("nexus-engine", None, '"A\\n:path": vault:db#password\n', "segment 'A\\\\n' may hold only"),
    ("nexus-engine", None, "A: 'vault:a${x}#password'\n", "'\\$\\{'"),
])
def test_text_vault_reads_as_hcl_syntax_is_refused(tmp_path: Path, app_name: str,
                                                   prefix: str | None, secrets_yaml: str,
                                                   message: str) -> None:
    option = f", prefix: {prefix}" if prefix else ""
    write(tmp_path, {
        "vaultline.yaml": f"""
            version: 1
            app: {app_name}
            environments: [prod]
            providers:
              vault: {{type: vault, url: "http://127.0.0.1:1", mount: kv{option}}}
        """,
    })
    (tmp_path / "env/prod").mkdir(parents=True)
    (tmp_path / "env/prod/secrets.yaml").write_text(secrets_yaml)
    with pytest.raises(ConfigError, match=message):
        generate_policy(Project.load(tmp_path), "prod", "runtime", environ={})


def test_names_vault_reads_as_text_are_kept(tmp_path: Path) -> None:
    project(tmp_path, "http://127.0.0.1:1", "nexus-engine")
    (tmp_path / "env/prod/secrets.yaml").write_text('A: "vault:svc@team=a,b c/x}#password@3"\n')
    generated = generate_policy(Project.load(tmp_path), "prod", "runtime", environ={})
    assert "kv/data/nexus-engine/prod/svc@team=a,b c/x}" in generated.rules
    assert lint_text(generated.text, "generated.hcl") == []
