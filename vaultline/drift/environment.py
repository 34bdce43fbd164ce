"""Environment drift: an environment pack's references against what the stores hold.

    missing   the reference points at nothing (or at a secret without its ``#field``)
    stale     the reference pins ``@N`` while a newer version exists, or the secret's latest
              version is soft-deleted or destroyed
    orphaned  a secret under the environment's naming root that no key of the pack uses

The naming root of a provider is its naming template up to ``{key}`` (``{app}/{env}/`` for the
embedded store, ``{app}--{env}--`` for Azure), under the provider's own prefix for Vault.
Secrets referenced by explicit paths outside that root are checked but never "orphaned".
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence

from vaultline.drift import history
from vaultline.drift._audit import DriftAudit
from vaultline.drift.model import ERROR, MISSING, ORPHANED, STALE, DriftItem, DriftReport
from vaultline.errors import (
    AuthenticationError,
    PermissionDeniedError,
    ProviderError,
    ProviderUnavailableError,
    StoreError,
)
from vaultline.providers.base import Fetched, Provider, Request
from vaultline.resolve.resolver import ReferenceRow, Resolver, select_field
from vaultline.resolve.session import Session
from vaultline.store import EmbeddedStore

# Provider types that can list their secrets, so orphans can be found in them.
LISTABLE_TYPES = frozenset({"local", "vault", "aws-secretsmanager", "azure-keyvault"})
# Errors that say nothing about the secret, only that we could not look.
_CANNOT_LOOK = (AuthenticationError, PermissionDeniedError, ProviderUnavailableError)


def check_environment(session: Session) -> DriftReport:
    """Compare ``session.env``'s references with the stores; audited in the project's log."""
    env = session.env
    if env is None:
        raise ValueError("an environment drift check needs a session opened with an environment")
    report = DriftReport("environment", env)
    trail = DriftAudit(env)
    with Resolver(session.project, env, environ=session.environ) as resolver:
        rows = resolver.references()
        by_provider: dict[str, list[ReferenceRow]] = defaultdict(list)
        for row in rows:
            by_provider[row.provider].append(row)
        for name, provider_rows in sorted(by_provider.items()):
            _check_references(resolver.provider(name), provider_rows, report, trail)
        report.checked["references"] = len(rows)
        for name in _listable(session, by_provider):
            _find_orphans(resolver.provider(name), by_provider.get(name, []), report, trail)
    trail.flush(session.audit)
    return report


# -- references -------------------------------------------------------------------------------


def _check_references(provider: Provider, rows: Sequence[ReferenceRow], report: DriftReport,
                      trail: DriftAudit) -> None:
    requests: dict[Request, None] = {}
    for row in rows:
        requests[(row.path, row.reference.version)] = None
        if row.reference.version is not None:
            requests[(row.path, None)] = None  # the latest, to see whether the pin is old
    try:
        results = provider.fetch_many(list(requests))
    except StoreError as exc:  # the embedded store itself could not be opened
        results = {r: ProviderError(str(exc), provider=provider.name) for r in requests}
    failed = sum(isinstance(r, ProviderError) for r in results.values())
    trail.read(provider, "*", "check", references=len(rows), unreadable=failed)
    for row in rows:
        item = _check_one(provider, row, results)
        if item is not None:
            report.items.append(item)


def _item(kind: str, row: ReferenceRow, reason: str) -> DriftItem:
    return DriftItem(kind, row.provider, row.display, reason, row.key, str(row.reference), row.where)


def _check_one(provider: Provider, row: ReferenceRow,
               results: Mapping[Request, Fetched | ProviderError]) -> DriftItem | None:
    pinned = row.reference.version
    result = results[(row.path, pinned)]
    try:
        if isinstance(result, ProviderError):
            if isinstance(result, _CANNOT_LOOK):
                return _item(ERROR, row, result.reason)
            last = history.latest(provider, row.path)
            if pinned is None and last is not None and not last.live:
                return _item(STALE, row, f"{last.describe()}; undelete it or write a new version")
            return _item(MISSING, row, result.reason)
        try:
            select_field(result, row.reference)
        except ProviderError as exc:
            return _item(MISSING, row, exc.reason)
        if pinned is None:
            return None
        current = results[(row.path, None)]
        if isinstance(current, Fetched):
            return _pin_item(row, pinned, result.version, current.version)
        last = history.latest(provider, row.path)
        if last is not None and not last.live:
            return _item(STALE, row, f"pinned @{pinned}, and the {last.describe()}")
        return None
    except ProviderError as exc:  # the version history could not be read
        return _item(ERROR, row, exc.reason)


def _pin_item(row: ReferenceRow, pinned: str, read: str | None,
              latest: str | None) -> DriftItem | None:
    """``pinned`` as written, ``read`` the version that pin returned, ``latest`` the current one."""
    if latest is None or latest == pinned:
        return None
    if pinned.isdigit() and latest.isdigit():
        if int(pinned) >= int(latest):
            return None
        return _item(STALE, row, f"pinned @{pinned}; the latest version is {latest}")
    if read != pinned:
        # A moving label (AWSPREVIOUS, a custom stage), not a version: pinning it is deliberate.
        return None
    # Unordered version ids (cloud stores): any other current version means the pin is old.
    return _item(STALE, row, f"pinned @{pinned}; the current version is {latest}")


# -- orphans ----------------------------------------------------------------------------------


def _listable(session: Session, used: Mapping[str, object]) -> list[str]:
    project = session.project
    names = {n for n in used if project.provider_config(n).type in LISTABLE_TYPES}
    names |= {n for n, c in project.providers.items() if c.type in LISTABLE_TYPES}
    if "local" not in project.providers and EmbeddedStore.exists(project.store_dir):
        names.add("local")  # the built-in embedded store, whether or not this pack uses it
    return sorted(names)


def naming_root(provider: Provider) -> str:
    """The part of the provider's naming template before ``{key}``, for this app and env."""
    head = provider.naming.template.split("{key}", 1)[0]
    return head.format(app=provider.context.app, env=provider.context.env)


def _find_orphans(provider: Provider, rows: Sequence[ReferenceRow], report: DriftReport,
                  trail: DriftAudit) -> None:
    root = naming_root(provider)
    scope = f"{getattr(provider, 'prefix', '') or ''}/{root}"
    env = provider.context.env
    if not re.search(rf"(^|[/_.-]){re.escape(env)}([/_.-]|$)", scope):
        report.notes.append(
            f"orphans not checked in provider {provider.name!r}: its naming root {root!r} is "
            f"not specific to environment {env!r}, so other environments' secrets would show")
        return
    try:
        # A root ending in '/' is a folder every provider can list; any other root (Azure's
        # 'app--env--') is a name prefix, filtered here so each provider is asked the same way.
        listed = provider.list_paths(root.rstrip("/") if root.endswith("/") else "")
    except (ProviderError, StoreError) as exc:
        reason = exc.reason if isinstance(exc, ProviderError) else str(exc)
        trail.read(provider, root or "/", "list", ok=False, reason=type(exc).__name__)
        report.items.append(DriftItem(ERROR, provider.name, provider.display_path(root),
                                      f"cannot list: {reason}"))
        return
    found = [p.strip("/") for p in listed if p.strip("/").startswith(root.strip("/"))]
    trail.read(provider, root or "/", "list", paths=len(found))
    report.checked[f"listed:{provider.name}"] = len(found)
    used = {row.path.strip("/") for row in rows}
    for path in sorted(set(found) - used):
        report.items.append(DriftItem(ORPHANED, provider.name, provider.display_path(path),
                                      "no key of the environment pack references it"))
