"""Write docs/reference/cli.md from the click app, so the CLI reference cannot drift.

Run from the repository root: ``python docs/reference/generate.py``. ``--check`` exits 1 when the
committed file differs from what the app produces (tests/docs/test_cli_reference.py runs it).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import click

from vaultline.cli._app import cli

TARGET = Path(__file__).resolve().with_name("cli.md")
REGENERATE = "python docs/reference/generate.py"


def _walk(command: click.Command, path: list[str],
          parent: click.Context | None) -> Iterator[tuple[list[str], click.Context]]:
    # The command's own settings (``-h``), at a fixed width so the output is the same anywhere.
    settings = {**command.context_settings, "max_content_width": 100, "terminal_width": 100}
    ctx = click.Context(command, info_name=path[-1], parent=parent, **settings)
    yield path, ctx
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None, name
            yield from _walk(sub, [*path, name], ctx)


def render() -> str:
    """The whole reference: one section per command and subcommand, its ``--help`` verbatim."""
    out = ["# CLI reference", "",
           f"Generated from the click app by `{REGENERATE}`; do not edit by hand.", ""]
    for path, ctx in _walk(cli, ["vaultline"], None):
        level = "#" * (1 + max(len(path) - 1, 1))  # commands at ##, subcommands at ###
        out += [f"{level} `{' '.join(path)}`", "", "```text",
                ctx.command.get_help(ctx).rstrip(), "```", ""]
    return "\n".join(out)


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not TARGET.exists() or TARGET.read_text() != text:
            print(f"{TARGET.name} is out of date: run `{REGENERATE}`", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
