"""Store commands: ``put``, ``get``, ``ls``, ``versions``, ``rm``, ``undelete``, ``rollback``.

Each takes ``KEY --env E`` (the environment pack says where the key's secret lives) or a full
reference such as ``local:nexus-engine/prod/ConnectionStrings/Primary``.
"""

from __future__ import annotations

from pathlib import Path

import click

from vaultline.cli._context import (
    Target,
    audited,
    env_option,
    load_project,
    project_dir_option,
    read_secret_input,
    resolve_target,
)
from vaultline.cli._output import emit_json, emit_table, format_option
from vaultline.errors import ConfigError

_TARGET = click.argument("target", metavar="KEY_OR_REFERENCE")


def _versions_list(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"--versions takes numbers like 1,2,3, not {text!r}") from None


@click.command()
@_TARGET
@env_option(required=False)
@click.option("--cas", type=int, default=None,
              help="Write only if the current version is this one (0: only if new).")
@click.option("--from-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Read the value from this file instead of stdin.")
@project_dir_option
def put(target: str, env: str | None, cas: int | None, from_file: Path | None,
        project_dir: Path | None) -> None:
    """Store a new version of a secret; the value comes from stdin or --from-file.

    \b
    Examples:
      printf 'postgres://app:s3cret@db/app' | vaultline put local:nexus-engine/prod/ConnectionStrings/Primary
      vaultline put ConnectionStrings:Primary --env prod --from-file ./primary.txt
    """
    project = load_project(project_dir)
    where = resolve_target(project, target, env)
    value = read_secret_input(from_file)
    try:
        with audited(project, "write", where, env, value) as detail:
            version = where.provider.put(where.path, value, cas=cas)
            detail["version"] = version
    finally:
        where.provider.close()
    click.echo(f"{where}: version {version}")


@click.command()
@_TARGET
@env_option(required=False)
@click.option("--version", "version", default=None, help="Read this version (default: latest).")
@project_dir_option
def get(target: str, env: str | None, version: str | None, project_dir: Path | None) -> None:
    """Print a secret's value (a reveal: it is audited).

    \b
    Example:
      vaultline get local:nexus-engine/prod/ConnectionStrings/Primary --version 1
    """
    project = load_project(project_dir)
    where = resolve_target(project, target, env)
    try:
        from vaultline.resolver import select_field

        with audited(project, "reveal", where, env) as detail:
            fetched = where.provider.fetch(where.path, version or where.reference.version)
            value = select_field(fetched, where.reference)
            detail["version"] = fetched.version
        click.echo(value)
    finally:
        where.provider.close()


@click.command(name="ls")
@click.argument("prefix", default="")
@click.option("--provider", "provider_name", default="local", show_default=True)
@env_option(required=False)
@format_option("table", "json")
@project_dir_option
def ls(prefix: str, provider_name: str, env: str | None, fmt: str,
       project_dir: Path | None) -> None:
    """List secret paths under PREFIX.

    \b
    Examples:
      vaultline ls nexus-engine/prod
      vaultline ls --provider vault --env prod     # under the provider's prefix for prod
    """
    from vaultline.providers import registry

    project = load_project(project_dir)
    if env is not None:
        project.environment(env)
    provider = registry.create(project.provider_config(provider_name),
                               registry.context_for(project, env or "-"))
    try:
        paths = provider.list_paths(prefix)
    finally:
        provider.close()
    if fmt == "json":
        emit_json(paths)
    else:
        for path in paths:
            click.echo(path)


