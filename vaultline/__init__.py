"""vaultline: layered configuration and secrets for every environment.

    >>> import vaultline
    >>> bundle = vaultline.load(env="prod", project_dir=".")
    >>> bundle["ConnectionStrings:Primary"]          # flat access
    >>> bundle["ConnectionStrings"]["Primary"]        # nested access
    >>> bundle.explain("ConnectionStrings:Primary")   # the winner and what it shadowed

Names are imported on first use so that ``import vaultline`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vaultline.api import load
    from vaultline.bundle import Bundle, Explanation, Layer, Provenance, ResolvedValue
    from vaultline.errors import (
        ConfigError,
        ProviderError,
        ResolutionError,
        VaultlineError,
    )
    from vaultline.keys import KeyManager, KeyRing
    from vaultline.project import Project
    from vaultline.reference import Reference
    from vaultline.resolver import Resolver
    from vaultline.store import EmbeddedStore

_EXPORTS = {
    "load": "vaultline.api",
    "Bundle": "vaultline.bundle",
    "Explanation": "vaultline.bundle",
    "Layer": "vaultline.bundle",
    "Provenance": "vaultline.bundle",
    "ResolvedValue": "vaultline.bundle",
    "ConfigError": "vaultline.errors",
    "ProviderError": "vaultline.errors",
    "ResolutionError": "vaultline.errors",
    "VaultlineError": "vaultline.errors",
    "KeyManager": "vaultline.keys",
    "KeyRing": "vaultline.keys",
    "Project": "vaultline.project",
    "Reference": "vaultline.reference",
    "Resolver": "vaultline.resolver",
    "EmbeddedStore": "vaultline.store",
}

__all__ = [
    "Bundle",
    "ConfigError",
    "EmbeddedStore",
    "Explanation",
    "KeyManager",
    "KeyRing",
    "Layer",
    "Project",
    "Provenance",
    "ProviderError",
    "Reference",
    "ResolutionError",
    "ResolvedValue",
    "Resolver",
    "VaultlineError",
    "load",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'vaultline' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
