"""Tables show text committed to the project on one line of printable characters: on a pipe,
as a CI runner reads it for workflow commands, and on a terminal, through rich."""

from __future__ import annotations

import os
import pty
import re
import subprocess
from pathlib import Path

from tests.cli.test_core_cli import VAULTLINE
from tests.factory import write

# Defaults a pull request could commit: a value whose next line is a workflow command the
# runner obeys (it turns the masking of later ::add-mask:: lines off), one after a lone CR
# (a line end to the runner), terminal escapes (OSC title, colour) and rich markup (a link).
HOSTILE = r"""
    app: demo
    environments: [prod]
    defaults:
      Banner: "hello\n::stop-commands::tok1\nmore"
      Other: "a\r::add-mask::x\u2028y"
      Title: "\e]0;pwned\a\e[31mred"
      Link: "[link=file:///etc/passwd]click[/link]"
    """


def _runner_lines(text: str) -> list[str]:
    # The runner reads a step's output with .NET's ReadLine: CR, LF and CRLF end a line.
    return re.split(r"\r\n|\r|\n", text.rstrip("\n"))


def test_a_piped_table_gives_the_runner_no_workflow_command(tmp_path: Path) -> None:
    write(tmp_path, {"vaultline.yaml": HOSTILE})
    for args in (("resolve", "--env", "prod"), ("env", "explain", "Banner", "--env", "prod")):
        done = subprocess.run([VAULTLINE, *args], cwd=tmp_path, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        lines = _runner_lines(done.stdout)
        assert not [line for line in lines if line.lstrip().startswith("::")]
        assert "hello\\n::stop-commands::tok1\\nmore" in done.stdout
    assert len(lines) == 3  # title, header, the one row


def test_a_table_on_a_terminal_sends_it_no_escape_and_no_link(tmp_path: Path) -> None:
    write(tmp_path, {"vaultline.yaml": HOSTILE})
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    with subprocess.Popen([VAULTLINE, "resolve", "--env", "prod"], cwd=tmp_path,
                          stdout=follower, stderr=subprocess.DEVNULL,
                          env={**env, "COLUMNS": "200", "TERM": "xterm"}) as child:
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
        assert child.wait(timeout=60) == 0
    os.close(leader)
    text = shown.decode()
    assert "\x1b]" not in text  # no OSC sequence: no title, no hyperlink
    assert "\\x1b]0;pwned\\x07\\x1b[31mred" in text
    assert "[link=file:///etc/passwd]click[/link]" in text
    assert "hello\\n::stop-commands::tok1\\nmore" in text
