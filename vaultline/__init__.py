"""vaultline: layered configuration and secrets for every environment.

    >>> import vaultline
    >>> bundle = vaultline.load(env="prod", project_dir=".")
    >>> bundle["ConnectionStrings:Primary"]          # flat access
    >>> bundle["ConnectionStrings"]["Primary"]        # nested access
    >>> bundle.explain("ConnectionStrings:Primary")   # the winner and what it shadowed

``load`` and ``Session`` are the front door: they apply overrides and write the audit log.
``Resolver`` is the low-level, unaudited layer underneath (no overrides, no audit lines).

Names are imported on first use so that ``import vaultline`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vaultline.errors import (
        AuditDamageWarning,
        AuditError,
        AuthenticationError,
        CommandNotExecutableError,
        CommandNotFoundError,
        ConfigError,
        IntegrityError,
        InventoryError,
        KeyManagementError,
        KeyUsageError,
        LoosePermissionsError,
        MasterKeyError,
        MissingExtraError,
        MissingSecretError,
        OverrideError,
        PermissionDeniedError,
        PolicyError,
        ProviderError,
        ProviderUnavailableError,
        ReservedPathError,
        ResolutionError,
        RotationError,
        ScanError,
        SecretNotFoundError,
        StoreError,
        VaultlineError,
        VaultlineWarning,
        VerificationError,
        VersionConflictError,
    )
    from vaultline.keys import KeyManager, KeyRing
    from vaultline.project.model import Project
    from vaultline.project.reference import Reference
    from vaultline.resolve.api import load
    from vaultline.resolve.bundle import Bundle, Explanation, Layer, Provenance, ResolvedValue
    from vaultline.resolve.resolver import Resolver
    from vaultline.resolve.session import Session
    from vaultline.store import EmbeddedStore

    __version__: str

_EXPORTS = {
    "load": "vaultline.resolve.api",
    "Bundle": "vaultline.resolve.bundle",
    "Explanation": "vaultline.resolve.bundle",
    "Layer": "vaultline.resolve.bundle",
    "Provenance": "vaultline.resolve.bundle",
    "ResolvedValue": "vaultline.resolve.bundle",
    "AuditError": "vaultline.errors",
    "AuthenticationError": "vaultline.errors",
    "CommandNotExecutableError": "vaultline.errors",
    "CommandNotFoundError": "vaultline.errors",
    "ConfigError": "vaultline.errors",
    "IntegrityError": "vaultline.errors",
    "InventoryError": "vaultline.errors",
    "KeyManagementError": "vaultline.errors",
    "KeyUsageError": "vaultline.errors",
    "LoosePermissionsError": "vaultline.errors",
    "MasterKeyError": "vaultline.errors",
    "MissingExtraError": "vaultline.errors",
    "MissingSecretError": "vaultline.errors",
    "OverrideError": "vaultline.errors",
    "PermissionDeniedError": "vaultline.errors",
    "PolicyError": "vaultline.errors",
    "ProviderError": "vaultline.errors",
    "ProviderUnavailableError": "vaultline.errors",
    "ResolutionError": "vaultline.errors",
    "ReservedPathError": "vaultline.errors",
    "RotationError": "vaultline.errors",
    "ScanError": "vaultline.errors",
    "SecretNotFoundError": "vaultline.errors",
    "StoreError": "vaultline.errors",
    "VaultlineError": "vaultline.errors",
    "VerificationError": "vaultline.errors",
    "VersionConflictError": "vaultline.errors",
    "AuditDamageWarning": "vaultline.errors",
    "VaultlineWarning": "vaultline.errors",
    "KeyManager": "vaultline.keys",
    "KeyRing": "vaultline.keys",
    "Project": "vaultline.project.model",
    "Reference": "vaultline.project.reference",
    "Resolver": "vaultline.resolve.resolver",
    "Session": "vaultline.resolve.session",
    "EmbeddedStore": "vaultline.store",
}

__all__ = [
    "AuditDamageWarning",
    "AuditError",
    "AuthenticationError",
    "Bundle",
    "CommandNotExecutableError",
    "CommandNotFoundError",
    "ConfigError",
    "EmbeddedStore",
    "Explanation",
    "IntegrityError",
    "InventoryError",
    "KeyManagementError",
    "KeyManager",
    "KeyRing",
    "KeyUsageError",
    "Layer",
    "LoosePermissionsError",
    "MasterKeyError",
    "MissingExtraError",
    "MissingSecretError",
    "OverrideError",
    "PermissionDeniedError",
    "PolicyError",
    "Project",
    "Provenance",
    "ProviderError",
    "ProviderUnavailableError",
    "Reference",
    "ReservedPathError",
    "ResolutionError",
    "ResolvedValue",
    "Resolver",
    "RotationError",
    "ScanError",
    "SecretNotFoundError",
    "Session",
    "StoreError",
    "VaultlineError",
    "VaultlineWarning",
    "VerificationError",
    "VersionConflictError",
    "__version__",
    "load",
]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value: Any = _version()
    else:
        module = _EXPORTS.get(name)
        if module is None:
            raise AttributeError(f"module 'vaultline' has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("vaultline")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0"
