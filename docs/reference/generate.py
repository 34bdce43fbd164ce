"""Write docs/reference/cli.md from the click app and errors.md from vaultline.errors.

Generated, so the references cannot drift. Run from the repository root:
``python docs/reference/generate.py``. ``--check`` exits 1 when a committed file differs from
what the code produces (tests/docs/test_cli_reference.py runs it).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import click

from vaultline import errors
from vaultline.cli._app import cli

HERE = Path(__file__).resolve().parent
REGENERATE = "python docs/reference/generate.py"
EXIT_CODES = """\
| exit code | meaning |
|---|---|
| 0 | done; nothing found |
| 1 | findings (`check`, `scan`, `drift`, `policy lint`, `audit verify`, …) or a runtime failure |
| 2 | usage or configuration error: a bad option, vaultline.yaml, a pack, a reference, a master key |
| 126, 127 | `vaultline run`: the command is not executable, or does not exist (as a shell) |
| 128 + N | `vaultline run`: the command was killed by signal N |

Otherwise `vaultline run` exits with its command's status.
"""


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


def render_cli() -> str:
    """One section per command and subcommand, its ``--help`` verbatim."""
    out = ["# CLI reference", "",
           f"Generated from the click app by `{REGENERATE}`; do not edit by hand.", ""]
    for path, ctx in _walk(cli, ["vaultline"], None):
        level = "#" * (1 + max(len(path) - 1, 1))  # commands at ##, subcommands at ###
        out += [f"{level} `{' '.join(path)}`", "", "```text",
                ctx.command.get_help(ctx).rstrip(), "```", ""]
    return "\n".join(out)


def _summaries() -> dict[str, str]:
    """Each class's line in the tree of the errors module's docstring, its exit code dropped."""
    result: dict[str, str] = {}
    name = ""
    for line in (errors.__doc__ or "").splitlines():
        if match := re.match(r"[\s│├└─]*(\w+(?:Error|Warning))(?: {2,}(.*))?$", line):
            name = match[1]
            result[name] = match[2] or ""
        elif name and (rest := line.lstrip(" │")) and line.startswith("    "):
            result[name] += " " + rest  # a summary continued on the next line
        else:
            name = ""
    return {k: re.sub(r"\s*\(\d+\)(?=;|$)", "", v.replace("``", "`")).strip() for k, v in result.items()}


def _tree(base: type[BaseException], depth: int, summaries: dict[str, str]) -> Iterator[str]:
    exit_code = getattr(base, "exit_code", None)
    code = "" if exit_code is None else f" | {exit_code}"
    summary = summaries.get(base.__name__) or (base.__doc__ or "").strip().split("\n")[0]
    yield f"| {'&nbsp;' * 4 * depth}`{base.__name__}`{code} | {summary} |"
    for sub in sorted(base.__subclasses__(), key=lambda c: c.__name__):
        if sub.__module__ == errors.__name__:
            yield from _tree(sub, depth + 1, summaries)


def render_errors() -> str:
    """Exit codes, then every class of vaultline.errors with its exit code and meaning."""
    summaries = _summaries()
    return "\n".join([
        "# Errors and exit codes", "",
        f"Generated from `vaultline/errors.py` by `{REGENERATE}`; do not edit by hand.", "",
        "The CLI prints an error as one line, `vaultline: error: …`, naming the file, line, key,",
        "reference or provider and what to do next, and exits with the class's exit code. A",
        "warning is one line `vaultline: warning: …` on stderr and does not change the exit code.",
        "No message holds a secret value.", "",
        "## Exit codes", "", EXIT_CODES,
        "## Errors", "",
        "Every error is a `vaultline.errors.VaultlineError`: catch that one class in Python.", "",
        "| class | exit code | meaning |", "|---|---|---|",
        *_tree(errors.VaultlineError, 0, summaries), "",
        "## Warnings", "",
        "| class | meaning |", "|---|---|",
        *_tree(errors.VaultlineWarning, 0, summaries), "",
    ])


PAGES: dict[str, Callable[[], str]] = {"cli.md": render_cli, "errors.md": render_errors}


def main(argv: list[str], directory: Path = HERE) -> int:
    stale = []
    for name, render in PAGES.items():
        target, text = directory / name, render()
        if "--check" not in argv:
            target.write_text(text)
        elif not target.exists() or target.read_text() != text:
            stale.append(name)
    if stale:
        print(f"{', '.join(stale)} out of date: run `{REGENERATE}`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
