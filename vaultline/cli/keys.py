"""``vaultline keys``: create, list, rotate, stage, promote, retire, destroy, status, jwks;
sign, verify, encrypt, decrypt and rewrap come from :mod:`vaultline.cli.crypto`.

Key material is never printed: commands show versions, kids, states and times. Every
operation is written to the audit log.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from vaultline.cli._app import LazyGroup
from vaultline.cli._context import grace_period, load_project, project_dir_option
from vaultline.cli._output import emit_json, emit_table, format_option
from vaultline.duration import format_duration
from vaultline.errors import ConfigError, KeyManagementError

if TYPE_CHECKING:
    from vaultline.keys import KeyManager


def open_keys(project_dir: Path | None, *, audit_uses: bool = False) -> KeyManager:
    from vaultline.keys import KeyManager

    return KeyManager.from_project(load_project(project_dir), audit_uses=audit_uses)


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M")


_NAME = click.argument("name")


@click.group(cls=LazyGroup, lazy={verb: f"vaultline.cli.crypto:{verb}" for verb in
                                  ("sign", "verify", "encrypt", "decrypt", "rewrap")})
def keys() -> None:
    """Key rings for signing (JWT, webhooks) and encryption (envelope, files).

    \b
    Example:
      vaultline keys create api-tokens --purpose signing --alg EdDSA
      vaultline keys rotate api-tokens
      vaultline keys status
    """


@keys.command()
@_NAME
@click.option("--purpose", type=click.Choice(["signing", "hmac", "encryption"]), required=True)
@click.option("--alg", default=None,
              help="EdDSA, ES256, RS256 (signing); HS256 (hmac); aes256-gcm (encryption).")
@click.option("--backend", type=click.Choice(["local", "transit", "kms"]), default=None,
              help="Where the material lives (default: keys.backend in vaultline.yaml, or local).")
@click.option("--class", "key_class", default=None,
              help="Rotation policy class (default: the purpose), e.g. jwt.")
@click.option("--env", default=None, help="Environment whose rotation policy applies.")
@format_option("text", "json")
@project_dir_option
def create(name: str, purpose: str, alg: str | None, backend: str | None, key_class: str | None,
           env: str | None, fmt: str, project_dir: Path | None) -> None:
    """Create a key ring with its first (primary) version.

    \b
    Examples:
      vaultline keys create api-tokens --purpose signing --alg EdDSA
      vaultline keys create webhooks --purpose hmac --alg HS256
      vaultline keys create payloads --purpose encryption --backend transit --env prod
    """
    with open_keys(project_dir) as manager:
        ring = manager.create(name, purpose=purpose, alg=alg, backend=backend,
                              key_class=key_class, env=env)
        record = ring.record
        if fmt == "json":
            emit_json(record.summary(manager.now()))
            return
        click.echo(f"created key ring {name} ({record.purpose.value}, {record.alg}, backend "
                   f"{record.backend}): version 1, kid {record.primary.kid}")


@keys.command(name="list")
@click.argument("name", required=False)
@format_option("table", "json")
@project_dir_option
def list_(name: str | None, fmt: str, project_dir: Path | None) -> None:
    """List key rings, or the versions of one ring (never key material).

    \b
    Examples:
      vaultline keys list
      vaultline keys list api-tokens --format json
    """
    with open_keys(project_dir) as manager:
        now = manager.now()
        records = [manager.load_record(name)] if name else manager.records()
        if fmt == "json":
            data: Any = records[0].summary(now) if name else [r.summary(now) for r in records]
            emit_json(data)
            return
        if name:
            emit_table(["VERSION", "KID", "STATE", "CREATED", "ACTIVATED", "RETIRES"],
                       [[v.version, v.kid, v.effective_state(now).value, _when(v.created),
                         _when(v.activated), _when(v.retire_at)] for v in records[0].versions])
            return
        emit_table(["NAME", "PURPOSE", "ALG", "BACKEND", "PRIMARY", "KID", "VERSIONS"],
                   [[r.name, r.purpose.value, r.alg, r.backend, r.primary.version, r.primary.kid,
                     len(r.versions)] for r in records])


@keys.command()
@click.argument("name", required=False)
@click.option("--due", is_flag=True, help="Rotate every ring the rotation policy says is due.")
@click.option("--grace", default=None, help="Overlap for the old version (default: policy).")
@format_option("text", "json")
@project_dir_option
def rotate(name: str | None, due: bool, grace: str | None, fmt: str,
           project_dir: Path | None) -> None:
    """Make a new primary; the old one verifies/decrypts until its grace ends.

    With --due, rotate every ring that is due or overdue (idempotent: cron-friendly).

    \b
    Examples:
      vaultline keys rotate api-tokens --grace 1d
      vaultline keys rotate --due
    """
    if bool(name) == due:
        raise ConfigError("give a ring NAME or --due (not both)")
    with open_keys(project_dir) as manager:
        if due:
            rotated = [(v, r) for r in manager.names()
                       if (v := manager.rotate(r, grace=grace_period(grace), only_if_due=True))]
        else:
            assert name is not None
            version = manager.rotate(name, grace=grace_period(grace))
            assert version is not None
            rotated = [(version, name)]
        if fmt == "json":
            emit_json([{"name": r, "version": v.version, "kid": v.kid} for v, r in rotated])
            return
        for version, ring in rotated:
            click.echo(f"rotated {ring}: version {version.version} is primary (kid {version.kid})")
        if due and not rotated:
            click.echo("nothing is due")


@keys.command()
@_NAME
@project_dir_option
def stage(name: str, project_dir: Path | None) -> None:
    """Publish a new version as 'next' (in the JWKS, verifying, not yet signing): canary roll.

    \b
    Example:
      vaultline keys stage api-tokens && vaultline keys jwks api-tokens
    """
    with open_keys(project_dir) as manager:
        version = manager.stage(name)
        click.echo(f"staged {name}: version {version.version} is next (kid {version.kid})")


@keys.command()
@_NAME
@click.option("--grace", default=None, help="Overlap for the old primary (default: policy).")
@project_dir_option
def promote(name: str, grace: str | None, project_dir: Path | None) -> None:
    """Promote the staged version to primary.

    \b
    Example:
      vaultline keys promote api-tokens --grace 2d
    """
    with open_keys(project_dir) as manager:
        version = manager.promote(name, grace=grace_period(grace))
        click.echo(f"promoted {name}: version {version.version} is primary (kid {version.kid})")


@keys.command()
@_NAME
@click.option("--version", "version", type=int, default=None,
              help="The version to retire (default: every retiring version).")
@project_dir_option
def retire(name: str, version: int | None, project_dir: Path | None) -> None:
    """End the grace period now: retired versions no longer verify or decrypt.

    \b
    Example:
      vaultline keys retire api-tokens
    """
    with open_keys(project_dir) as manager:
        done = manager.retire(name, version)
        if not done:
            click.echo(f"{name}: nothing to retire")
        for v in done:
            click.echo(f"retired {name} version {v.version} (kid {v.kid})")


@keys.command()
@_NAME
@click.option("--version", "version", type=int, required=True)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@project_dir_option
def destroy(name: str, version: int, yes: bool, project_dir: Path | None) -> None:
    """Destroy a retired version's key material for good.

    \b
    Example:
      vaultline keys destroy api-tokens --version 1 --yes
    """
    if not yes:
        if not sys.stdin.isatty():
            raise ConfigError("destroy is irreversible: pass --yes to confirm")
        click.confirm(f"destroy version {version} of {name}? This cannot be undone", abort=True)
    with open_keys(project_dir) as manager:
        result = manager.destroy(name, version)
        click.echo(f"destroyed {name} version {result.version}")


@keys.command()
@format_option("table", "json")
@click.option("--check", is_flag=True, help="Exit 1 if any ring is overdue (a CI gate).")
@project_dir_option
def status(fmt: str, check: bool, project_dir: Path | None) -> None:
    """Every ring's age against its rotation policy: ok, due, overdue or no-policy.

    \b
    Example:
      vaultline keys status --check
    """
    from vaultline.keys import Due

    with open_keys(project_dir) as manager:
        rows = manager.status()
    if fmt == "json":
        emit_json([{
            "name": s.record.name, "class": s.record.key_class, "env": s.record.env,
            "backend": s.record.backend, "primary": s.record.primary.version,
            "age_seconds": int(s.status.age.total_seconds()),
            "due_at": s.status.due_at.isoformat() if s.status.due_at else None,
            "overdue_at": s.status.overdue_at.isoformat() if s.status.overdue_at else None,
            "state": s.status.state.value,
        } for s in rows])
    else:
        emit_table(["NAME", "CLASS", "ENV", "AGE", "DUE", "OVERDUE AFTER", "STATE"],
                   [[s.record.name, s.record.key_class, s.record.env or "-",
                     format_duration(s.status.age), _when(s.status.due_at),
                     _when(s.status.overdue_at), s.status.state.value] for s in rows])
    overdue = [s.record.name for s in rows if s.status.state is Due.OVERDUE]
    if check and overdue:
        raise KeyManagementError(f"rotation overdue: {', '.join(overdue)}; run "
                                 "'vaultline keys rotate --due'")


@keys.command()
@click.argument("names", nargs=-1, required=True)
@project_dir_option
def jwks(names: tuple[str, ...], project_dir: Path | None) -> None:
    """Print the public JWKS of signing rings (next, primary and retiring keys).

    \b
    Example:
      vaultline keys jwks api-tokens > public/.well-known/jwks.json
    """
    with open_keys(project_dir) as manager:
        document: dict[str, list[Any]] = {"keys": []}
        for name in names:
            document["keys"].extend(manager.ring(name).jwks()["keys"])
    click.echo(json.dumps(document, indent=2))
