"""``vaultline refs``, ``resolve`` and ``explain``: what an environment resolves to, and why."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from vaultline.bundle import Provenance
from vaultline.cli._context import (
    env_option,
    load_project,
    prefix_callback,
    project_dir_option,
    resolve_bundle,
)
from vaultline.cli._output import emit_json, emit_table, format_option, warn
from vaultline.formats import FORMATS

if TYPE_CHECKING:
    from vaultline.resolver import Resolver


def _source(prov: Provenance) -> str:
    if prov.reference:
        return f"{prov.source} ({prov.path or prov.reference})"
    return prov.source


@click.command()
@env_option()
@format_option("table", "json", "external-secret")
@click.option("--store-kind", type=click.Choice(["SecretStore", "ClusterSecretStore"]),
              default="SecretStore", show_default=True,
              help="With --format external-secret: the kind of the stores (named like the "
                   "providers).")
@project_dir_option
def refs(env: str, fmt: str, store_kind: str, project_dir: Path | None) -> None:
    """List every secret key of an environment, its reference and the concrete path.

    --format external-secret writes External Secrets Operator manifests (references only).

    \b
    Examples:
      vaultline refs --env prod
      vaultline refs --env prod --format external-secret --store-kind ClusterSecretStore
    """
    from vaultline.resolver import Resolver

    with Resolver(load_project(project_dir), env) as resolver:
        if fmt == "external-secret":
            _external_secrets(resolver, store_kind)
            return
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
@click.option("--prefix", default="", callback=prefix_callback,
              help="Prefix for variable names (env, dotenv formats).")
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


def _external_secrets(resolver: Resolver, store_kind: str) -> None:
    import yaml

    from vaultline.errors import ConfigError
    from vaultline.eso import external_secrets

    manifests, unsupported = external_secrets(resolver, store_kind=store_kind)
    if not manifests:
        # An empty file would apply cleanly and sync nothing: say so instead.
        raise ConfigError(
            "nothing to write: no secret key has a provider an External Secrets store can read "
            "(vault, aws-secretsmanager, azure-keyvault)"
            + (f"; local to this machine: {', '.join(unsupported)}" if unsupported else ""))
    if unsupported:
        warn(f"no External Secrets store can read {len(unsupported)} key(s) "
             f"({', '.join(unsupported)}): their providers are local to this machine")
    click.echo(yaml.safe_dump_all(manifests, sort_keys=False), nl=False)
