"""SQL objects planted in store.db by someone who can write the file but has no master key.

SQLite runs a trigger inside vaultline's own transactions: one planted on ``records`` can keep
a copy of every ciphertext vaultline destroys, and the copy puts a revoked break-glass
override back (its associated data still matches). A store holding anything but its own
tables is refused before anything is read or written through it.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from tests.factory import make_project, master_key_env, vaultline

STASH = "CREATE TABLE stash AS SELECT * FROM records WHERE 0"
KEEP = ("CREATE TRIGGER keep BEFORE UPDATE ON records WHEN NEW.ciphertext IS NULL BEGIN "
        "INSERT INTO stash SELECT * FROM records WHERE kind = OLD.kind AND name = OLD.name "
        "AND version = OLD.version; END")


def sql(root: Path, *statements: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(root / ".vaultline" / "store.db")) as db, db:
        rows: list[tuple[object, ...]] = []
        for statement in statements:
            rows = db.execute(statement).fetchall()
        return rows


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    environ = master_key_env()
    root = make_project(tmp_path, environ=environ)
    assert vaultline(root, environ, "secret", "put", "ConnectionStrings:Primary", "--env",
                     "prod", stdin="Server=db;Password=hunter2-primary").returncode == 0
    return root, environ


def test_a_revoked_override_cannot_be_put_back(project: tuple[Path, dict[str, str]]) -> None:
    root, environ = project
    sql(root, STASH, KEEP)
    # The user breaks glass, then revokes; the planted trigger would keep the active record.
    done = vaultline(root, environ, "override", "set", "Logging:Level", "--env", "prod",
                     "--ttl", "1h", "--reason", "debugging", stdin="Debug")
    if done.returncode == 0:
        ids = sql(root, "SELECT name FROM records WHERE kind = 'overrides'")
        override_id = str(ids[0][0]).rsplit("/", 1)[1]
        assert vaultline(root, environ, "override", "revoke", override_id, "--env",
                         "prod").returncode == 0
        sql(root, "DELETE FROM records WHERE kind = 'overrides'",
            "INSERT INTO records SELECT * FROM stash")
        resolved = vaultline(root, environ, "resolve", "--env", "prod", "--format",
                             "flat-json")
        assert '"Logging:Level": "Debug"' not in resolved.stdout, "revoked override applies"
    assert done.returncode == 1
    assert done.stderr.startswith("vaultline: error: ")
    assert "trigger 'keep'" in done.stderr and "store.db" in done.stderr
    assert sql(root, "SELECT count(*) FROM records WHERE kind = 'overrides'") == [(0,)]


PLANTED = [
    ("trigger on versions", "CREATE TRIGGER drop_new AFTER INSERT ON versions BEGIN "
     "DELETE FROM versions WHERE path = NEW.path AND version = NEW.version; END",
     "trigger 'drop_new'"),
    ("trigger on meta", "CREATE TRIGGER pin AFTER UPDATE ON meta BEGIN "
     "UPDATE meta SET value = OLD.value WHERE name = NEW.name; END", "trigger 'pin'"),
    ("view shadowing a table", "ALTER TABLE versions RENAME TO real_versions;"
     "CREATE VIEW versions AS SELECT * FROM real_versions", "view 'versions'"),
    ("index with an expression", "CREATE INDEX odd ON versions(length(ciphertext) / 0)",
     "index 'odd'"),
    ("another table", "CREATE TABLE extra (x)", "table 'extra'"),
]


@pytest.mark.parametrize(("statement", "named"), [(s, n) for _, s, n in PLANTED],
                         ids=[case for case, _, _ in PLANTED])
def test_a_planted_object_is_refused(project: tuple[Path, dict[str, str]], statement: str,
                                     named: str) -> None:
    root, environ = project
    with closing(sqlite3.connect(root / ".vaultline" / "store.db")) as db:
        db.executescript(statement)
    before = (root / ".vaultline" / "audit.log").read_bytes()
    for args, stdin in ((("resolve", "--env", "prod"), None),
                        (("secret", "put", "ConnectionStrings:Primary", "--env", "prod"), "x"),
                        (("audit", "verify"), None)):
        done = vaultline(root, environ, *args, stdin=stdin)
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        assert done.stderr.count("\n") == 1 and done.stderr.startswith("vaultline: error: ")
        assert named in done.stderr and "store.db" in done.stderr
        assert "hunter2" not in done.stdout + done.stderr
    assert (root / ".vaultline" / "audit.log").read_bytes() == before


def test_statistics_tables_are_the_stores_own(project: tuple[Path, dict[str, str]]) -> None:
    root, environ = project
    sql(root, "ANALYZE")  # sqlite_stat1, as `PRAGMA optimize` or a curious user leaves it
    assert vaultline(root, environ, "resolve", "--env", "prod").returncode == 0
