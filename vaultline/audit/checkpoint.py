"""The checkpoint: the last sequence number and hash of the log, kept outside the log.

A hash chain alone shows edits in the middle but not a cut tail: a log missing its last
lines is still a valid chain. So every append also records the new tip in the store's meta
table, MAC'd with a key derived from the master key, and ``verify`` compares the log's tail
with it. Editing the meta row without the master key breaks the MAC.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
from typing import TYPE_CHECKING, NamedTuple, Protocol

from vaultline.errors import AuditError

if TYPE_CHECKING:
    from vaultline.store.embedded import EmbeddedStore

META_NAME = "audit_checkpoint"
CHECKPOINT_VERSION = 1


class Tip(NamedTuple):
    """The last line of the log: its ``seq`` and ``hash``."""

    seq: int
    hash: str


class Checkpoint(Protocol):
    def load(self) -> Tip | None:
        """The recorded tip, ``None`` before the first append; ``AuditError`` if forged."""

    def save(self, tip: Tip) -> None: ...


class StoreCheckpoint:
    """A :class:`Checkpoint` in an embedded store's meta table."""

    def __init__(self, store: EmbeddedStore, mac_key: bytes) -> None:
        self._store = store
        self._key = mac_key

    def _mac(self, tip: Tip) -> str:
        message = f"vaultline-audit-checkpoint/v{CHECKPOINT_VERSION}\n{tip.seq}\n{tip.hash}"
        return hmac.new(self._key, message.encode(), hashlib.sha256).hexdigest()

    def load(self) -> Tip | None:
        try:
            raw = self._store.meta_get(META_NAME)
        except sqlite3.Error as exc:
            raise AuditError(f"cannot read the audit checkpoint from the store: {exc}") from None
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            if data.get("v") != CHECKPOINT_VERSION:
                raise AuditError(
                    f"the audit checkpoint has version {data.get('v')!r}; this vaultline "
                    f"reads version {CHECKPOINT_VERSION}"
                )
            tip = Tip(int(data["seq"]), str(data["hash"]))
            mac = str(data["mac"])
        except (ValueError, KeyError, TypeError, AttributeError):
            raise AuditError("the audit checkpoint in the store is not readable") from None
        if not hmac.compare_digest(mac, self._mac(tip)):
            raise AuditError(
                "the audit checkpoint in the store does not match its MAC (it was edited, "
                "or the store was opened with another master key)"
            )
        return tip

    def save(self, tip: Tip) -> None:
        data = {"v": CHECKPOINT_VERSION, "seq": tip.seq, "hash": tip.hash, "mac": self._mac(tip)}
        try:
            self._store.meta_set(META_NAME, json.dumps(data, separators=(",", ":")))
        except sqlite3.Error as exc:
            # The lines are already written; the next append or verify reports the gap.
            raise AuditError(f"cannot update the audit checkpoint in the store: {exc}") from None

    def __repr__(self) -> str:
        return f"StoreCheckpoint({self._store!r})"
