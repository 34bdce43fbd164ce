"""Rows of store.db edited by someone without the master key: wrong types, absurd numbers,
huge blobs. Each is one clear error line (never an internal error), and a blob no bigger
than put accepts is never copied out of SQLite."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from tests.factory import make_project, master_key_env
from tests.hostile import RSS_LIMIT_KIB, VAULTLINE, WRAPPER

KEY = ("ConnectionStrings:Primary", "--env", "prod")
SECRET = "Server=db;Password=hunter2-primary"


def vaultline(root: Path, environ: dict[str, str], *args: str,
              stdin: str | None = None) -> tuple[subprocess.CompletedProcess[str], int]:
    """The finished command (stderr without the wrapper's line) and its peak RSS in KiB."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULTLINE_")}
    env.update(environ, HOME=str(root))
    done = subprocess.run([sys.executable, "-c", WRAPPER, VAULTLINE, *args], cwd=root,
                          env=env, input=stdin, capture_output=True, text=True, timeout=60)
    *errors, usage = done.stderr.splitlines(keepends=True)
    done.stderr = "".join(errors)
    return done, int(usage.split()[0])


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    environ = master_key_env()
    root = make_project(tmp_path, environ=environ)
    assert vaultline(root, environ, "secret", "put", *KEY, stdin=SECRET)[0].returncode == 0
    return root, environ


EDITS = [
    ("ciphertext as text", "UPDATE versions SET ciphertext = 'text'"),
    ("wrapped key too short", "UPDATE versions SET wrapped_key = x'00'"),
    ("version as text", "UPDATE versions SET version = 'abc'"),
    ("version at the integer limit", "UPDATE versions SET version = 9223372036854775807"),
    ("version as a real", "UPDATE versions SET version = 1.5"),
    ("path as a blob", "UPDATE versions SET path = CAST(path AS BLOB)"),
    ("a 120 MB ciphertext", "UPDATE versions SET ciphertext = zeroblob(120000000)"),
    ("a 120 MB wrapped key", "UPDATE versions SET wrapped_key = zeroblob(120000000)"),
]


@pytest.mark.parametrize("statement", [s for _, s in EDITS], ids=[n for n, _ in EDITS])
def test_an_edited_row_is_a_clear_error(project: tuple[Path, dict[str, str]],
                                        statement: str) -> None:
    root, environ = project
    with closing(sqlite3.connect(root / ".vaultline" / "store.db")) as db, db:
        db.execute(statement)
    for args, stdin in ((("resolve", "--env", "prod"), None), (("secret", "get", *KEY), None),
                        (("secret", "put", *KEY), "next-value"),
                        (("secret", "versions", *KEY), None)):
        done, peak = vaultline(root, environ, *args, stdin=stdin)
        assert "internal error" not in done.stderr, (args, done.stderr)
        # SQLite loads a planted blob once to read its row (it caps one at 1 GB); nothing
        # copies it further: under 300 MiB here, where the three copies read took 360.
        assert peak < RSS_LIMIT_KIB, (args, peak)
        assert SECRET not in done.stderr
        if done.returncode:
            assert done.stderr.startswith("vaultline: error: "), (args, done.stderr)
            assert done.stderr.count("vaultline: error: ") == 1, (args, done.stderr)
    # The edited version is never served as a value.
    done, _ = vaultline(root, environ, "resolve", "--env", "prod", "--format", "flat-json")
    assert done.returncode != 0 or SECRET not in done.stdout


def test_a_value_over_the_secret_limit_is_not_stored(tmp_path: Path) -> None:
    from vaultline.errors import StoreError
    from vaultline.store import EmbeddedStore

    environ = {**master_key_env(), "VAULTLINE_MAX_SECRET_SIZE": "1KiB"}
    store, _ = EmbeddedStore.create(tmp_path / ".vaultline", environ=environ)
    with store, pytest.raises(StoreError, match="larger than the limit of 1 KiB"):
        store.put("app/prod/Big", b"x" * 1025)
    # What was stored under a limit is read under it.
    with EmbeddedStore.open(tmp_path / ".vaultline", environ=environ) as store:
        store.put("app/prod/Fits", b"x" * 1024)
        assert store.get("app/prod/Fits").value == b"x" * 1024
