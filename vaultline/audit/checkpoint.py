"""The checkpoint: the last sequence number and hash of the log, kept outside the log.

A keyed chain shows every line written without the master key, but not a cut tail: a log
missing its last lines is still a valid chain. So every append also records the new tip in
the store's meta table, MAC'd with a key derived from the master key, and ``verify``
compares the log's tail with it. Editing the meta row without the master key breaks the MAC.
The MAC covers the store's id too: lines name the store whose rows they wrote, and an id
edited in the meta table would otherwise stop ``verify`` from holding the rows to them.

Deleting the row (with the log) must not pass for a store that never had a history: the
first checkpoint also writes a MAC'd ``audit_history`` marker; and should that go too,
``verify`` still finds the store's secret versions without their ``write`` lines. Only a
rollback of everything (log, checkpoint, marker and secrets together) is invisible from
here: that is what an anchor outside the machine is for (:mod:`vaultline.audit.anchor`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple, Protocol

from vaultline._limits import parse_json
from vaultline.errors import AuditError

if TYPE_CHECKING:
    from vaultline.store.embedded import EmbeddedStore, VersionInfo

META_NAME = "audit_checkpoint"
HISTORY_NAME = "audit_history"
# Version 1 had no ``damaged``, version 2 no store id; both are still read (and the next
# append writes the current version).
CHECKPOINT_VERSION = 3


class Tip(NamedTuple):
    """The last line of the log: its ``seq`` and ``hash``; in a checkpoint also the seq of
    the first ``audit.break`` line since the log was last restarted (``damaged``)."""

    seq: int
    hash: str
    damaged: int | None = None

    def same_line(self, other: Tip) -> bool:
        return self.seq == other.seq and self.hash == other.hash


class Checkpoint(Protocol):
    def load(self) -> Tip | None:
        """The recorded tip, ``None`` before the first append; ``AuditError`` if forged or
        removed from a store that has an audit history."""

    def save(self, tip: Tip) -> None: ...

    def writes(self) -> Sequence[VersionInfo]:
        """The secret versions written since the audit history began, to cross-check
        against ``write`` lines."""

    def records(self) -> set[tuple[str, str, int]]:
        """``(kind, name, version)`` of the store's records (key rings), to cross-check
        against the record versions key lines name."""

    @property
    def store_id(self) -> str | None:
        """The id that ``write`` lines of this store's versions carry (``detail.store``)."""

    def rows_digest(self, before: str) -> str:
        """What the store's rows created before ``before`` add up to (``audit restart``
        records it; ``verify`` holds the rows to it)."""


class StoreCheckpoint:
    """A :class:`Checkpoint` in an embedded store's meta table."""

    def __init__(self, store: EmbeddedStore, mac_key: bytes) -> None:
        self._store = store
        self._key = mac_key
        self._marked = False
        self._since: str | None = None

    def _mac(self, tip: Tip, version: int) -> str:
        message = f"vaultline-audit-checkpoint/v{version}\n{tip.seq}\n{tip.hash}"
        if version >= 2:
            message += f"\n{tip.damaged}"
        if version >= 3:
            # The store id picks the lines `verify` holds to the store's rows: a meta row
            # edited to another id would switch those checks off without the master key.
            message += f"\n{self._store.store_id}"
        return hmac.new(self._key, message.encode(), hashlib.sha256).hexdigest()

    def _history_mac(self, since: str) -> str:
        return hmac.new(self._key, f"vaultline-audit-history/v1\n{since}".encode(),
                        hashlib.sha256).hexdigest()

    def load(self) -> Tip | None:
        try:
            rows = dict(self._store.meta_rows((META_NAME, HISTORY_NAME)))
        except sqlite3.Error as exc:
            raise AuditError(f"cannot read the audit checkpoint from the store: {exc}") from None
        self._marked = HISTORY_NAME in rows
        self._since = self._history_since(rows.get(HISTORY_NAME))
        raw = rows.get(META_NAME)
        if raw is None:
            self._missing(rows.get(HISTORY_NAME))
            return None
        try:
            data = parse_json(raw)
            version = data.get("v")
            if version not in (1, 2, CHECKPOINT_VERSION):
                raise AuditError(
                    f"the audit checkpoint has version {version!r}; this vaultline "
                    f"reads version {CHECKPOINT_VERSION}"
                )
            damaged = data.get("damaged")
            tip = Tip(int(data["seq"]), str(data["hash"]),
                      None if damaged is None else int(damaged))
            mac = str(data["mac"])
        except (ValueError, KeyError, TypeError, AttributeError):
            raise AuditError("the audit checkpoint in the store is not readable") from None
        if not hmac.compare_digest(mac, self._mac(tip, version)):
            raise AuditError(
                "the audit checkpoint in the store does not match its MAC (it or the "
                "store's id was edited, or the store was opened with another master key)"
            )
        return tip

    def _history_since(self, marker: str | None) -> str | None:
        """When the audit history began, from a marker whose MAC holds; else None."""
        try:
            data = parse_json(marker or "")
            since, mac = str(data["since"]), str(data["mac"])
        except (ValueError, KeyError, TypeError):
            return None
        return since if hmac.compare_digest(mac, self._history_mac(since)) else None

    def _missing(self, marker: str | None) -> None:
        """No checkpoint: fine for a store that never had a history, a finding otherwise."""
        if marker is not None:
            try:
                data = parse_json(marker)
                since, mac = str(data["since"]), str(data["mac"])
            except (ValueError, KeyError, TypeError):
                raise AuditError("the audit checkpoint is missing from the store, and its "
                                 "audit history marker is not readable") from None
            if hmac.compare_digest(mac, self._history_mac(since)):
                raise AuditError(f"the audit checkpoint is missing from the store, which has "
                                 f"kept an audit history since {since} (it was removed)")
            raise AuditError("the audit checkpoint is missing from the store, and its audit "
                             "history marker does not match its MAC")

    def save(self, tip: Tip) -> None:
        data = {"v": CHECKPOINT_VERSION, "seq": tip.seq, "hash": tip.hash,
                "damaged": tip.damaged, "mac": self._mac(tip, CHECKPOINT_VERSION)}
        try:
            self._store.meta_set(META_NAME, json.dumps(data, separators=(",", ":")))
            if not self._marked:
                from datetime import UTC, datetime

                since = datetime.now(UTC).isoformat(timespec="microseconds")
                marker = {"v": 1, "since": since, "mac": self._history_mac(since)}
                self._store.meta_set(HISTORY_NAME, json.dumps(marker, separators=(",", ":")))
                self._marked = True
                self._since = since
        except sqlite3.Error as exc:
            # The lines are already written; the next append adopts them as a crash tail.
            raise AuditError(f"cannot update the audit checkpoint in the store: {exc}") from None

    def writes(self) -> Sequence[VersionInfo]:
        """The versions written since the audit history began (all of them when its marker
        is gone): versions older than the first audited event — written by an older
        vaultline, or through ``EmbeddedStore`` directly before any audit — are outside it."""
        since = self._since
        versions = self._store.written_versions()
        return versions if since is None else [v for v in versions if v.created_time >= since]

    def records(self) -> set[tuple[str, str, int]]:
        return self._store.record_versions()

    @property
    def store_id(self) -> str | None:
        return self._store.store_id

    def rows_digest(self, before: str) -> str:
        return self._store.rows_digest(before)

    def __repr__(self) -> str:
        return f"StoreCheckpoint({self._store!r})"
