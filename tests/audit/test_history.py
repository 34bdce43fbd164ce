"""Crash tails, segments, the write cross-check and logs of the unkeyed format."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import pytest

from tests.factory import FakeClock, make_project, master_key_env, vaultline
from vaultline.audit import READ, WRITE, AuditEntry, AuditLog
from vaultline.audit.checkpoint import META_NAME, Tip
from vaultline.audit.event import GENESIS, encode_lines
from vaultline.audit.settings import AuditSettings, parse_settings
from vaultline.errors import AuditDamageWarning, ConfigError
from vaultline.store import EmbeddedStore


def _crash_after_write(log: AuditLog, store: EmbeddedStore, entries: list[AuditEntry]) -> None:
    """Append ``entries`` as a writer killed before its checkpoint would: lines, no tip."""
    before = store.meta_get(META_NAME)
    log.record_many(entries)
    assert before is not None
    store.meta_set(META_NAME, before)


def test_a_crash_tail_is_reported_and_adopted(log: AuditLog, store: EmbeddedStore,
                                              clock: FakeClock) -> None:
    log.record(READ, key="A")
    clock.advance(seconds=1)
    _crash_after_write(log, store, [AuditEntry(READ, key="B"), AuditEntry(READ, key="C")])
    result = log.verify()
    assert result.ok and result.crash_tail == 2
    assert "crash tail: 2 valid line(s) after the checkpoint" in str(result)
    clock.advance(seconds=1)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        log.record(READ, key="D")  # the next writer adopts the tail: no break, no warning
    assert seen == []
    after = log.verify()
    assert after.ok and after.crash_tail == 0 and after.lines == 4
    assert [e.action for e in log.show()] == [READ] * 4


def test_a_crash_tail_of_unkeyed_lines_is_not_adopted(log: AuditLog, store: EmbeddedStore) -> None:
    log.record(READ, key="A")
    last = json.loads(log.path.read_bytes().splitlines()[-1])
    (line,), _, _ = encode_lines([AuditEntry(READ, key="Forged")], seq=last["seq"], prev=last["hash"],
                                 time=last["time"], actor="eve@box", mac=None, chain=None)
    with log.path.open("ab") as handle:
        handle.write(line)
    assert not log.verify().ok
    with pytest.warns(AuditDamageWarning, match="checkpoint is at seq 1, the log ends at seq 2"):
        log.record(READ, key="B")


def test_segments_carry_the_chain(store: EmbeddedStore, clock: FakeClock) -> None:
    log = AuditLog.for_store(store, clock=clock, segment_size=4096)
    for i in range(60):
        log.record(READ, key=f"K{i}", value=str(i))
    names = sorted(p.name for p in store.directory.glob("audit*.log"))
    assert "audit.1.log" in names and "audit.2.log" in names and "audit.log" in names
    assert all(p.stat().st_size < 4096 + 1024 for p in log.files()[:-1])
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in log.files() if p.exists())
    result = log.verify()
    assert result.ok and result.lines == 60 and result.segments >= 3, str(result)
    assert [e.key for e in log.show()] == [f"K{i}" for i in range(60)]
    assert log.report().events == 60
    # The oldest segment removed: the chain no longer starts at seq 1.
    (store.directory / "audit.1.log").rename(store.directory / "elsewhere.log")
    assert str(log.verify()).startswith("line 1: deleted")
    (store.directory / "elsewhere.log").rename(store.directory / "audit.1.log")
    # A restart archives every segment with the active log.
    archive = log.restart("rotation test")
    assert sorted(p.name for p in store.directory.glob("audit.*.log") if p.name != archive.name
                  and not p.name.startswith(archive.name.removesuffix(".log"))) == []
    assert log.verify().ok and log.verify().lines == 1
    chain_key = store.derive_key("audit-chain")
    archived = AuditLog(archive, hmac_key=None, checkpoint=None, chain_key=chain_key).verify()
    assert archived.ok and archived.lines == 60, str(archived)


def test_a_write_around_the_audit_is_reported(log: AuditLog, store: EmbeddedStore) -> None:
    with log.recording(WRITE, key="A", reference="local:app/prod/A", value="a") as detail:
        detail["version"] = store.put("app/prod/A", b"a")
    assert log.verify().ok
    store.put("app/prod/A", b"sneaky")  # with the master key, but not through the audit
    result = log.verify()
    assert not result.ok and str(result) == (
        "store: app/prod/A version 2 has no audit line: written around vaultline's audit "
        "(with the master key), or its lines were removed")


def test_a_write_killed_after_its_commit_is_audited_by_its_intent(
    log: AuditLog, store: EmbeddedStore
) -> None:
    class Killed(BaseException):
        pass

    log.record(READ, key="before")
    # The intent goes in first; a process dying after the commit never writes the outcome.
    intent = log.record(WRITE, key="A", reference="local:app/prod/A", outcome="intent")
    store.put("app/prod/A", b"a")
    result = log.verify()
    assert result.ok and result.interrupted == (
        f"app/prod/A version 1 (intent at line {intent.seq}, no outcome)",)
    with pytest.raises(Killed), log.recording(WRITE, key="B", reference="local:app/prod/B"):
        raise Killed
    failed = [e for e in log.show() if e.key == "B"]
    assert [(e.outcome, (e.detail or {}).get("reason")) for e in failed] == [
        ("intent", None), ("failed", "Killed")]


def test_a_log_of_the_unkeyed_format_is_continued_keyed(store: EmbeddedStore) -> None:
    path = store.directory / "audit.log"
    lines, seq, prev = encode_lines([AuditEntry(READ, key=f"old{i}") for i in range(3)], seq=0,
                                    prev=GENESIS, time="2025-12-01T00:00:00.000000Z",
                                    actor="old@host", mac=None, chain=None)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.write(fd, b"".join(lines))
    os.close(fd)
    log = AuditLog.for_store(store)
    log._checkpoint.save(Tip(seq, prev))  # type: ignore[union-attr]  # as the old writer left it
    log.record(READ, key="new")
    rows = [json.loads(r) for r in path.read_bytes().splitlines()]
    assert [r["v"] for r in rows] == [1, 1, 1, 2] and rows[3]["prev"] == rows[2]["hash"]
    result = log.verify()
    assert result.ok and result.unkeyed == 3
    assert "the first 3 in the unkeyed format of older vaultline" in str(result)


@pytest.mark.parametrize(("section", "expected"), [
    (None, AuditSettings()),
    ({"segment_size": "8MiB"}, AuditSettings(8 * 1024 * 1024)),
    ({"segment_size": 100000, "anchor": {"to": "vault:ops/a", "every": 50}},
     AuditSettings(100000, "vault:ops/a", 50)),
])
def test_settings(section: object, expected: AuditSettings) -> None:
    assert parse_settings(section) == expected


@pytest.mark.parametrize(("section", "message"), [
    ({"segment_size": "big"}, "audit.segment_size takes a size like 64MiB"),
    ({"segment_size": 10}, "at least 4096 bytes"),
    ({"anchor": {"every": 5}}, "audit.anchor needs 'to: PROVIDER:PATH'"),
    ({"anchor": {"to": "file:/x", "every": 0}}, "audit.anchor.every takes a number"),
    ({"rotate": True}, "unknown setting 'rotate'"),
])
def test_bad_settings_name_the_file(section: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        parse_settings(section, "vaultline.yaml")
    assert str(caught.value).startswith("vaultline.yaml: ")


@pytest.mark.parametrize(("audit", "line", "message"), [
    ("  segment_size: lots\n", 6, "audit.segment_size takes a size like 64MiB"),
    ("  segment_size: 10\n", 6, "audit.segment_size must be at least 4096 bytes"),
    ("  rotate: true\n", 6, "audit: unknown setting 'rotate'"),
    ("  segment_size: 64MiB\n  anchor: {every: 5}\n", 7, "audit.anchor needs 'to:"),
    ("  anchor:\n    to: local:x\n    every: 0\n", 8, "audit.anchor.every takes a number"),
])
def test_bad_settings_name_their_line_through_the_cli(tmp_path: Path, audit: str, line: int,
                                                      message: str) -> None:
    environ = master_key_env()
    root = make_project(tmp_path, {"vaultline.yaml": "version: 1\napp: a\nenvironments: [prod]\n"
                                   "defaults: {A: b}\naudit:\n" + audit}, environ=environ)
    done = vaultline(root, environ, "resolve", "--env", "prod")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"vaultline: error: {root / 'vaultline.yaml'}:{line}: {message}")
    assert done.stderr.count("\n") == 1


