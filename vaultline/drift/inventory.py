"""Inventory drift: the remote keys a manifests tree's ExternalSecrets and PushSecrets name,
checked against the stores vaultline is configured for.

An ExternalSecret whose remote key does not exist never syncs; a PushSecret whose remote key
does not exist has not pushed yet. Both are drift. Each resource's store (SecretStore or
ClusterSecretStore, found in the same tree) says which kind of store the key lives in, and
that picks the vaultline provider:

    ESO provider   vaultline provider type
    vault          vault                 (the key is read under the store's mount, no prefix)
    aws            aws-secretsmanager    (SecretsManager service only)
    azurekv        azure-keyvault

With several vaultline providers of one type, the one named like the ESO store is used.
Keys that cannot be checked (a templated key, a ``find``, a store missing from the tree or of
another type) are listed in the report's notes, not counted as drift.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from vaultline.drift._audit import DriftAudit
from vaultline.drift.model import ERROR, MISSING, DriftItem, DriftReport
from vaultline.errors import (
    AuthenticationError,
    ConfigError,
    PermissionDeniedError,
    ProviderError,
    ProviderUnavailableError,
)
from vaultline.inventory import Resource, StoreRef, scan_tree
from vaultline.inventory.index import ES_KINDS, PUSH_KINDS, Index
from vaultline.inventory.resources import is_templated
from vaultline.project.reference import Reference
from vaultline.providers import registry
from vaultline.providers.base import Provider, ProviderConfig
from vaultline.resolve.resolver import select_field
from vaultline.resolve.session import Session

ESO_PROVIDER_TYPES = {"vault": "vault", "aws": "aws-secretsmanager", "azurekv": "azure-keyvault"}
_CANNOT_LOOK = (AuthenticationError, PermissionDeniedError, ProviderUnavailableError)


@dataclass(frozen=True, slots=True)
class _Check:
    resource: Resource
    key: str
    field: str | None  # the remote ref's ``property``
    mode: str

    def where(self, root: Path | str) -> str:
        """FILE:LINE with the file under the tree as it was given (the inventory's are relative)."""
        return f"{Path(root) / self.resource.file}:{self.resource.line}"

    @property
    def reference(self) -> str:
        return f"{self.resource.ref} {self.mode} {self.key}" + (
            f"#{self.field}" if self.field else "")


def check_inventory(session: Session, path: Path | str) -> DriftReport:
    inventory = scan_tree(path)
    report = DriftReport("inventory", session.env, extra={"inventory": str(path)})
    index = Index.build(inventory.resources)
    providers = _Providers(session, report)
    wanted: dict[tuple[str, str], list[_Check]] = defaultdict(list)  # (provider, mount) -> checks
    for resource in inventory.resources:
        if resource.kind not in ES_KINDS | PUSH_KINDS:
            continue
        for ref in resource.remote_refs:
            if ref.mode == "find" or is_templated(ref.key) or is_templated(ref.property):
                where = f"{Path(path) / resource.file}:{resource.line}"
                report.notes.append(f"{where}: {resource.ref}: remote key {ref.key!r} "
                                    f"({ref.mode}) is a search or templated; not checked")
                continue
            stores = ([s for s in resource.store_refs if s.name == ref.store] or
                      [StoreRef(ref.store)]) if ref.store else list(resource.store_refs)
            for store_ref in stores:
                target = providers.for_store(index, store_ref, resource)
                if target is not None:
                    wanted[target].append(_Check(resource, ref.key, ref.property, ref.mode))
    trail = DriftAudit(session.env)
    try:
        for target, checks in sorted(wanted.items()):
            _check_keys(providers.get(target), checks, report, trail, path)
    finally:
        providers.close()
        trail.flush(session.audit)
    report.checked["remote_keys"] = sum(len(c) for c in wanted.values())
    report.checked["resources"] = sum(r.kind in ES_KINDS | PUSH_KINDS for r in inventory.resources)
    return report


def _check_keys(provider: Provider, checks: list[_Check], report: DriftReport,
                trail: DriftAudit, root: Path | str) -> None:
    results = provider.fetch_many([(c.key, None) for c in checks])
    trail.read(provider, "*", "inventory", remote_keys=len(results),
               unreadable=sum(isinstance(r, ProviderError) for r in results.values()))
    for check in checks:
        result = results[(check.key, None)]
        reason: str | None = None
        kind = MISSING
        if isinstance(result, _CANNOT_LOOK):
            kind, reason = ERROR, result.reason
        elif isinstance(result, ProviderError):
            reason = result.reason + (" (not pushed yet)" if check.mode == "push" else "")
        elif check.field is not None:
            try:
                select_field(result, Reference(provider.name, check.key, check.field))
            except ProviderError as exc:
                reason = exc.reason
        if reason is not None:
            report.items.append(DriftItem(kind, provider.name, provider.display_path(check.key),
                                          reason, None, check.reference, check.where(root)))


class _Providers:
    """vaultline providers for ESO stores, one instance per (provider, mount)."""

    def __init__(self, session: Session, report: DriftReport) -> None:
        self.session = session
        self.report = report
        self.configs: dict[tuple[str, str], ProviderConfig] = {}
        self.open: dict[tuple[str, str], Provider] = {}
        self.skipped: set[str] = set()

    def for_store(self, index: Index, ref: StoreRef, resource: Resource) -> tuple[str, str] | None:
        store = index.store(ref, resource.namespace)
        if store is None:
            self._skip(f"{ref.kind} {ref.name!r} is not defined in the tree (inventory rule "
                       "INV004 reports it); its keys are not checked")
            return None
        ptype = ESO_PROVIDER_TYPES.get(store.provider or "")
        if ptype is None or (store.provider == "aws" and
                             (store.provider_detail or "SecretsManager") != "SecretsManager"):
            self._skip(f"{store.ref}: ESO provider {store.provider!r} "
                       f"{store.provider_detail or ''} has no vaultline provider; not checked")
            return None
        candidates = {n: c for n, c in self.session.project.providers.items() if c.type == ptype}
        if len(candidates) > 1:
            candidates = {n: c for n, c in candidates.items() if n == store.name}
        if len(candidates) != 1:
            self._skip(f"{store.ref}: configure one provider of type {ptype!r} in vaultline.yaml "
                       f"(or several, one named {store.name!r}) to check its keys")
            return None
        (name, config), = candidates.items()
        mount = ""
        if ptype == "vault":
            found = re.search(r"mount=(\S+)", store.provider_detail or "")
            mount = found.group(1) if found else str(config.options.get("mount", "kv"))
        self.configs.setdefault((name, mount), config)
        return name, mount

    def _skip(self, note: str) -> None:
        if note not in self.skipped:
            self.skipped.add(note)
            self.report.notes.append(note)

    def get(self, target: tuple[str, str]) -> Provider:
        if target not in self.open:
            name, mount = target
            config = self.configs[target]
            options = dict(config.options)
            if config.type == "vault":
                # ESO keys are full paths under the store's mount: no vaultline prefix.
                options.update(prefix="", mount=mount)
            context = self.session.project.provider_context(self.session.env or "-",
                                                           self.session.environ)
            try:
                self.open[target] = registry.create(ProviderConfig(name, config.type, options),
                                                    context)
            except ImportError as exc:  # a provider module this installation does not ship
                raise ConfigError(f"provider {name!r}: type {config.type!r} is not available "
                                  f"in this vaultline ({exc.name})") from None
        return self.open[target]

    def close(self) -> None:
        for provider in self.open.values():
            provider.close()
