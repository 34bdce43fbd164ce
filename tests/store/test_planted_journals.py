"""A symlink, FIFO or device where SQLite keeps the store's journal (``store.db-wal``,
``-shm``, ``-journal``), planted by whoever can write the store directory: one error naming
it that says the store is not damaged, never SQLite following the link, a hang, or advice to
restore store.db from a backup."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.factory import make_project, master_key_env, vaultline


def _symlink_elsewhere(path: Path) -> None:
    path.symlink_to(path.parent.parent / "elsewhere")


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _dev_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


PLANTS: dict[str, tuple[Callable[[Path], None], str]] = {
    "symlink": (_symlink_elsewhere, "a symlink"), "fifo": (_fifo, "a FIFO"),
    "dev-zero": (_dev_zero, "a symlink")}


@pytest.mark.parametrize("suffix", ["-wal", "-shm", "-journal"])
@pytest.mark.parametrize("plant", sorted(PLANTS))
def test_a_planted_journal_is_refused_by_name(tmp_path: Path, suffix: str, plant: str) -> None:
    environ = master_key_env()
    root = make_project(tmp_path / "p", environ=environ)
    assert vaultline(root, environ, "secret", "put", "ConnectionStrings:Primary", "--env",
                     "prod", stdin="s3cret-value").returncode == 0
    companion = root / ".vaultline" / f"store.db{suffix}"
    companion.unlink(missing_ok=True)
    make, kind = PLANTS[plant]
    make(companion)
    done = vaultline(root, environ, "resolve", "--env", "prod", timeout=20)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == (f"vaultline: error: {companion} is {kind}, where SQLite keeps a "
                           "journal of the store (always a regular file it creates): someone "
                           "else put it there. The store itself is not damaged; remove it and "
                           "try again\n")
    assert not (tmp_path / "p" / "elsewhere").exists()  # SQLite never followed the link
    companion.unlink()
    done = vaultline(root, environ, "resolve", "--env", "prod", "--reveal", "--format", "dotenv")
    assert "CONNECTIONSTRINGS__PRIMARY='s3cret-value'" in done.stdout, done.stderr
    assert vaultline(root, environ, "audit", "verify").returncode == 0
