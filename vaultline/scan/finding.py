"""A finding: one secret at one place, with a fingerprint that survives moving code."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from vaultline.findings import Finding as BaseFinding
from vaultline.findings import Severity


def fingerprint(rule_id: str, path: str, secret: str) -> str:
    """Rule, path and secret hash: no line, so moving code inside a file, or regenerating
    it, keeps a finding's identity; the same secret in another file is another leak.

    The secret is hashed first so that the fingerprint (which goes into baselines and SARIF)
    can never be reversed into, or compared against, a short secret by brute force of the
    fingerprint format alone.
    """
    secret_hash = hashlib.sha256(secret.encode()).hexdigest()
    return hashlib.sha256(f"{rule_id}:{path}:{secret_hash}".encode()).hexdigest()[:32]


def mask(secret: str, keep: int = 4) -> str:
    """The first ``keep`` characters, then asterisks: enough to recognise, not to use."""
    return secret[:keep] + "*" * min(max(len(secret) - keep, 4), 16)


@dataclass(frozen=True)
class Finding(BaseFinding):
    rule_id: str
    description: str
    path: str
    line: int
    column: int
    secret: str = field(repr=False)
    # Set for --history and --staged findings: where the secret was first seen.
    commit: str | None = None
    # "test-fixture", "hygiene", "baseline"... kept in output, never used for identity.
    tags: tuple[str, ...] = ()
    # HIGH, or LOW for credentials that need something more to use (encrypted keys).
    severity: Severity = Severity.HIGH
    # Where the secret starts in the text scanned, in bytes (of its UTF-8): not part of the
    # finding's identity or of any report.
    offset: int = field(default=0, compare=False, repr=False)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.rule_id, self.path, self.secret)

    @property
    def masked(self) -> str:
        return mask(self.secret)

    @property
    def message(self) -> str:
        return self.description

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape: everything but the secret, which appears masked, and the
        fingerprint after it (the one finding whose fields are not its JSON as they are)."""
        return {
            "rule_id": self.rule_id,
            "description": self.description,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "secret": self.masked,
            "fingerprint": self.fingerprint,
            "commit": self.commit,
            "tags": list(self.tags),
            "severity": self.severity.value,
        }

    def __repr__(self) -> str:
        return (
            f"Finding({self.rule_id!r}, {self.path!r}:{self.line}, secret={self.masked!r}"
            f"{', commit=' + repr(self.commit) if self.commit else ''})"
        )
