"""What every project command shares: finding the project, opening providers, reading values."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import click

from vaultline.bundle import Bundle
from vaultline.duration import parse_duration
from vaultline.errors import ConfigError
from vaultline.project import BUILTIN_PROVIDERS, Project
from vaultline.providers import registry
from vaultline.providers.base import Provider
from vaultline.reference import Reference

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


def load_project(project_dir: Path | None) -> Project:
    return Project.load(project_dir)


def read_secret_input(from_file: Path | None, *, what: str = "value") -> str:
    """A secret value from a file or stdin — never from argv, where shells record it.

    One trailing newline is dropped, so ``echo value | vaultline put ...`` stores ``value``.
    """
    if from_file is not None:
        try:
            text = from_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read {what} file: {exc.strerror}", file=str(from_file)) \
                from None
    elif sys.stdin is None or sys.stdin.isatty():
        text = click.prompt(f"{what} (input hidden)", hide_input=True, err=True)
    else:
        text = sys.stdin.read()
    if text.endswith("\n"):
        text = text[:-1]
        if text.endswith("\r"):
            text = text[:-1]
    if not text:
        raise ConfigError(f"no {what} given: pipe it on stdin or use --from-file")
    return text


class Target(NamedTuple):
    """Where a store command acts: a provider and a concrete path in it."""

    provider: Provider
    path: str
    reference: Reference
    key: str | None = None

    def __str__(self) -> str:
        return f"{self.provider.name}:{self.path}"


def resolve_target(project: Project, target: str, env: str | None) -> Target:
    """A full reference (``local:app/prod/Key``), or ``KEY --env E`` via the pack's reference.

    ``--env`` also sets the environment a full reference's provider works in (its prefix).
    """
    full = _full_reference(project, target)
    if full is None and env is not None:
        pack = project.pack(env)
        entry = pack.secrets.get(target)
        if entry is None:
            if target in project.schema and project.schema[target].secret:
                ref = Reference("local")
            else:
                raise ConfigError(
                    f"{target!r} has no reference in env/{env}/secrets.yaml; add one (e.g. "
                    f"{target}: local) or pass a full reference like local:app/{env}/Key"
                )
        else:
            ref = entry.value
        context = registry.context_for(project, env)
        provider = registry.create(project.provider_config(ref.provider), context)
        return Target(provider, provider.locate(ref, target), ref, target)
    ref = full or Reference.parse(target)
    if ref.path is None:
        raise ConfigError(
            f"{target!r} has no path: pass KEY --env ENV, or a full reference like "
            "local:nexus-engine/prod/ConnectionStrings/Primary"
        )
    context = registry.context_for(project, env or "-")
    provider = registry.create(project.provider_config(ref.provider), context)
    return Target(provider, ref.path, ref)


def _full_reference(project: Project, target: str) -> Reference | None:
    """``target`` as a reference with a path to a known provider, or None (then it is a key)."""
    try:
        ref = Reference.parse(target)
    except ConfigError:
        return None
    known = ref.provider in project.providers or ref.provider in BUILTIN_PROVIDERS
    return ref if known and ref.path is not None else None


def resolve_bundle(project_dir: Path | None, env: str, *, reveal: bool = False,
                   project: Project | None = None) -> Bundle:
    """Resolve through a :class:`Session` (overrides applied, reads audited); warn on stderr."""
    from vaultline.session import Session

    with Session(project or load_project(project_dir), env) as session:
        bundle = session.resolve(reveal=reveal)
    for message in bundle.warnings:
        click.echo(f"vaultline: warning: {message}", err=True)
    return bundle


@contextlib.contextmanager
def audited(project: Project, action: str, where: Target, env: str | None,
            value: str | None = None) -> Iterator[dict[str, Any]]:
    """Record ``action`` on ``where`` whatever happens: ok, denied or failed (never the value).

    A change (anything but a reveal) is recorded as an intent before it and its outcome
    after, so a process killed in between still leaves its write audited.
    """
    from vaultline.errors import PermissionDeniedError, VaultlineError
    from vaultline.session import Session

    with Session(project) as session:
        log = session.audit
        if action != "reveal":
            with log.recording(action, env=env, key=where.key, reference=str(where),
                               value=value, actor=where.provider.identity) as detail:
                yield detail
            return
        detail = {}
        try:
            yield detail
        except PermissionDeniedError:
            log.record(action, reference=str(where), key=where.key, env=env, outcome="denied",
                       actor=where.provider.identity)
            raise
        except VaultlineError as exc:
            log.record(action, reference=str(where), key=where.key, env=env, outcome="failed",
                       actor=where.provider.identity, detail={"reason": type(exc).__name__})
            raise
        log.record(action, reference=str(where), key=where.key, env=env, value=value,
                   actor=where.provider.identity, detail=detail or None)


def grace_period(text: str | None) -> timedelta | None:
    """``--grace``: how long the previous key or credential stays valid; None if not given."""
    if text is None:
        return None
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise ConfigError(f"--grace: {exc}") from None
