"""Mirror parity: a source tree and its mirror compared by keyed hash, never by value.

    vaultline drift --mirror local:nexus-engine/prod=vault:mirror

Each side is ``provider[:prefix]``; paths are compared relative to their prefix. Values are
put in one canonical form first, so the same secret compares equal whichever store holds it:
a JSON object (text or a Vault KV map) becomes compact sorted JSON, and a KV map holding only
``value`` (how the Vault provider stores plain text) becomes that text. Each canonical value
is hashed with HMAC-SHA256 under a key derived from the embedded store's master key, or, with
no store, under a random key that lives for this run only; the report says which. Hashes are
compared in memory and not printed.
"""

from __future__ import annotations

import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vaultline._limits import parse_json
from vaultline.drift._audit import DriftAudit
from vaultline.drift.model import DIFFERENT, ERROR, EXTRA, MISSING, DriftItem, DriftReport
from vaultline.errors import ConfigError, ProviderError, StoreError
from vaultline.providers import registry
from vaultline.providers.base import Fetched, Provider
from vaultline.resolve.session import Session

HMAC_PURPOSE = "drift-mirror-hmac"
KEY_FROM_STORE = "store"  # derived from the embedded store's master key: stable across runs
KEY_RANDOM = "random"  # no store: a fresh key per run, hashes comparable within the run only


@dataclass(frozen=True, slots=True)
class Side:
    provider: str
    prefix: str

    @classmethod
    def parse(cls, text: str) -> Side:
        name, _, prefix = text.strip().partition(":")
        if not name:
            raise ConfigError(f"mirror side {text!r}: expected provider[:prefix], "
                              "e.g. local:nexus-engine/prod or vault")
        return cls(name, prefix.strip("/"))

    def __str__(self) -> str:
        return f"{self.provider}:{self.prefix}" if self.prefix else self.provider


def parse_mirror(spec: str) -> tuple[Side, Side]:
    """``SRC=DST`` -> the two sides."""
    source, sep, mirror = spec.partition("=")
    if not sep or not source.strip() or not mirror.strip():
        raise ConfigError(f"--mirror {spec!r}: expected SRC=DST, each provider[:prefix], "
                          "e.g. local:nexus-engine/prod=vault")
    return Side.parse(source), Side.parse(mirror)


def canonical(value: str | Mapping[str, Any]) -> bytes:
    """One byte form per secret, whichever provider returned it (see the module docstring)."""
    if isinstance(value, str):
        try:
            parsed = parse_json(value)
        except ValueError:
            return value.encode("utf-8")
        if not isinstance(parsed, dict):
            return value.encode("utf-8")
        value = parsed
    if set(value) == {"value"} and isinstance(value["value"], str):
        return str(value["value"]).encode("utf-8")
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def compare_mirror(session: Session, source: Side, mirror: Side) -> DriftReport:
    """Compare ``source`` with ``mirror`` (audited: one listing and one read per side)."""
    key, key_source = _hmac_key(session)
    report = DriftReport("mirror", session.env, extra={
        "source": str(source), "mirror": str(mirror), "hash": "hmac-sha256",
        "hash_key": key_source})
    report.notes.append(
        "values compared by HMAC-SHA256 under a key derived from the embedded store's master key"
        if key_source == KEY_FROM_STORE else
        "no embedded store: values compared by HMAC-SHA256 under a random key for this run only")
    trail = DriftAudit(session.env)
    context = session.project.provider_context(session.env or "-", session.environ)
    providers: list[Provider] = []
    try:
        for side in (source, mirror):
            config = session.project.provider_config(side.provider)
            if session.env is None and any("{env}" in str(v) for v in config.options.values()):
                raise ConfigError(f"provider {side.provider!r} uses {{env}} in its settings; "
                                  "pass --env to say which environment to compare")
            providers.append(registry.create(config, context))
        hashes = [_side_hashes(p, s, key, report, trail) for p, s in zip(providers, (source, mirror),
                                                                           strict=True)]
    finally:
        for provider in providers:
            provider.close()
        trail.flush(session.audit)
    if any(h is None for h in hashes):
        return report
    src, dst = hashes[0] or {}, hashes[1] or {}
    report.checked.update({"source": len(src), "mirror": len(dst)})
    for path in sorted(set(src) | set(dst)):
        item = _compare(path, src.get(path), dst.get(path), source, mirror)
        if item is not None:
            report.items.append(item)
    return report


def _compare(path: str, src: bytes | str | None, dst: bytes | str | None,
             source: Side, mirror: Side) -> DriftItem | None:
    """One relative path: bytes are hashes, text is why that side could not be read."""
    if isinstance(src, str):
        return DriftItem(ERROR, source.provider, path, f"cannot read from {source}: {src}")
    if isinstance(dst, str):
        return DriftItem(ERROR, mirror.provider, path, f"cannot read from {mirror}: {dst}")
    if dst is None:
        return DriftItem(MISSING, mirror.provider, path, f"in {source} but not in the mirror")
    if src is None:
        return DriftItem(EXTRA, mirror.provider, path, f"in the mirror but not in {source}")
    if not hmac.compare_digest(src, dst):
        return DriftItem(DIFFERENT, mirror.provider, path, "values differ (keyed hashes do not match)")
    return None


def _hmac_key(session: Session) -> tuple[bytes, str]:
    store = session.store
    if store is not None:
        return store.derive_key(HMAC_PURPOSE), KEY_FROM_STORE
    return os.urandom(32), KEY_RANDOM


def _side_hashes(provider: Provider, side: Side, key: bytes, report: DriftReport,
                 trail: DriftAudit) -> dict[str, bytes | str] | None:
    """Relative path -> HMAC of the value, or the reason it could not be read."""
    try:
        listed = provider.list_paths(side.prefix)
    except (ProviderError, StoreError) as exc:
        reason = exc.reason if isinstance(exc, ProviderError) else str(exc)
        trail.read(provider, side.prefix or "/", "mirror-list", ok=False, reason=type(exc).__name__)
        report.items.append(DriftItem(ERROR, provider.name, side.prefix or "/",
                                      f"cannot list {side}: {reason}"))
        return None
    base = f"{side.prefix}/" if side.prefix else ""
    paths = {p.strip("/") for p in listed if p.strip("/").startswith(base)}
    results = provider.fetch_many([(p, None) for p in sorted(paths)])
    trail.read(provider, side.prefix or "/", "mirror", paths=len(paths),
               unreadable=sum(isinstance(r, ProviderError) for r in results.values()))
    out: dict[str, bytes | str] = {}
    for (path, _), result in results.items():
        relative = path[len(base):]
        if isinstance(result, Fetched):
            out[relative] = hmac.digest(key, canonical(result.value), "sha256")
        else:
            out[relative] = result.reason
    return out
