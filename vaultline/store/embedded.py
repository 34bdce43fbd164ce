"""The embedded encrypted store: one SQLite file, versioned like Vault KV v2.

Every version of every secret is sealed with its own data key (see :mod:`.envelope`); the
file holds paths, version numbers, timestamps and ciphertext — never a plaintext value or
an unwrapped key. Writers take SQLite's write lock (``BEGIN IMMEDIATE``) so several processes
can put concurrently without losing a version.
"""

from __future__ import annotations

import base64
import contextlib
import os
import sqlite3
import stat
from collections.abc import Collection, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vaultline._files import private_dir, refuse_loose
from vaultline._limits import file_kind, limit, too_large
from vaultline.errors import (
    IntegrityError,
    MasterKeyError,
    SecretNotFoundError,
    StoreError,
    VersionConflictError,
)
from vaultline.store import _sealing as envelope
from vaultline.store import masterkey
from vaultline.store.records import RECORDS_SCHEMA, RecordTable, check_not_reserved, migrate_v1

# 2: vaultline's own records moved from `_vaultline/...` paths into the `records` table.
FORMAT_VERSION = 2
DB_NAME = "store.db"
_KEY_CHECK = b"vaultline key check"
KEK_PURPOSE = "store-kek"
_BUSY_MS = 60_000  # how long a writer waits for another's write lock
#: Files beside the store holding copies of secret values, sealed under keys derived from its
#: master key: `run`'s compiled maskers (``vaultline.redact.cache``) and the offline snapshots
#: (``vaultline.resolve.snapshot``). AES-GCM's associated data authenticates but does not
#: encrypt, so the master key alone opens them; a destroy removes them all (they are rebuilt
#: by the next run or resolution) so that no copy outlives the value it destroyed.
SEALED_COPIES = ("cache/masker-*.bin", "snapshots/*.snapshot")
SNAPSHOT_META = "snapshot:"  # meta rows naming the snapshot file of each environment

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS versions (
    path         TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    created_time TEXT    NOT NULL,
    deleted_time TEXT,
    destroyed    INTEGER NOT NULL DEFAULT 0,
    wrapped_key  BLOB,
    ciphertext   BLOB,
    PRIMARY KEY (path, version)
) WITHOUT ROWID;
""" + RECORDS_SCHEMA


# Everything a store's schema may hold: its own tables, meta's primary-key index, and the
# statistics ANALYZE or ``PRAGMA optimize`` leave. A trigger, view or other object planted
# by someone without the master key would run inside vaultline's own transactions (a trigger
# can keep every ciphertext vaultline destroys), so a store holding one is not used.
_OWN_OBJECTS = frozenset({("table", "meta"), ("table", "versions"), ("table", "records"),
                          ("index", "sqlite_autoindex_meta_1"), ("table", "sqlite_stat1"),
                          ("table", "sqlite_stat4")})


def _planted(db: sqlite3.Connection) -> list[str]:
    """The schema objects of ``db`` that are not the store's own, as ``type 'name'``."""
    return [f"{kind} {name!r}" for kind, name in db.execute(
        "SELECT type, name FROM sqlite_master ORDER BY type, name")
        if (kind, name) not in _OWN_OBJECTS]


# A wrapped data key is 60 bytes; the sealing adds a nonce and a tag to a value.
_MAX_WRAPPED = 1024
_SEALING = envelope.NONCE_BYTES + 16
_MAX_VERSION = 2**63 - 2  # the next one still fits SQLite's INTEGER


def checked_version(latest: object, what: str, db_path: Path | None = None) -> int:
    """The latest version number read back (``max(version)``; 0 when there is none)."""
    if latest is None:
        return 0
    if type(latest) is not int or not 0 < latest <= _MAX_VERSION:
        raise StoreError(damaged(f"the latest version of {what} is {latest!r}, not a version "
                                 "number vaultline writes", db_path))
    return latest


# Above every path: SQLite sorts any BLOB after any TEXT.
_AFTER_ALL = b""


def _canonical_id(text: str) -> str:
    """A store id as vaultline writes it (lower-case UUID): the audit compares ids as text."""
    import uuid

    try:
        return str(uuid.UUID(text))
    except ValueError:
        return text


