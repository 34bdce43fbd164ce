"""The detector registry: every family module's ``DETECTORS``, in one ordered tuple.

Add a family by writing ``detectors/<family>.py`` with a ``DETECTORS`` tuple and naming it
in ``_FAMILIES``; rule ids are unique across families (checked at import).
"""

from __future__ import annotations

import importlib
from functools import cache

from vaultline.scan.detectors._base import Detector, rule

__all__ = ["Detector", "all_detectors", "by_rule_id", "rule"]

_FAMILIES = (
    "aws", "github", "gitlab", "slack", "payments", "google", "azure", "ai", "packages",
    "docker", "hashicorp", "comms", "keys", "jwt", "urls", "saas", "headers", "cli_flags",
    "sql", "setters", "generic",
)


@cache
def all_detectors() -> tuple[Detector, ...]:
    detectors: list[Detector] = []
    seen: set[str] = set()
    for family in _FAMILIES:
        module = importlib.import_module(f"vaultline.scan.detectors.{family}")
        for detector in module.DETECTORS:
            if detector.rule_id in seen:
                raise ValueError(f"duplicate scan rule id {detector.rule_id!r} in {family}")
            seen.add(detector.rule_id)
            detectors.append(detector)
    return tuple(detectors)


def by_rule_id() -> dict[str, Detector]:
    return {d.rule_id: d for d in all_detectors()}
