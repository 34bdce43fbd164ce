"""``vaultline override set|request|approve|ls|revoke``: break-glass runtime overrides."""

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


_TTL = click.option("--ttl", required=True, callback=_duration,
                    help="How long it applies, e.g. 30m, 2h (required: every override "
                         "expires; at most the environment's max_override_ttl, or 24h).")
_REASON = click.option("--reason", default="", help="Why (required in protected environments).")
_TICKET = click.option("--ticket", default="",
                       help="Incident or change ticket (required in protected environments).")
_FROM_FILE = click.option("--from-file", type=click.Path(dir_okay=False, path_type=Path),
                          default=None, help="Read the value from this file instead of stdin.")


@click.group()
def override() -> None:
    """Time-bounded, audited runtime overrides (the highest layer).

    In a protected environment one person requests an override and a different identity
    approves it; it applies only once approved.

    \b
    Example:
      printf 'postgres://app:pw@db-replica/app' | vaultline override request \\
          ConnectionStrings:Primary --env prod --ttl 2h --reason "primary failover" \\
          --ticket INC-4211
      vaultline override approve 3f9a1c2e --env prod     # run by a second person
    """


@override.command(name="set")
@click.argument("key")
@env_option()
@_TTL
@_REASON
@click.option("--approved-by", default="", help="Who agreed to it (a note; protected "
                                                 "environments need 'override approve').")
@_TICKET
@_FROM_FILE
@project_dir_option
def set_override(key: str, env: str, ttl: object, reason: str, approved_by: str, ticket: str,
                 from_file: Path | None, project_dir: Path | None) -> None:
    """Override KEY in an unprotected environment until the TTL runs out; the value comes
    from stdin. KEY must be a key the environment already has.

    \b
    Example:
      echo Debug | vaultline override set Logging:LogLevel:Default --env staging --ttl 30m \\
          --reason "trace INC-7"
    """
    from datetime import timedelta

    from vaultline.resolve.session import Session

    assert isinstance(ttl, timedelta)
    with Session(load_project(project_dir), env) as session:
        made = session.set_override(key, read_secret_input(from_file), ttl=ttl, reason=reason,
                                    approved_by=approved_by, ticket=ticket)
    click.echo(f"override {made.id}: {key} in {env} until {made.expires}")


@override.command()
@click.argument("key")
@env_option()
@_TTL
@_REASON
@_TICKET
@_FROM_FILE
@project_dir_option
def request(key: str, env: str, ttl: object, reason: str, ticket: str, from_file: Path | None,
            project_dir: Path | None) -> None:
    """Ask for an override of KEY; it applies once a different identity approves it.

    \b
    Example:
      printf 'postgres://app:pw@db-replica/app' | vaultline override request \\
          ConnectionStrings:Primary --env prod --ttl 2h --reason "primary failover" \\
          --ticket INC-4211
    """
    from datetime import timedelta

    from vaultline.resolve.session import Session

    assert isinstance(ttl, timedelta)
    with Session(load_project(project_dir), env) as session:
        made = session.request_override(key, read_secret_input(from_file), ttl=ttl,
                                        reason=reason, ticket=ticket)
    click.echo(f"override {made.id}: {key} in {env} requested by {made.actor}, pending until "
               f"approved (by someone else) with 'vaultline override approve {made.id} "
               f"--env {env}'; it lapses at {made.expires}")


@override.command()
@click.argument("override_id", metavar="ID")
@env_option()
@project_dir_option
def approve(override_id: str, env: str, project_dir: Path | None) -> None:
    """Approve a requested override (not your own); it applies from now until it expires.

    \b
    Example:
      vaultline override approve 3f9a1c2e --env prod
    """
    from vaultline.resolve.session import Session

    with Session(load_project(project_dir), env) as session:
        made = session.approve_override(override_id)
    click.echo(f"override {made.id}: {made.key} in {env} approved by {made.approved_by}; "
               f"applies until {made.expires}")


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
    from vaultline.resolve.session import Session

    with Session(load_project(project_dir), env) as session:
        now = session.clock()
        found, problems = session.overrides.scan(env)
    for problem in problems:
        click.echo(f"vaultline: warning: {problem}", err=True)
    rows = [o for o in found if show_all or o.active(now) or o.state == "pending"]
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
    from vaultline.resolve.session import Session

    with Session(load_project(project_dir), env) as session:
        revoked = session.revoke_override(override_id)
    click.echo(f"override {override_id} " + ("revoked" if revoked is not None
                                             else "was malformed; its record is destroyed"))
