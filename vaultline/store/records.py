"""vaultline's own records (key rings, overrides, rotations, locks), out of the path API.

Secrets live in ``versions`` and are reached by path; records live in ``records`` and are
reached only through the library code that owns their kind (:class:`RecordTable`). Each
version is sealed like a secret, but its associated data names the record's *kind*, name and
version (:func:`vaultline.store._sealing.record_associated_data`), so a ciphertext copied to
another kind, another record or from a secret row does not open.

Paths in the reserved namespace ``_vaultline/`` are refused by every path operation
(:func:`check_not_reserved`), whatever spelling reaches it: case, ``./``, ``a/../``, URL
escapes, Unicode compatibility forms, doubled or trailing slashes.

Stores of format 1 kept records at ``_vaultline/<kind>/<name>`` paths; :func:`migrate_v1`
moves them here (re-sealed, every version kept, destroyed ones stay destroyed) when the store
is opened, in one transaction.
"""

from __future__ import annotations

import sqlite3
import unicodedata
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vaultline.errors import (
    IntegrityError,
    ReservedPathError,
    SecretNotFoundError,
    VersionConflictError,
)
from vaultline.store import _sealing as envelope

RESERVED = "_vaultline"
KINDS = frozenset({"keys", "overrides", "rotations", "locks"})

RECORDS_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    kind         TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    created_time TEXT    NOT NULL,
    destroyed    INTEGER NOT NULL DEFAULT 0,
    wrapped_key  BLOB,
    ciphertext   BLOB,
    PRIMARY KEY (kind, name, version)
) WITHOUT ROWID;
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _head(path: str) -> str:
    """The first segment ``path`` would name once every spelling trick is undone."""
    text = path
    for _ in range(4):  # %255F… decodes to %5F… decodes to _
        decoded = urllib.parse.unquote(text)
        if decoded == text:
            break
        text = decoded
    text = unicodedata.normalize("NFKC", text).replace("\\", "/")
    stack: list[str] = []
    for segment in text.split("/"):
        segment = segment.strip()
        if segment in ("", "."):
            continue
        if segment == "..":
            if stack:
                stack.pop()
            continue
        stack.append(segment)
    return stack[0].casefold() if stack else ""


def check_not_reserved(path: str) -> None:
    """Refuse a secret path (or ``ls`` prefix) in vaultline's own namespace."""
    # Only a path spelling the name somehow can decode to it: skip the work for the rest.
    suspect = RESERVED in path.casefold() or "%" in path or not path.isascii()
    if suspect and _head(path) == RESERVED:
        raise ReservedPathError(
            f"{path!r} is in {RESERVED}/, where vaultline keeps its own records (key rings, "
            "overrides); they are managed with 'vaultline keys' and 'vaultline override', "
            "never as secrets")


Begin = Callable[[], AbstractContextManager[sqlite3.Connection]]  # the store's write transaction


