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

from vaultline.audit import OK, WRITE, AuditLog
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
