"""The tamper table: every way to damage or roll back an audit history, and its verdict.

Each case starts from the same history — six audited writes to the embedded store, each
followed by an audited read, with an anchor of the final head kept in a file elsewhere —
and an old copy of the log, checkpoint and store taken after the third write. Only
"roll back everything" passes locally; with the anchor, every case is detected.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.factory import FakeClock, master_key_env
from vaultline.audit import READ, WRITE, AuditLog
from vaultline.audit.anchor import Anchor, make_anchor
from vaultline.audit.checkpoint import HISTORY_NAME, META_NAME
from vaultline.audit.event import canonical
from vaultline.store import EmbeddedStore

WRITES = 6
LINES = WRITES * 3  # intent, outcome, read


@dataclass
class History:
    directory: Path
    environ: dict[str, str]
    old_log: bytes
    old_checkpoint: str
    old_db: Path
    anchor: Anchor

    @property
    def log(self) -> Path:
        return self.directory / "audit.log"

    @property
    def db(self) -> Path:
        return self.directory / "store.db"

    def lines(self) -> list[bytes]:
        return self.log.read_bytes().splitlines(keepends=True)

    def set_lines(self, lines: list[bytes]) -> None:
        self.log.write_bytes(b"".join(lines))

    def meta(self, sql: str, *args: str) -> None:
        with closing(sqlite3.connect(self.db)) as db, db:
            db.execute(sql, args)


def _backup(source: Path, target: Path) -> None:
    """A copy of the store as one self-contained file (no -wal beside it)."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")


@pytest.fixture
def history(tmp_path: Path) -> History:
    return build_history(tmp_path)


def build_history(tmp_path: Path) -> History:
    """The history every case starts from (also used by bench/hardening_audit.py)."""
    environ = master_key_env()
    directory = tmp_path / ".vaultline"
    clock = FakeClock()
    store, _ = EmbeddedStore.create(directory, environ=environ)
    log = AuditLog.for_store(store, clock=clock)
    old: tuple[bytes, str] | None = None
    for i in range(WRITES):
        path, value = f"nexus-engine/prod/K{i}", f"value-{i}"
        with log.recording(WRITE, env="prod", key=f"K{i}", reference=f"local:{path}",
                           value=value) as detail:
            detail["version"] = store.put(path, value.encode())
            detail["store"] = store.store_id  # as a session's write into its store says
        clock.advance(seconds=1)
        log.record(READ, env="prod", key=f"K{i}", reference=f"local:{path}", value=value)
        clock.advance(seconds=1)
        if i == 2:
            old = (log.path.read_bytes(), store.meta_get(META_NAME) or "")
            _backup(directory / "store.db", tmp_path / "old-store.db")
    anchor = make_anchor(store, log.head(), "2026-01-01T00:00:12.000000Z")
    store.close()
    assert old is not None
    return History(directory, environ, old[0], old[1], tmp_path / "old-store.db", anchor)


def _edit(line: bytes, **fields: object) -> bytes:
    return json.dumps({**json.loads(line), **fields}, separators=(",", ":")).encode() + b"\n"


def _forged(after: bytes, *, v: int) -> bytes:
    """The next line, chained onto ``after`` as well as anyone without the master key can."""
    body = {**json.loads(after), "v": v, "key": "Forged", "actor": "eve@box"}
    body["seq"], body["prev"] = body["seq"] + 1, body["hash"]
    body["hash"] = hashlib.sha256(canonical(body)).hexdigest()
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def _roll_back_everything(h: History) -> None:
    for side in ("store.db-wal", "store.db-shm"):
        (h.directory / side).unlink(missing_ok=True)
    shutil.copyfile(h.old_db, h.db)
    h.log.write_bytes(h.old_log)