def _refuse_planted_journals(db_path: Path) -> None:
    """SQLite's companion files (``-wal``, ``-shm``, ``-journal``) are regular files it creates
    itself; a symlink, FIFO or device in their place was put there by whoever can write the
    store directory, and SQLite would follow it or fail as if the store were damaged."""
    for suffix in ("-wal", "-shm", "-journal"):
        companion = db_path.with_name(db_path.name + suffix)
        try:
            mode = os.lstat(companion).st_mode
        except FileNotFoundError:
            continue
        if not stat.S_ISREG(mode):
            kind = "a symlink" if stat.S_ISLNK(mode) else file_kind(mode)
            raise StoreError(f"{companion} is {kind}, where SQLite keeps a journal of the store "
                             "(always a regular file it creates): someone else put it there. "
                             "The store itself is not damaged; remove it and try again")


def _key_range(prefix: str) -> tuple[str, str | bytes]:
    """``[low, high)`` holding exactly the paths that start with ``prefix``.

    UTF-8 keeps code point order, so the first text after every ``prefix…`` is ``prefix``
    with its last character incremented (skipping surrogates, which UTF-8 cannot carry).
    """
    head = prefix
    while head:
        last = ord(head[-1]) + 1
        if last == 0xD800:
            last = 0xE000
        if last <= 0x10FFFF:
            return prefix, head[:-1] + chr(last)
        head = head[:-1]
    return prefix, _AFTER_ALL


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


# Records are NamedTuples: defined on every command's start-up path, where a dataclass
# definition costs about a millisecond.
class VersionInfo(NamedTuple):
    path: str
    version: int
    created_time: str
    deleted_time: str | None
    destroyed: bool

    @property
    def live(self) -> bool:
        return self.deleted_time is None and not self.destroyed


class StoredSecret(NamedTuple):
    path: str
    version: int
    created_time: str
    value: bytes

    def __repr__(self) -> str:
        return f"StoredSecret(path={self.path!r}, version={self.version})"

    def text(self) -> str:
        try:
            return self.value.decode("utf-8")
        except UnicodeDecodeError:
            raise StoreError(not_text(self.path, self.version)) from None


def not_text(path: str, version: int) -> str:
    """What to say about a stored value that is not UTF-8 text."""
    return f"{path}@{version} is not UTF-8 text"


def damaged(detail: str, db_path: Path | None = None) -> str:
    """What to say when the store's database cannot be trusted, and how to recover."""
    where = f"{db_path}: " if db_path else ""
    return (f"{where}the embedded store is damaged ({detail}); restore {DB_NAME} from a "
            "backup, or move the store directory aside and run 'vaultline init' for a new, "
            "empty store")


