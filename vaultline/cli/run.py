"""``vaultline run`` and ``vaultline redact``: secrets into a process, and out of its output."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import cast

import click

from vaultline.cli._context import (
    env_option,
    prefix_callback,
    project_dir_option,
    resolve_bundle,
)


@click.command(context_settings={"ignore_unknown_options": True,
                                 "allow_interspersed_args": False})
@env_option()
@click.option("--prefix", default="", callback=prefix_callback,
              help="Prefix for the variable names, e.g. APP_.")
@click.option("--mask/--no-mask", default=True, show_default=True,
              help="Replace secret values in the child's output with ********.")
@click.option("--files", "files_dir", type=click.Path(exists=True, file_okay=False,
                                                     path_type=Path),
              default=None, help="Write each secret to a 0600 file here and set NAME_FILE.")
@project_dir_option
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def run(env: str, prefix: str, mask: bool, files_dir: Path | None, project_dir: Path | None,
        command: tuple[str, ...]) -> None:
    """Run COMMAND with the resolved environment; secrets in its output are masked.

    The exit status, SIGINT and SIGTERM pass through; stdin is yours.

    \b
    Examples:
      vaultline run --env dev -- python manage.py migrate
      vaultline run --env prod --files /dev/shm/app -- ./server   # JWT__SIGNINGKEY_FILE=...
    """
    from vaultline import keypath, runner

    bundle = resolve_bundle(project_dir, env)
    variables = bundle.environment(prefix)
    secrets = {keypath.env_name(r.key, prefix): variables[keypath.env_name(r.key, prefix)]
               for r in bundle.resolved_values() if r.secret}
    code = runner.run(list(command), env=variables, secrets=secrets, mask=mask,
                      files_dir=files_dir)
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
    stream = Masker.from_bundle(bundle).stream()
    source, sink = cast(io.BufferedReader, sys.stdin.buffer), sys.stdout.buffer
    # read1 returns what is available now, so a log pipeline is not held back.
    while chunk := source.read1(65536):
        sink.write(stream.feed(chunk))
        sink.flush()
    sink.write(stream.flush())
    sink.flush()