@click.command()
@_TARGET
@env_option(required=False)
@format_option("table", "json")
@project_dir_option
def versions(target: str, env: str | None, fmt: str, project_dir: Path | None) -> None:
    """Show every version of a secret (embedded store, Vault/OpenBao KV v2; never values).

    \b
    Examples:
      vaultline versions local:nexus-engine/prod/ConnectionStrings/Primary
      vaultline versions ConnectionStrings:Primary --env prod
    """
    from vaultline.versioning import versions_of

    project = load_project(project_dir)
    where = resolve_target(project, target, env)
    try:
        rows = versions_of(where.provider).rows(where.path)
    finally:
        where.provider.close()
    if fmt == "json":
        emit_json([{"version": r.version, "created_time": r.created_time,
                    "deleted_time": r.deleted_time, "destroyed": r.destroyed} for r in rows])
        return
    emit_table(["VERSION", "CREATED", "STATE"],
               [[r.version, r.created_time,
                 "destroyed" if r.destroyed else "deleted" if r.deleted_time else "live"]
                for r in rows])


def _change(action: str, target: str, env: str | None, version_list: str | None,
            project_dir: Path | None) -> tuple[Target, list[int]]:
    from vaultline.versioning import versions_of

    project = load_project(project_dir)
    where = resolve_target(project, target, env)
    try:
        with audited(project, action, where, env) as detail:
            chosen = versions_of(where.provider).change(action, where.path,
                                                        _versions_list(version_list))
            detail["versions"] = chosen
    finally:
        where.provider.close()
    return where, chosen


@click.command()
@_TARGET
@env_option(required=False)
@click.option("--versions", "version_list", default=None,
              help="Comma-separated versions (default: the latest).")
@click.option("--destroy", is_flag=True, help="Destroy the key material for good.")
@project_dir_option
def rm(target: str, env: str | None, version_list: str | None, destroy: bool,
       project_dir: Path | None) -> None:
    """Delete versions of a secret: soft (undelete restores it) or --destroy (for good).
    Works on the embedded store and Vault/OpenBao KV v2.

    \b
    Examples:
      vaultline rm local:nexus-engine/dev/Api:Key
      vaultline rm local:nexus-engine/dev/Api:Key --versions 1,2 --destroy
      vaultline rm Api:Key --env prod --versions 3
    """
    where, chosen = _change("destroy" if destroy else "delete", target, env, version_list,
                            project_dir)
    verb = "destroyed" if destroy else "deleted"
    click.echo(f"{where}: {verb} version(s) {', '.join(map(str, chosen))}")


@click.command()
@_TARGET
@env_option(required=False)
@click.option("--versions", "version_list", default=None,
              help="Comma-separated versions (default: the latest).")
@project_dir_option
def undelete(target: str, env: str | None, version_list: str | None,
             project_dir: Path | None) -> None:
    """Restore soft-deleted versions of a secret (embedded store, Vault/OpenBao KV v2).

    \b
    Example:
      vaultline undelete local:nexus-engine/dev/Api/Key --versions 2
    """
    where, chosen = _change("undelete", target, env, version_list, project_dir)
    click.echo(f"{where}: restored version(s) {', '.join(map(str, chosen))}")


@click.command()
@_TARGET
@env_option(required=False)
@click.option("--to", "to", default=None, metavar="VERSION",
              help="The version to go back to (default: the newest live one before the "
                   "current; on AWS: the AWSPREVIOUS version).")
@project_dir_option
def rollback(target: str, env: str | None, to: str | None, project_dir: Path | None) -> None:
    """Make an earlier version current again: the embedded store and Vault/OpenBao write its
    content as a new version (check-and-set); AWS moves the AWSCURRENT label back.

    \b
    Examples:
      vaultline rollback local:nexus-engine/prod/ConnectionStrings/Primary
      vaultline rollback ConnectionStrings:Primary --env prod --to 3
    """
    from vaultline.versioning import versions_of

    project = load_project(project_dir)
    where = resolve_target(project, target, env)
    try:
        with audited(project, "write", where, env) as detail:
            back_to, current = versions_of(where.provider).rollback(where.path, to)
            detail.update({"rollback_to": back_to, "version": current})
    finally:
        where.provider.close()
    click.echo(f"{where}: rolled back to version {back_to} (current: {current})")
