"""The pre-commit hook, run the way pre-commit runs it: its entry, in a repository.

``pre-commit try-repo`` would build a fresh virtualenv from the network on every run, so
the test reads the hook from ``.pre-commit-hooks.yaml`` and runs the same command line
(its ``entry``, no file names since ``pass_filenames`` is false) from the repository root.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import yaml

from tests.scan.conftest import Repo, secret

Cli = Callable[..., CompletedProcess[str]]
HOOKS = Path(__file__).resolve().parents[2] / ".pre-commit-hooks.yaml"


def _hook() -> dict[str, object]:
    hooks = yaml.safe_load(HOOKS.read_text())
    (hook,) = [h for h in hooks if h["id"] == "vaultline-scan"]
    return dict(hook)


def test_hook_definition() -> None:
    hook = _hook()
    assert hook["entry"] == "vaultline scan --staged"
    assert hook["language"] == "python" and hook["pass_filenames"] is False


def test_hook_blocks_a_staged_secret_and_passes_a_clean_commit(repo: Repo, cli: Cli) -> None:
    program, *args = shlex.split(str(_hook()["entry"]))
    assert program == "vaultline"
    repo.write(".gitignore", ".env*\n")
    repo.write("app.py", "x = 1\n")
    repo.commit("init")

    repo.write("app.py", f'x = 1\nKEY = "{secret("anthropic-api-key")}"\n')
    repo.git("add", "app.py")
    blocked = cli(*args, cwd=repo.root)
    assert blocked.returncode == 1 and "anthropic-api-key" in blocked.stdout

    repo.write("app.py", "x = 2\n")
    repo.git("add", "app.py")
    assert cli(*args, cwd=repo.root).returncode == 0
