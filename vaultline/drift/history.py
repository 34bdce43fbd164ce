"""A secret's version history, for the providers that keep one (local store, Vault KV v2).

Drift needs two facts a plain fetch cannot give: the latest version number when the latest
version is unreadable, and whether it is unreadable because it was soft-deleted or destroyed
(stale: restore it or write a new one) rather than never written (missing). Providers without
a history (env, file, dotenv, cloud stores whose versions are not ordered) answer ``None`` and
drift falls back to comparing what fetches return.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vaultline.errors import StoreError
from vaultline.providers.base import Provider


@dataclass(frozen=True, slots=True)
class Latest:
    version: int
    deleted: bool
    destroyed: bool

    @property
    def live(self) -> bool:
        return not (self.deleted or self.destroyed)

    def describe(self) -> str:
        state = "destroyed" if self.destroyed else "soft-deleted"
        return f"latest version {self.version} is {state}"


def latest(provider: Provider, path: str) -> Latest | None:
    """The latest version's state, or None if there is nothing at ``path`` or no history."""
    if provider.type == "local":
        return _local(provider, path)
    if provider.type == "vault":
        return _vault(provider, path)
    return None


def _local(provider: Provider, path: str) -> Latest | None:
    from vaultline.providers.local import LocalProvider

    assert isinstance(provider, LocalProvider)
    try:
        versions = provider.store.versions(path)
    except StoreError:
        return None
    last = versions[-1]
    return Latest(last.version, last.deleted_time is not None, last.destroyed)


def _vault(provider: Provider, path: str) -> Latest | None:
    from vaultline.providers.vault import VaultProvider

    assert isinstance(provider, VaultProvider)
    data = provider.metadata(path)
    if data is None:
        return None
    current = int(data.get("current_version") or 0)
    if current == 0:
        return None
    info: Mapping[str, Any] = (data.get("versions") or {}).get(str(current)) or {}
    return Latest(current, bool(info.get("deletion_time")), bool(info.get("destroyed")))
