"""``vaultline secret refs``, ``resolve`` and ``explain``: what an environment resolves to, and why."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from vaultline.cli._context import (
    env_option,
    load_project,
    prefix_callback,
    project_dir_option,
    resolve_bundle,
)
from vaultline.cli._output import emit_json, emit_table, format_option, warn
from vaultline.output.formats import FORMATS
from vaultline.resolve.bundle import Provenance

if TYPE_CHECKING:
    from vaultline.resolve.resolver import Resolver


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
@click.option("--namespace", metavar="NS",
              help="With --format external-secret: the manifests' namespace.")
@project_dir_option
def refs(env: str, fmt: str, store_kind: str, namespace: str | None,
         project_dir: Path | None) -> None:
    """List every secret key of an environment, its reference and the concrete path.

    --format external-secret writes External Secrets Operator manifests (references only).

    \b
    Examples:
      vaultline secret refs --env prod
      vaultline secret refs --env prod --format external-secret --store-kind ClusterSecretStore
      vaultline secret refs --env prod --format external-secret --namespace shop
    """
    from vaultline.resolve.resolver import Resolver

    with Resolver(load_project(project_dir), env) as resolver:
        if fmt == "external-secret":
            _external_secrets(resolver, store_kind, namespace)
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
@format_option("table", *FORMATS, "github", "compose")
@click.option("--reveal", is_flag=True, help="Print secret values instead of ********.")
@click.option("--prefix", default="", callback=prefix_callback,
              help="Prefix for variable names (env, dotenv formats).")
@click.option("--name", "k8s_name", metavar="NAME",
              help="With --format k8s-secret: the Secret's name (default config-ENV).")
@click.option("--namespace", metavar="NS", help="With --format k8s-secret: its namespace.")
@click.option("--outputs", is_flag=True,
              help="With --format github: also write the values to $GITHUB_OUTPUT.")
@click.option("--secrets-dir", type=click.Path(file_okay=False, path_type=Path),
              help="With --format compose: where each secret's 0600 file is written "
                   "(default: compose/ in the project's git-ignored .vaultline directory).")
@click.option("--keep-lease", is_flag=True,
              help="Dynamic credentials: leave their leases to expire on their TTL instead of "
                   "revoking them when resolve exits.")
@project_dir_option
def resolve(env: str, fmt: str, reveal: bool, prefix: str, k8s_name: str | None,
            namespace: str | None, outputs: bool, secrets_dir: Path | None, keep_lease: bool,
            project_dir: Path | None) -> None:
    """Resolve an environment: defaults, env pack, secrets, runtime overrides (highest wins).

    Nothing is printed unless every required key resolves; failures are listed together.
    --format github masks every secret (::add-mask::) and appends the values to $GITHUB_ENV;
    --format compose writes each secret to a 0600 file and prints the compose secrets: block.

    \b
    Examples:
      vaultline resolve --env prod
      vaultline resolve --env prod --format json --reveal
      vaultline resolve --env dev --format env --prefix APP_
      eval "$(vaultline resolve --env dev --format shell --reveal)"
      vaultline resolve --env prod --format k8s-secret --reveal --name api --namespace shop
      vaultline resolve --env ci --format github
      vaultline resolve --env dev --format env --reveal --keep-lease
    """
    if keep_lease:
        from vaultline.resolve.leases import LEASES

        LEASES.keep()
    if fmt == "github":
        import sys

        from vaultline.output.github import export

        count = export(resolve_bundle(project_dir, env, reveal=True), sys.stdout,
                       prefix=prefix, outputs=outputs)
        click.echo(f"vaultline: exported {count} variable(s) to $GITHUB_ENV"
                   + (" and $GITHUB_OUTPUT" if outputs else ""), err=True)
        return
    if fmt == "compose":
        from vaultline.output.compose import write_secrets

        directory = secrets_dir or load_project(project_dir).store_dir / "compose"
        click.echo(write_secrets(resolve_bundle(project_dir, env, reveal=True), directory,
                                 prefix=prefix))
        return
    bundle = resolve_bundle(project_dir, env, reveal=reveal)
    if fmt == "table":
        emit_table(["KEY", "VALUE", "LAYER", "SOURCE", "VERSION"],
                   [[r.key, r.display(reveal=reveal), r.provenance.layer.value,
                     _source(r.provenance), r.provenance.version or ""]
                    for r in bundle.resolved_values()])
        return
    from vaultline.output.formats import render

    click.echo(render(bundle, fmt, reveal=reveal, prefix=prefix, name=k8s_name,
                      namespace=namespace))


@click.command()
@click.argument("key")
@env_option()
@format_option("table", "json")
@project_dir_option
def explain(key: str, env: str, fmt: str, project_dir: Path | None) -> None:
    """Show which layer gave KEY its value and every value it shadowed (secrets masked).

    \b
    Example:
      vaultline env explain ConnectionStrings:Primary --env prod
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


def _external_secrets(resolver: Resolver, store_kind: str, namespace: str | None) -> None:
    import yaml

    from vaultline.errors import VaultlineError
    from vaultline.output.eso import external_secrets

    manifests, unsupported = external_secrets(resolver, store_kind=store_kind,
                                              namespace=namespace)
    if not manifests:
        held = (f": its {len(unsupported)} secret key(s) live in providers local to this "
                "machine (embedded store, env, files); move them to vault, aws or azure"
                if unsupported else ": it references no secrets")
        raise VaultlineError(f"no ExternalSecret to write for environment {resolver.env!r}"
                             + held)
    if unsupported:
        warn(f"no External Secrets store can read {len(unsupported)} key(s) "
             f"({', '.join(unsupported)}): their providers are local to this machine")
    click.echo(yaml.safe_dump_all(manifests, sort_keys=False), nl=False)
