"""The remote providers' shared plumbing (providers/_remote.py): the deadline and circuit
breaker of one resolution, the guarded concurrent map, and scrubbing of server text."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from tests.factory import FakeClock
from vaultline.errors import PermissionDeniedError, ProviderError, ProviderUnavailableError
from vaultline.providers._remote import Guard, RemoteSettings, scrub
from vaultline.providers._retry import RetryPolicy, Transient, call_with_retries

TOKEN = "hvs.CAESIJ3x9kQmZ0bWxhc3Rfc2VjcmV0X3Rva2VuX2hlcmU"
JWT = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1cG4iOiJjaUBuZXh1cyJ9.c2lnbmF0dXJlLXBhcnQtaGVyZQ"
SIGNATURE = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"


@pytest.mark.parametrize(("text", "gone", "kept"), [
    (f"bad request: GET /v1/kv/data/app HTTP/1.1 X-Vault-Token: {TOKEN} Accept: */*",
     [TOKEN, "CAESIJ3x9kQ"], ["X-Vault-Token: [redacted]", "/v1/kv/data/app"]),
    (f"rejected: Authorization: Bearer {JWT}", [JWT, "eyJ1cG4i"], ["Authorization: [redacted]"]),
    (f"denied for bearer {JWT[:40]}", [JWT[:40]], ["bearer [redacted]"]),
    ("Authorization: AWS4-HMAC-SHA256 Credential=ASIAQWERTYUIOPASDFGH/20261201/us-east-1/"
     f"secretsmanager/aws4_request, SignedHeaders=host;x-amz-date, Signature={SIGNATURE}",
     [SIGNATURE, "ASIAQWERTYUIOPASDFGH"], ["Authorization: [redacted]"]),
    (f"X-Amz-Security-Token: FwoGZXIvYXdzEJr//////////wEaDH7 Signature={SIGNATURE}",
     ["FwoGZXIvYXdzEJr", SIGNATURE], ["X-Amz-Security-Token: [redacted]", "Signature=[redacted]"]),
    ('{"role_id": "r", "secret_id": "6a1f0e9c-secret-id-value"}', ["6a1f0e9c-secret-id-value"],
     ['"secret_id": "[redacted]"']),
    (f"token {TOKEN} is invalid", [TOKEN], ["is invalid"]),
    ("opaque 9f8e7d6c5b4a39281706f5e4d3c2b1a0ffeeddcc here", ["9f8e7d6c5b4a39281706f5e4d3c2b1a0ffeeddcc"],
     ["opaque [redacted] here"]),
    # what helps and is not a credential stays
    ("request 3f2c9b1e-8d7a-4c6b-9e5f-1a2b3c4d5e6f failed: nexus-engine--prod--connectionstrings--primary",
     [], ["3f2c9b1e-8d7a-4c6b-9e5f-1a2b3c4d5e6f", "nexus-engine--prod--connectionstrings--primary"]),
    ("permission denied on kv/data/nexus-engine/prod/db.primary", [],
     ["permission denied on kv/data/nexus-engine/prod/db.primary"]),
])
def test_scrub_removes_credentials_and_keeps_what_helps(text: str, gone: list[str], kept: list[str]) -> None:
    clean = scrub(text)
    for part in gone:
        assert part not in clean
    for part in kept:
        assert part in clean, clean


def test_scrub_replaces_the_credentials_in_use_and_bounds_the_length() -> None:
    root = "root-6d28de701abce43c"  # OpenBao dev tokens have no recognisable shape
    assert root not in scrub(f"bad token {root}", known=[root])
    clean = scrub("x " * 5000 + "\n\t" + root, known=[root])
    assert len(clean) <= 300 and "\n" not in clean and root not in clean


def fake_guard(clock: FakeClock, seconds: float = 10, breaker: int = 3) -> Guard:
    return Guard("p", seconds, breaker, clock=lambda: clock.now.timestamp())


def test_the_deadline_bounds_waits_and_retries(clock: FakeClock) -> None:
    guard = fake_guard(clock)
    assert guard.timeout(30) == pytest.approx(10)  # a request's own timeout cut to what is left
    guard.before_retry(1.0)
    clock.advance(seconds=9.5)
    with pytest.raises(ProviderUnavailableError, match="within the 10 s deadline"):
        guard.before_retry(1.0)  # the wait would end past the deadline: give up now
    clock.advance(seconds=1)
    with pytest.raises(ProviderUnavailableError, match="within the 10 s deadline"):
        guard.check()


def test_the_breaker_opens_after_consecutive_unavailability_only(clock: FakeClock) -> None:
    guard = fake_guard(clock, breaker=3)
    down = ProviderUnavailableError("cannot reach http://bao:8200")
    guard.record(down)
    guard.record(down)
    guard.record(PermissionDeniedError("denied"))  # an answer: the server is up
    guard.record(down)
    guard.record(None)
    guard.record(down)
    guard.record(down)
    guard.check()
    guard.record(down)
    with pytest.raises(ProviderUnavailableError, match="stopped after 3 consecutive failures: "
                                                       "cannot reach http://bao:8200"):
        guard.check()
    never = fake_guard(clock, breaker=0)
    for _ in range(100):
        never.record(down)
    never.check()


def test_map_returns_at_the_deadline_with_unfinished_items_failed() -> None:
    release = threading.Event()

    def slow(item: int) -> int:
        if item == 0:
            return 0
        release.wait(30)
        return item

    guard = Guard("p", 0.3, 5)
    started = time.monotonic()
    try:
        results = guard.map(slow, [0, 1, 2], 3)
    finally:
        release.set()
    assert time.monotonic() - started < 2
    assert results[0] == 0
    assert all(isinstance(results[i], ProviderUnavailableError) for i in (1, 2))
    assert "within the 0.3 s deadline" in str(results[1])


def test_map_skips_the_rest_once_the_breaker_opens() -> None:
    calls: list[int] = []

    def down(item: int) -> int:
        calls.append(item)
        raise ProviderUnavailableError("cannot reach")

    results = Guard("p", 30, 4).map(down, range(1000), 1)
    assert len(calls) == 4
    assert all("stopped after 4 consecutive failures" in str(results[i]) for i in range(4, 1000))


def test_map_reports_an_sdk_bug_for_its_key_instead_of_raising() -> None:
    def buggy(item: int) -> int:
        raise KeyError("data")

    results = Guard("p", 30, 4).map(buggy, [1], 1)
    assert isinstance(results[1], ProviderError)
    assert "unexpected KeyError from the client library" in str(results[1])


def test_a_read_blocked_past_the_deadline_is_woken() -> None:
    ours, theirs = socket.socketpair()
    guard = Guard("p", 0.3, 5)
    guard.track(ours)
    started = time.monotonic()
    try:
        ours.settimeout(30)
        try:
            data = ours.recv(1)  # the peer never writes
        except OSError:
            data = b""
    finally:
        ours.close()
        theirs.close()
        guard.close()
    assert data == b""
    assert time.monotonic() - started < 2


def test_settings_defaults() -> None:
    settings = RemoteSettings.from_options({}, where="provider 'p'")
    assert (settings.deadline, settings.timeout, settings.breaker) == (30.0, 10.0, 5)
    assert settings.max_response_bytes == 16 * 1024 * 1024


def test_retries_stop_once_the_next_wait_would_pass_the_deadline(clock: FakeClock) -> None:
    guard = fake_guard(clock, seconds=1)
    calls: list[int] = []

    def down() -> None:
        calls.append(1)
        clock.advance(seconds=0.6)
        raise Transient(ProviderUnavailableError("cannot reach"))

    with pytest.raises(ProviderUnavailableError, match="within the 1 s deadline"):
        call_with_retries(down, RetryPolicy(attempts=10, base=0.01), sleep=lambda _: None,
                          before_retry=guard.before_retry)
    assert len(calls) == 2
