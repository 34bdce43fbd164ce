"""Drift reads secrets and lists stores: one audit ``read`` per provider and purpose.

A drift run may touch hundreds of paths; the log gets what an auditor needs (who listed or
read which provider, how many paths, for which check) without one line per path, and never a
value or a hash of one.
"""

from __future__ import annotations

from typing import Any

from vaultline import audit
from vaultline.errors import ProviderError
from vaultline.providers.base import Provider


class DriftAudit:
    def __init__(self, env: str | None) -> None:
        self.env = env
        self.entries: list[audit.AuditEntry] = []

    def read(self, provider: Provider, where: str, purpose: str, *, ok: bool = True,
             **detail: Any) -> None:
        self.entries.append(audit.AuditEntry(
            audit.READ, env=self.env, reference=f"{provider.name}:{where}",
            outcome=audit.OK if ok else audit.FAILED, actor=_identity(provider),
            detail={"drift": purpose, **detail}))

    def flush(self, log: audit.AuditLog) -> None:
        log.record_many(self.entries)
        self.entries = []


def _identity(provider: Provider) -> str | None:
    try:
        return provider.identity
    except ProviderError:  # an identity lookup failing must not lose the audit entry
        return None
