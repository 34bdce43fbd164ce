"""``vaultline run`` and ``vaultline redact``: secrets into a process, and out of its output."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

if TYPE_CHECKING:
    from vaultline.bundle import Bundle

from vaultline.cli._context import env_option, load_project, project_dir_option, resolve_bundle


@click.command(context_settings={"ignore_unknown_options": True,
                                 "allow_interspersed_args": False})
@env_option()
@click.option("--prefix", default="", help="Prefix for the variable names, e.g. APP_.")
@click.option("--mask/--no-mask", default=True, show_default=True,
              help="Replace secret values in the child's output with ********.")
@click.option("--files", "files_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Write each secret to a 0600 file here and set NAME_FILE.")
@click.option("--pass-env", "pass_env", multiple=True, metavar="NAME",
              help="Hand this credential variable (e.g. VAULT_TOKEN) on to COMMAND, masked; "
                   "vaultline's credentials are removed otherwise. Repeatable.")
@project_dir_option
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def run(env: str, prefix: str, mask: bool, files_dir: Path | None, pass_env: tuple[str, ...],
        project_dir: Path | None, command: tuple[str, ...]) -> None:
    """Run COMMAND with the resolved environment; secrets in its output are masked.

    The exit status, SIGINT and SIGTERM pass through; stdin is yours. COMMAND never gets
    VAULTLINE_MASTER_KEY, nor provider credentials (VAULT_TOKEN, AWS_*, AZURE_CLIENT_SECRET)
    unless named with --pass-env or the environment's pass_env in vaultline.yaml.

    \b
    Examples:
      vaultline run --env dev -- python manage.py migrate
      vaultline run --env prod --files /dev/shm/app -- ./server   # JWT__SIGNINGKEY_FILE=...
      vaultline run --env prod --pass-env VAULT_TOKEN -- ./deploy.sh
    """
    import os

    from vaultline import keypath, runner
    from vaultline.childenv import child_environment, credential_names

    project = load_project(project_dir)
    wanted = (*project.environment(env).pass_env, *pass_env)
    inherit = child_environment(os.environ, credential_names(project), wanted)
    bundle = resolve_bundle(project_dir, env, project=project)
    if mask:
        _warn_short_secrets(bundle)
    variables = bundle.environment(prefix)
    secrets = {keypath.env_name(r.key, prefix): variables[keypath.env_name(r.key, prefix)]
               for r in bundle.resolved_values() if r.secret}
    code = runner.run(list(command), env=variables, secrets=secrets, mask=mask,
                      files_dir=files_dir, inherit=inherit, masked=bundle.secret_values())
    sys.exit(code)


@click.command()
@env_option()
@project_dir_option
def redact(env: str, project_dir: Path | None) -> None:
    """Copy stdin to stdout with every secret value of the environment masked.

    \b
    Example:
      kubectl logs deploy/nexus-engine | vaultline redact --env prod
    """
    from vaultline.redact import Masker

    bundle = resolve_bundle(project_dir, env)
    _warn_short_secrets(bundle)
    stream = Masker.from_bundle(bundle).stream()
    source, sink = cast(io.BufferedReader, sys.stdin.buffer), sys.stdout.buffer
    # read1 returns what is available now, so a log pipeline is not held back.
    while chunk := source.read1(65536):
        sink.write(stream.feed(chunk))
        sink.flush()
    sink.write(stream.flush())
    sink.flush()


def _warn_short_secrets(bundle: Bundle) -> None:
    from vaultline.redact.masker import short_secret_warnings

    for message in short_secret_warnings(bundle):
        click.echo(f"vaultline: warning: {message}", err=True)
