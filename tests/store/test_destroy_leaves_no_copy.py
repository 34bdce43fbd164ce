"""A destroyed value leaves no copy that the master key still opens.

Whoever later holds the master key (a backup of the key file, a leaked CI variable) must not
recover what was destroyed. Copies it could open: the rows' old pages in SQLite's write-ahead
log, `run`'s compiled masker (every value it masks, in every encoding), and the offline
snapshot of remote values. AES-GCM's associated data (the masker's digest of the values) only
authenticates: AES-CTR with the same key and nonce reads the plaintext without it, as an
attacker would, so the tests read the files that way.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import time
from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from tests.factory import make_project, master_key_env, vaultline
from tests.servers import BaoServer
from vaultline.project.model import Project
from vaultline.redact.cache import MaskerCache
from vaultline.resolve.snapshot import KEY_PURPOSE, OfflineSnapshot
from vaultline.store import EmbeddedStore
from vaultline.store.embedded import SEALED_COPIES

SECRET = "S3cret-destroy-me-7f3a"


def _ctr_open(blob: bytes, key: bytes) -> bytes:
    """A GCM ciphertext read without its tag or associated data (12-byte nonce first)."""
    nonce, sealed = blob[:12], blob[12:-16]
    return Cipher(algorithms.AES(key), modes.CTR(nonce + b"\0\0\0\2")).decryptor().update(sealed)


def _copies(store_dir: Path) -> list[Path]:
    return sorted(p for pattern in SEALED_COPIES for p in store_dir.glob(pattern))


def _masker_holds(store_dir: Path, environ: dict[str, str], value: str) -> bool:
    with EmbeddedStore.open(store_dir, environ=environ) as store:
        key = store.derive_key("masker-cache")
    return any(value.encode() in _ctr_open(path.read_bytes(), key)
               for path in (store_dir / "cache").glob("masker-*"))


def _raw_row(store_dir: Path, path: str) -> tuple[bytes, bytes]:
    db = sqlite3.connect(store_dir / "store.db")
    try:
        wrapped, sealed = db.execute("SELECT wrapped_key, ciphertext FROM versions WHERE path = ?",
                                     (path,)).fetchone()
    finally:
        db.close()
    return bytes(wrapped), bytes(sealed)


def test_destroyed_key_material_is_not_left_in_the_write_ahead_log(tmp_path: Path) -> None:
    environ = master_key_env()
    store_dir = tmp_path / ".vaultline"
    EmbeddedStore.create(store_dir, environ=environ)[0].close()
    # Another process's idle connection keeps the log file alive after this one closes.
    bystander = EmbeddedStore.open(store_dir, environ=environ)
    with EmbeddedStore.open(store_dir, environ=environ) as store:
        store.put("app/prod/Small", SECRET.encode())
        store.put("app/prod/Large", SECRET.encode() * 1200)  # overflow pages: ~26 KB
        material = [part for path in ("app/prod/Small", "app/prod/Large")
                    for part in _raw_row(store_dir, path)]
        wal = store_dir / "store.db-wal"
        assert any(m[:32] in wal.read_bytes() for m in material)  # where it would linger
        store.destroy("app/prod/Small")
        store.destroy("app/prod/Large")
        left = (store_dir / "store.db").read_bytes() + wal.read_bytes()
    assert bystander.versions("app/prod/Small")[0].destroyed
    bystander.close()
    for part in material:
        assert part[:32] not in left and part[-32:] not in left


def test_a_reader_mid_transaction_does_not_hold_a_destroy_up(tmp_path: Path) -> None:
    environ = master_key_env()
    store_dir = tmp_path / ".vaultline"
    store = EmbeddedStore.create(store_dir, environ=environ)[0]
    store.put("app/prod/Key", SECRET.encode())
    store.put("app/prod/Other", b"kept")
    material = _raw_row(store_dir, "app/prod/Key")
    (store_dir / "cache").mkdir()
    planted = store_dir / "cache" / "masker-0123456789abcdef01234567.bin"
    planted.write_bytes(b"sealed copy")
    reader = sqlite3.connect(store_dir / "store.db", isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT path FROM versions").fetchone()  # a read transaction, left open
    started = time.monotonic()
    assert store.destroy("app/prod/Key") == [1]
    assert time.monotonic() - started < 5  # not the 60 s a writer waits for a write lock
    assert not planted.exists()  # the store's own destroy removes the sealed copies
    reader.close()
    store.close()  # the last connection: SQLite checkpoints and removes the log
    assert not (store_dir / "store.db-wal").exists()
    left = (store_dir / "store.db").read_bytes()
    assert all(part[:32] not in left and part[-32:] not in left for part in material)


def test_a_destroy_removes_the_compiled_masker_that_holds_the_value(tmp_path: Path) -> None:
    environ = master_key_env()
    root = make_project(tmp_path / "p", environ=environ)
    store_dir = root / ".vaultline"
    assert vaultline(root, environ, "secret", "put", "ConnectionStrings:Primary", "--env", "prod",
                     stdin=SECRET).returncode == 0
    ran = vaultline(root, environ, "run", "--env", "prod", "--", "echo", "ok")
    assert ran.returncode == 0 and ran.stdout == "ok\n", ran.stderr
    assert _masker_holds(store_dir, environ, SECRET)  # the copy the master key opens
    gone = vaultline(root, environ, "secret", "rm", "ConnectionStrings:Primary", "--env", "prod",
                     "--destroy")
    assert gone.returncode == 0, gone.stderr
    assert _copies(store_dir) == []
    assert not _masker_holds(store_dir, environ, SECRET)
    # A soft delete keeps the value restorable, and so its masker too.
    assert vaultline(root, environ, "secret", "put", "ConnectionStrings:Primary", "--env", "prod",
                     stdin="another-s3cret").returncode == 0
    assert vaultline(root, environ, "run", "--env", "prod", "--", "echo").returncode == 0
    assert vaultline(root, environ, "secret", "rm", "ConnectionStrings:Primary", "--env",
                     "prod").returncode == 0
    assert _masker_holds(store_dir, environ, "another-s3cret")


def test_a_revoked_override_leaves_no_compiled_masker(tmp_path: Path) -> None:
    environ = master_key_env()
    root = make_project(tmp_path / "p", environ=environ)
    store_dir = root / ".vaultline"
    assert vaultline(root, environ, "secret", "put", "ConnectionStrings:Primary", "--env", "prod",
                     stdin="the-stored-one").returncode == 0
    made = vaultline(root, environ, "override", "set", "ConnectionStrings:Primary", "--env", "prod",
                     "--ttl", "1h", "--reason", "incident", "--ticket", "INC-1", stdin=SECRET)
    assert made.returncode == 0, made.stderr
    assert vaultline(root, environ, "run", "--env", "prod", "--", "echo").returncode == 0
    assert _masker_holds(store_dir, environ, SECRET)
    listed = vaultline(root, environ, "override", "ls", "--env", "prod", "--format", "json")
    override_id = json.loads(listed.stdout)[0]["id"]
    revoked = vaultline(root, environ, "override", "revoke", override_id, "--env", "prod")
    assert revoked.returncode == 0, revoked.stderr
    assert not _masker_holds(store_dir, environ, SECRET)


def test_a_remote_destroy_removes_the_offline_snapshot(openbao: BaoServer,
                                                        tmp_path: Path) -> None:
    environ = {**master_key_env(), "VAULT_TOKEN": openbao.token}
    app = f"copies{tmp_path.name[-6:].replace('_', '')}"
    root = make_project(tmp_path / "p", {
        "vaultline.yaml": f"""
            version: 1
            app: {app}
            environments: {{prod: {{max_stale: 1h}}}}
            providers:
              vault: {{type: vault, url: "{openbao.url}", mount: kv}}
        """,
        "env/prod/secrets.yaml": "Api:Key: vault\n",
        "env/prod/values.yaml": "",
    }, environ=environ)
    openbao.api("POST", f"kv/data/{app}/prod/Api/Key", {"data": {"value": SECRET}})
    assert vaultline(root, environ, "resolve", "--env", "prod").returncode == 0
    snapshot = OfflineSnapshot(Project.load(root, environ=environ), "prod", timedelta(hours=1),
                               environ).path
    with EmbeddedStore.open(root / ".vaultline", environ=environ) as store:
        key = store.derive_key(KEY_PURPOSE)
    blob = json.loads(snapshot.read_text())
    plain = _ctr_open(base64.b64decode(blob["nonce"]) + base64.b64decode(blob["ciphertext"]), key)
    assert SECRET.encode() in plain  # the copy is there, and the master key opens it
    assert snapshot in _copies(root / ".vaultline")
    gone = vaultline(root, environ, "secret", "rm", "Api:Key", "--env", "prod", "--versions", "1",
                     "--destroy")
    assert gone.returncode == 0, gone.stderr
    assert not snapshot.exists() and _copies(root / ".vaultline") == []


def test_the_sealed_copy_patterns_name_the_files_vaultline_writes(tmp_path: Path) -> None:
    masker = MaskerCache(tmp_path / "cache", b"k" * 32, "prod")._path
    assert any(masker.match(f"{tmp_path}/{pattern}") for pattern in SEALED_COPIES)
