"""The embedded store: versions, tamper resistance, file modes, no plaintext on disk, concurrency."""

from __future__ import annotations

import base64
import multiprocessing
import os
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.factory import master_key_env
from vaultline.errors import (
    IntegrityError,
    MasterKeyError,
    SecretNotFoundError,
    StoreError,
    VersionConflictError,
)
from vaultline.store import EmbeddedStore

PLAINTEXTS = [b"postgres://app:s3cret-canary-1@db/app", b"sk-canary-2-abcdefghijklmnop",
              b"\xe2\x98\x83 unicode canary 3"]


@pytest.fixture
def env() -> dict[str, str]:
    return master_key_env()


@pytest.fixture
def store(tmp_path: Path, env: dict[str, str]) -> EmbeddedStore:
    created, _ = EmbeddedStore.create(tmp_path / ".vaultline", environ=env)
    yield created
    created.close()


def test_versions_like_kv_v2(store: EmbeddedStore) -> None:
    assert store.put("app/prod/Db", b"one") == 1
    assert store.put("app/prod/Db", b"two") == 2
    assert store.get("app/prod/Db").value == b"two"
    assert store.get("app/prod/Db", 1).value == b"one"
    assert [v.version for v in store.versions("app/prod/Db")] == [1, 2]
    store.delete("app/prod/Db")
    with pytest.raises(SecretNotFoundError, match="version 2 is deleted"):
        store.get("app/prod/Db")
    assert store.list_paths("app") == []
    store.undelete("app/prod/Db")
    assert store.get("app/prod/Db").value == b"two"
    store.destroy("app/prod/Db", [1])
    with pytest.raises(SecretNotFoundError, match="destroyed"):
        store.get("app/prod/Db", 1)
    store.undelete("app/prod/Db", [1])  # destroyed material cannot come back
    with pytest.raises(SecretNotFoundError, match="destroyed"):
        store.get("app/prod/Db", 1)


def test_check_and_set(store: EmbeddedStore) -> None:
    assert store.put("a/b", b"x", cas=0) == 1
    with pytest.raises(VersionConflictError, match="current version is 1, not 0"):
        store.put("a/b", b"y", cas=0)
    assert store.put("a/b", b"y", cas=1) == 2


def test_list_under_prefix(store: EmbeddedStore) -> None:
    store.put("app/dev/A", b"1")
    store.put("app/dev/B/C", b"2")
    store.records("keys").put("jwt", b"{}")
    assert store.list_paths() == ["app/dev/A", "app/dev/B/C"]
    assert store.list_paths("app/dev/B") == ["app/dev/B/C"]


@pytest.mark.parametrize("path", ["", "/", "a//b", "a/../b", "./a"])
def test_invalid_paths(store: EmbeddedStore, path: str) -> None:
    with pytest.raises(StoreError, match="invalid secret path"):
        store.put(path, b"x")


def _raw(store: EmbeddedStore) -> sqlite3.Connection:
    return sqlite3.connect(store.directory / "store.db", isolation_level=None)


def _bulk(store: EmbeddedStore, paths: list[str]) -> dict[str, tuple[int, bytes | StoreError]]:
    return {path: (version, value) for path, version, value in store.iter_latest(paths)}


def _latest(store: EmbeddedStore, path: str) -> bytes:
    """Read through the bulk path the resolver uses, which decrypts inline."""
    found = _bulk(store, [path, "a/unrelated"])[path][1]
    if isinstance(found, Exception):
        raise found
    return found


Reader = Callable[[EmbeddedStore, str], bytes]
READERS = [pytest.param(lambda store, path: store.get(path).value, id="get"),
           pytest.param(_latest, id="iter_latest")]


