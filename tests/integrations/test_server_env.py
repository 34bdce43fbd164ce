"""Vault/OpenBao and AWS configured the way their own CLIs are: VAULT_*/BAO_* and AWS_*
variables from the environment vaultline is given, config winning; namespaces against a real
OpenBao; KV v2 versions, soft delete, undelete, destroy and rollback; AWS rollback of
AWSCURRENT against moto_server."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.factory import write
from tests.servers import BaoServer, MotoServer
from vaultline.errors import AuthenticationError, ConfigError, ResolutionError
from vaultline.project.model import Project
from vaultline.providers.aws import AwsSecretsManagerProvider
from vaultline.providers.base import ProviderContext
from vaultline.providers.vault import VaultProvider
from vaultline.resolve.resolver import Resolver

VAULTLINE = str(Path(sys.executable).with_name("vaultline"))


def vault(root: Path, environ: dict[str, str], **options: Any) -> VaultProvider:
    context = ProviderContext(app="shop", env="prod", root=root, environ=environ)
    return VaultProvider("vault", options, context)


def test_vault_settings_come_from_the_environment_and_config_wins(tmp_path: Path) -> None:
    environ = {"VAULT_ADDR": "https://vault.example:8200", "BAO_ADDR": "https://bao.example",
               "VAULT_NAMESPACE": "team-a", "VAULT_CACERT": "/etc/ca.pem",
               "BAO_CAPATH": "/etc/ca.d", "VAULT_CLIENT_CERT": "/etc/c.pem",
               "VAULT_CLIENT_KEY": "/etc/c.key"}
    from_env = vault(tmp_path, environ)
    assert from_env.addresses == ["https://vault.example:8200"]
    assert from_env.namespace == "team-a" and from_env._headers("t")["X-Vault-Namespace"] == "team-a"
    assert (from_env.tls.ca_cert, from_env.tls.ca_path) == ("/etc/ca.pem", "/etc/ca.d")
    assert from_env.tls.requests_cert == ("/etc/c.pem", "/etc/c.key")
    assert not from_env.tls.skip_verify and from_env.warnings == []
    bao_only = vault(tmp_path, {"BAO_ADDR": "https://bao.example", "BAO_NAMESPACE": "b"})
    assert bao_only.addresses == ["https://bao.example"] and bao_only.namespace == "b"
    configured = vault(tmp_path, environ, url="https://config.example", namespace="team-b",
                       ca_cert="ca/config.pem")
    assert configured.addresses == ["https://config.example"]
    assert configured.namespace == "team-b"
    assert configured.tls.ca_cert == str(tmp_path / "ca/config.pem")


@pytest.mark.parametrize(("value", "skips"), [("1", True), ("true", True), ("0", False),
                                              ("false", False)])
def test_vault_skip_verify_warns(tmp_path: Path, value: str, skips: bool) -> None:
    provider = vault(tmp_path, {"VAULT_ADDR": "https://v", "VAULT_SKIP_VERIFY": value})
    assert provider.tls.skip_verify is skips
    assert bool(provider.warnings) is skips
    if skips:
        assert "TLS certificate verification is off" in provider.warnings[0]
    # An explicit tls_skip_verify: false in config wins over the environment.
    assert not vault(tmp_path, {"VAULT_ADDR": "https://v", "VAULT_SKIP_VERIFY": "1"},
                     tls_skip_verify=False).tls.skip_verify


def test_vault_skip_verify_must_be_a_boolean(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="VAULT_SKIP_VERIFY must be true or false"):
        vault(tmp_path, {"VAULT_ADDR": "https://v", "VAULT_SKIP_VERIFY": "yes please"})


def _project(root: Path, url: str | None, extra: str = "") -> Project:
    url_line = f'url: "{url}", ' if url else ""
    write(root, {
        "vaultline.yaml": f"""
            app: shop
            environments: [prod]
            providers:
              vault: {{type: vault, {url_line}mount: kv{extra}}}
        """,
        "env/prod/secrets.yaml": "Db:Password: vault:db#password\n",
    })
    return Project.load(root)


def test_namespaces_against_openbao(openbao: BaoServer, tmp_path: Path) -> None:
    namespace = f"team-{secrets.token_hex(3)}"
    openbao.bao("namespace", "create", namespace)
    openbao.bao("secrets", "enable", f"-namespace={namespace}", "-path=kv", "kv-v2")
    openbao.bao("kv", "put", f"-namespace={namespace}", "-mount=kv", "shop/prod/db",
                "password=in-namespace")
    project = _project(tmp_path, None)
    environ = {"VAULT_ADDR": openbao.url, "VAULT_TOKEN": openbao.token,
               "VAULT_NAMESPACE": namespace}
    with Resolver(project, "prod", environ=environ) as resolver:
        assert resolver.resolve()["Db:Password"] == "in-namespace"
    # Without the namespace the root namespace answers: nothing is there.
    with Resolver(project, "prod", environ={**environ, "VAULT_NAMESPACE": ""}) as resolver, \
            pytest.raises(ResolutionError, match="nothing at"):
        resolver.resolve()
    # The namespace in vaultline.yaml wins over VAULT_NAMESPACE.
    configured = _project(tmp_path / "configured", openbao.url, f", namespace: {namespace}")
    with Resolver(configured, "prod", environ={**environ, "VAULT_NAMESPACE": "nope"}) as resolver:
        assert resolver.resolve()["Db:Password"] == "in-namespace"


def _cli(root: Path, environ: dict[str, str], *args: str,
         stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([VAULTLINE, *args], cwd=root, input=stdin, text=True,
                          capture_output=True, env={**os.environ, **environ}, timeout=60)


def test_vault_versions_rm_undelete_destroy_rollback(openbao: BaoServer, tmp_path: Path) -> None:
    from vaultline.resolve.versioning import versions_of

    app = f"shop{secrets.token_hex(3)}"
    provider = vault(tmp_path, {"VAULT_TOKEN": openbao.token}, url=openbao.url, mount="kv",
                     prefix=f"{app}/prod")
    for value in ("v1-s3cret", "v2-s3cret", "v3-s3cret"):
        provider.put("Api/Key", value)
    kv = versions_of(provider)

    def state() -> list[tuple[int, str]]:
        return [(r.version, "destroyed" if r.destroyed else "deleted" if r.deleted_time
                 else "live") for r in kv.rows("Api/Key")]

    assert state() == [(1, "live"), (2, "live"), (3, "live")]
    assert kv.change("delete", "Api/Key", None) == [3]
    assert state()[-1] == (3, "deleted")
    assert kv.change("undelete", "Api/Key", [3]) == [3]
    assert state()[-1] == (3, "live")
    assert kv.change("destroy", "Api/Key", [1]) == [1]
    assert state()[0] == (1, "destroyed")
    with pytest.raises(ConfigError, match="has no version 9"):
        kv.change("delete", "Api/Key", [9])
    provider.close()
    # The commands, through the CLI: rollback writes version 2's content as version 4.
    write(tmp_path, {
        "vaultline.yaml": f"""
            app: {app}
            environments: [prod]
            providers:
              vault: {{type: vault, url: "{openbao.url}", mount: kv}}
        """,
        "env/prod/secrets.yaml": "Api:Key: vault\n",
    })
    environ = {"VAULT_TOKEN": openbao.token, "VAULTLINE_STORE_DIR": str(tmp_path / ".vl")}
    rolled = _cli(tmp_path, environ, "secret", "rollback", "Api:Key", "--env", "prod")
    assert rolled.returncode == 0, rolled.stderr
    assert "rolled back to version 2 (current: 4)" in rolled.stdout
    assert provider.fetch("Api/Key").value == {"value": "v2-s3cret"}
    gone = _cli(tmp_path, environ, "secret", "rm", "Api:Key", "--env", "prod", "--versions", "1,4",
                "--destroy")
    assert gone.returncode == 0 and "destroyed version(s) 1, 4" in gone.stdout
    refused = _cli(tmp_path, environ, "secret", "rollback", "Api:Key", "--env", "prod", "--to", "1")
    assert refused.returncode == 2 and "version 1 is destroyed" in refused.stderr
    assert "s3cret" not in "".join([rolled.stdout, rolled.stderr, refused.stderr])


def test_local_rollback_writes_the_old_value_as_a_new_version(tmp_path: Path) -> None:
    from tests.factory import make_project, master_key_env

    environ = master_key_env()
    root = make_project(tmp_path, environ=environ)
    for value in ("first", "second"):
        assert _cli(root, environ, "secret", "put", "ConnectionStrings:Primary", "--env", "prod",
                    stdin=value).returncode == 0
    rolled = _cli(root, environ, "secret", "rollback", "ConnectionStrings:Primary", "--env", "prod")
    assert rolled.returncode == 0, rolled.stderr
    assert "rolled back to version 1 (current: 3)" in rolled.stdout
    assert _cli(root, environ, "secret", "get", "ConnectionStrings:Primary", "--env",
                "prod").stdout.strip() == "first"


def _aws(root: Path, environ: dict[str, str], **options: Any) -> AwsSecretsManagerProvider:
    context = ProviderContext(app="shop", env="prod", root=root, environ=environ)
    return AwsSecretsManagerProvider("aws", {"region": "us-east-1", **options}, context)


def test_aws_endpoint_profile_and_keys_from_the_environment(moto_server: MotoServer,
                                                           tmp_path: Path) -> None:
    name = f"shop/prod/{secrets.token_hex(3)}"
    boto3.client("secretsmanager", endpoint_url=moto_server.url,
                 region_name="us-east-1").create_secret(Name=name, SecretString="from-env")
    environ = {"AWS_ENDPOINT_URL_SECRETS_MANAGER": moto_server.url,
               "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    provider = _aws(tmp_path, environ)
    assert provider.endpoint_url == moto_server.url
    assert provider.fetch(name).value == "from-env"
    general = _aws(tmp_path, {"AWS_ENDPOINT_URL": moto_server.url})
    assert general.endpoint_url == moto_server.url
    assert _aws(tmp_path, environ, endpoint_url="http://config:1").endpoint_url == "http://config:1"
    profiled = _aws(tmp_path, {"AWS_PROFILE": "no-such-profile",
                               "AWS_ENDPOINT_URL": moto_server.url})
    assert profiled.profile == "no-such-profile"
    with pytest.raises(AuthenticationError, match="no-such-profile"):
        profiled.fetch(name)


def test_aws_rollback_moves_awscurrent_back(moto_server: MotoServer, tmp_path: Path) -> None:
    from vaultline.resolve.versioning import versions_of

    name = f"shop/prod/{secrets.token_hex(3)}"
    provider = _aws(tmp_path, {}, endpoint_url=moto_server.url)
    first = provider.put(name, "first")
    second = provider.put(name, "second")
    assert provider.fetch(name).value == "second"
    back_to, now = versions_of(provider).rollback(name, None)
    assert back_to == now == first
    # By stage: moto's BatchGetSecretValue (an unlabelled read) still answers the version
    # that was current before a stage move; AWS answers AWSCURRENT.
    assert provider.fetch(name, "AWSCURRENT").value == "first"
    assert provider.fetch(name, "AWSPREVIOUS").version == second
    with pytest.raises(ConfigError, match="staging label"):
        versions_of(provider).rows(name)
