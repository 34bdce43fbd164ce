"""Something other than a regular file where a log file belongs (planted by whoever can write
the store directory): one AuditError naming it, never a hang or a read without end."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.factory import FakeClock
from vaultline.audit import READ, AuditLog
from vaultline.audit.log import LOG_NAME
from vaultline.audit.query import read_events
from vaultline.errors import AuditError
from vaultline.store import EmbeddedStore


def within(seconds: float, work: Callable[[], object]) -> BaseException | None:
    """What `work` raised, or None; fails the test when it does not end in time (a hang)."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            work()
            outcome.append(None)
        except BaseException as exc:  # handed to the test
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, f"still running after {seconds} s: a hang"
    return outcome[0]


def sealed(store: EmbeddedStore, clock: FakeClock) -> tuple[AuditLog, Path]:
    """A log whose first segment is sealed and whose active file is empty."""
    log = AuditLog.for_store(store, clock=clock, segment_size=4096)
    while not (store.directory / "audit.1.log").exists():
        log.record(READ, env="prod", key="A:B", reference="local:x", value="v")
    (store.directory / LOG_NAME).unlink(missing_ok=True)
    return log, store.directory / "audit.1.log"


@pytest.mark.parametrize("plant", ["fifo", "dev-zero"])
def test_a_planted_segment_is_refused(store: EmbeddedStore, clock: FakeClock,
                                      plant: str) -> None:
    log, segment = sealed(store, clock)
    segment.unlink()
    if plant == "fifo":
        os.mkfifo(segment)
    else:
        segment.symlink_to("/dev/zero")
    for work in (log.verify,
                 lambda: log.record(READ, env="prod", key="A:B", reference="local:x"),
                 lambda: list(read_events(segment))):
        error = within(20, work)
        assert isinstance(error, AuditError), error
        assert "audit.1.log is" in str(error)


def test_a_fifo_as_the_active_log_is_refused(store: EmbeddedStore, clock: FakeClock) -> None:
    log = AuditLog.for_store(store, clock=clock)
    os.mkfifo(store.directory / LOG_NAME)
    error = within(20, lambda: log.record(READ, env="prod", key="A:B", reference="local:x"))
    assert isinstance(error, AuditError), error
    assert "audit.log is not a regular file" in str(error)
