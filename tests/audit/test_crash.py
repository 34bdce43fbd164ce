"""kill -9 of a writer at any point loses no acknowledged write and leaves none unaudited.

Each run starts a real writer process on the same store, waits for a (seeded) random
number of acknowledged writes, and kills it with SIGKILL wherever it then is: between an
intent and its commit, a commit and its outcome, a line and its checkpoint. After every
kill the log verifies (possibly with a crash tail the next writer adopts), and every
acknowledged write is in the store with its audit line.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factory import FakeClock
from vaultline.audit import OK, READ, WRITE, AuditEntry, AuditLog
from vaultline.errors import AuditDamageWarning
from vaultline.store import EmbeddedStore

ROOT = Path(__file__).resolve().parents[2]


def kill_runs(store_dir: Path, environ: dict[str, str], runs: int, seed: int) -> dict[str, int]:
    """Run and kill ``runs`` writers, verifying the log after every kill; returns counts:
    kills, acknowledged, lost, unaudited, crash_tails (kills that left one) and
    interrupted (writes committed whose outcome line never came; their intent audits them)."""
    rng = random.Random(seed)
    env = {**os.environ, **environ, "PYTHONPATH": str(ROOT)}
    acknowledged: list[tuple[str, int]] = []
    counts = {"kills": 0, "crash_tails": 0, "interrupted": 0}
    for run in range(runs):
        wanted = rng.randrange(0, 4)
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.audit.crash_writer", str(store_dir), str(run)],
            stdout=subprocess.PIPE, env=env)
        assert child.stdout is not None
        for _ in range(wanted):
            line = child.stdout.readline().decode().split()
            assert line and line[0] == "ack", line
            acknowledged.append((line[1], int(line[2])))
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        counts["kills"] += 1
        with EmbeddedStore.open(store_dir, environ=environ) as store:
            result = AuditLog.for_store(store).verify()
        assert result.ok, f"after kill {run + 1}: {result}"
        counts["crash_tails"] += bool(result.crash_tail)
    with EmbeddedStore.open(store_dir, environ=environ) as store:
        log = AuditLog.for_store(store)
        counts["interrupted"] = len(log.verify().interrupted)
        stored = {(v.path, v.version) for v in store.written_versions()}
        audited = {(e.reference.partition(":")[2], int((e.detail or {})["version"]))
                   for e in log.show(action=WRITE) if e.outcome == OK and e.reference}
    counts["acknowledged"] = len(acknowledged)
    counts["lost"] = sum(1 for w in acknowledged if w not in stored)
    counts["unaudited"] = sum(1 for w in acknowledged if w not in audited)
    return counts


@pytest.mark.slow
def test_kill_9_loses_and_hides_nothing(store: EmbeddedStore, environ: dict[str, str]) -> None:
    counts = kill_runs(store.directory, environ, runs=50, seed=11)
    assert counts["kills"] == 50 and counts["acknowledged"] > 0
    assert (counts["lost"], counts["unaudited"]) == (0, 0), json.dumps(counts)



def _cut_append(store: EmbeddedStore, clock: FakeClock, into_line: int) -> AuditLog:
    """What SIGKILL can leave mid-write (it may stop a write between two pages): line 1
    checkpointed, then one append of three lines cut 40 bytes into its ``into_line``-th
    (0-based) line, the checkpoint not moved yet."""
    log = AuditLog.for_store(store, clock=clock)
    log.record(READ, key="A", reference="local:a", value="v")
    checkpoint = store.meta_get("audit_checkpoint")
    assert checkpoint is not None
    start = log.path.stat().st_size
    clock.advance(seconds=1)
    log.record_many([AuditEntry(READ, key=f"B{i}", reference="local:b", value="v")
                     for i in range(3)])
    batch = log.path.read_bytes()[start:]
    ends = [start + i + 1 for i, byte in enumerate(batch) if byte == ord("\n")]
    store.meta_set("audit_checkpoint", checkpoint)
    os.truncate(log.path, ([start, *ends][into_line]) + 40)
    return log


@pytest.mark.parametrize("into_line", [0, 1, 2])
def test_an_append_cut_short_after_the_checkpoint_is_no_damage(
        store: EmbeddedStore, clock: FakeClock, into_line: int) -> None:
    _cut_append(store, clock, into_line)
    log = AuditLog.for_store(store, clock=clock)
    result = log.verify()
    assert result.ok, str(result)
    assert (result.lines, result.crash_tail, result.torn) == (1 + into_line, into_line, 40)
    assert "torn append: 40 bytes after the last line" in str(result)
    # The next writer drops the unacknowledged bytes and goes on: no break, no damage.
    log.record(READ, key="C", reference="local:c", value="v")
    after = log.verify()
    assert after.ok and (after.lines, after.torn, after.crash_tail) == (2 + into_line, 0, 0)
    text = log.path.read_bytes()
    assert text.endswith(b"\n") and text.count(b"\n") == 2 + into_line
    assert [e.action for e in log.show()] == [READ] * (2 + into_line)


def test_bytes_cut_after_a_line_the_checkpoint_does_not_reach_are_damage(
        store: EmbeddedStore, clock: FakeClock) -> None:
    # Two appends after the checkpoint (an old checkpoint put back), then a cut: not a crash.
    log = _cut_append(store, clock, 0)
    checkpoint = store.meta_get("audit_checkpoint")
    log.path.write_bytes(log.path.read_bytes()[:-40])
    log.record(READ, key="C", reference="local:c", value="v")
    clock.advance(seconds=1)
    log.record(READ, key="D", reference="local:d", value="v")
    assert checkpoint is not None
    store.meta_set("audit_checkpoint", checkpoint)
    with log.path.open("ab") as handle:
        handle.write(b'{"v":2,"seq":4')
    result = AuditLog.for_store(store, clock=clock).verify()
    assert not result.ok and "2 appends after it" in str(result), str(result)
    with pytest.warns(AuditDamageWarning, match="recorded as audit.break"):
        AuditLog.for_store(store, clock=clock).record(READ, key="E")
    assert [e.action for e in log.show()][-2:] == ["audit.break", READ]
