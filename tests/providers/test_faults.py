"""Failing servers, through the fault-injecting proxy (tests/faultproxy.py) in front of real
OpenBao and moto_server and the Key Vault fake: every fault fails within the deadline + 2 s,
says why in one line per key, prints nothing on stdout and never shows a credential."""

from __future__ import annotations

import itertools
import json
import os
import re
import resource
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests import hostile
from tests.factory import make_project, master_key_env
from tests.faultproxy import FaultProxy
from tests.providers.azure_fake import FakeCredential, FakeKeyVault, fake_key_vault
from tests.servers import BaoServer, MotoServer
from vaultline.errors import ConfigError, ProviderError, ProviderUnavailableError
from vaultline.project.model import Project
from vaultline.providers.azure import AzureKeyVaultProvider
from vaultline.providers.base import ProviderContext
from vaultline.resolve.resolver import Resolver

DEADLINE = 1.0
SLACK = 2.0  # the promise: failed within the deadline + 2 s
SLOW = {"hang", "drip", "delay"}  # the faults only the deadline ends


def deadline_for(mode: str) -> float:
    """The short deadline where the deadline is what is tested; elsewhere a long one, so a busy
    machine cannot let the deadline pass first and hide the reason under test."""
    return DEADLINE if mode in SLOW else 10.0


@pytest.fixture
def proxy(openbao: BaoServer) -> Iterator[FaultProxy]:
    with FaultProxy(openbao.url) as fault_proxy:
        yield fault_proxy


@pytest.fixture
def app() -> str:
    return f"faults-{secrets.token_hex(4)}"


def vault_project(tmp_path: Path, url: str, app: str, count: int = 3, **options: Any) -> tuple[Path, dict[str, str]]:
    settings = {"deadline": DEADLINE, "timeout": 10, "retries": 1, "backoff": 0.01, **options}
    environ = master_key_env()
    root = make_project(tmp_path, {
        "vaultline.yaml": f"""
            version: 1
            app: {app}
            environments: [prod]
            providers:
              vault: {json.dumps({"type": "vault", "url": url, **settings})}
        """,
        "env/prod/secrets.yaml": "".join(f"Service{i}:Password: vault:s{i}#password\n" for i in range(count)),
    }, environ=environ)
    return root, environ


def seed(openbao: BaoServer, app: str, count: int = 3) -> None:
    for i in range(count):
        openbao.api("POST", f"kv/data/{app}/prod/s{i}", {"data": {"password": f"secret-{i}"}})


def resolve_cli(root: Path, environ: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str, float]:
    from vaultline.cli import _app

    monkeypatch.chdir(root)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    started = time.monotonic()
    code = _app.main(["resolve", "--env", "prod", "--format", "json", "--reveal"])
    elapsed = time.monotonic() - started
    out, err = capsys.readouterr()
    return code, out, err, elapsed


# (mode, options, connections that pass first, what the error says)
# One connection passing lets the login (hvac) through so the bulk reads (the lean pool) fail.
VAULT_FAULTS = [
    ("hang", {}, 0, "no answer within the 1 s deadline"),
    ("hang", {}, 1, "no answer within the 1 s deadline"),
    ("drip", {"interval": 0.2}, 0, "no answer within the 1 s deadline"),
    ("drip", {"interval": 0.2}, 1, "no answer within the 1 s deadline"),
    ("delay", {"seconds": 30}, 1, "no answer within the 1 s deadline"),
    ("reset", {}, 0, "cannot reach"),
    ("reset", {}, 1, "cannot reach"),
    ("truncate", {"limit": 20}, 0, "did not answer with Vault's JSON"),
    ("truncate", {"limit": 20}, 1, "did not answer with Vault's JSON"),
    ("truncate", {"limit": 20, "in_body": True}, 0, "cannot reach"),
    ("truncate", {"limit": 20, "in_body": True}, 1, "cannot reach"),
    ("status", {"status": 503}, 1, "unavailable: injected failure (HTTP 503)"),
    ("status", {"status": 200, "body": b"<html>gateway</html>"}, 0, "did not answer with Vault's JSON"),
    ("status", {"status": 200, "body": b"[" * 100_000}, 1, "did not answer with Vault's JSON"),
    ("huge", {}, 0, "more than the 16,777,216-byte limit"),
    ("huge", {}, 1, "more than the 16,777,216-byte limit"),
    ("huge", {"declare": False}, 1, "more than the 16,777,216-byte limit"),
    ("echo", {"status": 400}, 0, "[redacted]"),
    ("echo", {"status": 400}, 1, "[redacted]"),
]


