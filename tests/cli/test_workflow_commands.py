"""What a pull request commits reaches a CI log through vaultline's output: file names, keys,
paths in errors. No line of it may be one the GitHub Actions runner obeys: a
``::stop-commands::`` or ``##[stop-commands]`` in the `check` step of action.yml would leave
the next step's ``::add-mask::`` lines unprocessed, and every secret printed in the clear."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.scan.conftest import GIT_ENV, Repo, secret
from vaultline.cli._output import for_log

ROOT = Path(__file__).resolve().parents[2]


def _vaultline(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """This tree's CLI (not the installed console script)."""
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}
    env.pop("VAULTLINE_MASTER_KEY", None)
    return subprocess.run(
        [sys.executable, "-c", "import sys; from vaultline.cli import main; sys.exit(main())",
         *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)


def _commands(text: str) -> list[str]:
    """The lines the runner would run as workflow commands (its ActionCommand.TryParseV2 and
    TryParse): CR, LF and CRLF end a line."""
    return [line for line in re.split(r"\r\n|\r|\n", text)
            if line.lstrip().startswith("::") or "##[" in line]


def test_check_names_a_tracked_env_file_without_making_it_a_command(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    assert _vaultline("init", "--app", "demo", "--envs", "ci", cwd=repo.root).returncode == 0
    (repo.root / ".env##[stop-commands]tok").write_text("A=1\n")
    (repo.root / "::stop-commands::tok2.env").write_text("A=1\n")
    repo.git("add", "-f", ".env##[stop-commands]tok")
    for fmt in ("table", "json"):
        done = _vaultline("check", "--env", "ci", "--format", fmt, cwd=repo.root)
        assert done.returncode == 1, done.stderr
        assert "stop-commands]tok" in done.stdout
        assert _commands(done.stdout + done.stderr) == []
    report = json.loads(_vaultline("check", "--env", "ci", "--format", "json",
                                   cwd=repo.root).stdout)
    assert ".env##[stop-commands]tok" in {f["key"] for f in report["findings"]}


def test_scan_reports_and_errors_quote_paths_without_making_them_commands(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    token = secret("github-pat")
    for name in ("::stop-commands::tok", "a##[add-mask]b", " ::add-mask::c"):
        (tree / name).write_text(f'TOKEN = "{token}"\n')
    for fmt in ("text", "json", "sarif"):
        done = _vaultline("scan", ".", "--no-hygiene", "--format", fmt, cwd=tree)
        assert done.returncode == 1, done.stderr
        assert _commands(done.stdout + done.stderr) == []
    document = json.loads(_vaultline("scan", ".", "--no-hygiene", "--format", "json",
                                     cwd=tree).stdout)
    assert {f["path"] for f in document["findings"]} == {
        "::stop-commands::tok", "a##[add-mask]b", " ::add-mask::c"}

    hostile = tree / "d\n::stop-commands::tok\r::add-mask::x"
    hostile.mkdir()
    os.mkfifo(hostile / ".gitignore")
    done = _vaultline("scan", ".", cwd=tree)
    assert done.returncode == 2
    assert "not a regular file (a FIFO)" in done.stderr
    assert _commands(done.stderr) == []


def test_a_message_of_several_lines_keeps_its_lines() -> None:
    message = "vaultline: error: two problems:\n  first\n  second"
    assert for_log(message) == message
    assert for_log("a\n  ::add-mask::x\nb##[c]") == "a\n  \\x3a:add-mask::x\nb##\\x5bc]"
    assert for_log("a\rb") == "a\\rb"
