"""``vaultline drift`` through a real subprocess: exit codes 0/1/2 and values never printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.drift.conftest import CANARIES, MIRROR_VALUES, LocalProject, mirrored
from tests.servers import BaoServer

VAULTLINE = str(Path(sys.executable).with_name("vaultline"))


def run(root: Path, *args: str, environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(root / "home"), "NO_COLOR": "1", **environ}
    return subprocess.run([VAULTLINE, "drift", *args], cwd=root, env=env, text=True,
                          capture_output=True, timeout=60)


def test_exit_codes_and_output(drifted: LocalProject) -> None:
    table = run(drifted.root, "--env", "prod", environ=drifted.environ)
    assert table.returncode == 1, table.stderr
    assert "drift (environment): 2 missing, 1 orphaned, 3 stale" in table.stdout
    assert "nexus-engine/prod/Orphan" in table.stdout
    as_json = run(drifted.root, "--env", "prod", "--format", "json", environ=drifted.environ)
    assert as_json.returncode == 1
    data = json.loads(as_json.stdout)
    assert data["schema_version"] == 1 and data["counts"]["stale"] == 3
    for result in (table, as_json):
        assert not any(c in result.stdout + result.stderr for c in CANARIES)

    (drifted.root / "env/prod/secrets.yaml").write_text(
        "A:Present: local\nA:Orphan: local:nexus-engine/prod/Orphan\n"
        "A:Json: local:nexus-engine/prod/json\nA:Pinned: local:nexus-engine/prod/pinned\n")
    clean = run(drifted.root, "--env", "prod", environ=drifted.environ)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.stdout.startswith("no drift (environment; checked 4 references")


@pytest.mark.parametrize(("args", "message"), [
    ((), "say what to check"),
    (("--env", "nope"), "unknown environment 'nope'"),
    (("--mirror", "local"), "expected SRC=DST"),
    (("--mirror", "local=vault", "--inventory", "."), "one at a time"),
    (("--mirror", "local=nosuch"), "unknown provider 'nosuch'"),
])
def test_configuration_errors_exit_2(drifted: LocalProject, args: tuple[str, ...],
                                     message: str) -> None:
    result = run(drifted.root, *args, environ=drifted.environ)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr


def test_mirror_table_shows_paths_not_values(openbao: BaoServer, tmp_path: Path, app: str) -> None:
    environ = mirrored(openbao, tmp_path, app)
    result = run(tmp_path, "--env", "prod", "--mirror", f"local:{app}/prod=vault:mirror",
                 environ=environ)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("missing") and "only-source" in line for line in lines)
    assert any(line.startswith("extra") and "only-mirror" in line for line in lines)
    assert any(line.startswith("different") and "db/password" in line for line in lines)
    assert "note: values compared by HMAC-SHA256 under a key derived from the embedded store" \
        in result.stdout
    assert not any(v in result.stdout + result.stderr for v in MIRROR_VALUES)


def test_help_has_an_example() -> None:
    result = subprocess.run([VAULTLINE, "drift", "--help"], text=True, capture_output=True,
                            timeout=60)
    assert result.returncode == 0 and "vaultline drift --env prod" in result.stdout
