from __future__ import annotations

from datetime import timedelta

from tests.factory import FakeClock
from vaultline.audit import (
    DENIED,
    DENY,
    OVERRIDE_APPLY,
    OVERRIDE_SET,
    READ,
    REVEAL,
    WRITE,
    AuditEntry,
    AuditLog,
    ReportSettings,
)
from vaultline.audit.report import BURST, DENIAL, NEW_ACTOR, OVERRIDE, REVEALED


def test_new_actor_after_the_learning_window(log: AuditLog, clock: FakeClock) -> None:
    log.record(WRITE, env="prod", key="Db:Password", actor="ana@laptop")
    log.record(READ, env="prod", key="Db:Password", actor="app@web-1")
    clock.advance(days=3)
    log.record(READ, env="prod", key="Db:Password", actor="app@web-2")  # still learning
    clock.advance(days=5)
    log.record(READ, env="prod", key="Db:Password", actor="app@web-1")  # known reader
    log.record_many(AuditEntry(READ, env="prod", key=k, actor="eve@box")
                    for k in ("Db:Password", "Api:Key"))
    clock.advance(days=1)
    log.record(WRITE, env="prod", key="New:Key", actor="ana@laptop")
    log.record(READ, env="prod", key="New:Key", actor="app@web-1")  # new key: learning

    found = log.report().by_kind(NEW_ACTOR)
    assert [(f.actor, f.keys) for f in found] == [("eve@box", ["Db:Password"])]
    # Api:Key first appears in that same batch, so it is still in its learning window.
    assert found[0].seq == 5 and "1 key(s)" in found[0].summary


def test_first_reads_close_together_are_one_finding(log: AuditLog, clock: FakeClock) -> None:
    log.record_many(AuditEntry(WRITE, key=f"K{i}") for i in range(100))
    clock.advance(days=8)
    log.record_many(AuditEntry(READ, key=f"K{i}", actor="ci@new-runner") for i in range(100))
    clock.advance(seconds=5)
    log.record(READ, key="K0", actor="ana@laptop")
    report = log.report()
    found = report.by_kind(NEW_ACTOR)
    assert [(f.actor, f.count) for f in found] == [("ci@new-runner", 100), ("ana@laptop", 1)]
    assert report.by_kind(BURST) == []  # one resolution of 100 keys is one access


def test_burst_of_reads(log: AuditLog, clock: FakeClock) -> None:
    settings = ReportSettings(burst_reads=10, burst_window=timedelta(seconds=60))
    for i in range(9):  # 9 accesses in a minute: below the threshold
        log.record(READ, key=f"K{i % 3}", actor="slow@box")
        clock.advance(seconds=6)
    clock.advance(minutes=10)
    for i in range(25):  # 25 in 25 seconds: one burst
        log.record(READ, key=f"K{i % 4}", actor="loop@box")
        clock.advance(seconds=1)
    clock.advance(minutes=5)
    for _ in range(3):
        log.record(READ, key="K0", actor="loop@box")
    found = log.report(settings).by_kind(BURST)
    assert len(found) == 1
    burst = found[0]
    assert burst.actor == "loop@box" and burst.count == 25
    assert burst.summary.startswith("25 reads of 4 key(s)")
    assert burst.time == "2026-01-01T00:10:54.000000Z" and burst.end_time is not None


def test_denials_reveals_and_overrides(log: AuditLog, clock: FakeClock) -> None:
    log.record(DENY, env="prod", key="Db:Password", actor="eve@box", outcome=DENIED)
    log.record(READ, env="prod", key="Db:Password", actor="bob@box", outcome=DENIED)
    log.record(READ, env="prod", key="Db:Password", actor="bob@box", outcome="failed")
    log.record(REVEAL, env="dev", key="Api:Key", actor="ana@laptop")
    log.record(OVERRIDE_SET, env="prod", key="Feature:Flag", actor="ana@laptop",
               detail={"ticket": "INC-7", "expires": "2026-01-01T02:00:00Z"})
    log.record(OVERRIDE_APPLY, env="prod", key="Feature:Flag", actor="app@web-1")
    report = log.report()
    assert [(f.actor, f.seq) for f in report.by_kind(DENIAL)] == [("eve@box", 1), ("bob@box", 2)]
    assert [f.keys for f in report.by_kind(REVEALED)] == [["Api:Key"]]
    assert [f.summary for f in report.by_kind(OVERRIDE)] == [
        "override.set (ok)", "override.apply (ok)"]
    assert report.events == 6
    assert [f.seq for f in report.findings] == sorted(f.seq for f in report.findings)
    assert report.to_dict()["findings"][0]["kind"] == DENIAL


def test_empty_log_reports_nothing(log: AuditLog) -> None:
    report = log.report()
    assert report.findings == [] and report.events == 0 and report.first_time is None
