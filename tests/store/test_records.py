"""vaultline's own records: their own table, bound to kind and name, out of the path API."""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path

import pytest

from vaultline.errors import IntegrityError, ReservedPathError, VersionConflictError
from vaultline.store import EmbeddedStore
from vaultline.store import _sealing as envelope
from vaultline.store.records import check_not_reserved

# Every spelling that names the reserved namespace; each must be refused by every path call.
RESERVED_SPELLINGS = [
    "_vaultline/overrides/prod/deadbeef", "_vaultline", "_vaultline/", "/_vaultline/keys/jwt",
    "_VAULTLINE/keys/jwt", "_VaultLine/keys/jwt", "./_vaultline/keys/jwt",
    "a/../_vaultline/keys/jwt", "a/b/../../_vaultline/keys", "%5Fvaultline/keys/jwt",
    "%5fvaultline/keys/jwt", "%255Fvaultline/keys/jwt", "_vaultline%2Fkeys%2Fjwt",
    "_vaultline//keys/jwt", "_vaultline/keys/jwt/", "\uff3fvaultline/keys/jwt",
    "_vaultline\\keys\\jwt", " _vaultline/keys/jwt", "_vaultline%2fkeys",
]
SAFE = ["app/_vaultline/keys", "_vaultlinex/keys", "vaultline/keys", "app/prod/Key"]


@pytest.mark.parametrize("path", RESERVED_SPELLINGS)
def test_every_path_operation_refuses_the_reserved_namespace(store: EmbeddedStore,
                                                             path: str) -> None:
    for call in (lambda: store.put(path, b'{"state":"active"}'), lambda: store.get(path),
                 lambda: store.versions(path), lambda: store.delete(path),
                 lambda: store.undelete(path), lambda: store.destroy(path),
                 lambda: store.list_paths(path)):
        with pytest.raises(ReservedPathError, match="vaultline keeps its own records") as info:
            call()
        assert info.value.exit_code == 2


@pytest.mark.parametrize("path", SAFE)
def test_lookalike_paths_are_ordinary_secrets(path: str) -> None:
    check_not_reserved(path)


def test_records_are_versioned_with_check_and_set(store: EmbeddedStore) -> None:
    table = store.records("overrides")
    assert table.put("prod/a1", b"one", cas=0) == 1
    with pytest.raises(VersionConflictError):
        table.put("prod/a1", b"two", cas=0)
    assert table.put("prod/a1", b"two", cas=1) == 2
    assert table.get("prod/a1") == (b"two", 2)
    table.put("dev/b2", b"x")
    assert table.names("prod/") == ["prod/a1"]
    table.destroy("prod/a1", table.history("prod/a1")[:-1])
    assert table.history("prod/a1") == [2]
    assert store.list_paths() == []  # not secrets: invisible to the path API


def _rows(store: EmbeddedStore) -> sqlite3.Connection:
    return sqlite3.connect(store.directory / "store.db", isolation_level=None)


def test_a_record_copied_to_another_kind_or_name_does_not_open(store: EmbeddedStore) -> None:
    store.records("keys").put("jwt", b'{"secret":"material"}')
    db = _rows(store)
    for kind, name in (("overrides", "prod/deadbeef"), ("keys", "other")):
        db.execute("INSERT INTO records SELECT ?, ?, version, created_time, destroyed, "
                   "wrapped_key, ciphertext FROM records WHERE kind='keys' AND name='jwt'",
                   (kind, name))
        with pytest.raises(IntegrityError):
            store.records(kind).get(name)


def test_a_secret_row_copied_into_the_records_table_does_not_open(store: EmbeddedStore) -> None:
    forged = json.dumps({"id": "deadbeef", "state": "active"}).encode()
    # A secret whose associated data would spell a record's under the secret format tag.
    store.put("record|overrides|prod/deadbeef", forged)
    db = _rows(store)
    db.execute("INSERT INTO records SELECT 'overrides', 'prod/deadbeef', version, created_time, "
               "destroyed, wrapped_key, ciphertext FROM versions")
    with pytest.raises(IntegrityError):
        store.records("overrides").get("prod/deadbeef")


