"""Kubernetes secrets inventory: which secret resources a repository holds, where each
secret's value comes from, and which of them break the authority rules.

    >>> from vaultline.inventory import scan_tree
    >>> inventory = scan_tree("deploy/")            # doctest: +SKIP
    >>> [f.rule for f in inventory.errors]          # doctest: +SKIP
"""

from vaultline.inventory.model import (
    SCHEMA_VERSION,
    Finding,
    Inventory,
    ParseFailure,
    RemoteRef,
    Resource,
    StoreRef,
)
from vaultline.inventory.scan import scan_tree

__all__ = [
    "SCHEMA_VERSION",
    "Finding",
    "Inventory",
    "ParseFailure",
    "RemoteRef",
    "Resource",
    "StoreRef",
    "scan_tree",
]
