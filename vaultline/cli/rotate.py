"""``vaultline rotate`` (plan, run, status, resume, abort, retire, verify, promote,
runbook). Each command calls one :class:`vaultline.rotate.Rotator` method and
prints; policy, the stage machine and the audit are in the library. Values are never printed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from vaultline.cli._context import env_option, grace_period, load_project, project_dir_option
from vaultline.cli._output import emit_json, emit_table, format_option, warn
from vaultline.duration import format_duration
from vaultline.errors import ConfigError

if TYPE_CHECKING:
    from vaultline.rotate import Rotation, Rotator


@contextmanager
def _rotator(project_dir: Path | None, env: str) -> Iterator[Rotator]:
    from vaultline.resolve.session import Session
    from vaultline.rotate import Rotator

    with Session(load_project(project_dir), env) as session, Rotator(session) as rotator:
        yield rotator


def _summary(rotation: Rotation) -> dict[str, Any]:
    return {"id": rotation.id, "key": rotation.key, "env": rotation.env,
            "strategy": rotation.strategy, "state": rotation.state,
            "last_step": rotation.last_step, "new_user": rotation.new_user,
            "old_user": rotation.old_user, "version": rotation.published_version,
            "retire_at": rotation.retire_at, "parity": rotation.parity,
            "emergency": rotation.emergency}


def _print_rotations(rotations: list[Rotation], fmt: str) -> None:
    if fmt == "json":
        emit_json([_summary(r) for r in rotations])
        return
    for r in rotations:
        retire = f", retires {r.retire_at}" if r.state == "grace" else ""
        role = f", role {r.new_user}" if r.new_user else ""
        click.echo(f"{r.key}: rotation {r.id} {r.state} (last step {r.last_step}{role}{retire})")


def _key_or_due(key: str | None, due: bool) -> None:
    if (key is None) == (not due):
        raise ConfigError("give a KEY or --due (every key the rotation policy says is due)")


@click.group()
def rotate() -> None:
    """Rotate stored secrets: passwords, tokens, dual API keys, PostgreSQL roles.

    A rotation runs plan, create, set, test, publish, mirror and, after the grace, retire;
    each step is recorded and audited, so a stopped rotation resumes where it stopped.

    \b
    Example:
      vaultline rotate plan ConnectionStrings:Primary --env prod
      vaultline rotate run ConnectionStrings:Primary --env prod
      vaultline rotate status --env prod
    """


@rotate.command()
@click.argument("key", required=False)
@click.option("--due", is_flag=True, help="Every key whose rotation is due.")
@env_option()
@click.option("--grace", default=None, metavar="DURATION", help="Override the grace (e.g. 2h).")
@format_option("table", "json")
@project_dir_option
def plan(key: str | None, due: bool, env: str, grace: str | None, fmt: str,
         project_dir: Path | None) -> None:
    """Show what a rotation would do, changing nothing.

    \b
    Example:
      vaultline rotate plan ConnectionStrings:Primary --env prod --format json
    """
    _key_or_due(key, due)
    with _rotator(project_dir, env) as rotator:
        keys = [key] if key else [s.key for s in rotator.status() if s.due in ("due", "overdue")
                                  or s.state == "never-rotated"]
        plans = [rotator.plan(k, grace=grace_period(grace)) for k in keys]
    if fmt == "json":
        emit_json([{**asdict(p), "grace": format_duration(p.grace),
                    "retire_at": p.retire_at.isoformat()} for p in plans])
        return
    if not plans:
        click.echo(f"{env}: nothing is due")
    for p in plans:
        click.echo(f"{p.key} ({p.strategy}) in {p.reference}")
        click.echo(f"  steps: {' -> '.join(p.steps)}")
        click.echo(f"  new value: {p.generator}")
        if p.target:
            click.echo(f"  target: {p.target}; re-key {p.new_user}, replacing "
                       f"{p.old_user or 'nothing'}")
        click.echo(f"  mirrors: {', '.join(p.mirrors) or 'none'}")
        click.echo(f"  grace: {format_duration(p.grace)}; retire at {p.retire_at.isoformat()}")
        for message in p.warnings:
            warn(f"{p.key}: {message}")


@rotate.command()
@click.argument("key", required=False)
@click.option("--due", is_flag=True, help="Retire every grace that is over, rotate every key due "
                                          "(for cron).")
@env_option()
@click.option("--grace", default=None, metavar="DURATION", help="Override the grace (e.g. 2h).")
@click.option("--emergency", is_flag=True,
              help="Grace 0: retire the old credential now and end its sessions.")
@click.option("--ticket", default=None, help="The incident an emergency rotation answers.")
@click.option("--approved-by", default=None, help="Who approved an emergency rotation.")
@format_option("table", "json")
@project_dir_option
def run(key: str | None, due: bool, env: str, grace: str | None, emergency: bool,
        ticket: str | None, approved_by: str | None, fmt: str, project_dir: Path | None) -> None:
    """Rotate now: publish the new value and return (the grace runs without waiting).

    \b
    Examples:
      vaultline rotate run Api:WebhookToken --env prod
      vaultline rotate run --due --env prod
      vaultline rotate run ConnectionStrings:Primary --env prod --emergency --ticket INC-1 --approved-by lead
    """
    _key_or_due(key, due)
    if due and (emergency or grace):
        raise ConfigError("--due rotates by policy: --emergency and --grace need a KEY")
    with _rotator(project_dir, env) as rotator:
        if key is not None:
            spec = rotator.config.spec(key)
            if spec.strategy == "single-user":
                warn(f"{key}: single-user re-keys the role in use; clients holding the old "
                     "password fail until they resolve again")
            done = [rotator.run(key, grace=grace_period(grace), emergency=emergency, ticket=ticket,
                                approved_by=approved_by)]
        else:
            done = rotator.run_due()
    _print_rotations(done, fmt)


@rotate.command()
@env_option()
@format_option("table", "json")
@project_dir_option
def status(env: str, fmt: str, project_dir: Path | None) -> None:
    """Each rotated key: last rotated, due, state (running, grace, stuck), parity, and who
    still resolved the previous value since the rotation (from the audit log).

    \b
    Example:
      vaultline rotate status --env prod --format json
    """
    with _rotator(project_dir, env) as rotator:
        rows = rotator.status()
    if fmt == "json":
        emit_json({"env": env, "keys": [asdict(r) for r in rows]})
        return
    emit_table(["KEY", "CLASS", "STRATEGY", "STATE", "DUE", "LAST ROTATED", "RETIRE AT", "PARITY",
                "PREVIOUS READERS"],
               [[r.key, r.key_class, r.strategy, r.state, r.due, r.last_rotated or "never",
                 r.retire_at if r.state == "grace" else "",
                 {None: "", True: "ok", False: "DIFFERS"}[r.parity],
                 ", ".join(r.previous_readers)] for r in rows])


def _find_env(project_dir: Path | None, rotation_id: str, env: str | None) -> str:
    if env is not None:
        return env
    from vaultline.errors import RotationError
    from vaultline.resolve.session import Session
    from vaultline.rotate import Rotator

    project = load_project(project_dir)
    for name in project.environments:
        with Session(project, name) as session, Rotator(session) as rotator:
            try:
                rotator.load(rotation_id)
            except RotationError:
                continue
            return name
    raise ConfigError(f"no rotation {rotation_id!r} in any environment; "
                      "'vaultline rotate status --env ENV' lists them")


@rotate.command()
@click.argument("rotation_id", metavar="ID")
@env_option(required=False)
@format_option("table", "json")
@project_dir_option
def resume(rotation_id: str, env: str | None, fmt: str, project_dir: Path | None) -> None:
    """Carry a stopped rotation on from its last recorded step.

    \b
    Example:
      vaultline rotate resume 6f1c2a9e-0d4b-4e57-9a39-2b0f8f3e8c11
    """
    with _rotator(project_dir, _find_env(project_dir, rotation_id, env)) as rotator:
        _print_rotations([rotator.resume(rotation_id)], fmt)


@rotate.command()
@click.argument("rotation_id", metavar="ID")
@env_option(required=False)
@project_dir_option
def abort(rotation_id: str, env: str | None, project_dir: Path | None) -> None:
    """Drop a rotation that has not published yet (refused once it has: resume instead).

    \b
    Example:
      vaultline rotate abort 6f1c2a9e-0d4b-4e57-9a39-2b0f8f3e8c11
    """
    with _rotator(project_dir, _find_env(project_dir, rotation_id, env)) as rotator:
        rotation = rotator.abort(rotation_id)
    click.echo(f"{rotation.key}: rotation {rotation.id} aborted; nothing was published")


@rotate.command()
@click.argument("key")
@env_option()
@format_option("table", "json")
@project_dir_option
def retire(key: str, env: str, fmt: str, project_dir: Path | None) -> None:
    """End the credential the last rotation replaced, once its grace is over.

    \b
    Example:
      vaultline rotate retire ConnectionStrings:Primary --env prod
    """
    with _rotator(project_dir, env) as rotator:
        _print_rotations([rotator.retire(key)], fmt)


@rotate.command()
@click.argument("key")
@env_option()
@format_option("table", "json")
@project_dir_option
def verify(key: str, env: str, fmt: str, project_dir: Path | None) -> None:
    """Check that every store's current credential works (a database credential logs in;
    other values match the primary by keyed hash). Exit 1 if one does not.

    \b
    Example:
      vaultline rotate verify ConnectionStrings:Primary --env prod
    """
    with _rotator(project_dir, env) as rotator:
        results = rotator.verify(key)
    if fmt == "json":
        emit_json({"key": key, "env": env, "ok": all(r.ok for r in results),
                   "stores": [asdict(r) for r in results]})
    else:
        emit_table(["STORE", "OK", "PROBLEM"],
                   [[r.store, "yes" if r.ok else "NO", r.problem or ""] for r in results])
    click.get_current_context().exit(0 if all(r.ok for r in results) else 1)


@rotate.command()
@click.argument("key")
@click.option("--from", "source", required=True, help="Environment that rotated it first.")
@click.option("--to", "target", required=True, help="Environment to rotate it in now.")
@format_option("table", "json")
@project_dir_option
def promote(key: str, source: str, target: str, fmt: str, project_dir: Path | None) -> None:
    """Rotate KEY in --to after --from rotated it and its copy still verifies.

    \b
    Example:
      vaultline rotate promote ConnectionStrings:Primary --from staging --to prod
    """
    if source == target:
        raise ConfigError("--from and --to must be different environments")
    with _rotator(project_dir, source) as soaked, _rotator(project_dir, target) as rotator:
        _print_rotations([rotator.promote(key, soaked)], fmt)


@rotate.command()
@click.option("--class", "key_class", default=None, help="Only this secret class.")
@env_option(required=False)
@project_dir_option
def runbook(key_class: str | None, env: str | None, project_dir: Path | None) -> None:
    """Print a Markdown runbook per secret class (schedule, steps, emergency), from the config.

    \b
    Example:
      vaultline rotate runbook --class db-credentials --env prod > docs/runbooks/db-credentials.md
    """
    from vaultline.rotate import runbook as render_runbook

    project = load_project(project_dir)
    if env is not None:
        project.environment(env)
    click.echo(render_runbook.render(project, key_class=key_class,
                                     envs=None if env is None else [env]), nl=False)
