"""What every project command shares: finding the project, reading values, resolving."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from vaultline._limits import read_bounded, read_stream_bounded
from vaultline.duration import parse_duration
from vaultline.errors import ConfigError
from vaultline.project import keypath

if TYPE_CHECKING:  # imported when a command runs: `--help` lists every command without YAML
    from vaultline.project.model import Project
    from vaultline.resolve.bundle import Bundle
    from vaultline.resolve.leases import LeaseBook

FC = TypeVar("FC", bound=Callable[..., Any])


def project_dir_option(f: FC) -> FC:
    return click.option(
        "-C", "--project-dir", type=click.Path(file_okay=False, path_type=Path),
        envvar="VAULTLINE_PROJECT_DIR", default=None,
        help="Project directory (default: the nearest one holding vaultline.yaml).",
    )(f)


def env_option(required: bool = True) -> Callable[[FC], FC]:
    return click.option("-e", "--env", "env", required=required, envvar="VAULTLINE_ENV",
                        help="Environment to work on (or VAULTLINE_ENV).")


def prefix_callback(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """``--prefix``: checked before anything is resolved, so a bad one costs nothing."""
    try:
        return keypath.check_prefix(value)
    except ConfigError as exc:
        raise click.BadParameter(str(exc)) from None


def load_project(project_dir: Path | None) -> Project:
    from vaultline.project.model import Project

    return Project.load(project_dir)


def read_secret_input(from_file: Path | None, *, what: str = "value") -> str:
    """A secret value from a file or stdin — never from argv, where shells record it.

    One trailing newline is dropped, so ``echo value | vaultline secret put ...`` stores ``value``.
    """
    if from_file is not None:
        try:
            data = read_bounded(from_file, name="secret", what=f"the {what} file")
        except OSError as exc:
            raise ConfigError(f"cannot read {what} file: {exc.strerror}", file=str(from_file)) \
                from None
        text = _utf8(data, what, str(from_file))
    elif sys.stdin is None or sys.stdin.isatty():
        text = click.prompt(f"{what} (input hidden)", hide_input=True, err=True)
    else:
        text = _utf8(read_stream_bounded(sys.stdin.buffer.read, what=f"the {what} on stdin"),
                     what, None)
    if text.endswith("\n"):
        text = text[:-1]
        if text.endswith("\r"):
            text = text[:-1]
    if not text:
        raise ConfigError(f"no {what} given: pipe it on stdin or use --from-file")
    return text


def _utf8(data: bytes, what: str, file: str | None) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"the {what} is not UTF-8 text", file=file) from None


def resolve_bundle(project_dir: Path | None, env: str, *, reveal: bool = False,
                   project: Project | None = None) -> Bundle:
    """Resolve through a :class:`Session` (overrides applied, reads audited); warn on stderr."""
    from vaultline.resolve.session import Session

    project = project or load_project(project_dir)
    with Session(project, env) as session:
        bundle = session.resolve(reveal=reveal)
    for message in bundle.warnings:
        click.echo(f"vaultline: warning: {message}", err=True)
    # Dynamic credentials: their revocation at exit is audited, a failure shown.
    leases = issued_leases()
    if leases is not None:
        from vaultline.cli._output import warn
        from vaultline.resolve.leases import session_auditor

        leases.warn, leases.auditor = warn, session_auditor(project_dir, env, project.environ)
    return bundle


def issued_leases() -> LeaseBook | None:
    """The process's lease book if a provider issued a lease, else None. Only such a provider
    imported the book, so commands without dynamic credentials never pay for it."""
    module = sys.modules.get("vaultline.resolve.leases")
    return module.LEASES if module is not None and module.LEASES else None


def freeze_start_up() -> None:
    """For a command that may run for days (``run``'s supervision, ``redact`` on a stream):
    what start-up built (the bundle: a few hundred thousand records) is moved out of the
    collector's sight, so its collections walk only what the long run allocates."""
    import gc

    gc.freeze()


def grace_period(text: str | None) -> timedelta | None:
    """``--grace``: how long the previous key or credential stays valid; None if not given."""
    if text is None:
        return None
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise ConfigError(f"--grace: {exc}") from None
