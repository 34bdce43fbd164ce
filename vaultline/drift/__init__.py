"""Drift and parity: what the environment packs reference against what
the stores hold, a source against its mirror, and a manifests tree against the stores.

    >>> from vaultline.drift import check_environment
    >>> with Session(Project.load(), "prod") as session:      # doctest: +SKIP
    ...     report = check_environment(session)
    >>> [(i.kind, i.path) for i in report.items]              # doctest: +SKIP

Every check is audited (one ``read`` per provider and purpose) and reports paths, never values.
"""

from vaultline.drift.environment import check_environment
from vaultline.drift.inventory import check_inventory
from vaultline.drift.mirror import Side, compare_mirror, parse_mirror
from vaultline.drift.model import KINDS, SCHEMA_VERSION, DriftItem, DriftReport

__all__ = [
    "KINDS", "SCHEMA_VERSION", "DriftItem", "DriftReport", "Side", "check_environment",
    "check_inventory", "compare_mirror", "parse_mirror",
]
