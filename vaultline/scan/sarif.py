"""SARIF 2.1.0 output, in the shape GitHub code scanning accepts.

GitHub needs ``runs[].tool.driver.rules`` with ids, ``results[]`` with ``ruleId``,
``message.text`` and a physical location (relative URI, 1-based region), and it uses
``partialFingerprints`` to track a result across commits: ours is the finding fingerprint.
"""

from __future__ import annotations

from typing import Any

from vaultline.findings import Severity
from vaultline.scan.detectors import all_detectors
from vaultline.scan.finding import Finding

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
HYGIENE_RULES = {
    "hygiene-tracked-env-file": "A .env file is tracked by git",
    "hygiene-env-not-ignored": ".gitignore does not cover .env files",
}


def _rules() -> list[dict[str, Any]]:
    described = [(d.rule_id, d.description) for d in all_detectors()]
    described += list(HYGIENE_RULES.items())
    return [
        {
            "id": rule_id,
            "name": "".join(part.capitalize() for part in rule_id.split("-")),
            "shortDescription": {"text": description},
            "fullDescription": {"text": description},
            "defaultConfiguration": {"level": "error"},
            "properties": {
                "tags": ["security", "secret"],
                "precision": "high" if rule_id != "generic-secret" else "medium",
                "security-severity": "8.0" if not rule_id.startswith("hygiene") else "5.0",
            },
        }
        for rule_id, description in described
    ]


def to_sarif(findings: list[Finding], *, version: str) -> dict[str, Any]:
    rules = _rules()
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    results = []
    for f in findings:
        secret = "" if "hygiene" in f.tags else f" ({f.masked})"
        result: dict[str, Any] = {
            "ruleId": f.rule_id,
            "ruleIndex": index[f.rule_id],
            "level": "error" if f.severity is Severity.HIGH else "warning",
            "message": {"text": f"{f.description}{secret}"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.path, "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": f.line, "startColumn": f.column},
                    }
                }
            ],
            "partialFingerprints": {"vaultlineSecret/v1": f.fingerprint},
        }
        properties: dict[str, Any] = {}
        if f.commit:
            properties["commit"] = f.commit
        if f.tags:
            properties["tags"] = list(f.tags)
        if properties:
            result["properties"] = properties
        results.append(result)
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "vaultline",
                        "version": version,
                        "informationUri": "https://github.com/vaultline/vaultline",
                        "rules": rules,
                    }
                },
                "columnKind": "unicodeCodePoints",  # Finding.column counts characters
                "results": results,
            }
        ],
    }
