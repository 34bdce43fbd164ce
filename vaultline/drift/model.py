"""What a drift check reports: one :class:`DriftItem` per difference, in a versioned report.

Items name providers, paths, keys and references, never values: a drift report is meant to be
pasted into tickets and CI logs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 1

# Kinds of drift. ``error`` is a check that could not be made (provider unreachable, access
# denied): it fails the run too, since a check that did not happen is not a clean result.
MISSING = "missing"  # the reference (or its #field) points at nothing
ORPHANED = "orphaned"  # a secret under the environment's root that no key uses
STALE = "stale"  # pinned to an old version, or the latest version is deleted/destroyed
EXTRA = "extra"  # mirror: at the destination, not at the source
DIFFERENT = "different"  # mirror: at both, with different values (compared by keyed hash)
ERROR = "error"
KINDS = (MISSING, ORPHANED, STALE, EXTRA, DIFFERENT, ERROR)


@dataclass(frozen=True, slots=True)
class DriftItem:
    kind: str
    provider: str
    path: str  # as the provider shows it (e.g. kv/data/nexus-engine/prod/db), or a mirror's relative path
    reason: str
    key: str | None = None  # the environment key, when one is involved
    reference: str | None = None  # the reference as written, or the ESO resource's remote key
    where: str | None = None  # FILE:LINE of that reference (secrets.yaml or a manifest)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "provider": self.provider, "path": self.path,
                "key": self.key, "reference": self.reference, "where": self.where,
                "reason": self.reason}


@dataclass
class DriftReport:
    """The result of one drift check; ``mode`` is ``environment``, ``mirror`` or ``inventory``."""

    mode: str
    env: str | None
    items: list[DriftItem] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)  # what was looked at, by what
    notes: list[str] = field(default_factory=list)  # things the reader should know (key source...)
    extra: dict[str, Any] = field(default_factory=dict)  # mode-specific facts (mirror sides...)

    @property
    def drift(self) -> bool:
        return bool(self.items)

    def sorted_items(self) -> list[DriftItem]:
        order = {k: i for i, k in enumerate(KINDS)}
        return sorted(self.items, key=lambda i: (order.get(i.kind, 99), i.provider, i.path,
                                                 i.key or ""))

    def counts(self) -> dict[str, int]:
        found = Counter(i.kind for i in self.items)
        return {kind: found.get(kind, 0) for kind in KINDS}

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "mode": self.mode,
            "env": self.env,
            **self.extra,
            "drift": self.drift,
            "counts": self.counts(),
            "checked": dict(self.checked),
            "items": [i.to_dict() for i in self.sorted_items()],
            "notes": list(self.notes),
        }
