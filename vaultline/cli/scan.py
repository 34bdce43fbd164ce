"""``vaultline scan``: committed secrets in a tree, the git index or git history."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

import vaultline
from vaultline.cli._context import env_option, load_project, project_dir_option
from vaultline.cli._output import OutputFile, emit_table, format_option, json_for_log, warn

DEFAULT_BASELINE = ".vaultline-baseline.json"


@click.command("scan")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--staged", is_flag=True, help="Scan the git index (what the next commit adds).")
@click.option("--history", is_flag=True, help="Scan every blob in git history, once each.")
@click.option("--since", metavar="REV", help="With --history: only commits not reachable from REV.")
@click.option(
    "--baseline",
    "baseline_path",
    type=OutputFile(),
    default=DEFAULT_BASELINE,
    show_default=True,
    help="Known findings; only findings not in it fail the scan.",
)
@click.option("--update-baseline", is_flag=True, help="Write every current finding to the baseline.")
@click.option("--import-baseline", "imports", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Also accept what a .gitleaksignore or detect-secrets baseline lists "
                   "(repeatable).")
@format_option("text", "json", "sarif")
@click.option("-o", "--output", type=OutputFile(),
              help="Write the report to a file instead of stdout.")
@click.option("--max-file-size", "max_kb", type=click.IntRange(min=1), default=2048,
              show_default=True,
              help="Read files (and blobs) larger than this many KiB in windows of this size.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Worker processes [all cores].")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Team rules and allowlists [.vaultline-scan.yaml, or scan: in vaultline.yaml].")
@click.option("--no-hygiene", is_flag=True, help="Skip the .env tracking/.gitignore checks.")
@click.option("--known", is_flag=True,
              help="Look for the environment's actual secret values (needs --env), not patterns.")
@env_option(required=False)
@project_dir_option
@click.option("--no-hyperscan", is_flag=True, hidden=True,
              help="Use the pure-Python prefilter even when Hyperscan is installed.")
@click.pass_context
def scan(
    ctx: click.Context,
    paths: tuple[Path, ...],
    staged: bool,
    history: bool,
    since: str | None,
    baseline_path: Path,
    update_baseline: bool,
    imports: tuple[Path, ...],
    fmt: str,
    output: Path | None,
    max_kb: int,
    jobs: int | None,
    config_path: Path | None,
    no_hygiene: bool,
    known: bool,
    env: str | None,
    project_dir: Path | None,
    no_hyperscan: bool,
) -> None:
    """Find committed secrets; exit 1 when there are findings not in the baseline.

    Scans every text file under PATH (default: .), honouring .gitignore and
    .vaultlineignore. A line containing `vaultline:allow` is never reported.

    \b
    Examples:
      vaultline scan                          # the working tree
      vaultline scan --staged                 # pre-commit: the git index
      vaultline scan --history --since v1.0   # commits after v1.0, each blob once
      vaultline scan --format sarif -o vaultline.sarif
      vaultline scan --update-baseline        # accept what is there today
      vaultline scan --import-baseline .gitleaksignore --import-baseline .secrets.baseline
      vaultline scan --known --env prod --history   # prod's real values in history
      vaultline scan --known --env prod ci-build.log
    """
    from vaultline.scan import baseline, hygiene
    from vaultline.scan import config as scan_config
    from vaultline.scan.runner import scan_history, scan_paths, scan_staged

    if staged and history:
        raise click.UsageError("--staged and --history are different scans; pick one")
    if since and not history:
        raise click.UsageError("--since only applies to --history")
    if (staged or history) and len(paths) > 1:
        raise click.UsageError("--staged/--history take at most one PATH (the repository)")
    if known and env is None:
        raise click.UsageError("--known looks for an environment's values: give --env E")
    if known and staged:
        raise click.UsageError("--known scans PATHS or --history, not --staged")
    if env is not None and not known:
        raise click.UsageError("--env only applies to --known")

    config = scan_config.find(paths[0] if paths else Path.cwd(), config_path)
    scanner = config.scanner(use_hyperscan=not no_hyperscan)
    max_bytes = max_kb * 1024
    progress = fmt == "text" or output is not None
    if known:
        from vaultline.scan.known import scan_known

        assert env is not None
        result = scan_known(load_project(project_dir), env, list(paths), history=history,
                            since=since, max_bytes=max_bytes, jobs=jobs, progress=progress)
    elif staged:
        result = scan_staged(paths[0] if paths else Path.cwd(), scanner=scanner,
                             max_bytes=max_bytes)
    elif history:
        result = scan_history(paths[0] if paths else Path.cwd(), since=since, scanner=scanner,
                              max_bytes=max_bytes, jobs=jobs, progress=progress)
    else:
        roots = list(paths) or [Path(".")]
        result = scan_paths(roots, scanner=scanner, max_bytes=max_bytes, jobs=jobs,
                            progress=progress)
        if not no_hygiene:
            result.findings += hygiene.check(roots[0] if roots[0].is_dir() else roots[0].parent)

    result.findings = config.apply(result.findings)
    if update_baseline:
        count = baseline.dump(baseline_path, result.findings)
        click.echo(f"vaultline: wrote {count} finding(s) to {baseline_path}", err=True)
        return

    accepted = baseline.load(baseline_path)
    for path in imports:
        accepted.update(baseline.load_foreign(path))
    new, old = baseline.split(result.findings, accepted)
    stats: dict[str, Any] = result.stats.to_dict()
    if result.history is not None:
        stats["commits"] = result.history.commits
        stats["blob_mentions"] = result.history.blob_mentions
    _report(new, old, stats, fmt, output)
    if new:
        click.get_current_context().exit(1)


def _report(new: list[Any], known: list[Any], stats: dict[str, Any], fmt: str,
            output: Path | None) -> None:
    from vaultline.scan.sarif import to_sarif

    if fmt == "sarif":
        _write(json_for_log(json.dumps(to_sarif(new, version=vaultline.__version__), indent=2)),
               output)
    elif fmt == "json":
        document = {
            "version": 1,
            "findings": [f.to_dict() for f in new],
            "baselined": len(known),
            "stats": stats,
        }
        _write(json_for_log(json.dumps(document, indent=2)), output)
    else:
        rows = [
            (
                f"{f.path}:{f.line}:{f.column}",
                f.rule_id,
                "-" if "hygiene" in f.tags else f.description if "known" in f.tags else f.masked,
                (f.commit or "")[:12],
                ",".join(f.tags),
            )
            for f in new
        ]
        if output is not None:
            import io

            table = io.StringIO()
            emit_table(["LOCATION", "RULE", "SECRET", "COMMIT", "TAGS"], rows, stream=table)
            _write(table.getvalue().removesuffix("\n"), output)
        elif rows:
            emit_table(["LOCATION", "RULE", "SECRET", "COMMIT", "TAGS"], rows)
    skipped = ", ".join(
        f"{stats[k]} {k.removeprefix('skipped_')}" for k in ("skipped_binary",) if stats.get(k)
    )
    summary = (
        f"{len(new)} new finding(s)"
        + (f", {len(known)} in baseline" if known else "")
        + f"; {stats['files_scanned']} file(s), {stats['bytes_scanned'] / 1e6:.1f} MB scanned"
        + (f" ({stats['large_files']} over --max-file-size, read in windows of that size)"
           if stats.get("large_files") else "")
        + (f"; skipped {skipped}" if skipped else "")
    )
    if "commits" in stats:
        summary += f"; {stats['commits']} commit(s), {stats.get('blobs_scanned', 0)} blob(s)"
    if stats.get("blobs_missing"):
        summary += (f"; {stats['blobs_missing']} blob(s) not in the repository (a partial clone), "
                    "not scanned")
    if new:
        warn(summary)
    elif fmt == "text" or sys.stderr.isatty():
        click.echo(f"vaultline: {summary}", err=True)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text)
    else:
        from vaultline._files import write_output

        write_output(output, (text + "\n").encode("utf-8"))
