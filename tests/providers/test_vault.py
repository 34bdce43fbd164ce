"""The vault provider against a real OpenBao dev server (the session fixture ``openbao``)."""

from __future__ import annotations

import itertools
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.factory import make_project, master_key_env
from tests.servers import BaoServer
from vaultline.errors import (
    AuthenticationError,
    ConfigError,
    PermissionDeniedError,
    ProviderError,
    VersionConflictError,
)
from vaultline.project.model import Project
from vaultline.providers.base import ProviderContext
from vaultline.providers.vault import VaultProvider
from vaultline.resolve.resolver import Resolver


def provider(server: BaoServer, root: Path, *, environ: dict[str, str] | None = None,
             env: str = "prod", **options: Any) -> VaultProvider:
    context = ProviderContext(app="nexus-engine", env=env, root=root,
                              environ={"VAULT_TOKEN": server.token} if environ is None else environ)
    return VaultProvider("vault", {"url": server.url, "mount": "kv", **options}, context)


@pytest.fixture
def app() -> str:
    """A fresh app name per test, so tests share the server without sharing secrets."""
    return f"app-{secrets.token_hex(4)}"


def write(server: BaoServer, path: str, data: dict[str, str]) -> int:
    return int(server.api("POST", f"kv/data/{path}", {"data": data})["data"]["version"])


def test_reference_maps_to_the_seed_path_and_field(openbao: BaoServer, tmp_path: Path) -> None:
    write(openbao, "nexus-engine/prod/db.primary", {"password": "pw-1", "user": "app"})
    root = make_project(tmp_path, {
        "vaultline.yaml": f"""
            version: 1
            app: nexus-engine
            environments: [prod]
            providers:
              vault: {{type: vault, url: "{openbao.url}", mount: kv, prefix: "{{app}}/{{env}}"}}
        """,
        "env/prod/secrets.yaml": "ConnectionStrings:Primary: vault:db.primary#password\n",
    })
    with Resolver(Project.load(root), "prod", environ={"VAULT_TOKEN": openbao.token}) as resolver:
        (row,) = resolver.references()
        assert row.display == "kv/data/nexus-engine/prod/db.primary"
        bundle = resolver.resolve()
    assert bundle["ConnectionStrings:Primary"] == "pw-1"
    assert bundle.explain("ConnectionStrings:Primary").winner.provenance.version == "1"


def test_versions_and_put(openbao: BaoServer, tmp_path: Path, app: str) -> None:
    vault = provider(openbao, tmp_path, prefix=app)
    assert vault.put("api", json.dumps({"key": "v1"})) == "1"
    assert vault.put("api", "plain text") == "2"
    assert vault.fetch("api").value == {"value": "plain text"}
    old = vault.fetch("api", "1")
    assert (old.value, old.version) == ({"key": "v1"}, "1")
    with pytest.raises(ProviderError, match="nothing at"):
        vault.fetch("api", "7")
    with pytest.raises(ProviderError, match="versions are numbers"):
        vault.fetch("api", "latest")
    openbao.api("POST", f"kv/delete/{app}/api", {"versions": [1]})
    with pytest.raises(ProviderError, match="version 1 is deleted"):
        vault.fetch("api", "1")
    vault.close()


def test_check_and_set(openbao: BaoServer, tmp_path: Path, app: str) -> None:
    vault = provider(openbao, tmp_path, prefix=app)
    assert vault.put("db", "a", cas=0) == "1"
    with pytest.raises(VersionConflictError, match="check-and-set"):
        vault.put("db", "b", cas=0)
    with pytest.raises(VersionConflictError):
        vault.put("db", "b", cas=5)
    assert vault.put("db", "b", cas=1) == "2"


def record_requests(vault: VaultProvider) -> list[str]:
    """The ``METHOD url`` of every request the provider's pool sends from now on."""
    sent: list[str] = []
    pool = vault.pool
    real = pool.request

    def recording(method: str, url: str, **kwargs: Any) -> Any:
        sent.append(f"{method} {url}")  # list.append is atomic: the workers share it
        return real(method, url, **kwargs)

    pool.request = recording  # type: ignore[method-assign]
    return sent


def test_fetch_many_reads_each_distinct_request_once(openbao: BaoServer, tmp_path: Path, app: str) -> None:
    for i in range(30):
        write(openbao, f"{app}/s{i}", {"v": str(i)})
    vault = provider(openbao, tmp_path, prefix=app, max_workers=4)
    sent = record_requests(vault)
    requests = [(f"s{i % 30}", None) for i in range(90)] + [("missing", None)]
    results = vault.fetch_many(requests)
    assert len(results) == 31
    assert len(sent) == 31 and len(set(sent)) == 31
    assert all(results[(f"s{i}", None)].value == {"v": str(i)} for i in range(30))  # type: ignore[union-attr]
    missing = results[("missing", None)]
    assert isinstance(missing, ProviderError) and missing.provider == "vault"
    assert vault.list_paths() == sorted(["missing"][:0] + [f"s{i}" for i in range(30)])