def test_iter_latest_reads_what_get_reads(store: EmbeddedStore) -> None:
    store.put("app/prod/A", b"a1")
    store.put("app/prod/A", b"a2")
    store.put("app/prod/Deleted", b"d1")
    store.put("app/prod/Deleted", b"d2")
    store.delete("app/prod/Deleted")
    store.put("app/prod/Gone", b"g1")
    store.destroy("app/prod/Gone", [1])
    store.put("app/prodX/B", b"b1")
    store.put("other/C", b"c1")
    found = _bulk(store, ["app/prod/A", "app/prod/Deleted", "app/prod/Gone", "app/prod/Missing",
                          "other/C"])
    assert set(found) == {"app/prod/A", "app/prod/Deleted", "app/prod/Gone", "app/prod/Missing",
                          "other/C"}
    assert found["app/prod/A"] == (2, b"a2")
    other = store.get("other/C")
    assert found["other/C"] == (other.version, other.value)
    for path, message in (("app/prod/Deleted", "deleted"), ("app/prod/Gone", "destroyed"),
                          ("app/prod/Missing", "no secret")):
        error = found[path][1]
        assert isinstance(error, SecretNotFoundError) and message in str(error)
    assert found["app/prod/Missing"][0] == 0
    assert _bulk(store, []) == {}


@pytest.mark.parametrize("read", READERS)
def test_flipped_ciphertext_byte_is_detected(store: EmbeddedStore, read: Reader) -> None:
    store.put("a/b", b"value")
    db = _raw(store)
    (blob,) = db.execute("SELECT ciphertext FROM versions").fetchone()
    tampered = bytes(blob[:-1]) + bytes([blob[-1] ^ 1])
    db.execute("UPDATE versions SET ciphertext = ?", (tampered,))
    db.close()
    with pytest.raises(IntegrityError, match="failed authentication"):
        read(store, "a/b")


@pytest.mark.parametrize("read", READERS)
def test_swapped_rows_fail_to_decrypt(store: EmbeddedStore, read: Reader) -> None:
    store.put("a/one", b"first")
    store.put("a/two", b"second")
    db = _raw(store)
    one = db.execute("SELECT wrapped_key, ciphertext FROM versions WHERE path='a/one'").fetchone()
    two = db.execute("SELECT wrapped_key, ciphertext FROM versions WHERE path='a/two'").fetchone()
    db.execute("UPDATE versions SET wrapped_key=?, ciphertext=? WHERE path='a/one'", two)
    db.execute("UPDATE versions SET wrapped_key=?, ciphertext=? WHERE path='a/two'", one)
    db.close()
    for path in ("a/one", "a/two"):
        with pytest.raises(IntegrityError):
            read(store, path)


@pytest.mark.parametrize("read", READERS)
def test_version_moved_to_another_version_number_fails(store: EmbeddedStore,
                                                        read: Reader) -> None:
    store.put("a/b", b"v1")
    store.put("a/b", b"v2")
    db = _raw(store)
    v1 = db.execute("SELECT wrapped_key, ciphertext FROM versions WHERE version=1").fetchone()
    db.execute("UPDATE versions SET wrapped_key=?, ciphertext=? WHERE version=2", v1)
    db.close()
    with pytest.raises(IntegrityError):
        read(store, "a/b")


def test_wrong_master_key(tmp_path: Path, store: EmbeddedStore) -> None:
    wrong = {"VAULTLINE_MASTER_KEY": base64.b64encode(os.urandom(32)).decode()}
    with pytest.raises(MasterKeyError, match="does not open the store"):
        EmbeddedStore.open(store.directory, environ=wrong)


@pytest.mark.parametrize(
    ("value", "message"),
    [("not base64!!", "not valid base64"), (base64.b64encode(b"short").decode(), "32 bytes")],
)
def test_malformed_master_key(store: EmbeddedStore, value: str, message: str) -> None:
    with pytest.raises(MasterKeyError, match=message):
        EmbeddedStore.open(store.directory, environ={"VAULTLINE_MASTER_KEY": value})


def test_missing_key_file_says_what_to_do(store: EmbeddedStore, tmp_path: Path) -> None:
    with pytest.raises(MasterKeyError, match="does not exist; set VAULTLINE_MASTER_KEY"):
        EmbeddedStore.open(store.directory, environ={"HOME": str(tmp_path / "nohome")})


