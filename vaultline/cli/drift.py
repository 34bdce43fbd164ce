"""``vaultline drift``: references vs stores, a source vs its mirror, manifests vs stores."""

from __future__ import annotations

from pathlib import Path

import click

from vaultline.cli._context import env_option, load_project, project_dir_option
from vaultline.cli._output import emit_json, emit_table, format_option
from vaultline.errors import ConfigError


@click.command()
@env_option(required=False)
@click.option("--mirror", "mirror_spec", metavar="SRC=DST",
              help="Compare two trees, each provider[:prefix], by keyed hash of their values.")
@click.option("--inventory", "inventory_path", metavar="PATH",
              type=click.Path(exists=True, path_type=Path),
              help="Check the ExternalSecret/PushSecret remote keys of a manifests tree.")
@format_option("table", "json")
@project_dir_option
def drift(env: str | None, mirror_spec: str | None, inventory_path: Path | None, fmt: str,
          project_dir: Path | None) -> None:
    """Find drift between what is referenced and what the stores hold.

    \b
    --env E             missing references (or #fields), stale @VERSION pins and
                        deleted latest versions, and orphaned secrets under the
                        environment's naming root that no key uses
    --mirror SRC=DST    paths missing from, extra in, or different in the mirror,
                        compared by HMAC-SHA256 (values are never shown)
    --inventory PATH    ExternalSecret/PushSecret remote keys that do not exist

    Exits 1 on any drift (or on a check that could not be made), 0 when clean,
    2 on configuration errors.

    \b
    Examples:
      vaultline drift --env prod
      vaultline drift --env prod --mirror local:nexus-engine/prod=vault:mirror
      vaultline drift --inventory deploy/ --format json
    """
    from vaultline.drift import check_environment, check_inventory, compare_mirror, parse_mirror
    from vaultline.resolve.session import Session

    if mirror_spec and inventory_path:
        raise ConfigError("--mirror and --inventory are separate checks; run one at a time")
    if not (mirror_spec or inventory_path or env):
        raise ConfigError("say what to check: --env E, --mirror SRC=DST or --inventory PATH")
    project = load_project(project_dir)
    with Session(project, env) as session:
        if mirror_spec:
            report = compare_mirror(session, *parse_mirror(mirror_spec))
        elif inventory_path:
            report = check_inventory(session, inventory_path)
        else:
            report = check_environment(session)
    if fmt == "json":
        emit_json(report.to_dict())
    else:
        _print_table(report.to_dict())
    if report.drift:
        click.get_current_context().exit(1)


def _print_table(data: dict[str, object]) -> None:
    items = data["items"]
    assert isinstance(items, list)
    if items:
        emit_table(["kind", "provider", "path", "key / reference", "reason"],
                   [(i["kind"], i["provider"], i["path"], i["key"] or i["reference"] or "",
                     i["reason"]) for i in items])
        counts = data["counts"]
        assert isinstance(counts, dict)
        found = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
        click.echo(f"drift ({data['mode']}): {found}")
    else:
        checked = data["checked"]
        assert isinstance(checked, dict)
        looked = ", ".join(f"{n} {what}" for what, n in checked.items()) or "nothing"
        click.echo(f"no drift ({data['mode']}; checked {looked})")
    notes = data["notes"]
    assert isinstance(notes, list)
    for note in notes:
        click.echo(f"note: {note}")
