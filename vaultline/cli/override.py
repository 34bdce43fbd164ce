"""``vaultline override set|ls|revoke``: break-glass runtime overrides."""

from __future__ import annotations

from pathlib import Path

import click

from vaultline.cli._context import env_option, load_project, project_dir_option, read_secret_input
from vaultline.cli._output import emit_json, emit_table, format_option


def _duration(ctx: click.Context, param: click.Parameter, value: str) -> object:
    from vaultline.duration import parse_duration

    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.group()
def override() -> None:
    """Time-bounded, audited runtime overrides (the highest layer).

    \b
    Example:
      printf 'postgres://app:pw@db-replica/app' | vaultline override set ConnectionStrings:Primary \\
          --env prod --ttl 2h --reason "primary failover" --approved-by alice --ticket INC-4211
    """


@override.command(name="set")
@click.argument("key")
@env_option()
@click.option("--ttl", required=True, callback=_duration,
              help="How long it applies, e.g. 30m, 2h (required: every override expires).")
@click.option("--reason", default="", help="Why (required in protected environments).")
@click.option("--approved-by", default="", help="Who approved it (required when protected).")
@click.option("--ticket", default="", help="Incident or change ticket (required when protected).")
@click.option("--from-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Read the value from this file instead of stdin.")
@project_dir_option
def set_override(key: str, env: str, ttl: object, reason: str, approved_by: str, ticket: str,
                 from_file: Path | None, project_dir: Path | None) -> None:
    """Override KEY in an environment until the TTL runs out; the value comes from stdin.

    \b
    Example:
      echo Debug | vaultline override set Logging:LogLevel:Default --env staging --ttl 30m \
          --reason "trace INC-7"
    """
    from datetime import timedelta

    from vaultline import audit
    from vaultline.errors import OverrideError
    from vaultline.session import Session

    assert isinstance(ttl, timedelta)
    with Session(load_project(project_dir), env) as session:
        value = read_secret_input(from_file)
        try:
            made = session.overrides.set(env, key, value, ttl=ttl, actor=session.audit.actor,
                                         reason=reason, approved_by=approved_by, ticket=ticket)
        except OverrideError as exc:
            session.audit.record(audit.OVERRIDE_SET, env=env, key=key, outcome=audit.DENIED,
                                 detail={"reason": str(exc)})
            raise
        session.audit.record(audit.OVERRIDE_SET, env=env, key=key, value=value,
                             detail={"override": made.id, "expires": made.expires,
                                     "reason": reason, "approved_by": approved_by,
                                     "ticket": ticket})
    click.echo(f"override {made.id}: {key} in {env} until {made.expires}")


@override.command(name="ls")
@env_option()
@click.option("--all", "show_all", is_flag=True, help="Include revoked and expired overrides.")
@format_option("table", "json")
@project_dir_option
def list_overrides(env: str, show_all: bool, fmt: str, project_dir: Path | None) -> None:
    """List overrides of an environment (values are never shown).

    \b
    Example:
      vaultline override ls --env prod --all
    """
    from vaultline.session import Session

    with Session(load_project(project_dir), env) as session:
        now = session.clock()
        rows = [o for o in session.overrides.entries(env)
                if show_all or o.active(now)]
    if fmt == "json":
        emit_json([o.public() for o in rows])
        return
    emit_table(["ID", "KEY", "STATE", "EXPIRES", "BY", "APPROVED BY", "TICKET", "REASON"],
               [[o.id, o.key, o.state if o.state != "active" or o.active(now) else "expired",
                 o.expires, o.actor, o.approved_by, o.ticket, o.reason] for o in rows])


@override.command()
@click.argument("override_id", metavar="ID")
@env_option()
@project_dir_option
def revoke(override_id: str, env: str, project_dir: Path | None) -> None:
    """Stop an override now; its value is destroyed, its record kept for the audit trail.

    \b
    Example:
      vaultline override revoke 3f9a1c2e --env prod
    """
    from vaultline import audit
    from vaultline.session import Session

    with Session(load_project(project_dir), env) as session:
        revoked = session.overrides.revoke(env, override_id)
        session.audit.record(audit.OVERRIDE_REVOKE, env=env, key=revoked.key,
                             detail={"override": revoked.id})
    click.echo(f"override {revoked.id} revoked")