Tamper = Callable[[History], None]
# (case, what is done, the local verdict: None if it passes, else the start of the message)
CASES: list[tuple[str, Tamper, str | None]] = [
    ("edit a line", lambda h: h.set_lines(
        [*h.lines()[:4], _edit(h.lines()[4], actor="someone@else"), *h.lines()[5:]]),
     "line 5: forged or edited"),
    ("delete the first line", lambda h: h.set_lines(h.lines()[1:]), "line 1: deleted"),
    ("delete a middle line", lambda h: h.set_lines([*h.lines()[:7], *h.lines()[8:]]),
     "line 8: deleted"),
    ("delete the last line", lambda h: h.set_lines(h.lines()[:-1]),
     f"line {LINES}: truncated: the checkpoint records {LINES} lines"),
    ("cut mid-line", lambda h: h.set_lines([*h.lines()[:-1], h.lines()[-1][:40]]),
     f"line {LINES}: incomplete line"),
    ("reorder two lines", lambda h: h.set_lines(
        [*h.lines()[:4], h.lines()[5], h.lines()[4], *h.lines()[6:]]), "line 5: reordered"),
    ("insert a forged line", lambda h: h.set_lines(
        [*h.lines()[:6], _forged(h.lines()[5], v=2), *h.lines()[6:]]),
     "line 7: forged or edited"),
    ("append a valid-chain line forged without the key", lambda h: h.set_lines(
        [*h.lines(), _forged(h.lines()[-1], v=1)]),
     f"line {LINES + 1}: forged: an unkeyed line after the keyed chain began"),
    ("append a keyed-looking line forged without the key", lambda h: h.set_lines(
        [*h.lines(), _forged(h.lines()[-1], v=2)]), f"line {LINES + 1}: forged or edited"),
    ("replace the log with an older copy", lambda h: h.log.write_bytes(h.old_log),
     f"line 10: truncated: the checkpoint records {LINES} lines, the log ends after 9"),
    ("delete the log", lambda h: h.log.unlink(),
     f"line 1: truncated: the checkpoint records {LINES} lines, the log is missing"),
    ("delete the checkpoint", lambda h: h.meta("DELETE FROM meta WHERE name = ?", META_NAME),
     "checkpoint: the audit checkpoint is missing from the store, which has kept an audit "
     "history since"),
    ("delete the log and the checkpoint", lambda h: (
        h.log.unlink(), h.meta("DELETE FROM meta WHERE name = ?", META_NAME)),
     "checkpoint: the audit checkpoint is missing from the store, which has kept an audit "
     "history since"),
    ("delete the log, the checkpoint and the history marker", lambda h: (
        h.log.unlink(), h.meta("DELETE FROM meta WHERE name IN (?, ?)", META_NAME,
                               HISTORY_NAME)),
     "store: nexus-engine/prod/K0 version 1 and 5 more has no audit line"),
    ("restore an old checkpoint", lambda h: h.meta(
        "UPDATE meta SET value = ? WHERE name = ?", h.old_checkpoint, META_NAME),
     "line 10: not covered by the checkpoint: 6 appends after it"),
    ("restore an old log with its checkpoint", lambda h: (
        h.log.write_bytes(h.old_log),
        h.meta("UPDATE meta SET value = ? WHERE name = ?", h.old_checkpoint, META_NAME)),
     "store: nexus-engine/prod/K3 version 1 and 2 more has no audit line"),
    ("delete a secret's row (roll it back)", lambda h: h.meta(
        "DELETE FROM versions WHERE path = ?", "nexus-engine/prod/K5"),
     "store: nexus-engine/prod/K5 version 1 (written at line 17) was removed from the store"),
    ("roll back everything", _roll_back_everything, None),
]


@pytest.mark.parametrize(("tamper", "verdict"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_tampering_gets_its_verdict(history: History, tamper: Tamper, verdict: str | None) -> None:
    with EmbeddedStore.open(history.directory, environ=history.environ) as store:
        assert AuditLog.for_store(store).verify(anchor=history.anchor).ok  # intact to begin with
    tamper(history)
    with EmbeddedStore.open(history.directory, environ=history.environ) as store:
        log = AuditLog.for_store(store)
        local, anchored = log.verify(), log.verify(anchor=history.anchor)
    if verdict is None:
        assert local.ok, str(local)
        assert str(anchored).startswith(f"anchor: rolled back: the anchor of "
                                        f"{history.anchor.time} records seq {LINES}")
    else:
        assert not local.ok and str(local).startswith(verdict), str(local)
    assert not anchored.ok  # with the anchor, every case is detected
