"""Bounded retries with exponential backoff and full jitter, shared by the remote providers.

Only failures that may go away by themselves are retried: connection errors, timeouts, 429 and
5xx. A refusal (401/403), a missing secret (404) or a bad request is final on the first answer;
retrying it would only delay the error and hammer the server. Providers mark retryable
failures by raising :class:`Transient`; everything else propagates at once.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from vaultline.errors import ConfigError, ProviderError, ProviderUnavailableError

T = TypeVar("T")


class Transient(Exception):
    """A failure worth retrying; ``error`` is what to raise once the attempts run out."""

    def __init__(self, error: ProviderError, *, retry_after: float | None = None):
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # total tries, the first included
    base: float = 0.1  # seconds before the first retry, before jitter
    cap: float = 2.0  # no single wait is longer than this

    @classmethod
    def from_options(cls, options: Mapping[str, Any], *, where: str) -> RetryPolicy:
        """``retries`` (extra attempts) and ``backoff`` (base seconds) from vaultline.yaml."""
        try:
            retries = int(options.get("retries", cls.attempts - 1))
            base = float(options.get("backoff", cls.base))
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: 'retries' must be an integer and 'backoff' a number") from None
        if retries < 0 or base < 0:
            raise ConfigError(f"{where}: 'retries' and 'backoff' cannot be negative")
        return cls(attempts=retries + 1, base=base)

    def delay(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**attempt)] — spreads a thundering herd."""
        return random.uniform(0, min(self.cap, self.base * (2 ** attempt)))


def call_with_retries(
    call: Callable[[], T],
    policy: RetryPolicy,
    *,
    on_retry: Callable[[Transient], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    before_retry: Callable[[float], None] | None = None,
) -> T:
    """Run ``call``; on :class:`Transient` wait and try again, up to ``policy.attempts`` times.

    ``before_retry(wait)`` may raise to give up early (the resolution's deadline or breaker).
    """
    for attempt in range(policy.attempts):
        try:
            return call()
        except Transient as exc:
            if attempt + 1 >= policy.attempts:
                error = exc.error
                if isinstance(error, ProviderUnavailableError) and policy.attempts > 1:
                    error = type(error)(f"{error.reason} (after {policy.attempts} attempts)",
                                        provider=error.provider, reference=error.reference,
                                        key=error.key)
                raise error from None
            if on_retry is not None:
                on_retry(exc)
            wait = policy.delay(attempt)
            if exc.retry_after is not None:
                wait = max(wait, min(exc.retry_after, policy.cap))
            if before_retry is not None:
                before_retry(wait)
            sleep(wait)
    raise AssertionError("unreachable: the loop returns or raises")
