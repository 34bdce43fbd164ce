"""``vaultline refs``, ``resolve`` and ``explain``: what an environment resolves to, and why."""

from __future__ import annotations

from pathlib import Path

import click

from vaultline.bundle import Provenance
from vaultline.cli._context import env_option, load_project, project_dir_option, resolve_bundle
from vaultline.cli._output import emit_json, emit_table, format_option
from vaultline.formats import FORMATS


def _source(prov: Provenance) -> str:
    if prov.reference:
        return f"{prov.source} ({prov.path or prov.reference})"
    return prov.source


@click.command()
@env_option()
@format_option("table", "json")
@project_dir_option
def refs(env: str, fmt: str, project_dir: Path | None) -> None:
    """List every secret key of an environment, its reference and the concrete path.

    \b
    Example:
      vaultline refs --env prod
    """
    from vaultline.resolver import Resolver

    with Resolver(load_project(project_dir), env) as resolver:
        rows = resolver.references()
    if fmt == "json":
        emit_json([{"key": r.key, "reference": str(r.reference), "provider": r.provider,
                    "path": r.display, "defined_at": r.where} for r in rows])
        return
    emit_table(["KEY", "REFERENCE", "RESOLVES TO"],
               [[r.key, str(r.reference), f"{r.provider}:{r.display}"] for r in rows])


@click.command()
@env_option()
@format_option("table", *FORMATS)
@click.option("--reveal", is_flag=True, help="Print secret values instead of ********.")
@click.option("--prefix", default="", help="Prefix for variable names (env, dotenv formats).")
@project_dir_option
def resolve(env: str, fmt: str, reveal: bool, prefix: str, project_dir: Path | None) -> None:
    """Resolve an environment: defaults, env pack, secrets, runtime overrides (highest wins).

    Nothing is printed unless every required key resolves; failures are listed together.

    \b
    Examples:
      vaultline resolve --env prod
      vaultline resolve --env prod --format json --reveal
      vaultline resolve --env dev --format env --prefix APP_
    """
    bundle = resolve_bundle(project_dir, env, reveal=reveal)
    if fmt == "table":
        emit_table(["KEY", "VALUE", "LAYER", "SOURCE", "VERSION"],
                   [[r.key, r.display(reveal=reveal), r.provenance.layer.value,
                     _source(r.provenance), r.provenance.version or ""]
                    for r in bundle.resolved_values()])
        return
    from vaultline.formats import render

    click.echo(render(bundle, fmt, reveal=reveal, prefix=prefix))


@click.command()
@click.argument("key")
@env_option()
@format_option("table", "json")
@project_dir_option
def explain(key: str, env: str, fmt: str, project_dir: Path | None) -> None:
    """Show which layer gave KEY its value and every value it shadowed (secrets masked).

    \b
    Example:
      vaultline explain ConnectionStrings:Primary --env prod
    """
    from vaultline.errors import ConfigError

    bundle = resolve_bundle(project_dir, env)
    try:
        explanation = bundle.explain(key)
    except KeyError:
        raise ConfigError(f"{key!r} has no value in environment {env!r}; "
                          f"'vaultline resolve --env {env}' lists the keys") from None
    rows = [explanation.winner, *explanation.shadowed]
    if fmt == "json":
        emit_json({"key": key, "env": env, "candidates": [
            {"status": "winner" if i == 0 else "shadowed", "value": r.display(),
             "secret": r.secret, "layer": r.provenance.layer.value,
             "source": r.provenance.source, "reference": r.provenance.reference,
             "path": r.provenance.path, "version": r.provenance.version}
            for i, r in enumerate(rows)]})
        return
    emit_table(["", "LAYER", "VALUE", "SOURCE", "VERSION"],
               [["winner" if i == 0 else "shadowed", r.provenance.layer.value, r.display(),
                 _source(r.provenance), r.provenance.version or ""]
                for i, r in enumerate(rows)], title=f"{key} in {env}")
