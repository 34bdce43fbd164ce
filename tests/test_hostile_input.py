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



# Just under what json.loads takes at the top of a stack, and far over it.
@pytest.mark.parametrize("depth", [900, 5000])
def test_a_deeply_nested_stored_secret_fails_only_the_key_that_reads_it(
        tmp_path: Path, depth: int) -> None:
    """Each command that reads ``#user`` of it names the key, as for any unreadable secret."""
    root = tmp_path / "project"
    environ = hostile.prepare(root)
    (root / "env/prod/secrets.yaml").write_text(
        "ConnectionStrings:Primary: local\nDb:User: local:nexus-engine/prod/db#user\n")
    deep = '{"user": "u", "a": ' + "[" * depth + "]" * depth + "}"
    for path, value in [("prod/ConnectionStrings/Primary", "postgres://db/prod"),
                        ("prod/db", deep), ("copy/db", deep)]:
        put = hostile.measured(("secret", "put", f"local:nexus-engine/{path}"), root, environ,
                               stdin=value)
        assert put.code == 0, put.stderr
    reason = "cannot select field 'user': the secret is JSON nested deeper than 100 levels"
    mirror = "local:nexus-engine/prod=local:nexus-engine/copy"
    for argv, shown in [(("resolve", "--env", "prod"), f"Db:User: local:nexus-engine/prod/db#user: {reason}"),
                        (("check", "--env", "prod"), reason),
                        (("drift", "--env", "prod"), reason),
                        (("drift", "--env", "prod", "--mirror", mirror), "1 missing")]:
        outcome = hostile.measured(argv, root, environ)
        output = outcome.stderr + outcome.stdout.decode()
        assert outcome.code == 1, (argv, outcome.stderr)
        assert "Traceback" not in output and "nested too deeply" not in output
        assert shown in output, (argv, output)
        if "--mirror" not in argv:
            assert "Db:User" in output
        assert outcome.cpu_seconds < hostile.TIME_LIMIT
