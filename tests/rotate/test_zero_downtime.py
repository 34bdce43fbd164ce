"""Clients connecting fresh with freshly resolved credentials while rotations run.

The harness is bounded, not timed: at each checkpoint of a rotation (after ``set``, and
after ``publish``, which is also before the next ``retire``) the rotating thread waits until
every client has made one whole attempt that began after the checkpoint. So every interleaving that matters happens
in every run: with alternating users no attempt can fail, and with a single user re-keyed in
place the attempts after ``set`` (old password resolved, new one on the server) always do.
"""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg

from tests.factory import FakeClock
from tests.rotate.conftest import OpenRotator, pg_project
from tests.servers import PostgresServer
from vaultline.project.model import Project
from vaultline.resolve.session import Session
from vaultline.rotate import Rotation, Step

KEY = "ConnectionStrings:Primary"
ROTATIONS = 20
CLIENTS = 2
WAIT = 60.0  # a bound on a hung client, never reached when things work


class Harness:
    def __init__(self, root: Path, environ: dict[str, str]):
        self.root, self.environ = root, environ
        self.generation = 0
        self.finished = [-1] * CLIENTS
        self.attempts = self.failures = 0
        self.cond = threading.Condition()
        self.stop = threading.Event()
        self.errors: list[BaseException] = []

    def client(self, index: int) -> None:
        session = Session(Project.load(self.root), "prod", environ=self.environ)
        try:
            while not self.stop.is_set():
                with self.cond:
                    generation = self.generation
                url = str(session.resolve()[KEY])  # resolved afresh for every connection
                ok = True
                try:
                    with psycopg.connect(url, connect_timeout=5) as conn:
                        conn.execute("SELECT 1")
                except psycopg.OperationalError:
                    ok = False
                with self.cond:
                    self.attempts += 1
                    self.failures += not ok
                    self.finished[index] = generation
                    self.cond.notify_all()
        except BaseException as exc:  # surfaced by the test, not lost in the thread
            self.errors.append(exc)
            self.stop.set()
            with self.cond:
                self.cond.notify_all()
        finally:
            session.close()

    def checkpoint(self, *_: object) -> None:
        """Wait until every client made an attempt that began after this point."""
        with self.cond:
            self.generation += 1
            target = self.generation
            if not self.cond.wait_for(lambda: min(self.finished) >= target or self.stop.is_set(),
                                      WAIT):
                raise AssertionError(f"clients made no attempt in {WAIT}s")


def _rotate_under_load(root: Path, environ: dict[str, str], open_rotator: OpenRotator,
                       clock: FakeClock) -> Harness:
    harness = Harness(root, environ)

    clients_running = threading.Event()

    def on_step(rotation: Rotation, step: Step) -> None:
        if step is Step.SET and clients_running.is_set():
            harness.checkpoint()

    rotator = open_rotator(root, clock=clock, on_step=on_step)
    rotator.run(KEY)  # the first credential, before any client needs one
    threads = [threading.Thread(target=harness.client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    clients_running.set()
    try:
        for _ in range(ROTATIONS):
            harness.checkpoint()  # after publish: nobody still holds the one about to retire
            clock.advance(hours=2)
            latest = rotator.latest(KEY)
            if latest is not None and latest.next_step is Step.RETIRE:
                rotator.retire(KEY)
            rotator.run(KEY)
            assert not harness.errors
    finally:
        harness.stop.set()
        for thread in threads:
            thread.join(WAIT)
    assert not harness.errors, harness.errors
    return harness


def test_alternating_users_fail_no_connection_during_20_rotations(
        tmp_path: Path, postgres: PostgresServer, master_key: dict[str, str],
        open_rotator: OpenRotator, real_now_clock: FakeClock) -> None:
    root = pg_project(tmp_path, postgres, master_key, users="[zd_a, zd_b]")
    harness = _rotate_under_load(root, master_key, open_rotator, real_now_clock)
    assert harness.attempts >= ROTATIONS * CLIENTS * 2
    assert harness.failures == 0, f"{harness.failures} of {harness.attempts} failed"


def test_single_user_negative_control_fails_connections(
        tmp_path: Path, postgres: PostgresServer, master_key: dict[str, str],
        open_rotator: OpenRotator, real_now_clock: FakeClock) -> None:
    """The same harness on one role re-keyed in place: proves it really connects fresh."""
    root = pg_project(tmp_path, postgres, master_key, strategy="single-user", users="[zd_one]")
    harness = _rotate_under_load(root, master_key, open_rotator, real_now_clock)
    assert harness.failures >= ROTATIONS * CLIENTS  # at least every post-set attempt
    assert harness.failures < harness.attempts


