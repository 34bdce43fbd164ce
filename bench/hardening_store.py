"""Store figures: a store.db edited by someone without the master key, through the real CLI.

- every planted schema object of tests/store/test_planted_schema.py: refused before use;
- every row edit of tests/store/test_hostile_rows.py: one clear error line or a value that
  is not the edited row's, never an internal error; the peak RSS of a resolution reading a
  planted 120 MB ciphertext, beside the blob's own size.

    python bench/hardening.py store
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.factory import make_project, master_key_env  # noqa: E402
from tests.store import test_hostile_rows as rows  # noqa: E402
from tests.store import test_planted_schema as planted  # noqa: E402


def _project(tmp: str) -> tuple[Path, dict[str, str]]:
    environ = master_key_env()
    root = make_project(Path(tmp), environ=environ)
    done, _ = rows.vaultline(root, environ, "secret", "put", *rows.KEY, stdin=rows.SECRET)
    assert done.returncode == 0, done.stderr
    return root, environ


def _edit(root: Path, statement: str) -> None:
    with closing(sqlite3.connect(root / ".vaultline" / "store.db")) as db:
        db.executescript(statement)


def figures() -> Iterator[str]:
    refused = 0
    for _, statement, named in planted.PLANTED:
        with tempfile.TemporaryDirectory() as tmp:
            root, environ = _project(tmp)
            _edit(root, statement)
            done, _ = rows.vaultline(root, environ, "resolve", "--env", "prod")
            refused += done.returncode == 1 and named in done.stderr
    yield f"planted schema objects refused before use: {refused} of {len(planted.PLANTED)}"
    clear, peak = 0, 0
    for name, statement in rows.EDITS:
        with tempfile.TemporaryDirectory() as tmp:
            root, environ = _project(tmp)
            _edit(root, statement)
            done, used = rows.vaultline(root, environ, "resolve", "--env", "prod")
            clear += "internal error" not in done.stderr and (
                done.returncode == 0 or done.stderr.startswith("vaultline: error: "))
            if name == "a 120 MB ciphertext":
                peak = used
    yield f"peak RSS reading a planted 120 MB ciphertext: {peak // 1024} MiB (blob 114 MiB)"
    yield f"edited rows giving a clear answer: {clear} of {len(rows.EDITS)}"