def test_list_paths_recurses(openbao: BaoServer, tmp_path: Path, app: str) -> None:
    for path in ("a", "dir/b", "dir/sub/c"):
        write(openbao, f"{app}/{path}", {"v": "1"})
    vault = provider(openbao, tmp_path, prefix=app)
    assert vault.list_paths() == ["a", "dir/b", "dir/sub/c"]
    assert vault.list_paths("dir") == ["dir/b", "dir/sub/c"]
    assert vault.list_paths("nothing-here") == []


def test_check_and_identity_with_token(openbao: BaoServer, tmp_path: Path) -> None:
    vault = provider(openbao, tmp_path)
    status = vault.check()
    assert openbao.url in status and "policies: root" in status
    accessor = openbao.api("GET", "auth/token/lookup-self")["data"]["accessor"]
    assert vault.identity == f"vault:token:token accessor={accessor}"
    assert openbao.token not in status and openbao.token not in repr(vault)


def test_missing_token_is_a_clear_authentication_error(openbao: BaoServer, tmp_path: Path) -> None:
    vault = provider(openbao, tmp_path, environ={})
    with pytest.raises(AuthenticationError, match="VAULT_TOKEN or \\$BAO_TOKEN"):
        vault.fetch("x")
    bad = provider(openbao, tmp_path, environ={"BAO_TOKEN": "not-a-token"})
    with pytest.raises(AuthenticationError, match="invalid, expired or revoked") as info:
        bad.fetch("x")  # a bad token, not "the token's policies do not allow this"
    assert "not-a-token" not in str(info.value) and "policies" not in str(info.value)
    with pytest.raises(AuthenticationError, match="invalid, expired or revoked"):
        bad.check()


def test_token_file(openbao: BaoServer, tmp_path: Path) -> None:
    (tmp_path / "token").write_text(openbao.token + "\n")
    vault = provider(openbao, tmp_path, environ={}, auth={"method": "token", "token_file": "token"})
    assert vault.check()


