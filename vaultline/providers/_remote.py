"""What every remote provider shares: its common options and a bounded concurrent map."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from vaultline.errors import ConfigError, ProviderError
from vaultline.providers._retry import RetryPolicy

K = TypeVar("K")
V = TypeVar("V")

COMMON_OPTIONS = frozenset({"timeout", "max_workers", "retries", "backoff"})


@dataclass(frozen=True)
class RemoteSettings:
    timeout: float = 10.0  # seconds, per HTTP request (connect and read each)
    max_workers: int = 8  # concurrent requests, and pooled connections, per provider
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @classmethod
    def from_options(cls, options: Mapping[str, Any], *, where: str) -> RemoteSettings:
        try:
            timeout = float(options.get("timeout", cls.timeout))
            workers = int(options.get("max_workers", cls.max_workers))
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: 'timeout' must be a number of seconds and 'max_workers' "
                              "an integer") from None
        if timeout <= 0 or not 1 <= workers <= 64:
            raise ConfigError(f"{where}: 'timeout' must be positive and 'max_workers' in 1..64")
        return cls(timeout, workers, RetryPolicy.from_options(options, where=where))


def bounded_map(
    call: Callable[[K], V], items: Iterable[K], max_workers: int,
) -> dict[K, V | ProviderError]:
    """``call`` over distinct items, at most ``max_workers`` at a time; a ProviderError is a result."""

    def one(item: K) -> V | ProviderError:
        try:
            return call(item)
        except ProviderError as exc:
            return exc

    distinct = list(dict.fromkeys(items))
    if len(distinct) <= 1 or max_workers == 1:
        return {item: one(item) for item in distinct}
    with ThreadPoolExecutor(max_workers=min(max_workers, len(distinct))) as pool:
        return dict(zip(distinct, pool.map(one, distinct), strict=True))