class RecordTable:
    """The records of one kind, versioned with check-and-set like secrets."""

    def __init__(self, db: sqlite3.Connection, kek: AESGCM, begin: Begin, kind: str, *,
                 destroying: Begin):
        if kind not in KINDS:
            raise ValueError(f"unknown record kind {kind!r}")
        self._db = db
        self._kek = kek
        self._begin = begin
        self._destroying = destroying  # a write that then removes every copy of what it erased
        self.kind = kind

    def __repr__(self) -> str:
        return f"RecordTable({self.kind!r})"

    def _what(self, name: str) -> str:
        return f"{self.kind} record {name!r}"

    def get(self, name: str) -> tuple[bytes, int]:
        """``(value, version)`` of the latest version."""
        row = self._db.execute(
            "SELECT version, destroyed, wrapped_key, ciphertext FROM records "
            "WHERE kind = ? AND name = ? ORDER BY version DESC LIMIT 1",
            (self.kind, name)).fetchone()
        if row is None:
            raise SecretNotFoundError(f"no {self._what(name)}")
        version, destroyed, wrapped, sealed = row
        if destroyed or wrapped is None or sealed is None:
            raise SecretNotFoundError(f"{self._what(name)} version {version} was destroyed")
        if type(version) is not int:
            raise envelope.tampered()
        aad = envelope.record_associated_data(self.kind, name, version)
        return envelope.open_sealed(self._kek, wrapped, sealed, aad), version

    def put(self, name: str, value: bytes, *, cas: int | None = None) -> int:
        """Write a new version; with ``cas``, only if the current version is ``cas`` (0: new)."""
        with self._begin() as db:
            row = db.execute("SELECT max(version) FROM records WHERE kind = ? AND name = ?",
                             (self.kind, name)).fetchone()
            from vaultline.store.embedded import checked_version  # it imports this module

            current = checked_version(row[0], self._what(name))
            if cas is not None and cas != current:
                raise VersionConflictError(
                    f"{self._what(name)} changed meanwhile (version {current}, not {cas})")
            version = current + 1
            wrapped, sealed = envelope.seal(
                self._kek, value, envelope.record_associated_data(self.kind, name, version))
            db.execute("INSERT INTO records(kind, name, version, created_time, wrapped_key, "
                       "ciphertext) VALUES (?, ?, ?, ?, ?, ?)",
                       (self.kind, name, version, _now(), wrapped, sealed))
        return version

    def names(self, prefix: str = "") -> list[str]:
        """Names (starting with ``prefix``) whose latest version is not destroyed."""
        rows = self._db.execute(
            "SELECT name, destroyed FROM records AS r WHERE kind = ? AND substr(name, 1, ?) = ? "
            "AND version = (SELECT max(version) FROM records "
            "WHERE kind = r.kind AND name = r.name) ORDER BY name",
            (self.kind, len(prefix), prefix))
        return [name for name, destroyed in rows if not destroyed]

    def history(self, name: str) -> list[int]:
        """Versions of the record still holding a ciphertext, oldest first."""
        return [v for (v,) in self._db.execute(
            "SELECT version FROM records WHERE kind = ? AND name = ? AND destroyed = 0 "
            "ORDER BY version", (self.kind, name))]

    def destroy(self, name: str, versions: Iterable[int]) -> None:
        """Remove versions' ciphertext for good, and every copy of it (the store's
        ``_destroying``: an override's value may be in a compiled masker)."""
        with self._destroying() as db:
            db.executemany("UPDATE records SET destroyed = 1, wrapped_key = NULL, "
                           "ciphertext = NULL WHERE kind = ? AND name = ? AND version = ?",
                           [(self.kind, name, v) for v in versions])


def _old_rows(db: sqlite3.Connection) -> Iterator[tuple[str, int, str, int, bytes | None,
                                                         bytes | None]]:
    low, high = f"{RESERVED}/", f"{RESERVED}0"  # '0' follows '/'
    yield from db.execute(
        "SELECT path, version, created_time, destroyed, wrapped_key, ciphertext FROM versions "
        "WHERE path >= ? AND path < ? ORDER BY path, version", (low, high))


def migrate_v1(db: sqlite3.Connection, kek: AESGCM) -> int:
    """Move format-1 records out of ``versions`` into ``records``; the number of versions moved.

    The caller holds the write transaction and sets the new format inside it.
    """
    db.execute(RECORDS_SCHEMA)
    moved: list[tuple[str, str, int, str, int, bytes | None, bytes | None]] = []
    for path, version, created, destroyed, wrapped, sealed in list(_old_rows(db)):
        kind, _, name = path[len(RESERVED) + 1:].partition("/")
        if destroyed or wrapped is None or sealed is None:
            moved.append((kind, name, version, created, 1, None, None))
            continue
        try:
            value = envelope.open_sealed(kek, wrapped, sealed,
                                         envelope.associated_data(path, version))
        except IntegrityError:
            raise IntegrityError(
                f"cannot move {path} version {version} to the records table: its ciphertext "
                "failed authentication; the store was left unchanged (format 1)") from None
        new_wrapped, new_sealed = envelope.seal(
            kek, value, envelope.record_associated_data(kind, name, version))
        moved.append((kind, name, version, created, 0, new_wrapped, new_sealed))
    db.executemany("INSERT INTO records(kind, name, version, created_time, destroyed, "
                   "wrapped_key, ciphertext) VALUES (?, ?, ?, ?, ?, ?, ?)", moved)
    db.execute("DELETE FROM versions WHERE path >= ? AND path < ?",
               (f"{RESERVED}/", f"{RESERVED}0"))
    return len(moved)
