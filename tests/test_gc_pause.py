"""The library never pauses the caller's garbage collector; the CLI, which owns its process,
pauses it around the one resolution a command makes."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import vaultline
from tests.factory import make_project
from vaultline.resolve import _gc
from vaultline.store import EmbeddedStore


@pytest.fixture
def collections() -> Iterator[list[bool]]:
    """One entry per collection the interpreter starts while the test runs."""
    seen: list[bool] = []

    def probe(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            seen.append(gc.isenabled())

    gc.callbacks.append(probe)
    try:
        yield seen
    finally:
        gc.callbacks.remove(probe)


@pytest.fixture
def root(tmp_path: Path, environ: dict[str, str]) -> Path:
    count = 3000  # enough allocations for the young generation to be collected many times
    root = make_project(tmp_path, {"env/prod/secrets.yaml": "".join(
        f"S{i}:Key: local\n" for i in range(count)) + "ConnectionStrings:Primary: local\n"},
        environ=environ)
    with EmbeddedStore.open(root / ".vaultline", environ=environ) as store:
        store.put("nexus-engine/prod/ConnectionStrings/Primary", b"postgres://x")
        for i in range(count):
            store.put(f"nexus-engine/prod/S{i}/Key", b"value")
    return root


def test_a_resolution_from_python_leaves_the_collector_running(
        root: Path, environ: dict[str, str], collections: list[bool]) -> None:
    assert gc.isenabled()
    bundle = vaultline.load("prod", root, environ=environ)
    assert len([k for k in bundle if k.startswith("S")]) == 3000
    assert collections, "no collection ran during 3,000 reads: the collector was paused"
    assert all(collections) and gc.isenabled()


def test_the_cli_pauses_it_around_its_resolution(root: Path, environ: dict[str, str]) -> None:
    probe = ("import gc, sys\n"
             "from vaultline.cli import main\n"
             "from vaultline.resolve.session import Session\n"
             "inside, seen, resolve = [], [], Session.resolve\n"
             "def spied(self, **options):\n"
             "    inside.append(gc.isenabled())\n"
             "    return resolve(self, **options)\n"
             "Session.resolve = spied\n"
             "gc.callbacks.append(lambda phase, info: phase == 'start' and seen.append(1))\n"
             "code = main(['resolve', '--env', 'prod', '-C', sys.argv[1]])\n"
             "print(inside, len(seen), gc.isenabled(), code, file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", probe, str(root)], capture_output=True,
                          text=True, env={**os.environ, **environ}, check=True)
    inside, count, enabled, code = done.stderr.split()[-4:]
    assert code == "0" and enabled == "True"  # restored after the resolution
    assert inside == "[False]", done.stderr  # paused while the one resolution ran
    assert int(count) > 0  # and only then: start-up and output still collect


def test_the_pause_restores_the_collector_after_work_that_raises() -> None:
    @_gc.paused
    def boom() -> None:
        assert not gc.isenabled()
        raise RuntimeError("x")

    with pytest.raises(RuntimeError):
        boom()
    assert gc.isenabled()


def test_an_application_that_disabled_the_collector_keeps_it_disabled() -> None:
    gc.disable()
    try:
        _gc.paused(lambda: None)()
        assert not gc.isenabled()
    finally:
        gc.enable()
