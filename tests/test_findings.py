"""Every kind of finding shares one Severity scale and one base: severity, message, to_dict()."""

from __future__ import annotations

import json

import pytest

from vaultline.audit import report
from vaultline.check import gate as checks
from vaultline.findings import Finding, Severity
from vaultline.inventory import model as inventory
from vaultline.policy import model as policy
from vaultline.scan import finding as scan

SECRET = "ghp_" + "k3Vq9ZtR" * 4 + "Ab12"

FINDINGS: list[tuple[Finding, Severity, str, list[str]]] = [
    (checks.Finding("gitignore", Severity.ERROR, ".env", "not ignored"), Severity.ERROR,
     "not ignored", ["check", "severity", "key", "problem"]),
    (policy.Finding("POL004", "sudo", Severity.ERROR, "a.hcl", 3, "sys/*", "grants sudo", "drop it"),
     Severity.ERROR, "grants sudo",
     ["rule", "name", "severity", "file", "line", "path", "message", "fix"]),
    (inventory.Finding("INV006", "parse-error", Severity.WARNING, "k.yaml", 1, "Secret/x",
                       "could not be parsed", "fix the YAML"), Severity.WARNING,
     "could not be parsed",
     ["rule", "name", "severity", "file", "line", "resource", "message", "fix"]),
    (scan.Finding("github-pat", "GitHub token", "app.py", 2, 5, SECRET, tags=("hygiene",)),
     Severity.HIGH, "GitHub token",
     ["rule_id", "description", "path", "line", "column", "secret", "fingerprint", "commit",
      "tags", "severity"]),
    (report.Finding(report.LOG_BREAK, 7, "2026-01-01T00:00:00Z", "ci", "log damaged", ["K"]),
     Severity.ERROR, "log damaged",
     ["kind", "seq", "time", "end_time", "actor", "env", "keys", "count", "summary"]),
]


@pytest.mark.parametrize(("finding", "severity", "message", "keys"), FINDINGS,
                         ids=lambda v: type(v).__module__ if isinstance(v, Finding) else "")
def test_every_finding_shares_the_base(finding: Finding, severity: Severity, message: str,
                                       keys: list[str]) -> None:
    assert isinstance(finding, Finding)
    assert finding.severity is severity
    assert finding.message == message
    data = finding.to_dict()
    assert list(data) == keys
    # The JSON shape is plain data: the severity as its string, sequences as lists.
    assert json.loads(json.dumps(data)) == data
    assert all(type(v) in (str, int, list, type(None)) for v in data.values())
    if "severity" in data:
        assert type(data["severity"]) is str and data["severity"] == severity.value
    assert SECRET not in json.dumps(data)


def test_severity_order_most_severe_first() -> None:
    ranked = sorted(Severity, key=lambda s: s.rank)
    assert [s.rank for s in ranked] == [0, 0, 1, 1, 2]
    assert Severity.ERROR.rank == Severity.HIGH.rank < Severity.WARNING.rank == Severity.LOW.rank
    assert Severity.LOW.rank < Severity.INFO.rank
    assert f"{Severity.WARNING}" == str(Severity.WARNING) == "warning"


def test_every_severity_in_use_is_on_the_scale() -> None:
    from vaultline.inventory.rules import RULES as INVENTORY_RULES
    from vaultline.policy.rules import RULES as POLICY_RULES
    from vaultline.scan.detectors import all_detectors

    used = ({r.severity for r in INVENTORY_RULES} | {sev for _, _, sev, _ in POLICY_RULES}
            | {d.severity for d in all_detectors()})
    assert used and all(type(s) is Severity for s in used)