class EmbeddedStore:
    """Open with :meth:`open` (existing store) or :meth:`create` (``vaultline init``)."""

    def __init__(self, directory: Path, connection: sqlite3.Connection, key: masterkey.MasterKey,
                 derived: dict[str, bytes] | None = None, *,
                 environ: Mapping[str, str] | None = None):
        self.directory = directory
        # The largest value put accepts; a row holding more was not written by vaultline and
        # is read as an empty blob (failing authentication), never loaded whole.
        self._max_value = limit("secret", environ)
        sealed = (f"CASE WHEN length(wrapped_key) > {_MAX_WRAPPED} THEN x'' ELSE wrapped_key "
                  f"END, CASE WHEN length(ciphertext) > {self._max_value + _SEALING} THEN x'' "
                  "ELSE ciphertext END FROM versions")
        self._select = f"SELECT path, version, created_time, deleted_time, destroyed, {sealed}"
        # The bulk read leaves out what no resolution uses (the creation time: 10,000 strings).
        self._select_latest = f"SELECT path, version, deleted_time, destroyed, {sealed}"
        self._db = connection
        self._master = key
        # Each sub-key is derived once per open store: a command derives every key it uses once.
        self._derived = {} if derived is None else derived
        self._kek = AESGCM(self.derive_key(KEK_PURPOSE))
        self.store_id = _canonical_id(self.meta_get("store_id") or "")

    # -- opening ------------------------------------------------------------------------

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        old_umask = os.umask(0o077)  # the -wal/-shm side files must be private too
        try:
            db = sqlite3.connect(path, isolation_level=None, timeout=_BUSY_MS / 1000,
                                 check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA secure_delete=ON")  # destroyed versions are zeroed on disk
            db.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
            # Defence in depth beside the schema check: what the schema holds may call only
            # functions without side effects.
            db.execute("PRAGMA trusted_schema=OFF")
        finally:
            os.umask(old_umask)
        return db

    @classmethod
    def exists(cls, directory: Path) -> bool:
        return (directory / DB_NAME).exists()

    @classmethod
    def create(
        cls,
        directory: Path,
        *,
        environ: Mapping[str, str] | None = None,
    ) -> tuple[EmbeddedStore, Path | None]:
        """Create a new store and its master key; returns the store and the key file written.

        If ``VAULTLINE_MASTER_KEY`` is set, that key is used and no key file is written.
        """
        env = os.environ if environ is None else environ
        if cls.exists(directory):
            raise StoreError(f"a store already exists in {directory}; nothing was changed")
        os.chmod(private_dir(directory), 0o700)  # also when it existed: it holds the store
        import uuid

        store_id = str(uuid.uuid4())
        key_file: Path | None = None
        if env.get(masterkey.ENV_KEY):
            key = masterkey.load(store_id, env)
        else:
            key_file = masterkey.key_file_path(store_id, env)
            if key_file.exists():
                raise MasterKeyError(f"{key_file} already exists; refusing to overwrite a key")
            material = masterkey.generate()
            masterkey.write_key_file(key_file, material)
            key = masterkey.MasterKey(material, str(key_file))
        db_path = directory / DB_NAME
        fd = os.open(db_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(fd, 0o600)  # a tighter umask (0277) would leave the store read-only
        finally:
            os.close(fd)
        db = cls._connect(db_path)
        with db:
            db.executescript(_SCHEMA)
        check_nonce = os.urandom(envelope.NONCE_BYTES)
        derived = {KEK_PURPOSE: key.derive(KEK_PURPOSE)}
        kek = AESGCM(derived[KEK_PURPOSE])
        check = check_nonce + kek.encrypt(check_nonce, _KEY_CHECK, envelope.FORMAT)
        meta = {
            "format": str(FORMAT_VERSION),
            "store_id": store_id,
            "created_time": _now(),
            "key_check": base64.b64encode(check).decode(),
        }
        db.executemany("INSERT INTO meta(name, value) VALUES (?, ?)", meta.items())
        return cls(directory, db, key, derived, environ=env), key_file

    @classmethod
    def open(cls, directory: Path, *, environ: Mapping[str, str] | None = None) -> EmbeddedStore:
        db_path = directory / DB_NAME
        if not db_path.exists():
            raise StoreError(
                f"no embedded store at {directory}; run 'vaultline init' in the project first"
            )
        refuse_loose(db_path, "store")
        _refuse_planted_journals(db_path)
        try:
            db = cls._connect(db_path)
        except sqlite3.DatabaseError as exc:
            raise StoreError(damaged(str(exc), db_path)) from None
        try:
            planted = _planted(db)
            rows = {} if planted else dict(db.execute("SELECT name, value FROM meta"))
        except sqlite3.DatabaseError as exc:
            db.close()
            raise StoreError(damaged(str(exc), db_path)) from None
        if planted:
            db.close()
            raise StoreError(damaged(f"it holds {', '.join(planted)}, which vaultline never "
                                     "creates: written there by someone else", db_path))
        if rows.get("format") not in (str(FORMAT_VERSION), "1"):
            db.close()
            raise StoreError(
                f"{db_path} has store format {rows.get('format')!r}; this vaultline reads "
                f"format {FORMAT_VERSION}"
            )
        import uuid

        try:
            store_id = str(uuid.UUID(str(rows.get("store_id"))))
            check = base64.b64decode(str(rows.get("key_check")), validate=True)
            if len(check) <= envelope.NONCE_BYTES + 16:
                raise ValueError("too short")
        except ValueError:
            db.close()
            missing = [n for n in ("store_id", "key_check") if n not in rows]
            what = (f"its {' and '.join(missing)} row is missing" if missing
                    else "its store_id or key_check row is garbled")
            raise StoreError(damaged(what, db_path)) from None
        key = masterkey.load(store_id, environ)
        derived = {KEK_PURPOSE: key.derive(KEK_PURPOSE)}
        try:
            AESGCM(derived[KEK_PURPOSE]).decrypt(
                check[: envelope.NONCE_BYTES], check[envelope.NONCE_BYTES :], envelope.FORMAT
            )
        except InvalidTag:
            db.close()
            raise MasterKeyError(
                f"the master key from {key.source} does not open the store in {directory}"
            ) from None
        store = cls(directory, db, key, derived, environ=environ)
        if rows["format"] == "1":
            store._migrate_v1()
        return store

    def _migrate_v1(self) -> None:
        """Format 1 kept vaultline's records at ``_vaultline/`` paths: move them to their table."""
        with self._write() as db:
            if self.meta_get("format") == "1":  # another process may have migrated meanwhile
                migrate_v1(db, self._kek)
                self.meta_set("format", str(FORMAT_VERSION))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> EmbeddedStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EmbeddedStore({str(self.directory)!r})"

    # -- keys derived from the master key, for the audit log and friends ----------------

    def derive_key(self, purpose: str) -> bytes:
        key = self._derived.get(purpose)
        if key is None:
            key = self._derived[purpose] = self._master.derive(purpose)
        return key

    # -- metadata -----------------------------------------------------------------------

    def meta_get(self, name: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def meta_rows(self, names: Collection[str]) -> list[tuple[str, str]]:
        """Several meta rows in one query (the audit reads its checkpoint on every append)."""
        marks = ", ".join("?" * len(names))
        return [(str(n), str(v)) for n, v in self._db.execute(
            f"SELECT name, value FROM meta WHERE name IN ({marks})", tuple(names))]

    def meta_set(self, name: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO meta(name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction for work beside the store that must stay in step with its meta
        rows (the offline snapshot's file and the row naming it)."""
        with self._write():
            yield

    @contextlib.contextmanager
    def _destroying(self) -> Iterator[sqlite3.Connection]:
        """A write that removes key material for good, then every other copy of it.

        ``secure_delete`` zeroes the rows' old bytes in ``store.db``, but the write-ahead log
        still holds the pages as they were until it is reset: the checkpoint copies the new
        pages in and truncates it. A reader in another process mid-transaction is not waited
        for (it would hold the destroy up): the log is then reset by a later checkpoint, at the
        latest when the last connection closes and SQLite removes it. Then the sealed copies
        beside the store go.
        """
        with self._write() as db:
            yield db
        self._db.execute("PRAGMA busy_timeout=0")
        try:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            self._db.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
        self.forget_copies()

    def forget_copies(self) -> None:
        """Remove the sealed copies of secret values kept beside the store
        (:data:`SEALED_COPIES`): after any destroy, here or at a remote provider. The meta
        rows naming the snapshot files written last go first, so a copy of one put back later
        is refused (:mod:`vaultline.resolve.snapshot`)."""
        self._db.execute("DELETE FROM meta WHERE substr(name, 1, ?) = ?",
                         (len(SNAPSHOT_META), SNAPSHOT_META))
        for pattern in SEALED_COPIES:
            for copy in self.directory.glob(pattern):
                try:
                    copy.unlink()
                except (FileNotFoundError, IsADirectoryError):
                    continue  # gone already, or something vaultline never wrote
                except OSError as exc:
                    raise StoreError(f"cannot remove {copy} ({exc.strerror}), which may hold a "
                                     "copy of a destroyed value: remove it by hand") from None

    # -- vaultline's own records ----------------------------------------------------------

    def records(self, kind: str) -> RecordTable:
        """The records of one kind (``keys``, ``overrides``): never reachable by a path."""
        return RecordTable(self._db, self._kek, self._write, kind, destroying=self._destroying)

    # -- secrets ------------------------------------------------------------------------

    @staticmethod
    def _check_path(path: str) -> str:
        check_not_reserved(path)
        clean = path.strip("/")
        if not clean or "//" in clean or any(p in (".", "..") for p in clean.split("/")):
            raise StoreError(f"invalid secret path {path!r}: use segments like 'app/env/Key'")
        return clean

    def put(self, path: str, value: bytes, *, cas: int | None = None) -> int:
        """Write a new version; with ``cas``, only if the current version is ``cas`` (0: new)."""
        path = self._check_path(path)
        if len(value) > self._max_value:
            raise StoreError(too_large(f"the value for {path}", self._max_value,
                                       "VAULTLINE_MAX_SECRET_SIZE"))
        with self._write() as db:
            row = db.execute("SELECT max(version) FROM versions WHERE path = ?", (path,)).fetchone()
            current = checked_version(row[0], path, self.directory / DB_NAME)
            if cas is not None and cas != current:
                raise VersionConflictError(
                    f"check-and-set failed for {path}: current version is {current}, not {cas}; "
                    "someone wrote since you read it: check the new value, then retry with "
                    f"--cas {current}"
                )
            version = current + 1
            wrapped, ciphertext = envelope.seal(
                self._kek, value, envelope.associated_data(path, version)
            )
            db.execute(
                "INSERT INTO versions(path, version, created_time, wrapped_key, ciphertext) "
                "VALUES (?, ?, ?, ?, ?)",
                (path, version, _now(), wrapped, ciphertext),
            )
        return version

    @staticmethod
    def _unreadable(path: str, version: int, deleted: str | None, destroyed: int,
                    wrapped: bytes | None, ciphertext: bytes | None) -> StoreError | None:
        """Why a version cannot be read (destroyed, deleted), or None when it can."""
        if destroyed or wrapped is None or ciphertext is None:
            return SecretNotFoundError(f"{path} version {version} was destroyed")
        if deleted is not None:
            return SecretNotFoundError(
                f"{path} version {version} is deleted; 'vaultline secret undelete' restores it"
            )
        return None

    def _open_row(self, path: str, version: int, created: str, deleted: str | None,
                  destroyed: int, wrapped: bytes | None, ciphertext: bytes | None) -> StoredSecret:
        error = self._unreadable(path, version, deleted, destroyed, wrapped, ciphertext)
        if error is not None:
            raise error
        assert wrapped is not None and ciphertext is not None  # _unreadable said so
        try:
            aad = envelope.associated_data(path, version)
        except envelope.UNSEALABLE:  # a version that is no number: not a row vaultline wrote
            raise envelope.tampered() from None
        value = envelope.open_sealed(self._kek, wrapped, ciphertext, aad)
        return StoredSecret(path, version, created, value)

    def get(self, path: str, version: int | None = None) -> StoredSecret:
        path = self._check_path(path)
        if version is None:
            row = self._db.execute(
                f"{self._select} WHERE path = ? ORDER BY version DESC LIMIT 1", (path,)
            ).fetchone()
        else:
            row = self._db.execute(
                f"{self._select} WHERE path = ? AND version = ?", (path, version)
            ).fetchone()
        if row is None:
            what = path if version is None else f"{path} version {version}"
            raise SecretNotFoundError(f"no secret at {what}")
        return self._open_row(*row)

    def iter_latest(self, paths: Collection[str]) -> Iterator[tuple[str, int, bytes | StoreError]]:
        """``(path, version, value)`` of the latest version of each of
        ``paths``, in no set order; ``value`` is the error when it cannot be read (version
        0 for a path with no secret). One pass, and nothing kept per secret: the local
        provider reads every secret of a resolution through it."""
        if not paths:
            return
        # One range scan of the paths' common prefix beats thousands of point queries. Read
        # backwards along the primary key, the first row of each path is its latest version.
        low, high = _key_range(os.path.commonprefix(list(paths)))  # noqa: RUF071 - not dirs
        wanted = set(paths)
        rows = self._db.execute(f"{self._select_latest} WHERE path >= ? AND path < ? "
                                "ORDER BY path DESC, version DESC", (low, high))
        unwrap, nonce, head = self._kek.decrypt, envelope.NONCE_BYTES, envelope.FORMAT + b"|"
        for path, version, deleted, destroyed, wrapped, sealed in rows:
            if path not in wanted:  # another path under the prefix, or an older version
                continue
            wanted.discard(path)
            if destroyed or deleted is not None or wrapped is None or sealed is None:
                error = self._unreadable(path, version, deleted, destroyed, wrapped, sealed)
                assert error is not None
                yield path, version, error
                continue
            # envelope.associated_data and envelope.open_sealed, inlined: this loop runs once
            # per secret read (a test holds the two equal).
            try:
                aad = b"%s%s|%d" % (head, path.encode(), version)
                key = unwrap(wrapped[:nonce], wrapped[nonce:], aad)
                value = AESGCM(key).decrypt(sealed[:nonce], sealed[nonce:], aad)
            except envelope.UNSEALABLE:
                yield path, version, envelope.tampered()
                continue
            yield path, version, value
        for path in wanted:
            yield path, 0, SecretNotFoundError(f"no secret at {path}")

    def list_paths(self, prefix: str = "") -> list[str]:
        """Paths under ``prefix`` whose latest version is live."""
        check_not_reserved(prefix)
        prefix = prefix.strip("/")
        # A range on the primary key reads only the rows under the prefix.
        low, high = _key_range(prefix + "/" if prefix else "")
        latest = self._db.execute(
            "SELECT path, max(version), deleted_time, destroyed FROM versions "
            "WHERE path = ? OR (path >= ? AND path < ?) GROUP BY path ORDER BY path",
            (prefix, low, high),
        )
        return [path for path, _, deleted, destroyed in latest
                if deleted is None and not destroyed]

    def versions(self, path: str) -> list[VersionInfo]:
        path = self._check_path(path)
        rows = self._db.execute(
            "SELECT path, version, created_time, deleted_time, destroyed FROM versions "
            "WHERE path = ? ORDER BY version",
            (path,),
        ).fetchall()
        if not rows:
            raise SecretNotFoundError(f"no secret at {path}")
        return [VersionInfo(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]

    def written_versions(self) -> list[VersionInfo]:
        """Every version ever written to a secret path (vaultline's own records live in their
        own table), for the audit's cross-check: each must have its ``write`` line."""
        rows = self._db.execute(
            "SELECT path, version, created_time, deleted_time, destroyed FROM versions "
            "ORDER BY path, version")
        return [VersionInfo(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]

    def record_versions(self) -> set[tuple[str, str, int]]:
        """``(kind, name, version)`` of every record row, for the audit's cross-check: rows
        are never deleted (destroying keeps them)."""
        return {(str(k), str(n), v) for k, n, v in self._db.execute(
            "SELECT kind, name, version FROM records")}

    def rows_digest(self, before: str) -> str:
        """``COUNT:SHA256`` of the secret versions and records created before ``before``
        (their names and version numbers): rows are never deleted, so it never changes
        unless someone removes or adds one behind vaultline's back."""
        import hashlib

        digest = hashlib.sha256()
        count = 0
        for query in ("SELECT 'v', path, version FROM versions WHERE created_time < ? "
                      "ORDER BY path, version",
                      "SELECT 'r', kind || '/' || name, version FROM records "
                      "WHERE created_time < ? ORDER BY kind, name, version"):
            for table, name, version in self._db.execute(query, (before,)):
                digest.update(f"{table}\0{name}\0{version}\n".encode("utf-8", "surrogatepass"))
                count += 1
        return f"{count}:{digest.hexdigest()}"

    def _target_versions(self, db: sqlite3.Connection, path: str,
                         versions: Iterable[int] | None) -> list[int]:
        existing = [r[0] for r in db.execute(
            "SELECT version FROM versions WHERE path = ? ORDER BY version", (path,))]
        if not existing:
            raise SecretNotFoundError(f"no secret at {path}")
        chosen = list(versions) if versions else [existing[-1]]
        missing = sorted(set(chosen) - set(existing))
        if missing:
            raise SecretNotFoundError(f"{path} has no version {missing[0]}")
        return chosen

    def delete(self, path: str, versions: Iterable[int] | None = None) -> list[int]:
        """Soft-delete (default: the latest version); ``undelete`` brings it back."""
        path = self._check_path(path)
        with self._write() as db:
            chosen = self._target_versions(db, path, versions)
            db.executemany(
                "UPDATE versions SET deleted_time = ? WHERE path = ? AND version = ? "
                "AND deleted_time IS NULL",
                [(_now(), path, v) for v in chosen],
            )
        return chosen

    def undelete(self, path: str, versions: Iterable[int] | None = None) -> list[int]:
        path = self._check_path(path)
        with self._write() as db:
            chosen = self._target_versions(db, path, versions)
            db.executemany(
                "UPDATE versions SET deleted_time = NULL WHERE path = ? AND version = ? "
                "AND destroyed = 0",
                [(path, v) for v in chosen],
            )
        return chosen

    def destroy(self, path: str, versions: Iterable[int] | None = None) -> list[int]:
        """Remove the key material of versions for good, and every copy (:meth:`_destroying`)."""
        path = self._check_path(path)
        with self._destroying() as db:
            chosen = self._target_versions(db, path, versions)
            db.executemany(
                "UPDATE versions SET destroyed = 1, wrapped_key = NULL, ciphertext = NULL "
                "WHERE path = ? AND version = ?",
                [(path, v) for v in chosen],
            )
        return chosen


__all__ = ["EmbeddedStore", "IntegrityError", "StoredSecret", "VersionInfo"]