def test_key_file_and_store_modes(tmp_path: Path) -> None:
    environ = {"HOME": str(tmp_path / "home")}
    store, key_file = EmbeddedStore.create(tmp_path / "proj" / ".vaultline", environ=environ)
    store.put("a/b", b"x")
    assert key_file is not None and not key_file.is_relative_to(tmp_path / "proj")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(store.directory.stat().st_mode) == 0o700
    for name in os.listdir(store.directory):
        assert stat.S_IMODE((store.directory / name).stat().st_mode) == 0o600, name
    store.close()
    reopened = EmbeddedStore.open(tmp_path / "proj" / ".vaultline", environ=environ)
    assert reopened.get("a/b").value == b"x"
    reopened.close()


def test_no_plaintext_or_data_key_in_raw_bytes(store: EmbeddedStore, env: dict[str, str]) -> None:
    for i, plaintext in enumerate(PLAINTEXTS):
        store.put(f"app/prod/S{i}", plaintext)
        store.put(f"app/prod/S{i}", plaintext + b"-v2")
    store.destroy("app/prod/S0", [1])
    store.close()
    raw = b"".join(p.read_bytes() for p in store.directory.iterdir())
    master = base64.b64decode(env["VAULTLINE_MASTER_KEY"])
    for plaintext in PLAINTEXTS:
        assert plaintext not in raw
        assert base64.b64encode(plaintext) not in raw
    assert master not in raw
    reopened = EmbeddedStore.open(store.directory, environ=env)
    assert reopened._master.derive("store-kek") not in raw
    reopened.close()


def _writer(directory: str, env: dict[str, str], worker: int, count: int) -> None:
    store = EmbeddedStore.open(Path(directory), environ=env)
    for i in range(count):
        store.put("shared/counter", f"{worker}:{i}".encode())
        store.put(f"own/{worker}", str(i).encode())
    store.close()


def test_two_processes_writing_500_versions_each_lose_nothing(
    store: EmbeddedStore, env: dict[str, str]
) -> None:
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_writer, args=(str(store.directory), env, w, 500))
               for w in range(2)]
    for proc in workers:
        proc.start()
    for proc in workers:
        proc.join(120)
        assert proc.exitcode == 0
    history = store.versions("shared/counter")
    assert [v.version for v in history] == list(range(1, 1001))
    seen = {store.get("shared/counter", v.version).value for v in history}
    assert seen == {f"{w}:{i}".encode() for w in range(2) for i in range(500)}
    assert [len(store.versions(f"own/{w}")) for w in range(2)] == [500, 500]


def test_repr_never_shows_values(store: EmbeddedStore) -> None:
    store.put("a/b", b"hunter2-canary")
    assert "hunter2" not in repr(store.get("a/b"))
    assert "hunter2" not in repr(store)


@pytest.mark.parametrize("prefix", ["", "app/prod/", "app/\U0010ffff", "a\ud7ff", "\U0010ffff"])
def test_key_range_holds_exactly_the_paths_under_a_prefix(prefix: str) -> None:
    from vaultline.store.embedded import _key_range

    low, high = _key_range(prefix)
    under = [prefix, prefix + "x", prefix + "\U0010ffff" * 3, prefix + "\ue000"]
    outside = ["", "zzz", "app/prod", "app/prod0", "a\ue000", "b"]
    for path in under:
        assert low <= path and (isinstance(high, bytes) or path < high), path
    for path in outside:
        if not path.startswith(prefix):
            assert path < low or (isinstance(high, str) and path >= high), path


def test_bulk_reads_and_listing_see_unusual_characters(store: EmbeddedStore) -> None:
    paths = ["app/prod/A", "app/prod/\U0010ffff", "app/prod/\U0010ffff/B", "app/prod0/C",
             "app/prodX", "\U0010ffff/top"]
    for path in paths:
        store.put(path, path.encode("utf-8", "surrogatepass"))
    found = _bulk(store, paths)
    assert all(found[p][1] == p.encode("utf-8", "surrogatepass") for p in paths)
    assert store.list_paths("app/prod") == ["app/prod/A", "app/prod/\U0010ffff",
                                            "app/prod/\U0010ffff/B"]
    assert set(store.list_paths()) == set(paths)
