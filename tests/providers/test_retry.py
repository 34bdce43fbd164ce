"""Bounded retries with backoff and jitter (providers/_retry.py), and the vault read path using them."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.servers import BaoServer
from vaultline.errors import PermissionDeniedError, ProviderError, ProviderUnavailableError
from vaultline.providers._retry import RetryPolicy, Transient, call_with_retries
from vaultline.providers.base import ProviderContext
from vaultline.providers.vault import VaultProvider


def test_delay_is_full_jitter_under_an_exponential_cap() -> None:
    policy = RetryPolicy(attempts=6, base=0.1, cap=1.0)
    for attempt, ceiling in enumerate([0.1, 0.2, 0.4, 0.8, 1.0, 1.0]):
        delays = [policy.delay(attempt) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling / 2  # spread over the range, not a fixed wait


@pytest.mark.parametrize(("failures", "attempts", "calls", "succeeds"), [
    (0, 4, 1, True),
    (3, 4, 4, True),
    (4, 4, 4, False),
    (1, 1, 1, False),
])
def test_attempts_are_bounded(failures: int, attempts: int, calls: int, succeeds: bool) -> None:
    seen: list[int] = []
    sleeps: list[float] = []

    def call() -> str:
        seen.append(1)
        if len(seen) <= failures:
            raise Transient(ProviderUnavailableError("down", provider="p"))
        return "ok"

    policy = RetryPolicy(attempts=attempts, base=0.01)
    if succeeds:
        assert call_with_retries(call, policy, sleep=sleeps.append) == "ok"
    else:
        with pytest.raises(ProviderUnavailableError) as info:
            call_with_retries(call, policy, sleep=sleeps.append)
        assert info.value.provider == "p"
        assert ("after" in str(info.value)) is (attempts > 1)
    assert len(seen) == calls and len(sleeps) == calls - 1


def test_final_errors_are_not_retried_and_retry_after_is_honoured() -> None:
    calls: list[int] = []

    def denied() -> None:
        calls.append(1)
        raise PermissionDeniedError("no")

    with pytest.raises(PermissionDeniedError):
        call_with_retries(denied, RetryPolicy(attempts=5), sleep=lambda _: None)
    assert calls == [1]
    sleeps: list[float] = []
    attempts = iter([Transient(ProviderUnavailableError("429"), retry_after=1.5)])

    def throttled() -> str:
        error = next(attempts, None)
        if error:
            raise error
        return "ok"

    call_with_retries(throttled, RetryPolicy(attempts=2, base=0.001, cap=2.0), sleep=sleeps.append)
    assert sleeps == [1.5]


class FlakyProxy:
    """Forwards to OpenBao, but answers the next requests with the queued statuses first."""

    def __init__(self, target: str):
        self.target = target
        self.fail: list[int] = []
        self.seen: list[int] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: Any) -> None:
                pass

            def do_GET(self) -> None:
                if proxy.fail:
                    status = proxy.fail.pop(0)
                    body = b'{"errors":["injected"]}'
                    proxy.seen.append(status)
                else:
                    request = urllib.request.Request(proxy.target + self.path, headers={
                        k: v for k, v in self.headers.items() if k.lower().startswith("x-vault")})
                    try:
                        with urllib.request.urlopen(request, timeout=5) as answer:
                            status, body = answer.status, answer.read()
                    except urllib.error.HTTPError as exc:
                        status, body = exc.code, exc.read()
                    proxy.seen.append(status)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy(openbao: BaoServer) -> Iterator[FlakyProxy]:
    flaky = FlakyProxy(openbao.url)
    yield flaky
    flaky.close()


def vault_via(proxy: FlakyProxy, openbao: BaoServer, root: Path) -> VaultProvider:
    context = ProviderContext(app="retry-app", env="prod", root=root, environ={"VAULT_TOKEN": openbao.token})
    provider = VaultProvider("vault", {"url": proxy.url, "retries": 3, "backoff": 0.01}, context)
    provider._token()  # login (hvac, not proxied by the flaky path below) happens first
    return provider


def test_vault_reads_retry_429_and_5xx(proxy: FlakyProxy, openbao: BaoServer, tmp_path: Path) -> None:
    openbao.api("POST", "kv/data/retry-app/prod/k", {"data": {"v": "1"}})
    vault = vault_via(proxy, openbao, tmp_path)
    proxy.seen.clear()
    proxy.fail[:] = [429, 503, 502]
    assert vault.fetch("k").value == {"v": "1"}
    assert proxy.seen == [429, 503, 502, 200]
    proxy.seen.clear()
    proxy.fail[:] = [500] * 4
    with pytest.raises(ProviderUnavailableError, match="after 4 attempts"):
        vault.fetch("k")
    assert proxy.seen == [500] * 4


def test_vault_reads_do_not_retry_404_or_403(proxy: FlakyProxy, openbao: BaoServer, tmp_path: Path) -> None:
    vault = vault_via(proxy, openbao, tmp_path)
    proxy.seen.clear()
    with pytest.raises(ProviderError, match="nothing at"):
        vault.fetch("absent")
    assert proxy.seen == [404]
    proxy.seen.clear()
    proxy.fail[:] = [403]
    vault._valid_tokens.add(openbao.token)  # the token is known good: a 403 is a real denial
    with pytest.raises(PermissionDeniedError):
        vault.fetch("absent")
    assert proxy.seen == [403]