@pytest.mark.parametrize(("mode", "options", "passing", "says"), VAULT_FAULTS,
                         ids=[f"{m}-{'reads' if p else 'login'}-{i}" for i, (m, _, p, _) in enumerate(VAULT_FAULTS)])
def test_vault_faults_fail_in_time_with_a_clear_reason_and_no_token(
    mode: str, options: dict[str, Any], passing: int, says: str, openbao: BaoServer,
    proxy: FaultProxy, tmp_path: Path, app: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed(openbao, app)
    root, environ = vault_project(tmp_path, proxy.url, app, deadline=deadline_for(mode))
    proxy.fault(mode, passing=passing, **options)
    code, out, err, elapsed = resolve_cli(root, {**environ, "VAULT_TOKEN": openbao.token},
                                          monkeypatch, capsys)
    assert code == 1
    assert out == ""  # all-or-nothing: no partial bundle
    assert "3 keys could not be resolved; nothing was output" in err
    assert says in err, err
    assert openbao.token not in err
    assert "secret-" not in err
    assert "Traceback" not in err
    assert elapsed <= deadline_for(mode) + SLACK, (mode, elapsed)


def test_the_token_is_scrubbed_from_an_echoed_request_on_every_command(
    openbao: BaoServer, proxy: FaultProxy, tmp_path: Path, app: str,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    from vaultline.cli import _app

    seed(openbao, app)
    root, environ = vault_project(tmp_path, proxy.url, app, deadline=10)
    monkeypatch.chdir(root)
    for name, value in {**environ, "VAULT_TOKEN": openbao.token}.items():
        monkeypatch.setenv(name, value)
    proxy.fault("echo", status=400)
    for argv in (["check", "--env", "prod"], ["secret", "get", "Service0:Password", "--env", "prod"],
                 ["resolve", "--env", "prod"], ["drift", "--env", "prod"]):
        try:
            code = _app.main(argv)
        except SystemExit as exc:  # `check` exits by itself
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        assert code != 0, argv
        assert openbao.token not in out + err, argv
        assert "[redacted]" in out + err, (argv, out, err)
    written = [p for p in root.rglob("*") if p.is_file() and openbao.token.encode() in p.read_bytes()]
    assert written == []  # the audit log records the reasons: scrubbed there too


# A maintenance page, and JSON nested past what requests' parser (under hvac) takes.
@pytest.mark.parametrize("body", [b"<html>maintenance</html>", b'{"data": ' + b"[" * 100_000],
                         ids=["html", "nested"])
def test_writes_and_listings_on_a_foreign_answer_fail_clearly(
    openbao: BaoServer, proxy: FaultProxy, tmp_path: Path, app: str, body: bytes,
) -> None:
    from vaultline.providers.vault import VaultProvider

    context = ProviderContext(app=app, env="prod", root=tmp_path, environ={"VAULT_TOKEN": openbao.token})
    vault = VaultProvider("vault", {"url": proxy.url, "retries": 0, "deadline": 10}, context)
    vault._token()  # logged in through the healthy proxy
    proxy.fault("status", status=200, body=body)
    for operation in (lambda: vault.put("k", "v"), lambda: vault.list_paths(), lambda: vault.metadata("k")):
        with pytest.raises(ProviderUnavailableError, match="did not answer with Vault's JSON"):
            operation()
    vault.close()


# JSON a proxy, a load balancer or a half-upgraded server may answer 200 with: parsed, but not
# the shape of the call's answer.
WRONG_SHAPES = [b"{}", b"[]", b"null", b'{"data": []}', b'{"data": null, "auth": []}',
                b'{"data": {"keys": [1, null], "version": "7", "current_version": "2"}}',
                b'{"data": {"keys": "ab", "current_version": 2, "versions": []}}',
                b'{"data": {"current_version": 2, "versions": {"x": 1}}}']


@pytest.mark.parametrize("body", WRONG_SHAPES)
def test_a_wrong_shape_json_answer_is_a_provider_error_on_every_call(
    openbao: BaoServer, proxy: FaultProxy, tmp_path: Path, app: str, body: bytes,
) -> None:
    from vaultline.providers.vault import VaultProvider

    def provider(token: str) -> VaultProvider:
        context = ProviderContext(app=app, env="prod", root=tmp_path, environ={"VAULT_TOKEN": token})
        return VaultProvider("vault", {"url": proxy.url, "retries": 0, "deadline": 10}, context)

    renewable = openbao.api("POST", "auth/token/create", {"policies": ["default"], "ttl": "10m"})
    vault, fresh, renewing = provider(openbao.token), provider(openbao.token), \
        provider(renewable["auth"]["client_token"])
    vault._token()  # logged in through the healthy proxy; `fresh` logs in through the fault
    renewing._token()
    assert renewing._login is not None and renewing._login.renewable
    proxy.fault("status", status=200, body=body)
    calls: dict[str, Callable[[], object]] = {
        "put": lambda: vault.put("db", "v"),
        "ls": lambda: vault.list_paths(),
        "metadata": lambda: vault.metadata("db"),
        "versions": lambda: vault.version_rows("db"),
        "previous": lambda: vault.fetch("db", "previous"),
        "renewal": lambda: renewing._renew(renewing._login),  # type: ignore[arg-type]
    }
    answer = json.loads(body)
    # A token lookup needs only `data` to be an object: its fields are optional.
    if not (isinstance(answer, dict) and isinstance(answer.get("data"), dict)):
        calls.update(check=vault.check, login=fresh._token)
    for name, call in calls.items():
        with pytest.raises(ProviderUnavailableError, match="did not answer with Vault's JSON") as info:
            call()
        assert info.value.provider == "vault", name
        if name in ("put", "ls", "metadata", "versions", "previous"):
            shown = f"{app}/prod" + ("" if name == "ls" else "/db")  # ls: the prefix listed
            assert "provider 'vault'" in str(info.value) and shown in str(info.value), (name, str(info.value))
    for each in (vault, fresh, renewing):
        each.close()


def test_a_server_killed_mid_resolve_trips_the_breaker_at_once(
    openbao: BaoServer, proxy: FaultProxy, tmp_path: Path, app: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from vaultline.providers import _http

    count = 300
    seed(openbao, app, count)
    # The default deadline (30 s) stays: the breaker, not the deadline, must end this.
    root, environ = vault_project(tmp_path, proxy.url, app, count, deadline=30, retries=3,
                                  backoff=0.1, max_workers=4)
    real = _http.HttpPool.request

    sent = itertools.count(1)

    def kill_after_twenty(self: _http.HttpPool, *args: Any, **kwargs: Any) -> Any:
        if next(sent) == 21:  # next() on a count is atomic: the workers share it
            proxy.fault("reset")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(_http.HttpPool, "request", kill_after_twenty)
    started = time.monotonic()
    with Resolver(Project.load(root), "prod", environ={**environ, "VAULT_TOKEN": openbao.token}) as resolver:
        _, failures = resolver.resolve_partial()
    elapsed = time.monotonic() - started
    assert elapsed < 5, elapsed
    assert len(failures) > count - 30
    stopped = [f for f in failures if "stopped after 5 consecutive failures" in f.reason]
    assert len(stopped) > count - 40
    assert "cannot reach" in stopped[0].reason


def test_a_huge_body_is_refused_without_reading_it_into_memory(
    openbao: BaoServer, proxy: FaultProxy, tmp_path: Path, app: str,
) -> None:
    seed(openbao, app)
    root, environ = vault_project(tmp_path, proxy.url, app, deadline=10)
    proxy.fault("huge", declare=False, passing=1)  # chunked: no length to refuse it by
    result = hostile.measured(("resolve", "--env", "prod", "--format", "json"), root,
                              {**os.environ, **environ, "VAULT_TOKEN": openbao.token})
    assert result.code == 1 and result.stdout == b""
    assert "more than the 16,777,216-byte limit (the provider's 'max_response_bytes')" in result.stderr
    assert proxy.sent < 64 * 1024 * 1024  # it stopped reading: the proxy did not get to send it all
    assert result.peak_kib < hostile.RSS_LIMIT_KIB, result.peak_kib
    assert result.seconds < 10


def test_the_snapshot_answers_when_the_deadline_passes(
    openbao: BaoServer, proxy: FaultProxy, tmp_path: Path, app: str,
) -> None:
    seed(openbao, app)
    root, environ = vault_project(tmp_path, proxy.url, app, deadline=3)  # the good run is timed too
    text = (root / "vaultline.yaml").read_text().replace("environments: [prod]",
                                                           "environments: {prod: {max_stale: 1h}}")
    (root / "vaultline.yaml").write_text(text)
    full = {**environ, "VAULT_TOKEN": openbao.token}
    with Resolver(Project.load(root), "prod", environ=full) as resolver:
        assert resolver.resolve()["Service1:Password"] == "secret-1"
    proxy.fault("hang", passing=1)
    started = time.monotonic()
    with Resolver(Project.load(root), "prod", environ=full) as resolver:
        bundle = resolver.resolve()
    assert time.monotonic() - started <= 3 + SLACK
    assert bundle["Service1:Password"] == "secret-1"
    assert any("snapshot" in w for w in bundle.warnings)


# -- moto_server (AWS Secrets Manager through real boto3) --------------------------------------

AWS_FAULTS = [
    ("hang", {}, "no answer within the 1 s deadline"),
    ("drip", {"interval": 0.2}, "no answer within the 1 s deadline"),
    ("reset", {}, "cannot reach|no complete answer"),
    ("truncate", {"limit": 20}, "did not answer with Secrets Manager's JSON"),
    ("truncate", {"limit": 20, "in_body": True}, "did not answer with Secrets Manager's JSON"),
    ("status", {"status": 503}, "is unavailable"),
    ("status", {"status": 200, "body": b"<html>gateway</html>"}, "did not answer with Secrets Manager's JSON"),
    # Nested past what botocore's JSON parser takes (a RecursionError inside the SDK).
    ("status", {"status": 200, "body": b'{"SecretList": ' + b"[" * 100_000},
     "did not answer with Secrets Manager's JSON"),
    ("huge", {}, "more than the 16,777,216-byte limit"),
    ("huge", {"declare": False}, "more than the 16,777,216-byte limit"),
    ("echo", {"status": 400}, "InvalidRequestException: bad request: POST /"),
]


@pytest.mark.parametrize(("mode", "options", "says"), AWS_FAULTS, ids=[f[0] + str(i) for i, f in enumerate(AWS_FAULTS)])
def test_aws_faults_fail_in_time_with_a_clear_reason_and_no_credential(
    mode: str, options: dict[str, Any], says: str, moto_server: MotoServer, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    app = f"faults-{secrets.token_hex(3)}"
    sm = boto3.client("secretsmanager", endpoint_url=moto_server.endpoint_url, region_name="us-east-1")
    for i in range(3):
        sm.create_secret(Name=f"{app}/prod/s{i}", SecretString=f"secret-{i}")
    with FaultProxy(moto_server.endpoint_url) as proxy:
        settings = {"type": "aws-secretsmanager", "region": "us-east-1", "endpoint_url": proxy.url,
                    "deadline": deadline_for(mode), "timeout": 10, "retries": 1, "backoff": 0.01}
        environ = master_key_env()
        root = make_project(tmp_path, {
            "vaultline.yaml": f"""
                version: 1
                app: {app}
                environments: [prod]
                providers:
                  aws: {json.dumps(settings)}
            """,
            "env/prod/secrets.yaml": "".join(f"S{i}: aws:{app}/prod/s{i}\n" for i in range(3)),
        }, environ=environ)
        proxy.fault(mode, **options)
        code, out, err, elapsed = resolve_cli(root, environ, monkeypatch, capsys)
    assert code == 1 and out == ""
    assert "could not be resolved; nothing was output" in err
    assert re.search(says, err), err
    assert "Signature=" not in err or "Signature=[redacted]" in err
    assert "X-Amz-Security-Token: testing" not in err and "Credential=testing" not in err
    assert "Traceback" not in err and "secret-" not in err
    assert elapsed <= deadline_for(mode) + SLACK, (mode, elapsed)


def test_aws_a_failing_identity_lookup_after_a_good_read_is_not_a_crash(
    moto_server: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = f"faults-{secrets.token_hex(3)}"
    sm = boto3.client("secretsmanager", endpoint_url=moto_server.endpoint_url, region_name="us-east-1")
    sm.create_secret(Name=f"{app}/prod/s0", SecretString="secret-0")
    with FaultProxy(moto_server.endpoint_url) as proxy:
        settings = {"type": "aws-secretsmanager", "region": "us-east-1", "endpoint_url": proxy.url,
                    "deadline": 10, "retries": 0}
        environ = master_key_env()
        root = make_project(tmp_path, {
            "vaultline.yaml": f"""
                version: 1
                app: {app}
                environments: [prod]
                providers:
                  aws: {json.dumps(settings)}
            """,
            "env/prod/secrets.yaml": f"S0: aws:{app}/prod/s0\n",
        }, environ=environ)
        proxy.fault("truncate", limit=20, passing=1)  # the read passes; the STS lookup is cut short
        code, out, err, _ = resolve_cli(root, environ, monkeypatch, capsys)
    assert code == 0, err
    assert json.loads(out)["S0"] == "secret-0"
    assert "Traceback" not in err


def test_aws_a_huge_identity_answer_is_refused_under_the_cap_not_read_whole(
    moto_server: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """STS's answer goes through the same capped reader as Secrets Manager's: botocore alone
    reads a body whole, whatever its size, and parses it as XML."""
    app = f"faults-{secrets.token_hex(3)}"
    sm = boto3.client("secretsmanager", endpoint_url=moto_server.endpoint_url, region_name="us-east-1")
    sm.create_secret(Name=f"{app}/prod/s0", SecretString="secret-0")
    with FaultProxy(moto_server.endpoint_url) as proxy:
        settings = {"type": "aws-secretsmanager", "region": "us-east-1", "endpoint_url": proxy.url,
                    "deadline": 30, "retries": 0}
        environ = master_key_env()
        root = make_project(tmp_path, {
            "vaultline.yaml": f"""
                version: 1
                app: {app}
                environments: [prod]
                providers:
                  aws: {json.dumps(settings)}
            """,
            "env/prod/secrets.yaml": f"S0: aws:{app}/prod/s0\n",
        }, environ=environ)
        proxy.fault("huge", passing=1)  # the read passes; the STS lookup answers 300 MB
        code, out, err, _ = resolve_cli(root, environ, monkeypatch, capsys)
        sent = proxy.sent
    assert code == 0, err
    assert json.loads(out)["S0"] == "secret-0"
    assert sent < 64 * 1024 * 1024, sent  # refused by its declared length, not read


# -- Key Vault (the real azure-keyvault-secrets client against the local fake) ---------------


@pytest.fixture(scope="module")
def key_vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeKeyVault]:
    with fake_key_vault(tmp_path_factory.mktemp("akv-faults")) as server:
        yield server


def azure_provider(key_vault: FakeKeyVault, root: Path, **options: Any) -> AzureKeyVaultProvider:
    """A provider of the fake Key Vault's secrets, trusting its CA, with no retries; `options`
    add to the settings or replace them (``credential=None``: vaultline makes its own)."""
    settings = {"vault_url": key_vault.url, "credential": FakeCredential(key_vault.token),
                "connection_verify": str(key_vault.ca_cert), "verify_challenge_resource": False,
                "retries": 0, **options}
    return AzureKeyVaultProvider("akv", {k: v for k, v in settings.items() if v is not None},
                                 ProviderContext(app="nexus-engine", env="prod", root=root,
                                                 environ={}))


@pytest.mark.parametrize(("mode", "options", "says"), [
    ("hang", {}, "no answer within the 1 s deadline"),
    ("drip", {"interval": 0.2}, "no answer within the 1 s deadline"),
    ("reset", {}, "cannot reach secret|no answer from secret"),
])
def test_azure_faults_fail_in_time(mode: str, options: dict[str, Any], says: str,
                                   key_vault: FakeKeyVault, tmp_path: Path) -> None:
    key_vault.set("nexus-engine--prod--a", "secret-a")
    with FaultProxy(key_vault.url) as proxy:
        provider = azure_provider(key_vault, tmp_path, vault_url=proxy.url,
                                  deadline=deadline_for(mode), timeout=10, retries=1,
                                  backoff=0.01)
        proxy.fault(mode, **options)
        started = time.monotonic()
        results = provider.fetch_many([("nexus-engine--prod--a", None), ("nexus-engine--prod--b", None)])
        elapsed = time.monotonic() - started
        provider.close()
    assert all(isinstance(r, ProviderUnavailableError) for r in results.values()), results
    assert all(re.search(says, str(r)) for r in results.values()), results
    assert elapsed <= deadline_for(mode) + SLACK


def test_an_echoed_bearer_token_is_scrubbed(key_vault: FakeKeyVault, tmp_path: Path) -> None:
    key_vault.echo_auth = True
    try:
        provider = azure_provider(key_vault, tmp_path)
        with pytest.raises(ProviderError) as info:
            provider.fetch("nexus-engine--prod--missing")
    finally:
        key_vault.echo_auth = False
    assert key_vault.token not in str(info.value)
    assert key_vault.token.split(".")[1] not in str(info.value)
    assert "[redacted]" in str(info.value)


@pytest.mark.parametrize("body", [b"<html>gateway</html>", b'{"value": ' + b"[" * 100_000],
                         ids=["html", "nested"])
def test_azure_a_foreign_answer_says_so(key_vault: FakeKeyVault, tmp_path: Path,
                                        body: bytes) -> None:
    """A page, or JSON nested past what azure-core's parser takes (a RecursionError in the SDK):
    the reason names the answer, not the client library's exception."""
    key_vault.answer = body
    try:
        provider = azure_provider(key_vault, tmp_path)
        results = provider.fetch_many([("nexus-engine--prod--a", None)])
        provider.close()
    finally:
        key_vault.answer = None
    [error] = results.values()
    assert isinstance(error, ProviderUnavailableError), error
    assert "did not answer with Key Vault's JSON" in str(error), error


def test_an_oversize_answer_is_refused_while_it_is_read(key_vault: FakeKeyVault, tmp_path: Path) -> None:
    key_vault.flood = 64 * 1024 * 1024
    try:
        provider = azure_provider(key_vault, tmp_path, max_response_bytes=1024 * 1024)
        with pytest.raises(ProviderError, match="more than the 1,048,576-byte limit"):
            provider.fetch("nexus-engine--prod--a")
        provider.close()
    finally:
        key_vault.flood = 0


# -- options --------------------------------------------------------------------------------


@pytest.mark.parametrize(("options", "says"), [
    ({"deadline": 0}, "'deadline' must be seconds from 0.001 to 3600"),
    ({"deadline": "soon"}, "'deadline' must be seconds"),
    ({"deadline": True}, "'deadline' must be seconds"),
    ({"timeout": -1}, "'timeout' must be seconds"),
    ({"breaker": 1.5}, "'breaker' must be an integer"),
    ({"max_response_bytes": 10}, "'max_response_bytes' must be an integer from 1024"),
    ({"max_workers": 0}, "'max_workers' must be an integer from 1 to 64"),
])
def test_reliability_options_are_validated(options: dict[str, Any], says: str, tmp_path: Path) -> None:
    from vaultline.providers.vault import VaultProvider

    context = ProviderContext(app="a", env="prod", root=tmp_path, environ={"VAULT_TOKEN": "t"})
    with pytest.raises(ConfigError, match=says.replace("(", r"\(")):
        VaultProvider("vault", {"url": "http://127.0.0.1:1", **options}, context)


class IdentityEndpoint:
    """The App Service managed-identity endpoint (``IDENTITY_ENDPOINT``) on loopback, plain
    HTTP as on Azure: answers with ``token``, or floods (``flood`` bytes, no length) or never
    answers (``hang``); counts requests and bytes sent."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.token = ""
        self.flood = 0
        self.hang = False
        self.requests = 0
        self.sent = 0
        self._stop = threading.Event()
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_GET(self) -> None:
                endpoint.requests += 1
                if endpoint.hang:
                    endpoint._stop.wait(30)
                    return
                if endpoint.flood:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    chunk = b'{"access_token":"' + b"a" * 65536
                    try:
                        while endpoint.sent < endpoint.flood:
                            self.wfile.write(chunk)
                            endpoint.sent += len(chunk)
                    except OSError:
                        pass  # the client hung up: what the cap is for
                    return
                body = json.dumps({"access_token": endpoint.token, "token_type": "Bearer",
                                   "expires_on": str(int(time.time()) + 3600),
                                   "resource": "https://vault.azure.net"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/msi/token"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def managed_identity(monkeypatch: pytest.MonkeyPatch) -> Iterator[IdentityEndpoint]:
    """DefaultAzureCredential, as vaultline builds it, finding this endpoint and nothing else
    (azure-identity reads the process environment; that is the SDK's own fallback)."""
    endpoint = IdentityEndpoint()
    for name in list(os.environ):
        if name.startswith(("AZURE_", "IDENTITY_", "MSI_", "IMDS_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("IDENTITY_ENDPOINT", endpoint.url)
    monkeypatch.setenv("IDENTITY_HEADER", "loopback-test")
    try:
        yield endpoint
    finally:
        endpoint.close()


def identity_provider(key_vault: FakeKeyVault, root: Path, **extra: Any) -> AzureKeyVaultProvider:
    """A provider with no credential given: vaultline makes DefaultAzureCredential itself."""
    return azure_provider(key_vault, root, credential=None, **extra)


def test_the_default_credential_gets_its_token_from_the_identity_endpoint(
        key_vault: FakeKeyVault, managed_identity: IdentityEndpoint, tmp_path: Path) -> None:
    managed_identity.token = key_vault.token
    key_vault.set("nexus-engine--prod--a", "secret-a")
    provider = identity_provider(key_vault, tmp_path)
    try:
        assert provider.fetch("nexus-engine--prod--a").value == "secret-a"
    finally:
        provider.close()
    assert managed_identity.requests == 1
    assert provider._credential is None  # made by the provider, so closed with it


def test_an_oversize_token_answer_is_refused_while_it_is_read(
        key_vault: FakeKeyVault, managed_identity: IdentityEndpoint, tmp_path: Path) -> None:
    managed_identity.flood = 256 * 1024 * 1024
    provider = identity_provider(key_vault, tmp_path, max_response_bytes=1024 * 1024)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        with pytest.raises(ProviderError, match="more than the 1,048,576-byte limit"):
            provider.fetch("nexus-engine--prod--a")
    finally:
        provider.close()
    assert managed_identity.sent < 64 * 1024 * 1024, managed_identity.sent
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 64 * 1024, grown_kib


def test_a_silent_identity_endpoint_fails_within_the_deadline(
        key_vault: FakeKeyVault, managed_identity: IdentityEndpoint, tmp_path: Path) -> None:
    managed_identity.hang = True
    provider = identity_provider(key_vault, tmp_path, deadline=1, timeout=10)
    started = time.monotonic()
    try:
        with pytest.raises(ProviderError, match="deadline"):
            provider.fetch("nexus-engine--prod--a")
    finally:
        provider.close()
    assert time.monotonic() - started <= 1 + SLACK
