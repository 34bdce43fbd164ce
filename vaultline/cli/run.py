"""``vaultline run`` and ``vaultline redact``: secrets into a process, and out of its output."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

if TYPE_CHECKING:
    from vaultline.resolve.bundle import Bundle

from vaultline.cli._context import (
    env_option,
    freeze_start_up,
    issued_leases,
    load_project,
    prefix_callback,
    project_dir_option,
    resolve_bundle,
)
from vaultline.cli._output import OutputFile


@click.command(context_settings={"ignore_unknown_options": True,
                                 "allow_interspersed_args": False})
@env_option()
@click.option("--prefix", default="", callback=prefix_callback,
              help="Prefix for the variable names, e.g. APP_.")
@click.option("--mask/--no-mask", default=True, show_default=True,
              help="Replace secret values in the child's output with ********.")
@click.option("--files", "files_dir", type=click.Path(file_okay=False, path_type=Path),
              callback=lambda ctx, param, value: _files_dir(value), default=None,
              help="Write each secret to a 0600 file here (created 0700 if missing) and set "
                   "NAME_FILE.")
@click.option("--pass-env", "pass_env", multiple=True, metavar="NAME",
              help="Hand this credential variable (e.g. VAULT_TOKEN) on to COMMAND, masked; "
                   "vaultline's credentials are removed otherwise. Repeatable.")
@click.option("--file-var", "file_vars", multiple=True, metavar="KEY=VAR",
              help="With --files: VAR (not KEY's NAME_FILE) holds the path of KEY's file, "
                   "e.g. Kube:Config=KUBECONFIG. Repeatable.")
@click.option("--render", "renders", multiple=True, metavar="TEMPLATE:OUT",
              help="Render TEMPLATE into OUT (0600) before the start and on every reload. "
                   "Repeatable.")
@click.option("--tty/--no-tty", "tty", default=None,
              help="Give COMMAND a pseudo-terminal (default: when stdout is a terminal); its "
                   "output is masked all the same.")
@click.option("--watch", "watch", default=None, metavar="INTERVAL", is_flag=False,
              flag_value="60s", help="Re-resolve every INTERVAL (default 60s) and act when a "
                                     "value changed.")
@click.option("--on-change", "on_change", default="restart", show_default=True,
              metavar="restart|signal:HUP|signal:USR1",
              help="With --watch: restart COMMAND, or rewrite --files/--render and signal it.")
@click.option("--grace", default="10s", show_default=True, metavar="DURATION",
              help="On restart: how long COMMAND has after SIGTERM before SIGKILL.")
@project_dir_option
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def run(env: str, prefix: str, mask: bool, files_dir: Path | None, pass_env: tuple[str, ...],
        file_vars: tuple[str, ...], renders: tuple[str, ...], tty: bool | None,
        watch: str | None, on_change: str, grace: str, project_dir: Path | None,
        command: tuple[str, ...]) -> None:
    """Run COMMAND with the resolved environment; secrets in its output are masked.

    The exit status and signals (SIGINT, SIGTERM, SIGHUP, SIGUSR1 ...) pass through; stdin
    is yours. COMMAND never gets VAULTLINE_MASTER_KEY, nor provider credentials (VAULT_TOKEN,
    AWS_*, AZURE_CLIENT_SECRET) unless named with --pass-env or the environment's pass_env in
    vaultline.yaml.

    \b
    Examples:
      vaultline run --env dev -- python manage.py migrate
      vaultline run --env prod --files /dev/shm/app -- ./server   # JWT__SIGNINGKEY_FILE=...
      vaultline run --env prod --pass-env VAULT_TOKEN -- ./deploy.sh
      vaultline run --env prod --watch 30s --on-change signal:HUP --files /dev/shm/app -- ./server
    """
    import os

    from vaultline.errors import ConfigError
    from vaultline.runtime import runner
    from vaultline.runtime import watch as watching
    from vaultline.runtime.childenv import child_environment, credential_names

    project = load_project(project_dir)
    wanted = (*project.environment(env).pass_env, *pass_env)
    inherit = child_environment(os.environ, credential_names(project), wanted)
    targets = [_render_target(r) for r in renders]
    variables_for = _file_vars(file_vars, prefix, files_dir)
    mode = watching.OnChange.parse(on_change)
    if watch is not None and not mode.restart and files_dir is None and not targets:
        raise ConfigError("--on-change signal:… hands new values over in files: add --files "
                          "DIR or --render TEMPLATE:OUT (or use --on-change restart)")
    from vaultline.redact.cache import MaskerCache
    from vaultline.resolve.session import Session

    with Session(project, env) as session:
        bundle = session.resolve()
        wake_in = watching.next_expiry(session) if watch is not None else None
        cache = None if session.store is None else MaskerCache(
            project.store_dir / "cache", session.store.derive_key("masker-cache"), env)
    for message in bundle.warnings:
        click.echo(f"vaultline: warning: {message}", err=True)
    if mask:
        _warn_short_secrets(bundle)
    current = watching.snapshot(bundle, prefix, wake_in, files=files_dir is not None)
    unknown = sorted(name for name in variables_for if name not in current.secrets)
    if unknown:
        raise ConfigError(f"--file-var {', '.join(unknown)}: not a secret of env {env}; "
                          "name a secret key (vaultline resolve --env ENV lists them)")
    rerender = None
    if targets:
        from vaultline.output.render import render_file

        for template, output in targets:
            render_file(template, output, bundle)

        def rerender(new: watching.Snapshot) -> None:
            assert new.bundle is not None
            for template, output in targets:
                render_file(template, output, new.bundle)

    from vaultline.cli._output import warn

    leases = issued_leases()
    if leases is not None and not mode.restart and files_dir is None and not targets:
        raise ConfigError("--on-change signal:… cannot hand new database credentials to the "
                          "command in its environment: add --files DIR or --render "
                          "TEMPLATE:OUT (or use --on-change restart)")
    if leases is not None:
        from vaultline.resolve.leases import session_auditor

        leases.warn, leases.auditor = warn, session_auditor(project_dir, env, project.environ)
    watcher = None
    if watch is not None or leases is not None:
        # Dynamic credentials without --watch: re-resolved only when a lease nears its end.
        watcher = watching.Watch(
            current, watching.session_resolver(project_dir, env, prefix, project.environ,
                                               files=files_dir is not None),
            interval=watching.LEASE_ONLY_INTERVAL if watch is None else _seconds(watch, "--watch"),
            warn=warn, audit=watching.reload_auditor(project_dir, env, mode, leases, project.environ),
            leases=leases)
    use_tty = sys.stdout.isatty() if tty is None else tty
    freeze_start_up()
    code = runner.run(list(command), env=current.env, secrets=current.secrets, mask=mask,
                      files_dir=files_dir, inherit=inherit, masked=current.masked,
                      file_vars=variables_for, tty=use_tty, watch=watcher, on_change=mode,
                      grace=_seconds(grace, "--grace"), on_reload=rerender, masker_cache=cache,
                      leases=leases)
    sys.exit(code)


def _files_dir(path: Path | None) -> Path | None:
    """``--files``: refused at parse time if it cannot become a directory; the runner makes it
    (0700, with missing parents) only when the child is about to start."""
    if path is None:
        return None
    from vaultline._files import missing_parts

    _, here = missing_parts(path)
    if not here.is_dir():
        raise click.BadParameter(f"cannot create {path}: {here} is not a directory")
    return path


def _seconds(text: str, option: str) -> float:
    from vaultline.duration import parse_duration
    from vaultline.errors import ConfigError

    try:
        return float(text)  # seconds, fractions allowed
    except ValueError:
        pass
    try:
        return parse_duration(text).total_seconds()
    except ValueError as exc:
        raise ConfigError(f"{option}: {exc}") from None


def _render_target(text: str) -> tuple[Path, Path]:
    from vaultline.errors import ConfigError

    template, sep, output = text.rpartition(":")
    if not sep or not template or not output:
        raise ConfigError(f"--render {text!r}: use TEMPLATE:OUT, e.g. app.json.j2:/dev/shm/app.json")
    return Path(template), Path(output)


def _file_vars(pairs: tuple[str, ...], prefix: str, files_dir: Path | None) -> dict[str, str]:
    """``KEY=VAR`` pairs as {secret variable name: variable holding the file's path}."""
    from vaultline.errors import ConfigError
    from vaultline.project import keypath

    if pairs and files_dir is None:
        raise ConfigError("--file-var needs --files DIR (where the files are written)")
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, var = pair.partition("=")
        if not sep or not key or not var.isidentifier():
            raise ConfigError(f"--file-var {pair!r}: use KEY=VAR, e.g. Kube:Config=KUBECONFIG")
        result[keypath.env_name(key, prefix)] = var
    return result


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
    from vaultline.redact.terminal import TerminalMasker

    bundle = resolve_bundle(project_dir, env)
    _warn_short_secrets(bundle)
    stream = TerminalMasker(Masker.from_bundle(bundle))  # logs keep their colours
    source, sink = cast(io.BufferedReader, sys.stdin.buffer), sys.stdout.buffer
    freeze_start_up()
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


@click.command()
@click.argument("template", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", required=True, type=OutputFile(),
              help="File to write (0600, replaced atomically).")
@env_option()
@project_dir_option
def render(template: Path, output: Path, env: str, project_dir: Path | None) -> None:
    """Render TEMPLATE (Jinja2, sandboxed) with the resolved environment into OUTPUT.

    Keys are names: {{ ConnectionStrings.Primary }} or {{ bundle["AI:OpenAI:ApiKey"] }}. A
    name the environment lacks is an error naming the template line; the template cannot
    read files or reach Python internals.

    \b
    Example:
      vaultline render appsettings.json.j2 -o /dev/shm/app/appsettings.json --env prod
    """
    from vaultline.output.render import render_file

    render_file(template, output, resolve_bundle(project_dir, env))