@pytest.mark.parametrize(("options", "message"), [
    ({"url": "ftp://x"}, "http"),
    ({"auth": {"method": "ldap"}}, "unknown auth method"),
    ({"auth": {"method": "jwt"}}, "needs a 'role'"),
    ({"auth": {"method": "approle", "secret_id": "literal"}}, "does not take secret_id"),
    ({"prefix": "{team}"}, "prefix"),
    ({"max_workers": 0}, "max_workers"),
    ({"retries": -1}, "retries"),
    ({"colour": "red"}, "unknown option"),
])
def test_configuration_errors(openbao: BaoServer, tmp_path: Path, options: dict[str, Any],
                              message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        provider(openbao, tmp_path, **options)


# -- auth methods ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def approle(openbao: BaoServer) -> str:
    """An AppRole ``ci`` whose tokens read ``kv/data/approle-app/*`` and live 3 seconds."""
    if "approle/" not in openbao.api("GET", "sys/auth")["data"]:
        openbao.api("POST", "sys/auth/approle", {"type": "approle"})
    openbao.api("PUT", "sys/policies/acl/approle-app", {"policy": 'path "kv/data/approle-app/*" '
                                                        '{ capabilities = ["read", "create", "update"] }'})
    openbao.api("POST", "auth/approle/role/ci", {"token_policies": ["approle-app"], "token_ttl": "3s",
                                                 "token_max_ttl": "1h"})
    return str(openbao.api("GET", "auth/approle/role/ci/role-id")["data"]["role_id"])


def approle_files(openbao: BaoServer, tmp_path: Path, role_id: str) -> dict[str, str]:
    secret_id = openbao.api("POST", "auth/approle/role/ci/secret-id")["data"]["secret_id"]
    (tmp_path / "role-id").write_text(role_id)
    (tmp_path / "secret-id").write_text(secret_id)
    return {"method": "approle", "role_id_file": "role-id", "secret_id_file": "secret-id"}


def test_approle_login_read_renew_and_relogin(openbao: BaoServer, tmp_path: Path, approle: str) -> None:
    write(openbao, "approle-app/db", {"password": "from-approle"})
    vault = provider(openbao, tmp_path, environ={}, prefix="approle-app",
                     auth=approle_files(openbao, tmp_path, approle))
    assert vault.fetch("db", None).value == {"password": "from-approle"}
    assert vault.identity.startswith("vault:approle:ci entity=")
    first = vault._login
    assert first is not None and first.ttl == 3

    time.sleep(2.1)  # past two thirds of the 3 s lease: the next call renews first
    assert vault.fetch("db").value == {"password": "from-approle"}
    assert vault._login is not None and vault._login.token == first.token
    assert vault._login.obtained > first.obtained

    # The token is revoked behind the provider's back: one 403, one new login, success.
    openbao.api("POST", "auth/token/revoke", {"token": first.token})
    assert vault.fetch("db").value == {"password": "from-approle"}
    assert vault._login.token != first.token


def test_approle_narrow_policy_is_permission_denied(openbao: BaoServer, tmp_path: Path,
                                                    approle: str) -> None:
    vault = provider(openbao, tmp_path, environ={}, prefix="other-app",
                     auth=approle_files(openbao, tmp_path, approle))
    results = vault.fetch_many([(f"s{i}", None) for i in range(5)])
    assert all(isinstance(r, PermissionDeniedError) for r in results.values())
    assert "kv/data/other-app/s0" in str(results[("s0", None)])
    token = vault._login.token if vault._login else ""
    assert token not in str(results[("s0", None)])


def test_approle_bad_secret_id(openbao: BaoServer, tmp_path: Path, approle: str) -> None:
    auth = approle_files(openbao, tmp_path, approle)
    (tmp_path / "secret-id").write_text("00000000-0000-0000-0000-000000000000")
    vault = provider(openbao, tmp_path, environ={}, prefix="approle-app", auth=auth)
    with pytest.raises(ProviderError, match="approle login") as info:
        vault.fetch("db")
    assert "00000000-0000" not in str(info.value)


@pytest.fixture(scope="module")
def jwt_key(openbao: BaoServer) -> rsa.RSAPrivateKey:
    """JWT auth trusting a locally generated key — the login flow Kubernetes auth also uses."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    if "jwt/" not in openbao.api("GET", "sys/auth")["data"]:
        openbao.api("POST", "sys/auth/jwt", {"type": "jwt"})
    openbao.api("POST", "auth/jwt/config", {"jwt_validation_pubkeys": [public]})
    openbao.api("PUT", "sys/policies/acl/jwt-app", {"policy": 'path "kv/data/jwt-app/*" '
                                                    '{ capabilities = ["read"] }'})
    openbao.api("POST", "auth/jwt/role/deployer", {
        "role_type": "jwt", "user_claim": "sub", "bound_audiences": ["vaultline"],
        "token_policies": ["jwt-app"], "token_ttl": "1h"})
    return key


def signed_jwt(key: rsa.RSAPrivateKey, **claims: Any) -> str:
    now = int(time.time())
    return jwt.encode({"sub": "system:serviceaccount:prod:nexus", "aud": "vaultline", "iat": now,
                       "exp": now + 300, **claims}, key, algorithm="RS256")


def test_jwt_login_from_file_and_env(openbao: BaoServer, tmp_path: Path, jwt_key: rsa.RSAPrivateKey) -> None:
    write(openbao, "jwt-app/api", {"key": "from-jwt"})
    (tmp_path / "sa-token").write_text(signed_jwt(jwt_key))
    vault = provider(openbao, tmp_path, environ={}, prefix="jwt-app",
                     auth={"method": "jwt", "role": "deployer", "jwt_file": "sa-token"})
    assert vault.fetch("api").value == {"key": "from-jwt"}
    assert vault.identity.startswith("vault:jwt:deployer")
    by_env = provider(openbao, tmp_path, environ={"CI_JWT": signed_jwt(jwt_key)}, prefix="jwt-app",
                      auth={"method": "jwt", "role": "deployer", "jwt_env": "CI_JWT"})
    assert by_env.fetch("api").value == {"key": "from-jwt"}


def test_jwt_wrong_audience_is_refused(openbao: BaoServer, tmp_path: Path, jwt_key: rsa.RSAPrivateKey) -> None:
    vault = provider(openbao, tmp_path, environ={"VAULT_JWT": signed_jwt(jwt_key, aud="other")},
                     prefix="jwt-app", auth={"method": "jwt", "role": "deployer"})
    with pytest.raises(ProviderError, match="jwt role 'deployer' login"):
        vault.fetch("api")


def test_kubernetes_auth_reads_the_service_account_token_file(openbao: BaoServer, tmp_path: Path,
                                                              jwt_key: rsa.RSAPrivateKey) -> None:
    # Kubernetes auth needs a cluster's TokenReview API to validate the token; the provider's
    # part (read the mounted service-account token, POST role + jwt to <mount>/login) is the
    # same request the JWT method answers, so a jwt mount stands in for the cluster here.
    (tmp_path / "token").write_text(signed_jwt(jwt_key))
    vault = provider(openbao, tmp_path, environ={}, prefix="jwt-app",
                     auth={"method": "kubernetes", "role": "deployer", "token_file": "token",
                           "mount": "jwt"})
    assert vault.fetch("api").value == {"key": "from-jwt"}
    assert vault.identity.startswith("vault:kubernetes:deployer")
    missing = provider(openbao, tmp_path, environ={}, auth={"method": "kubernetes", "role": "r",
                                                           "token_file": "absent"})
    with pytest.raises(AuthenticationError, match="service-account token: cannot read"):
        missing.fetch("api")


# -- the server going away -----------------------------------------------------------------


@pytest.fixture
def doomed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BaoServer]:
    """A server of the test's own, since the test stops it."""
    from tests.servers import bao_dev

    with bao_dev(tmp_path_factory.mktemp("doomed")) as server:
        yield server


def test_server_stopped_mid_resolution_fails_cleanly_and_prints_nothing(
    doomed_server: BaoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from vaultline.cli import _app
    from vaultline.providers import _http

    keys = [f"Service{i}:Password" for i in range(40)]
    for i in range(40):
        write(doomed_server, f"nexus-engine/prod/s{i}", {"password": f"secret-{i}"})
    environ = master_key_env()
    root = make_project(tmp_path, {
        "vaultline.yaml": f"""
            version: 1
            app: nexus-engine
            environments: [prod]
            providers:
              vault: {{type: vault, url: "{doomed_server.url}", retries: 1, backoff: 0.01,
                       max_workers: 2, timeout: 2}}
        """,
        "env/prod/secrets.yaml": "".join(f"{k}: vault:s{i}#password\n" for i, k in enumerate(keys)),
    }, environ=environ)
    real = _http.HttpPool.request

    sent = itertools.count(1)

    def stop_after_ten(self: _http.HttpPool, *args: Any, **kwargs: Any) -> Any:
        if next(sent) == 11:  # next() on a count is atomic: the workers share it
            doomed_server.stop()
        return real(self, *args, **kwargs)

    monkeypatch.setattr(_http.HttpPool, "request", stop_after_ten)
    monkeypatch.chdir(root)
    for name, value in {**environ, "VAULT_TOKEN": doomed_server.token}.items():
        monkeypatch.setenv(name, value)
    code = _app.main(["resolve", "--env", "prod", "--format", "json", "--reveal"])
    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert "could not be resolved; nothing was output" in err
    assert "cannot reach http://127.0.0.1" in err and "Connection refused" in err
    assert "secret-" not in err


@pytest.mark.parametrize("plant", ["fifo", "device"])
def test_a_token_file_that_is_no_file_fails_at_once(openbao: BaoServer, tmp_path: Path,
                                                    plant: str) -> None:
    """A FIFO in the token file's place blocked the read for ever; /dev/zero never ended."""
    import os

    if plant == "fifo":
        os.mkfifo(tmp_path / "token")
    else:
        (tmp_path / "token").symlink_to("/dev/zero")
    vault = provider(openbao, tmp_path, environ={}, auth={"method": "token", "token_file": "token"})
    with pytest.raises(AuthenticationError, match=r"Vault token: .*token: .*not a regular file"):
        vault.check()


def test_a_path_reaching_outside_the_prefix_is_refused(openbao: BaoServer, tmp_path: Path,
                                                        app: str) -> None:
    """`..` relative to the prefix would read another app's secret (past what `policy
    generate` grants for the reference); the key fails, naming why, and others resolve."""
    write(openbao, f"{app}-other/prod/db", {"password": "other-apps-password"})
    write(openbao, f"{app}/prod/db", {"password": "own-password"})
    root = make_project(tmp_path, {
        "vaultline.yaml": f"""
            version: 1
            app: {app}
            environments: [prod]
            providers:
              vault: {{type: vault, url: "{openbao.url}", mount: kv}}
        """,
        "env/prod/secrets.yaml": f"Own:Password: vault:db#password\n"
                                 f"Theirs:Password: vault:../../{app}-other/prod/db#password\n"
                                 f"Dot:Password: vault:./db#password\n",
    })
    with Resolver(Project.load(root), "prod", environ={"VAULT_TOKEN": openbao.token}) as resolver:
        bundle, failures = resolver.resolve_partial()
    assert bundle["Own:Password"] == "own-password" and "Theirs:Password" not in bundle
    assert sorted(f.key or "" for f in failures) == ["Dot:Password", "Theirs:Password"]
    assert all("a Vault path has no '.' or '..' segments" in f.reason for f in failures)
