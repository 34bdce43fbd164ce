"""A writer for the kill -9 tests: audited puts and reads until killed.

    python -m tests.audit.crash_writer STORE_DIR RUN

The master key comes from the environment. After each write is durable and audited it
prints ``ack PATH VERSION``: an acknowledged write, which must survive any kill after it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from vaultline.audit import READ, WRITE, AuditEntry, AuditLog
from vaultline.store import EmbeddedStore


def main(directory: str, run: str) -> None:
    with EmbeddedStore.open(Path(directory)) as store:
        log = AuditLog.for_store(store)
        for i in range(10_000):
            path, value = f"crash/{run}/k{i}", f"value-{run}-{i}"
            with log.recording(WRITE, key=f"k{i}", reference=f"local:{path}",
                               value=value) as detail:
                detail["version"] = store.put(path, value.encode())
            print(f"ack {path} {detail['version']}", flush=True)
            log.record_many([AuditEntry(READ, key=f"k{i}", reference=f"local:{path}", value=value)
                             for _ in range(3)])


if __name__ == "__main__":
    main(*sys.argv[1:3])
