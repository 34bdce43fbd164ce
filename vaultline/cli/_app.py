"""The root command group, lazy subcommand loading and error-to-exit-code mapping."""

from __future__ import annotations

import importlib
import sys
import warnings

import click

from vaultline.errors import VaultlineError, VaultlineWarning

# name -> "module:attribute". A subcommand's module is imported only when it runs
# (or when --help lists the commands).
COMMANDS: dict[str, str] = {
    "init": "vaultline.cli.init:init",
    "put": "vaultline.cli.store:put",
    "get": "vaultline.cli.store:get",
    "ls": "vaultline.cli.store:ls",
    "versions": "vaultline.cli.store:versions",
    "rm": "vaultline.cli.store:rm",
    "undelete": "vaultline.cli.store:undelete",
    "rollback": "vaultline.cli.store:rollback",
    "refs": "vaultline.cli.resolve:refs",
    "resolve": "vaultline.cli.resolve:resolve",
    "explain": "vaultline.cli.resolve:explain",
    "override": "vaultline.cli.override:override",
    "run": "vaultline.cli.run:run",
    "redact": "vaultline.cli.run:redact",
    "render": "vaultline.cli.run:render",
    "check": "vaultline.cli.check:check",
    "env-example": "vaultline.cli.check:env_example",
    "scan": "vaultline.cli.scan:scan",
    "inventory": "vaultline.cli.inventory:inventory",
    "policy": "vaultline.cli.policy:policy",
    "keys": "vaultline.cli.keys:keys",
    "sign": "vaultline.cli.crypto:sign",
    "verify": "vaultline.cli.crypto:verify",
    "encrypt": "vaultline.cli.crypto:encrypt",
    "decrypt": "vaultline.cli.crypto:decrypt",
    "rewrap": "vaultline.cli.crypto:rewrap",
    "audit": "vaultline.cli.audit:audit",
    "drift": "vaultline.cli.drift:drift",
    "completion": "vaultline.cli.shell:completion",
    "direnv": "vaultline.cli.shell:direnv",
    "diff": "vaultline.cli.diff:diff",
    "rotate": "vaultline.cli.rotate:rotate",
    "runbook": "vaultline.cli.rotate:runbook",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, _, attr = target.partition(":")
        command: click.Command = getattr(importlib.import_module(module_name), attr)
        return command


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="vaultline")
def cli() -> None:
    """Layered configuration and secrets for every environment.

    \b
    Example:
      vaultline init --app nexus-engine --envs dev,prod
      printf 'postgres://app:s3cret@db/app' | vaultline put local:nexus-engine/prod/ConnectionStrings/Primary
      vaultline resolve --env prod
    """


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: object = None, line: str | None = None) -> None:
    """vaultline's own warnings (a damaged audit log...) as one ``vaultline: warning:`` line,
    once per command even when several parts of it find the same damage."""
    if issubclass(category, VaultlineWarning):
        if str(message) not in _shown:
            _shown.add(str(message))
            click.echo(f"vaultline: warning: {message}", err=True)
    else:
        _default_show_warning(message, category, filename, lineno, file, line)  # type: ignore[arg-type]


_default_show_warning = warnings.showwarning
_shown: set[str] = set()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every vaultline error becomes one line on stderr and an exit code."""
    warnings.showwarning = _show_warning
    try:
        # Without standalone mode click returns what a command's ctx.exit(code) asked for.
        code = cli.main(args=argv, prog_name="vaultline", standalone_mode=False)
    except VaultlineError as exc:
        click.echo(f"vaultline: error: {exc}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("vaultline: aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `vaultline resolve | head`: the reader went away; that is not an error.
        sys.stderr.close()
        return 0
    return code if isinstance(code, int) else 0


