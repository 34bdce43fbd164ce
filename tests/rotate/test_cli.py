"""``vaultline rotate`` (and its ``runbook``) through real subprocesses against PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.rotate.conftest import pg_project
from tests.servers import PostgresServer
from vaultline.store import EmbeddedStore

VAULTLINE = str(Path(sys.executable).with_name("vaultline"))
KEY = "ConnectionStrings:Primary"
PATH = "nexus-engine/staging/ConnectionStrings/Primary"


@pytest.fixture
def project(tmp_path: Path, postgres: PostgresServer, master_key: dict[str, str]) -> Path:
    return pg_project(tmp_path / "proj", postgres, master_key, users="[cli_a, cli_b]")


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([VAULTLINE, *args], cwd=root, capture_output=True, text=True,
                          env={**os.environ, "NO_COLOR": "1"}, timeout=60)


def _password(root: Path, environ: dict[str, str]) -> str:
    with EmbeddedStore.open(root / ".vaultline", environ=environ) as store:
        return str(json.loads(store.get(PATH).text())["password"])


def test_plan_run_status_verify_and_the_grace_guard(
        project: Path, postgres: PostgresServer, master_key: dict[str, str]) -> None:
    plan = _cli(project, "rotate", "plan", KEY, "--env", "staging", "--format", "json")
    assert plan.returncode == 0, plan.stderr
    [planned] = json.loads(plan.stdout)
    assert (planned["new_user"], planned["old_user"], planned["grace"]) == ("cli_a", None, "1h")
    run = _cli(project, "rotate", "run", KEY, "--env", "staging")
    assert run.returncode == 0, run.stderr
    assert "grace" in run.stdout and "role cli_a" in run.stdout
    secret = _password(project, master_key)
    assert secret not in run.stdout + run.stderr + plan.stdout
    again = _cli(project, "rotate", "run", KEY, "--env", "staging")
    assert again.returncode == 1 and "in its grace until" in again.stderr
    assert again.stderr.startswith("vaultline: error: ") and len(again.stderr.splitlines()) == 1
    status = _cli(project, "rotate", "status", "--env", "staging", "--format", "json")
    [row] = json.loads(status.stdout)["keys"]
    assert (row["state"], row["due"], row["key"]) == ("grace", "ok", KEY)
    current = _cli(project, "secret", "get", KEY, "--env", "staging", "--version", "current")
    assert current.returncode == 0 and current.stdout.startswith("postgresql://cli_a:")  # #url
    assert _cli(project, "rotate", "verify", KEY, "--env", "staging").returncode == 0
    postgres.execute("ALTER ROLE cli_a PASSWORD 'reset-by-hand'")
    broken = _cli(project, "rotate", "verify", KEY, "--env", "staging", "--format", "json")
    assert broken.returncode == 1 and json.loads(broken.stdout)["ok"] is False
    assert secret not in broken.stdout


def test_usage_errors_exit_2_and_the_runbook(project: Path) -> None:
    result = _cli(project, "rotate", "run", KEY, "--env", "prod", "--emergency")
    assert result.returncode == 2 and "needs --ticket" in result.stderr
    result = _cli(project, "rotate", "run", KEY, "--env", "prod", "--emergency",
                  "--ticket", "INC-7")
    assert result.returncode == 2 and "--approved-by" in result.stderr
    result = _cli(project, "rotate", "resume", "no-such-id")
    assert result.returncode == 2 and "no rotation 'no-such-id'" in result.stderr
    result = _cli(project, "rotate", "run", "--env", "staging")
    assert result.returncode == 2 and "KEY or --due" in result.stderr
    result = _cli(project, "rotate", "runbook", "--class", "db-credentials", "--env", "prod")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith("# Rotation runbooks") and "## db-credentials in prod" in text
    assert "every 30d" in text and "alternating-users" in text
    assert f"vaultline rotate run {KEY} --env prod --emergency" in text
    assert "--approved-by SECOND_PERSON" in text  # prod is protected
    assert "## db-credentials in staging" not in text
