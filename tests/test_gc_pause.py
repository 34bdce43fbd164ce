"""The library never changes the caller's garbage collector; the CLI, which owns its process,
runs it rarely (high thresholds) for the whole command, and ``run`` freezes the start-up heap
before it supervises."""

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


def _probe(root: Path, environ: dict[str, str], body: str) -> list[str]:
    """Run `body` in a fresh interpreter (``sys.argv[1]`` is the project); its last stderr line."""
    done = subprocess.run([sys.executable, "-c", "import gc, sys\n" + body, str(root)],
                          capture_output=True, text=True, env={**os.environ, **environ},
                          check=True)
    return done.stderr.splitlines()[-1].split()


def test_the_cli_collects_rarely_while_a_command_runs(root: Path, environ: dict[str, str]) -> None:
    threshold, count, restored, code = _probe(root, environ, (
        "from vaultline.cli import main\n"
        "from vaultline.resolve.session import Session\n"
        "inside, seen, resolve = [], [], Session.resolve\n"
        "def spied(self, **options):\n"
        "    inside.append(gc.get_threshold()[0])\n"
        "    return resolve(self, **options)\n"
        "Session.resolve = spied\n"
        "gc.set_threshold(1234, 5, 6)\n"
        "gc.callbacks.append(lambda phase, info: phase == 'start' and seen.append(1))\n"
        "code = main(['resolve', '--env', 'prod', '-C', sys.argv[1]])\n"
        "print(inside[0], len(seen), gc.get_threshold() == (1234, 5, 6), code, file=sys.stderr)\n"))
    assert code == "0" and int(threshold) >= 100_000
    # 3,000 reads plus start-up: hundreds of collections at Python's default, a few here.
    assert int(count) < 20
    assert restored == "True"  # the caller's thresholds afterwards


def test_the_cli_leaves_a_callers_disabled_collector_disabled(
        root: Path, environ: dict[str, str]) -> None:
    enabled, code = _probe(root, environ, (
        "from vaultline.cli import main\n"
        "gc.disable()\n"
        "code = main(['resolve', '--env', 'prod', '-C', sys.argv[1]])\n"
        "print(gc.isenabled(), code, file=sys.stderr)\n"))
    assert (enabled, code) == ("False", "0")


def test_cyclic_garbage_from_hostile_yaml_is_still_collected(
        root: Path, environ: dict[str, str]) -> None:
    """YAML aliases make reference cycles; manifests full of them, read in bulk, would grow
    memory without end if the collector were paused for the command. It only runs less
    often: what is left uncollected stays below one young generation's threshold."""
    manifests = root / "deploy"
    manifests.mkdir()
    for i in range(2):  # 60,000 cyclic documents' worth of objects each
        (manifests / f"m{i}.yaml").write_text(
            "".join("--- &x {a: [*x, *x], b: {c: *x}}\n" for _ in range(9999)))
    left, code = _probe(root, environ, (
        "from vaultline.cli import main\n"
        "code = main(['inventory', str(__import__('pathlib').Path(sys.argv[1], 'deploy')),"
        " '--format', 'json'])\n"
        "print(gc.collect(), code, file=sys.stderr)\n"))
    assert code == "0"
    assert int(left) < 150_000  # paused, about 480,000 objects would be left


def test_run_freezes_the_start_up_heap_before_it_supervises(
        root: Path, environ: dict[str, str]) -> None:
    """A supervision can last days: its cycles are collected, the start-up heap is frozen."""
    enabled, frozen, code = _probe(root, environ, (
        "from vaultline.cli import main\n"
        "from vaultline.runtime import runner\n"
        "seen, supervise = [], runner.run\n"
        "def spied(*args, **options):\n"
        "    seen.append((gc.isenabled(), gc.get_freeze_count() > 10000))\n"
        "    return supervise(*args, **options)\n"
        "runner.run = spied\n"
        "try:\n"
        "    main(['run', '--env', 'prod', '-C', sys.argv[1], '--', 'true'])\n"
        "except SystemExit as exit:\n"
        "    code = exit.code\n"
        "print(*seen[0], code, file=sys.stderr)\n"))
    assert (enabled, frozen, code) == ("True", "True", "0")
