"""Four real processes appending at once leave one valid chain with every event in it."""

from __future__ import annotations

import itertools
import multiprocessing
import time
from collections import Counter
from pathlib import Path

from vaultline.audit import READ, AuditEntry, AuditLog
from vaultline.store import EmbeddedStore

WRITERS = 4
EVENTS = 250


def _writer(directory: str, environ: dict[str, str], writer: int, start: object) -> None:
    with EmbeddedStore.open(Path(directory), environ=environ) as store:
        log = AuditLog.for_store(store)
        start.wait()  # type: ignore[attr-defined]
        for i in range(EVENTS):
            if i % 50 == 49:  # batches interleave with single records
                log.record_many([AuditEntry(READ, key=f"w{writer}-{i}-{j}", actor=f"w{writer}")
                                 for j in range(5)])
            else:
                log.record(READ, key=f"w{writer}-{i}", actor=f"w{writer}", value=str(i))


def test_concurrent_writers_keep_the_chain_valid(
    store: EmbeddedStore, environ: dict[str, str]
) -> None:
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(WRITERS)
    procs = [context.Process(target=_writer, args=(str(store.directory), environ, w, start))
             for w in range(WRITERS)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    log = AuditLog.for_store(store)
    result = log.verify()
    per_batch = EVENTS + (EVENTS // 50) * 4  # a batch of 5 replaces one single record
    assert result.ok, str(result)
    assert result.lines == WRITERS * per_batch
    events = list(log.show())
    assert Counter(e.actor for e in events) == {f"w{w}": per_batch for w in range(WRITERS)}
    assert len({e.key for e in events}) == len(events)
    # the writers really did interleave, so the lock was exercised
    switches = sum(1 for a, b in itertools.pairwise(events) if a.actor != b.actor)
    assert switches > WRITERS


def _steady_writer(directory: str, environ: dict[str, str], writer: int, start: object) -> None:
    with EmbeddedStore.open(Path(directory), environ=environ) as store:
        log = AuditLog.for_store(store)
        start.wait()  # type: ignore[attr-defined]
        for i in range(EVENTS):
            log.record(READ, key=f"w{writer}-{i}", actor=f"w{writer}")


def test_restart_while_others_append_loses_nothing(
    store: EmbeddedStore, environ: dict[str, str]
) -> None:
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(3)
    procs = [context.Process(target=_steady_writer, args=(str(store.directory), environ, w, start))
             for w in range(2)]
    for proc in procs:
        proc.start()
    log = AuditLog.for_store(store)
    start.wait()
    deadline = time.monotonic() + 30
    while not log.path.exists() or log.path.stat().st_size < 20_000:  # restart mid-stream
        assert time.monotonic() < deadline, "the writers never got going"
        time.sleep(0.005)
    archive = log.restart("rotation under load")
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    assert log.verify().ok, str(log.verify())
    old = list(AuditLog(archive, hmac_key=None, checkpoint=None).show())
    chain_key = store.derive_key("audit-chain")
    assert AuditLog(archive, hmac_key=None, checkpoint=None, chain_key=chain_key).verify().ok
    new = [e for e in log.show() if e.action == READ]
    assert 0 < len(old) < 2 * EVENTS
    assert sorted(e.key or "" for e in old + new) == sorted(
        f"w{w}-{i}" for w in range(2) for i in range(EVENTS))


def _appender(directory: str, environ: dict[str, str], start: object, stop: object) -> None:
    with EmbeddedStore.open(Path(directory), environ=environ) as store:
        log = AuditLog.for_store(store)
        start.wait()  # type: ignore[attr-defined]
        for i in range(1000):  # bounded: each verify reads the whole log
            if stop.is_set():  # type: ignore[attr-defined]
                break
            log.record_many([AuditEntry(READ, key=f"k{i}-{j}", value=str(j)) for j in range(3)])


def test_verify_reads_a_consistent_snapshot_while_a_writer_appends(
    store: EmbeddedStore, environ: dict[str, str]
) -> None:
    context = multiprocessing.get_context("spawn")
    start, stop = context.Barrier(2), context.Event()
    proc = context.Process(target=_appender, args=(str(store.directory), environ, start, stop))
    proc.start()
    log = AuditLog.for_store(store)
    start.wait()
    try:
        deadline = time.monotonic() + 30
        while not log.path.exists() or log.path.stat().st_size == 0:  # the writer is going
            assert time.monotonic() < deadline, "the writer never got going"
            time.sleep(0.005)
        results = [log.verify() for _ in range(20)]
    finally:
        stop.set()
        proc.join(timeout=60)
    assert proc.exitcode == 0
    assert [str(r) for r in results if not r.ok] == []
    assert sum(r.ok for r in results) == 20
    assert results[-1].lines > results[0].lines, "verify never overlapped a write"
