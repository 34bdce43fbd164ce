"""Scanner figures for the hardening table: per-family precision/recall of vaultline,
gitleaks and detect-secrets on the realistic corpus (a small scale), F1 ratio last."""

from __future__ import annotations

from collections.abc import Iterator

from scan_realistic import report


def figures() -> Iterator[str]:
    yield from report(scale=0.25, seed=17)
