"""The offline snapshot file as a file-level attacker leaves it: replaced by a FIFO, a device,
JSON of another shape or a huge file. A resolution never hangs or crashes on it: the snapshot
counts as absent, and the next good resolution writes a new one."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests import factory
from tests.factory import make_project, master_key_env
from tests.providers.test_snapshot import project
from tests.servers import BaoServer, free_port


def vaultline(root: Path, environ: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI without the process's Vault settings either: only `environ` reaches the server."""
    return factory.vaultline(root, environ, *args, drop=("VAULTLINE_", "VAULT_"), timeout=30)


def _fifo(path: Path) -> None:
    os.mkfifo(path, 0o600)


def _huge(path: Path) -> None:
    with path.open("wb") as handle:
        handle.truncate(64 << 20)
    os.chmod(path, 0o600)


HOSTILE: list[tuple[str, Callable[[Path], None]]] = [
    ("a FIFO", _fifo),
    ("/dev/zero", lambda path: path.symlink_to("/dev/zero")),
    ("a JSON list", lambda path: path.write_text("[]")),
    ("a JSON object of other types", lambda path: path.write_text(
        json.dumps({"v": 1, "nonce": 5, "ciphertext": []}))),
    ("a 64 MiB file", _huge),
]


@pytest.mark.parametrize("plant", [p for _, p in HOSTILE], ids=[n for n, _ in HOSTILE])
def test_a_hostile_snapshot_is_as_none(openbao: BaoServer, tmp_path: Path,
                                       plant: Callable[[Path], None]) -> None:
    openbao.api("POST", "kv/data/snap-app/prod/db", {"data": {"password": "db-pw"}})
    openbao.api("POST", "kv/data/snap-app/prod/api", {"data": {"key": "api-key"}})
    environ = {**master_key_env(), "VAULT_TOKEN": openbao.token}
    root = make_project(tmp_path, {}, environ=environ)
    project(root, openbao.url)
    snapshot = root / ".vaultline" / "snapshots" / "prod.snapshot"
    snapshot.parent.mkdir(mode=0o700, exist_ok=True)
    plant(snapshot)
    done = vaultline(root, environ, "resolve", "--env", "prod", "--format", "flat-json",
                     "--reveal")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Db:Password"] == "db-pw"
    assert snapshot.is_file() and not snapshot.is_symlink()  # rewritten by rename
    # Once more with the server gone: the snapshot written in its place serves.
    project(root, f"http://127.0.0.1:{free_port()}")
    offline = vaultline(root, environ, "resolve", "--env", "prod", "--format", "flat-json",
                     "--reveal")
    assert offline.returncode == 0, offline.stderr
    assert "served from the offline snapshot" in offline.stderr


@pytest.mark.parametrize("plant", [p for _, p in HOSTILE], ids=[n for n, _ in HOSTILE])
def test_a_hostile_snapshot_never_serves_when_offline(tmp_path: Path,
                                                      plant: Callable[[Path], None]) -> None:
    environ = {**master_key_env(), "VAULT_TOKEN": "s.unused"}
    root = make_project(tmp_path, {}, environ=environ)
    project(root, f"http://127.0.0.1:{free_port()}")
    snapshot = root / ".vaultline" / "snapshots" / "prod.snapshot"
    snapshot.parent.mkdir(mode=0o700, exist_ok=True)
    plant(snapshot)
    done = vaultline(root, environ, "resolve", "--env", "prod")
    assert done.returncode == 1
    assert done.stderr.startswith("vaultline: error: ") and "internal error" not in done.stderr
    assert "cannot reach" in done.stderr
