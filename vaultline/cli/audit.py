"""``vaultline audit``: verify the log's integrity, show events, report anomalies.

The commands are thin: what they print comes from :mod:`vaultline.audit`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from vaultline.cli._output import emit_json, emit_table, format_option, warn
from vaultline.errors import ConfigError, StoreError

if TYPE_CHECKING:
    from vaultline.audit.report import Report
    from vaultline.project.model import Project

F = TypeVar("F", bound=Callable[..., Any])


def _project_store_dir(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path:
    from vaultline.project.model import Project

    return Project.load(value).store_dir


def _store_dir_option(f: F) -> F:
    """``-C/--project-dir``, handed to the command as the project's store directory."""
    return click.option(
        "-C", "--project-dir", "store_dir", type=click.Path(file_okay=False, path_type=Path),
        envvar="VAULTLINE_PROJECT_DIR", default=None, callback=_project_store_dir,
        help="Project directory (default: the nearest one holding vaultline.yaml).",
    )(f)


def _log_path(store_dir: Path) -> Path:
    from vaultline.audit.log import LOG_NAME
    from vaultline.store import EmbeddedStore

    if not EmbeddedStore.exists(store_dir):
        raise StoreError(
            f"no embedded store at {store_dir}; run 'vaultline init' first"
        )
    return store_dir / LOG_NAME


def _duration(option: str, text: str | None) -> timedelta | None:
    from vaultline.audit import duration_or_none

    if text is None:
        return None
    duration = duration_or_none(text)
    if duration is None or duration <= timedelta(0):
        raise ConfigError(f"{option} takes a duration like 45s, 30m, 1h, 7d, not {text!r}")
    return duration


@click.group()
def audit() -> None:
    """The tamper-evident audit log (.vaultline/audit.log).

    \b
    Examples:
      vaultline audit verify
      vaultline audit anchor --to file:/mnt/backup/nexus-audit-anchor.json
      vaultline audit show --since 1h --key 'ConnectionStrings:*'
      vaultline audit report --format json
      vaultline audit restart --reason "INC-42: log damaged, archived"
    """


def _load_project(ctx: click.Context, param: click.Parameter, value: Path | None) -> Project:
    from vaultline.project.model import Project

    return Project.load(value)


def _project_option(f: F) -> F:
    """``-C/--project-dir``, handed to the command as the loaded project."""
    return click.option(
        "-C", "--project-dir", "project", type=click.Path(file_okay=False, path_type=Path),
        envvar="VAULTLINE_PROJECT_DIR", default=None, callback=_load_project,
        help="Project directory (default: the nearest one holding vaultline.yaml).",
    )(f)


@audit.command()
@_project_option
@click.option("--anchor", "anchor_at", metavar="PROVIDER:PATH", default=None,
              help="Also check the log still reaches the head anchored there.")
@format_option("text", "json")
def verify(project: Project, anchor_at: str | None, fmt: str) -> None:
    """Check the keyed chain, the checkpoint and every store write; exit 1 on damage.

    Reads a consistent snapshot, so it can run while other commands write. Needs the
    master key (VAULTLINE_MASTER_KEY or the store's key file): the chain and checkpoint
    are keyed with keys derived from it. A crash tail (a writer killed before moving the
    checkpoint) is reported and passes. Against a rollback of the whole machine, check an
    anchor written elsewhere by 'vaultline audit anchor'.

    \b
    Examples:
      vaultline audit verify -C path/to/project
      vaultline audit verify --anchor file:/mnt/backup/nexus-audit-anchor.json
    """
    from vaultline.audit import AuditLog
    from vaultline.audit.anchor import AnchorTarget, fetch
    from vaultline.store import EmbeddedStore

    with EmbeddedStore.open(project.store_dir) as store:
        anchor = None
        if anchor_at is not None:
            target = AnchorTarget(project, anchor_at)
            try:
                anchor = fetch(store, target)
            finally:
                target.close()
        result = AuditLog.for_store(store).verify(anchor=anchor)
    if fmt == "json":
        emit_json(result.to_dict())
    else:
        click.echo(str(result))
    if not result.ok:
        click.get_current_context().exit(1)


@audit.command()
@_project_option
@click.option("--to", "to", metavar="PROVIDER:PATH", required=True,
              help="Where to write the head: vault:PATH (check-and-set), an AWS Secrets "
                   "Manager provider, or file:/path on another disk.")
@format_option("text", "json")
def anchor(project: Project, to: str, fmt: str) -> None:
    """Publish the chain head (seq, hash, time, MAC) outside this machine.

    'vaultline audit verify --anchor' then fails if the log, its checkpoint and the store
    were all rolled back to an older copy, which no local check can see. An anchor never
    moves backwards; vaultline.yaml's audit.anchor does this every N events.

    \b
    Examples:
      vaultline audit anchor --to vault:ops/nexus-engine/audit-anchor
      vaultline audit anchor --to file:/mnt/backup/nexus-audit-anchor.json
    """
    from vaultline.audit import AuditLog
    from vaultline.audit.anchor import AnchorTarget, publish
    from vaultline.audit.event import format_time
    from vaultline.store import EmbeddedStore

    with EmbeddedStore.open(project.store_dir) as store:
        head = AuditLog.for_store(store).head()
        target = AnchorTarget(project, to)
        try:
            made = publish(store, head, format_time(datetime.now(UTC)), target)
        finally:
            target.close()
    if fmt == "json":
        emit_json(made.to_dict())
    else:
        click.echo(f"anchored seq {made.seq} at {to}")


