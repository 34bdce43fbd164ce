"""The root command group, lazy subcommand loading and error-to-exit-code mapping."""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import click

from vaultline.cli._output import for_log, warn
from vaultline.errors import VaultlineError, VaultlineWarning

# The wrapper click puts around stdout when it turns EPIPE into exit 1 (its class is private).
_PACIFIED = "_PacifyFlushWrapper"

# name -> "module:attribute". A subcommand's module is imported only when it runs
# (or when --help lists the commands).
COMMANDS: dict[str, str] = {
    "init": "vaultline.cli.init:init",
    "secret": "vaultline.cli.store:secret",
    "resolve": "vaultline.cli.resolve:resolve",
    "override": "vaultline.cli.override:override",
    "run": "vaultline.cli.run:run",
    "redact": "vaultline.cli.run:redact",
    "render": "vaultline.cli.run:render",
    "check": "vaultline.cli.check:check",
    "env": "vaultline.cli.env:env",
    "scan": "vaultline.cli.scan:scan",
    "inventory": "vaultline.cli.inventory:inventory",
    "policy": "vaultline.cli.policy:policy",
    "keys": "vaultline.cli.keys:keys",
    "audit": "vaultline.cli.audit:audit",
    "drift": "vaultline.cli.drift:drift",
    "shell": "vaultline.cli.shell:shell",
    "rotate": "vaultline.cli.rotate:rotate",
}

# Old top-level name -> where the command lives now. Each still runs, hidden from --help and
# completion, with one warning line on stderr; the names go away in the next release.
MOVED: dict[str, tuple[str, str]] = {
    **{verb: ("secret", verb)
       for verb in ("put", "get", "ls", "versions", "rm", "undelete", "rollback", "refs")},
    **{verb: ("keys", verb) for verb in ("sign", "verify", "encrypt", "decrypt", "rewrap")},
    "runbook": ("rotate", "runbook"),
    "completion": ("shell", "completion"),
    "direnv": ("shell", "direnv"),
    "diff": ("env", "diff"),
    "explain": ("env", "explain"),
    "env-example": ("env", "example"),
}


class LazyGroup(click.Group):
    """A group whose subcommands in ``lazy`` ("name": "module:attribute") are imported only
    when they run or --help lists them; commands added to it directly work as usual."""

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = self.lazy.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module_name, _, attr = target.partition(":")
        command: click.Command = getattr(importlib.import_module(module_name), attr)
        return command


class RootGroup(LazyGroup):
    """``vaultline`` itself: the commands, and the old names of those that moved under a noun."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in MOVED:
            return super().get_command(ctx, cmd_name)
        noun, verb = MOVED[cmd_name]
        group = super().get_command(ctx, noun)
        assert isinstance(group, click.Group), noun
        # The very command the new path runs: its options, checks and output cannot differ
        # (the noun groups take no options and do no work of their own that this would skip).
        return group.get_command(ctx, verb)

    def resolve_command(self, ctx: click.Context,
                        args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if name in MOVED:
            if not ctx.resilient_parsing:  # not while completing a word
                warn(f"'vaultline {name}' is now 'vaultline {' '.join(MOVED[name])}'; "
                     "the old name goes away in the next release")
            # The command's usage lines and errors then name the path that stays.
            name = " ".join(MOVED[name])
        return name, command, rest


@click.group(
    cls=RootGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="vaultline")
def cli() -> None:
    """Layered configuration and secrets for every environment.

    \b
    Example:
      vaultline init --app nexus-engine --envs dev,prod
      printf 'postgres://app:s3cret@db/app' | vaultline secret put ConnectionStrings:Primary --env prod
      vaultline resolve --env prod
    """


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: object = None, line: str | None = None) -> None:
    """vaultline's own warnings (a damaged audit log...) as one ``vaultline: warning:`` line,
    once per command even when several parts of it find the same damage."""
    if issubclass(category, VaultlineWarning):
        if str(message) not in _shown:
            _shown.add(str(message))
            warn(str(message))
    else:
        _default_show_warning(message, category, filename, lineno, file, line)  # type: ignore[arg-type]


_default_show_warning = warnings.showwarning
_shown: set[str] = set()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI: the one error boundary. Nothing escapes as a traceback.

    Every vaultline error becomes one line on stderr and its class's exit code; anything else
    is a bug, reported in one line without its message (which could quote a value).
    """
    warnings.showwarning = _show_warning
    try:
        # Without standalone mode click returns what a command's ctx.exit(code) asked for.
        code = cli.main(args=argv, prog_name="vaultline", standalone_mode=False)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
    except VaultlineError as exc:
        return _fail(str(exc), exc.exit_code)
    except click.exceptions.Abort:
        return _fail("aborted", 130, prefix="vaultline: ")
    except click.exceptions.NoArgsIsHelpError as exc:
        # `vaultline secret` alone: the group's help as click prints it (stderr), exit 2.
        with contextlib.suppress(BrokenPipeError):
            exc.show()
        return exc.exit_code
    except click.UsageError as exc:
        # One line like every other error, with where to look instead of the usage block.
        command = exc.ctx.command_path if exc.ctx is not None else "vaultline"
        return _fail(f"{exc.format_message()} (see '{command} --help')", exc.exit_code)
    except click.ClickException as exc:
        return _fail(exc.format_message(), exc.exit_code)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return _closed_pipe()
    except SystemExit:
        # click turns EPIPE into exit 1 after wrapping the streams; a closed pipe is not a
        # failure. Commands' own sys.exit() calls pass through unchanged.
        if type(sys.stdout).__name__ == _PACIFIED:
            return _closed_pipe()
        raise
    except MemoryError:
        return _fail("out of memory; the input is too large for this machine", 1)
    except RecursionError:
        return _fail("the input is nested too deeply to process", 2)
    except OSError as exc:
        # A file the command had to write or read, not caught nearer: name it and the reason.
        target = f"{exc.filename}: " if exc.filename else ""
        return _fail(f"{target}{exc.strerror or type(exc).__name__}", 1)
    except Exception as exc:  # the last line of defence against a traceback
        import sqlite3
        import traceback

        if os.environ.get("VAULTLINE_DEBUG"):
            raise
        if isinstance(exc, sqlite3.DatabaseError):
            # Found mid-operation (a truncated page); opening only checks the header rows.
            from vaultline.store.embedded import damaged

            return _fail(damaged(str(exc)), 1)
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return _fail(f"internal error ({type(exc).__name__} at {Path(where.filename).name}:"
                     f"{where.lineno}); please report it — VAULTLINE_DEBUG=1 shows the traceback",
                     1)
    return code if isinstance(code, int) else 0


def _fail(message: str, code: int, *, prefix: str = "vaultline: error: ") -> int:
    with contextlib.suppress(BrokenPipeError):  # stderr gone too: the exit code still says it
        click.echo(for_log(f"{prefix}{message}"), err=True)
    return code


def _closed_pipe() -> int:
    """`vaultline audit show | head -1`: the reader went away; that is not an error.

    stdout is pointed at /dev/null so the interpreter's final flush cannot fail again.
    """
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return 0
