"""How commands print: JSON for machines, tables for people.

Rich is used only when stdout is a terminal (and honours ``NO_COLOR``); otherwise tables are
plain, tab-free, column-aligned text that greps and diffs well.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def is_terminal(stream: IO[str] | None = None) -> bool:
    stream = stream or sys.stdout
    return hasattr(stream, "isatty") and stream.isatty()


class OutputFile(click.Path):
    """A file a command will write: its directory must exist, checked before any work."""

    def __init__(self) -> None:
        super().__init__(dir_okay=False, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        path = super().convert(value, param, ctx)
        parent = Path(os.fsdecode(path)).parent
        if str(path) != "-" and not parent.is_dir():
            self.fail(f"directory {str(parent)!r} does not exist; create it first", param, ctx)
        return path


def format_option(*choices: str, default: str | None = None) -> Callable[[F], F]:
    """The ``--format`` option shared by every command whose output is data."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default=default or choices[0],
        show_default=True,
        help="Output format.",
    )


def emit_json(data: Any) -> None:
    click.echo(json_for_log(json.dumps(data, indent=2, sort_keys=False, default=str)))


def json_for_log(text: str) -> str:
    """JSON text with no ``##[`` a CI runner reads as a workflow command, for the same value.

    ``json.dumps`` output holds ``#`` only inside strings, where ``\\u005b`` is ``[``; no line
    of indented JSON starts with ``::``.
    """
    return text.replace("##[", "##\\u005b")


def _one_line(text: str) -> str:
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in text)


def for_log(text: str) -> str:
    """``text`` as lines a CI runner shows and does not obey.

    The GitHub Actions runner reads a step's output line by line (CR, LF and CRLF end a line)
    and obeys a line that starts with ``::`` after its leading whitespace
    (``::stop-commands::tok``, ``::add-mask::``) or holds ``##[`` anywhere
    (``##[stop-commands]tok``). Each line of ``text`` keeps its place; within a line, control
    characters (a CR included) and other unprintable ones are shown escaped (``\\r``,
    ``\\x1b``), a leading ``:`` as ``\\x3a`` and the ``[`` of ``##[`` as ``\\x5b``.
    """
    return "\n".join(_line_for_log(line) for line in text.split("\n"))


def _line_for_log(line: str) -> str:
    line = _one_line(line)
    stripped = line.lstrip(" ")
    if stripped.startswith("::"):
        line = line[: len(line) - len(stripped)] + "\\x3a" + stripped[1:]
    return line.replace("##[", "##\\x5b")


def emit_table(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    title: str | None = None,
    stream: IO[str] | None = None,
) -> None:
    """Print rows as a table: rich on a terminal, aligned plain text otherwise.

    Every cell is one line of printable text: a value committed with a newline, CR or escape
    sequence in it is shown escaped (``\\n``, ``\\x1b``), as is a leading ``:`` and the ``[``
    of ``##[`` (:func:`for_log`), so it can neither make a line a CI runner reads as a workflow
    command (``::stop-commands::``, ``##[stop-commands]``) nor drive the terminal, and rich
    reads no markup (``[link=...]``) in it.
    """
    stream = stream or sys.stdout
    cells = [[_line_for_log("" if c is None else str(c)) for c in row] for row in rows]
    title = None if title is None else _line_for_log(title)
    if is_terminal(stream):
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        table = Table(title=Text(title) if title is not None else None, show_lines=False)
        for col in columns:
            table.add_column(col, overflow="fold")
        for row in cells:
            table.add_row(*(Text(c) for c in row))
        Console(file=stream, no_color="NO_COLOR" in os.environ, highlight=False).print(table)
        return
    widths = [len(c) for c in columns]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=False)]
    if title:
        stream.write(title + "\n")
    for row in [list(columns), *cells]:
        stream.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip())
        stream.write("\n")


def warn(message: str) -> None:
    """One line on stderr, for things the user should know but that are not errors.

    A closed stderr loses the line but not the command: its work and exit code stand.
    """
    with contextlib.suppress(BrokenPipeError):
        click.echo(for_log(f"vaultline: warning: {message}"), err=True)