def _format_one_store(tmp_path: Path, environ: dict[str, str]) -> Path:
    """A store as format 1 left it: records at `_vaultline/...` paths in `versions`."""
    store, _ = EmbeddedStore.create(tmp_path / ".vaultline", environ=environ)
    store.put("app/prod/Key", b"secret")
    kek = store._kek
    db = _rows(store)
    for path, version, value in (("_vaultline/keys/jwt", 1, b'{"v":1}'),
                                 ("_vaultline/keys/jwt", 2, b'{"v":2}'),
                                 ("_vaultline/overrides/prod/abcd", 1, b'{"o":1}')):
        wrapped, sealed = envelope.seal(kek, value, envelope.associated_data(path, version))
        db.execute("INSERT INTO versions(path, version, created_time, wrapped_key, ciphertext)"
                   " VALUES (?, ?, '2026-01-01', ?, ?)", (path, version, wrapped, sealed))
    db.execute("UPDATE versions SET destroyed = 1, wrapped_key = NULL, ciphertext = NULL "
               "WHERE path = '_vaultline/keys/jwt' AND version = 1")
    db.execute("DROP TABLE records")
    db.execute("UPDATE meta SET value = '1' WHERE name = 'format'")
    store.close()
    return tmp_path / ".vaultline"


def test_format_one_records_are_migrated_on_open(tmp_path: Path,
                                                 environ: dict[str, str]) -> None:
    directory = _format_one_store(tmp_path, environ)
    with EmbeddedStore.open(directory, environ=environ) as store:
        assert store.meta_get("format") == "2"
        assert store.records("keys").get("jwt") == (b'{"v":2}', 2)
        assert store.records("keys").history("jwt") == [2]  # destroyed stays destroyed
        assert store.records("overrides").get("prod/abcd") == (b'{"o":1}', 1)
        assert store.get("app/prod/Key").value == b"secret"
    left = _rows_of(directory)
    assert left == [("app/prod/Key",)]
    with EmbeddedStore.open(directory, environ=environ) as again:  # idempotent
        assert again.records("keys").names() == ["jwt"]


def _rows_of(directory: Path) -> list[tuple[str]]:
    db = sqlite3.connect(directory / "store.db")
    try:
        return db.execute("SELECT DISTINCT path FROM versions").fetchall()
    finally:
        db.close()


def test_record_ciphertext_is_not_plaintext_on_disk(store: EmbeddedStore) -> None:
    material = base64.b64encode(b"K" * 32)
    store.records("keys").put("jwt", b'{"material":"' + material + b'"}')
    store.close()
    raw = (store.directory / "store.db").read_bytes()
    assert material not in raw


def test_a_tampered_format_one_record_stops_the_migration_cleanly(
        tmp_path: Path, environ: dict[str, str]) -> None:
    directory = _format_one_store(tmp_path, environ)
    db = sqlite3.connect(directory / "store.db", isolation_level=None)
    db.execute("UPDATE versions SET ciphertext = randomblob(length(ciphertext)) "
               "WHERE path = '_vaultline/overrides/prod/abcd'")
    db.close()
    with pytest.raises(IntegrityError, match="cannot move _vaultline/overrides/prod/abcd "
                                             "version 1 to the records table"):
        EmbeddedStore.open(directory, environ=environ)
    db = sqlite3.connect(directory / "store.db")
    assert db.execute("SELECT value FROM meta WHERE name = 'format'").fetchone() == ("1",)
    assert db.execute("SELECT count(*) FROM versions WHERE path LIKE '\\_vaultline/%' "
                      "ESCAPE '\\'").fetchone() == (3,)
    db.close()
