"""Every ``vaultline`` command the docs show is one the CLI accepts.

Each ``vaultline …`` command of the shell blocks in README.md and every page under docs/ is parsed by the real click
commands with their callbacks replaced by no-ops: a renamed command, a dropped option or a
wrong choice in the guide fails here. What the commands do is tested elsewhere.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from vaultline.cli._app import COMMANDS, MOVED, cli
from vaultline.errors import VaultlineError

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
OPERATORS = {"|", "||", "&&", ";"}
REDIRECTS = {">", ">>", "<", "<<<", "2>"}


def _blocks() -> Iterator[tuple[str, str]]:
    for page in PAGES:
        yield from re.findall(r"```(console|bash)\n(.*?)```", page.read_text(), re.S)


def _shell_lines() -> Iterator[str]:
    """Commands of ``console`` blocks (after ``$ ``) and of ``bash`` blocks, heredocs skipped."""
    for kind, block in _blocks():
        heredoc_end = None
        for line in re.sub(r"\\\n\s*", " ", block).splitlines():
            if heredoc_end is not None:
                heredoc_end = None if line.strip() == heredoc_end else heredoc_end
                continue
            if kind == "console":
                if not line.startswith("$ "):
                    continue
                line = line[2:]
            if match := re.search(r"<<-?'?(\w+)'?", line):
                heredoc_end = match.group(1)
            yield line


def _words(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars="|&;<>")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return list(lexer)


def _invocations() -> Iterator[tuple[str, list[str]]]:
    for line in _shell_lines():
        commands: list[list[str]] = [[]]
        for word in _words(line):
            if word in OPERATORS:
                commands.append([])
            else:
                commands[-1].append(word)
        for command in commands:
            if command[:1] != ["vaultline"]:
                continue
            args = command[1:]
            # Drop shell redirections and their targets.
            yield line, [a for i, a in enumerate(args)
                         if a not in REDIRECTS and (i == 0 or args[i - 1] not in REDIRECTS)]


INVOCATIONS = list(_invocations())


def _all_commands(command: click.Command) -> Iterator[click.Command]:
    yield command
    if isinstance(command, click.Group):
        for name in command.list_commands(click.Context(command)):
            sub = command.get_command(click.Context(command), name)
            assert sub is not None
            yield from _all_commands(sub)


@pytest.fixture
def parse_only(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in COMMANDS:
        top = cli.get_command(click.Context(cli), name)
        assert top is not None
        for command in _all_commands(top):
            monkeypatch.setattr(command, "callback", lambda *args, **kwargs: None)


def test_the_readme_shows_many_commands() -> None:
    assert len(INVOCATIONS) > 60
    assert {args[0] for _, args in INVOCATIONS} >= {"init", "secret", "resolve", "run", "audit",
                                                    "keys", "scan", "inventory", "policy"}


def test_the_docs_show_no_old_command_name() -> None:
    """The names that moved under a noun still run, with a warning: the docs show the new ones."""
    old = [line for line, args in INVOCATIONS if args[:1] and args[0] in MOVED]
    assert old == []


@pytest.mark.parametrize(("line", "args"), INVOCATIONS, ids=[line for line, _ in INVOCATIONS])
@pytest.mark.usefixtures("parse_only")
def test_readme_command_parses(line: str, args: list[str]) -> None:
    try:
        cli.main(args=args, prog_name="vaultline", standalone_mode=False)
    except VaultlineError:
        pass  # an option callback that reads the project: parsing got that far
    except click.BadParameter as exc:
        # The guide's own files (report.txt, src/) are the reader's, not the test's.
        assert "does not exist" in exc.format_message(), exc.format_message()
    except click.ClickException as exc:
        pytest.fail(f"{line}: {exc.format_message()}")
