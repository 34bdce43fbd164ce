"""Hostile files end in one clear error, quickly and in bounded memory (tests/hostile.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests import hostile


@pytest.mark.parametrize("case", hostile.CASES, ids=[c.name for c in hostile.CASES])
def test_hostile_file(case: hostile.Case, tmp_path: Path) -> None:
    root = tmp_path / "project"
    environ = hostile.prepare(root, case)
    outcome = hostile.run_case(case, root, environ)
    assert "Traceback" not in outcome.stderr
    assert outcome.code == case.code, outcome.stderr
    assert case.message in outcome.stderr
    if case.code:
        assert outcome.stderr.startswith("vaultline: error: ")
    # CPU time is the cost; wall time is generous for a loaded CI machine (no hang).
    assert outcome.cpu_seconds < hostile.TIME_LIMIT
    assert outcome.seconds < 6 * hostile.TIME_LIMIT
    assert outcome.peak_kib < hostile.RSS_LIMIT_KIB
    shutil.rmtree(root)


def test_the_wrapper_measures_memory() -> None:
    """The RSS figure is real: a child that allocates 200 MB is seen doing so."""
    done = subprocess.run([sys.executable, "-c", hostile.WRAPPER, sys.executable, "-c",
                           "b = bytearray(200 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096])"],
                          capture_output=True, timeout=60)
    assert int(done.stderr.decode().split()[-2]) > 200 * 1024