@audit.command()
@_store_dir_option
@click.option("--reason", required=True, help="Why the log is restarted (recorded in it).")
def restart(store_dir: Path, reason: str) -> None:
    """Archive audit.log and start a new chain (after keeping a damaged log as evidence).

    The new log's first line names the archive and what was found in it; the archive
    stays next to it. Needs the master key.

    \b
    Example:
      vaultline audit restart --reason "INC-42: log truncated by disk cleanup, archived"
    """
    from vaultline.audit import AuditLog
    from vaultline.store import EmbeddedStore

    with EmbeddedStore.open(store_dir) as store:
        archive = AuditLog.for_store(store).restart(reason)
    click.echo(f"archived the old log as {archive}; a new log starts with an audit.restart "
               "line")


@audit.command()
@_store_dir_option
@click.option("--since", default=None, help="Only events since: a duration (1h, 30m, 2d) "
                                            "or an ISO 8601 time.")
@click.option("--actor", default=None, help="Only this actor (a glob: 'ci@*').")
@click.option("--key", default=None, help="Only this key (a glob: 'ConnectionStrings:*').")
@click.option("--action", default=None,
              help="Only this action, or a family: read, deny, override, key.rotate, ...")
@format_option("table", "json")
def show(store_dir: Path, since: str | None, actor: str | None, key: str | None,
         action: str | None, fmt: str) -> None:
    """List audit events, oldest first (values are never in the log, only their HMACs).

    \b
    Examples:
      vaultline audit show --since 1h
      vaultline audit show --actor 'ci@*' --action read --format json
    """
    from vaultline.audit import AuditLog, parse_since

    path = _log_path(store_dir)
    since_time = None if since is None else parse_since(since, datetime.now(UTC))

    def skipped(line: int, why: str) -> None:
        warn(f"{path} line {line} skipped ({why}); run 'vaultline audit verify'")

    log = AuditLog(path, hmac_key=None, checkpoint=None)
    events = log.show(since=since_time, actor=actor, key=key, action=action, on_error=skipped)
    if fmt == "json":
        emit_json([e.to_dict() for e in events])
        return
    emit_table(
        ["SEQ", "TIME", "ACTOR", "ACTION", "ENV", "KEY", "OUTCOME"],
        [[e.seq, e.time, e.actor, e.action, e.env, e.key, e.outcome] for e in events],
    )


@audit.command()
@_store_dir_option
@click.option("--learning-window", default=None, metavar="DURATION",
              help="How long after a key's first event its readers are learned  [default: 7d]")
@click.option("--burst-reads", type=click.IntRange(min=2), default=None,
              help="Read accesses by one actor that make a burst  [default: 30]")
@click.option("--burst-window", default=None, metavar="DURATION",
              help="...within this long  [default: 1m]")
@format_option("table", "json")
@click.option("--check", is_flag=True, help="Exit 1 when there are findings (a CI gate).")
def report(store_dir: Path, learning_window: str | None, burst_reads: int | None,
           burst_window: str | None, fmt: str, check: bool) -> None:
    """Report new readers of a key, bursts of reads, denials, reveals and overrides.

    \b
    Examples:
      vaultline audit report
      vaultline audit report --burst-reads 10 --burst-window 30s --format json
      vaultline audit report --check   # exit 1 if anything was found
    """
    from vaultline.audit import AuditLog, ReportSettings

    defaults = ReportSettings()
    settings = ReportSettings(
        learning_window=_duration("--learning-window", learning_window)
        or defaults.learning_window,
        burst_reads=burst_reads or defaults.burst_reads,
        burst_window=_duration("--burst-window", burst_window) or defaults.burst_window,
    )
    result = AuditLog(_log_path(store_dir), hmac_key=None, checkpoint=None).report(settings)
    if fmt == "json":
        emit_json(result.to_dict())
    else:
        _report_table(result)
    if check and result.findings:
        click.get_current_context().exit(1)


def _report_table(result: Report) -> None:
    rows = []
    for finding in result.findings:
        keys = ", ".join(finding.keys[:3])
        if len(finding.keys) > 3:
            keys += f" (+{len(finding.keys) - 3} more)"
        rows.append([finding.kind, finding.time, finding.actor, finding.env, keys,
                     finding.summary])
    emit_table(["KIND", "TIME", "ACTOR", "ENV", "KEYS", "SUMMARY"], rows,
               title=f"{len(rows)} finding(s) in {result.events} event(s)")
