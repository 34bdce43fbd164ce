"""The composite action at the repository root: each step's script run by bash with the
environment the runner gives it (inputs substituted into ``env:``, as the runner does)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.cli.test_core_cli import Cli, put_all
from tests.cli.test_core_cli import cli as cli
from tests.cli.test_runtime_cli import CANARY
from tests.integrations.test_github import read_env_file

ACTION = Path(__file__).parents[2] / "action.yml"


def _steps() -> list[dict[str, Any]]:
    doc = yaml.safe_load(ACTION.read_text())
    assert doc["runs"]["using"] == "composite"
    steps: list[dict[str, Any]] = doc["runs"]["steps"]
    return steps


def _expand(text: str, inputs: dict[str, str], action_path: str) -> str:
    def value(match: re.Match[str]) -> str:
        expr = match[1].strip()
        if expr == "github.action_path":
            return action_path
        assert expr.startswith("inputs."), expr
        return inputs[expr.removeprefix("inputs.")]
    return re.sub(r"\$\{\{(.*?)\}\}", value, text)


def _run_step(step: dict[str, Any], inputs: dict[str, str], env: dict[str, str],
              cwd: Path) -> subprocess.CompletedProcess[str]:
    assert step["shell"] == "bash"  # composite run steps must name their shell
    # Inputs reach the scripts through env only, never spliced into the script text.
    assert "${{" not in step["run"]
    step_env = {k: _expand(str(v), inputs, str(ACTION.parent))
                for k, v in step.get("env", {}).items()}
    return subprocess.run(["bash", "-e", "-c", step["run"]], cwd=cwd, text=True,
                          capture_output=True, env={**env, **step_env}, timeout=60)


def test_action_declares_install_check_export_in_order() -> None:
    doc = yaml.safe_load(ACTION.read_text())
    assert doc["inputs"]["env"]["required"] is True
    assert [s["name"] for s in _steps()] == ["Install vaultline", "vaultline check",
                                              "Export the environment"]
    used = {m for s in _steps() for v in s.get("env", {}).values()
            for m in re.findall(r"inputs\.([\w-]+)", str(v))}
    assert used <= set(doc["inputs"]), used - set(doc["inputs"])


def test_install_step_installs_the_action_checkout_with_extras(tmp_path: Path) -> None:
    # python3 is replaced by a recorder whose `-m venv DIR` makes a DIR/bin/pip recorder.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    recorder = bin_dir / "python3"
    recorder.write_text(
        "#!/bin/sh\n"
        'echo "python3 $*" >> "$LOG"\n'
        'if [ "$1 $2" = "-m venv" ]; then mkdir -p "$3/bin"\n'
        '  printf \'#!/bin/sh\\necho "pip $*" >> "$LOG"\\n\' > "$3/bin/pip"; chmod +x "$3/bin/pip"; fi\n')
    recorder.chmod(0o755)
    runner_temp, github_path, log = tmp_path / "temp", tmp_path / "github_path", tmp_path / "log"
    runner_temp.mkdir()
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "RUNNER_TEMP": str(runner_temp),
           "GITHUB_PATH": str(github_path), "LOG": str(log)}
    result = _run_step(_steps()[0], {"extras": "vault,aws"}, env, tmp_path)
    assert result.returncode == 0, result.stderr
    venv = runner_temp / "vaultline-venv"
    assert log.read_text().splitlines() == [
        f"python3 -m venv {venv}",
        f"pip install --quiet --disable-pip-version-check {ACTION.parent}[vault,aws]"]
    assert github_path.read_text() == f"{venv}/bin\n"


def test_check_and_export_steps_against_a_project(cli: Cli, tmp_path: Path) -> None:
    put_all(cli)
    env_file = tmp_path / "github_env"
    inputs = {"env": "prod", "project-dir": str(cli.root), "prefix": "APP_", "outputs": "false",
              "check": "true", "extras": ""}
    env = {**cli.env, "GITHUB_ENV": str(env_file)}
    check, export = _steps()[1:]
    assert check["if"] == "inputs.check == 'true'"
    checked = _run_step(check, inputs, env, tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # dev has no secrets stored: the gate fails the step before anything is exported.
    failed = _run_step(check, {**inputs, "env": "dev"}, env, tmp_path)
    assert failed.returncode == 1 and "ConnectionStrings:Primary" in failed.stdout
    exported = _run_step(export, inputs, env, tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert f"::add-mask::{CANARY}" in exported.stdout.splitlines()
    assert read_env_file(env_file.read_text())["APP_CONNECTIONSTRINGS__PRIMARY"] == CANARY
