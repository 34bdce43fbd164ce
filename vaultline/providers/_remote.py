"""What every remote provider shares: its common options, the resolution's deadline and circuit
breaker, a bounded concurrent map that honours both, and the scrubbing of server error text.

A sick server must cost a bounded time whatever it does: refuse, accept and never answer, drip
one byte at a time, or answer a flood. Per-request socket timeouts do not bound a drip (every
byte restarts them), so each resolution gets one :class:`Guard`: a deadline for the whole of it
and a breaker that, after a run of consecutive unavailable answers, fails the provider's
remaining requests at once with that reason. Work runs on daemon threads and the caller waits
no longer than the deadline; sockets registered with the guard are shut down when it passes, so
a worker blocked in a read wakes up instead of outliving the command.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, TypeVar

from vaultline.errors import ConfigError, ProviderError, ProviderUnavailableError
from vaultline.providers._retry import RetryPolicy

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")

COMMON_OPTIONS = frozenset({"timeout", "deadline", "max_workers", "retries", "backoff",
                            "breaker", "max_response_bytes"})

MAX_DEADLINE = 3600.0  # seconds; a longer wait is a misconfiguration, not patience


@dataclass(frozen=True)
class RemoteSettings:
    timeout: float = 10.0  # seconds, per HTTP request (connect and each read)
    max_workers: int = 8  # concurrent requests, and pooled connections, per provider
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    deadline: float = 30.0  # seconds for a whole resolution (or one other operation)
    breaker: int = 5  # consecutive unavailable answers that stop the provider; 0 = never
    max_response_bytes: int = 16 * 1024 * 1024  # a larger answer is refused while it is read

    @classmethod
    def from_options(cls, options: Mapping[str, Any], *, where: str) -> RemoteSettings:
        def number(name: str, kind: type[int] | type[float], low: float, high: float,
                   default: float) -> Any:
            value = options.get(name, default)
            ok = isinstance(value, int | float) and not isinstance(value, bool) and \
                (kind is float or float(value).is_integer()) and low <= value <= high
            if not ok:
                unit = "seconds" if kind is float else "an integer"
                low_text, high_text = (str(int(x)) if float(x).is_integer() else f"{x:g}"
                                       for x in (low, high))
                raise ConfigError(f"{where}: {name!r} must be {unit} from {low_text} to "
                                  f"{high_text}, not {str(value)[:40]!r}")
            return kind(value)

        return cls(
            timeout=number("timeout", float, 0.001, MAX_DEADLINE, cls.timeout),
            max_workers=number("max_workers", int, 1, 64, cls.max_workers),
            retry=RetryPolicy.from_options(options, where=where),
            deadline=number("deadline", float, 0.001, MAX_DEADLINE, cls.deadline),
            breaker=number("breaker", int, 0, 1_000_000, cls.breaker),
            max_response_bytes=number("max_response_bytes", int, 1024, 2**31,
                                      cls.max_response_bytes),
        )

    def guard(self, provider: str) -> Guard:
        """A fresh deadline and breaker: one per resolution (or per call outside one)."""
        return Guard(provider, self.deadline, self.breaker)


class Guard:
    """One resolution's deadline and circuit breaker for one provider.

    ``check()`` raises once either has tripped; ``record()`` feeds the breaker with each
    request's outcome; ``track()`` registers a socket to shut down when the deadline passes.
    """

    def __init__(self, provider: str, seconds: float, breaker: int, *,
                 clock: Callable[[], float] = time.monotonic):
        self.provider = provider
        self.seconds = seconds
        self.limit = breaker
        self._clock = clock
        self._ends = clock() + seconds
        self._lock = threading.Lock()
        self._failures = 0
        self._open: ProviderUnavailableError | None = None
        self._sockets: set[socket.socket] = set()
        self._timer: threading.Timer | None = None
        self._done = False

    # -- deadline --------------------------------------------------------------------------

    def remaining(self) -> float:
        return self._ends - self._clock()

    def timeout(self, per_request: float) -> float:
        """A socket timeout for the next operation: the request's own, cut to what is left."""
        return max(0.001, min(per_request, self.remaining()))

    def expired_error(self) -> ProviderUnavailableError:
        return ProviderUnavailableError(
            f"no answer within the {self.seconds:g} s deadline (raise 'deadline' in the "
            "provider's options if the server is just slow)", provider=self.provider)

    # -- breaker ---------------------------------------------------------------------------

    def record(self, error: BaseException | None) -> None:
        """One request's outcome: only unavailability counts; any answer closes the run."""
        with self._lock:
            if not isinstance(error, ProviderUnavailableError):
                self._failures = 0
                return
            self._failures += 1
            if self.limit and self._failures >= self.limit and self._open is None:
                self._open = ProviderUnavailableError(
                    f"stopped after {self._failures} consecutive failures: {error.reason}",
                    provider=self.provider)

    def check(self) -> None:
        """Raise if the breaker is open or the deadline has passed: nothing more is worth trying."""
        if self._open is not None:
            raise self._open
        if self.remaining() <= 0:
            raise self.expired_error()

    def before_retry(self, wait: float) -> None:
        """A retry is worth its wait only if the breaker is closed and the deadline is further."""
        self.check()
        if wait >= self.remaining():
            raise self.expired_error()

    # -- sockets ---------------------------------------------------------------------------

    def track(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            if self._done:
                return
            self._sockets.add(sock)
            if self._timer is None:
                self._timer = threading.Timer(max(0.0, self.remaining()), self._expire)
                self._timer.daemon = True
                self._timer.start()

    def untrack(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sockets.discard(sock)  # type: ignore[arg-type]

    def _expire(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes a read blocked in another thread

    def close(self) -> None:
        with self._lock:
            self._done = True
            timer, self._timer = self._timer, None
            self._sockets.clear()
        if timer is not None:
            timer.cancel()

    # -- running work under the guard ------------------------------------------------------

    def call(self, fn: Callable[[], T]) -> T:
        """``fn()`` on a daemon thread; waits at most until the deadline. Raises what ``fn``
        raised, or the deadline's error."""
        outcome = self._run(lambda _: fn(), [None], 1)[None]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def map(self, call: Callable[[K], V], items: Iterable[K],
            max_workers: int) -> dict[K, V | ProviderError]:
        """``call`` over distinct items, at most ``max_workers`` at a time, each a result or
        a ProviderError; items not finished by the deadline (or skipped once the breaker
        opened) get that reason."""
        results: dict[K, V | ProviderError] = {}
        for item, outcome in self._run(call, items, max_workers).items():
            if isinstance(outcome, BaseException) and not isinstance(outcome, ProviderError):
                # An SDK's own bug: reported for its key, never a traceback or a hang.
                outcome = ProviderError(f"unexpected {type(outcome).__name__} from the client "
                                        "library", provider=self.provider)
            results[item] = outcome  # type: ignore[assignment]
        return results

    def _run(self, call: Callable[[K], V], items: Iterable[K],
             max_workers: int) -> dict[K, V | BaseException]:
        """The work on daemon threads: a worker stuck in a read never holds up the caller,
        and the socket shutdown at the deadline ends it soon after."""
        distinct = list(dict.fromkeys(items))
        results: dict[K, V | BaseException] = {}
        pending = iter(distinct)
        lock = threading.Lock()
        finished = threading.Event()

        def one(item: K) -> V | BaseException:
            try:
                self.check()
                value = call(item)
            except Exception as exc:
                self.record(exc)
                return exc
            self.record(None)
            return value

        def worker() -> None:
            while True:
                with lock:
                    item = next(pending, _END)
                if item is _END:
                    return
                outcome = one(item)  # type: ignore[arg-type]
                with lock:
                    results[item] = outcome  # type: ignore[index]
                    if len(results) == len(distinct):
                        finished.set()

        if not distinct:
            return {}
        for _ in range(min(max_workers, len(distinct))):
            threading.Thread(target=worker, daemon=True, name=f"vaultline-{self.provider}").start()
        finished.wait(max(0.0, self.remaining()))
        with lock:
            pending = iter(())  # workers take nothing new
            late = self._open or self.expired_error()
            return {item: results.get(item, late) for item in distinct}


_END = object()


# -- server error text -----------------------------------------------------------------------

_REDACTED = "[redacted]"
_SCRUBBERS = [
    # credential headers and parameters, as a server or proxy may echo them back
    (re.compile(r"(?i)\b(x-vault-token|x-amz-security-token|x-amz-signature|x-amz-credential|"
                r"authorization|proxy-authorization|cookie|set-cookie|x-ms-authorization-auxiliary|"
                r"client_token|secret_id|token|signature|credential|password)"
                r"(\"?\s*[:=]\s*\"?)(?:(?:bearer|basic|pop|aws4-hmac-sha256)\s+)?[^\s\",;&]+"),
     rf"\1\2{_REDACTED}"),
    (re.compile(r"(?i)\b(bearer|basic|pop)\s+[A-Za-z0-9._~+/=-]{8,}"), rf"\1 {_REDACTED}"),
    # token shapes: Vault/OpenBao service, batch and recovery tokens, JWTs, AWS key ids
    (re.compile(r"\b(?:hv[sbr]|s|b|r)\.[A-Za-z0-9_-]{16,}"), _REDACTED),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"), _REDACTED),
    (re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"), _REDACTED),
    # any other long opaque run with a digit in it (paths and names have separators or no
    # digits; request ids are UUIDs and kept, they help the server's operators)
    (re.compile(r"(?<![\w-])(?![0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                r"[0-9a-fA-F]{12}(?![\w-]))(?=[A-Za-z+=_-]*\d)[A-Za-z0-9+=_-]{32,}"), _REDACTED),
]
MAX_REASON = 300  # characters of server text kept in a message


def scrub(text: str, known: Iterable[str] = ()) -> str:
    """Server or SDK text made fit to show and log: the credentials in use (``known``) and
    anything token- or credential-shaped replaced, whitespace collapsed, length bounded."""
    # Cut before collapsing: an SDK may put a whole multi-megabyte answer in its message.
    text = " ".join(str(text)[:16 * MAX_REASON].split())[:4 * MAX_REASON]
    for secret in known:
        if secret and len(secret) >= 4:
            text = text.replace(secret, _REDACTED)
    for pattern, replacement in _SCRUBBERS:
        text = pattern.sub(replacement, text)
    return text if len(text) <= MAX_REASON else text[:MAX_REASON - 1] + "…"

