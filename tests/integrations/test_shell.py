"""``vaultline shell completion`` sourced into a real bash, and ``vaultline shell direnv``'s .envrc lines
run by bash as direnv runs them (``watch_file`` recorded, the values exported exactly)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_core_cli import Cli, put_all
from tests.cli.test_core_cli import cli as cli
from tests.cli.test_runtime_cli import CANARY


def _bash(cli: Cli, script: str) -> subprocess.CompletedProcess[str]:
    # The scripts call `vaultline` by name, as a user's shell does: this venv's comes first.
    path = f"{Path(sys.executable).parent}{os.pathsep}{cli.env.get('PATH', '')}"
    return subprocess.run(["bash", "--noprofile", "--norc", "-c", script], text=True,
                          capture_output=True, cwd=cli.root, env={**cli.env, "PATH": path},
                          timeout=60)


def test_bash_completion_completes_commands_and_choices(cli: Cli) -> None:
    script = """
        source <(vaultline shell completion bash)
        COMP_WORDS=(vaultline res); COMP_CWORD=1; COMPREPLY=()
        _vaultline_completion vaultline; echo "${COMPREPLY[*]}"
        COMP_WORDS=(vaultline resolve --format sh); COMP_CWORD=3; COMPREPLY=()
        _vaultline_completion vaultline; echo "${COMPREPLY[*]}"
        COMP_WORDS=(vaultline shell completion ""); COMP_CWORD=3; COMPREPLY=()
        _vaultline_completion vaultline; echo "${COMPREPLY[*]}"
    """
    result = _bash(cli, script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["resolve", "shell", "bash zsh fish"]


def test_bash_completion_completes_the_verbs_of_a_noun(cli: Cli) -> None:
    script = """
        source <(vaultline shell completion bash)
        COMP_WORDS=(vaultline secret ""); COMP_CWORD=2; COMPREPLY=()
        _vaultline_completion vaultline; echo "${COMPREPLY[*]}"
        COMP_WORDS=(vaultline keys si); COMP_CWORD=2; COMPREPLY=()
        _vaultline_completion vaultline; echo "${COMPREPLY[*]}"
        COMP_WORDS=(vaultline pu); COMP_CWORD=1; COMPREPLY=()
        _vaultline_completion vaultline; echo "${COMPREPLY[*]}"
    """
    result = _bash(cli, script)
    assert result.returncode == 0, result.stderr
    # `put` moved under `secret`: its old name is not offered.
    assert result.stdout.splitlines() == ["get ls put refs rm rollback undelete versions",
                                          "sign", ""]


@pytest.mark.parametrize(("shell", "marker"), [
    ("zsh", "#compdef vaultline"), ("fish", "complete --no-files --command vaultline")])
def test_zsh_and_fish_scripts_call_back_into_vaultline(cli: Cli, shell: str, marker: str) -> None:
    # zsh and fish are not installed here: the scripts are checked for their hooks only.
    result = cli("shell", "completion", shell)
    assert result.returncode == 0 and marker in result.stdout
    assert f"_VAULTLINE_COMPLETE={shell}_" in result.stdout.replace('"', "")


def test_envrc_lines_watch_the_project_and_export_exact_values(cli: Cli) -> None:
    put_all(cli)
    envrc = cli("shell", "direnv", "--env", "prod")
    assert envrc.returncode == 0, envrc.stderr
    assert envrc.stdout.splitlines()[0] == ("watch_file vaultline.yaml env/prod/values.yaml "
                                            "env/prod/secrets.yaml")
    # direnv's stdlib defines watch_file; here it records what it is asked to watch.
    script = ('watch_file() { printf "%s\\n" "$@" > watched; }\n' + envrc.stdout
              + 'printf "%s" "$CONNECTIONSTRINGS__PRIMARY" > primary\n'
              + 'printf "%s" "$JWT__SIGNINGKEY" > pem\n')
    result = _bash(cli, script)
    assert result.returncode == 0, result.stderr
    assert (cli.root / "primary").read_text() == CANARY
    assert (cli.root / "pem").read_text().startswith("-----BEGIN PRIVATE KEY-----\n")
    assert (cli.root / "watched").read_text().split() == [
        "vaultline.yaml", "env/prod/values.yaml", "env/prod/secrets.yaml"]
