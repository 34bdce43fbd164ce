"""``vaultline secret``: ``put``, ``get``, ``ls``, ``versions``, ``rm``, ``undelete``,
``rollback`` (and ``refs``, from :mod:`vaultline.cli.resolve`).

Each takes ``KEY --env E`` (the environment pack says where the key's secret lives) or a full
reference such as ``local:nexus-engine/prod/ConnectionStrings/Primary``. The work and its
audit happen in :class:`vaultline.resolve.session.Session`; these commands parse and print.
"""

from __future__ import annotations

from pathlib import Path

import click

from vaultline.cli._app import LazyGroup
from vaultline.cli._context import env_option, load_project, project_dir_option, read_secret_input
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


@click.group(cls=LazyGroup, lazy={"refs": "vaultline.cli.resolve:refs"})
def secret() -> None:
    """Secrets in the stores: write, reveal (audited), list, version, delete, roll back.

    KEY --env ENV finds the secret through the environment pack; a full reference
    (local:nexus-engine/prod/ConnectionStrings/Primary) names it directly.

    \b
    Examples:
      printf 'postgres://app:s3cret@db/app' | vaultline secret put ConnectionStrings:Primary --env prod
      vaultline secret versions ConnectionStrings:Primary --env prod
      vaultline secret refs --env prod
    """


@secret.command()
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

    Through a reference with '#FIELD' (e.g. vault:db#password) only that field of the
    secret changes; the write is conditional, so a concurrent write is not lost.

    \b
    Examples:
      printf 's3cret' | vaultline secret put local:nexus-engine/prod/ConnectionStrings/Primary
      vaultline secret put ConnectionStrings:Primary --env prod --from-file ./primary.txt
    """
    from vaultline.resolve.session import Session

    with Session(load_project(project_dir), env) as session:
        where = session.target(target)  # a wrong target fails before the value is asked for
        where.provider.close()
        written = session.put(target, read_secret_input(from_file), cas=cas)
    click.echo(f"{written.where}: version {written.version}")


@secret.command()
@_TARGET
@env_option(required=False)
@click.option("--version", "version", default=None, help="Read this version (default: latest).")
@project_dir_option
def get(target: str, env: str | None, version: str | None, project_dir: Path | None) -> None:
    """Print a secret's value (a reveal: it is audited).

    \b
    Example:
      vaultline secret get local:nexus-engine/prod/ConnectionStrings/Primary --version 1
    """
    from vaultline.resolve.session import Session

    with Session(load_project(project_dir), env) as session:
        value = session.get(target, version)
    click.echo(value)


@secret.command(name="ls")
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
      vaultline secret ls nexus-engine/prod
      vaultline secret ls --provider vault --env prod     # under the provider's prefix for prod
    """
    from vaultline.resolve.session import Session

    with Session(load_project(project_dir), env) as session:
        paths = session.list_paths(prefix, provider=provider_name)
    if fmt == "json":
        emit_json(paths)
    else:
        for path in paths:
            click.echo(path)


@secret.command()
@_TARGET
@env_option(required=False)
@format_option("table", "json")
@project_dir_option
def versions(target: str, env: str | None, fmt: str, project_dir: Path | None) -> None:
    """Show every version of a secret (embedded store, Vault/OpenBao KV v2; never values).

    \b
    Examples:
      vaultline secret versions local:nexus-engine/prod/ConnectionStrings/Primary
      vaultline secret versions ConnectionStrings:Primary --env prod
    """
    from vaultline.resolve.session import Session

    with Session(load_project(project_dir), env) as session:
        rows = session.versions(target)
    if fmt == "json":
        emit_json([{"version": r.version, "created_time": r.created_time,
                    "deleted_time": r.deleted_time, "destroyed": r.destroyed} for r in rows])
        return
    emit_table(["VERSION", "CREATED", "STATE"],
               [[r.version, r.created_time,
                 "destroyed" if r.destroyed else "deleted" if r.deleted_time else "live"]
                for r in rows])


@secret.command()
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
      vaultline secret rm local:nexus-engine/dev/Api:Key
      vaultline secret rm local:nexus-engine/dev/Api:Key --versions 1,2 --destroy
      vaultline secret rm Api:Key --env prod --versions 3
    """
    from vaultline.resolve.session import Session

    with Session(load_project(project_dir), env) as session:
        changed = session.delete(target, _versions_list(version_list), destroy=destroy)
    verb = "destroyed" if destroy else "deleted"
    click.echo(f"{changed.where}: {verb} version(s) {', '.join(map(str, changed.versions))}")


@secret.command()
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
      vaultline secret undelete local:nexus-engine/dev/Api/Key --versions 2
    """
    from vaultline.resolve.session import Session

    with Session(load_project(project_dir), env) as session:
        changed = session.undelete(target, _versions_list(version_list))
    click.echo(f"{changed.where}: restored version(s) {', '.join(map(str, changed.versions))}")


@secret.command()
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
      vaultline secret rollback local:nexus-engine/prod/ConnectionStrings/Primary
      vaultline secret rollback ConnectionStrings:Primary --env prod --to 3
    """
    from vaultline.resolve.session import Session

    with Session(load_project(project_dir), env) as session:
        rolled = session.rollback(target, to)
    click.echo(f"{rolled.where}: rolled back to version {rolled.to} (current: {rolled.version})")
