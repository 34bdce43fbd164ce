"""``vaultline env diff``: two environments side by side, secrets compared without being shown."""

from __future__ import annotations

from pathlib import Path

import click

from vaultline.cli._context import load_project, project_dir_option
from vaultline.cli._output import emit_json, emit_table, format_option
from vaultline.errors import ConfigError
from vaultline.resolve.bundle import MASK, to_text
from vaultline.resolve.diff import ONLY_A, ONLY_B, UNRESOLVED, EnvDiff, KeyDiff, compare


def _status(result: EnvDiff, k: KeyDiff) -> str:
    if k.status == ONLY_A:
        return f"missing in {result.b}"
    if k.status == ONLY_B:
        return f"missing in {result.a}"
    if k.status == UNRESOLVED:
        return "unresolved ('vaultline check' says why)"
    return f"{'equal' if k.status == 'same' else 'different'} (keyed hash)" if k.secret \
        else k.status


def _cell(k: KeyDiff, value: object, present: bool) -> str:
    if not present:
        return "-"
    return MASK if k.secret else to_text(value)


@click.command()
@click.option("-e", "--env", "envs", multiple=True, required=True,
              help="An environment to compare; give exactly two.")
@click.option("--all", "show_all", is_flag=True, help="Also list non-secret keys that agree.")
@format_option("table", "json")
@project_dir_option
def diff(envs: tuple[str, ...], show_all: bool, fmt: str, project_dir: Path | None) -> None:
    """Compare two environments: keys only in one, non-secret values that differ, and each
    secret as equal / different / missing by keyed hash (never shown). Exits 1 on any
    difference.

    \b
    Examples:
      vaultline env diff --env staging --env prod
      vaultline env diff --env staging --env prod --format json
    """
    if len(envs) != 2:
        raise ConfigError(f"give exactly two environments (got {len(envs)}): "
                          "vaultline env diff --env staging --env prod")
    result = compare(load_project(project_dir), envs[0], envs[1])
    rows = [k for k in result.keys if show_all or k.secret or k.differs]
    if fmt == "json":
        emit_json({"envs": [result.a, result.b], "differs": result.differs, "keys": [
            {"key": k.key, "secret": k.secret, "status": k.status,
             **({} if k.secret else {result.a: k.a, result.b: k.b})} for k in rows]})
    else:
        emit_table(["KEY", result.a, result.b, "STATUS"],
                   [[k.key, _cell(k, k.a, k.status not in (ONLY_B, UNRESOLVED)),
                     _cell(k, k.b, k.status not in (ONLY_A, UNRESOLVED)), _status(result, k)]
                    for k in rows])
    if result.differs:
        click.get_current_context().exit(1)
