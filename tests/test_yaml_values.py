"""YAML values every output can carry, through the real CLI: what the loader keeps as the text
it was written as, and what it refuses at its line (``vaultline.project._yaml``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.factory import make_project, master_key_env, vaultline

PROJECT = "version: 1\napp: demo\nenvironments: [prod]\n"


def _strict_json(text: str) -> Any:
    """JSON as RFC 8259 has it: NaN and Infinity are not JSON."""
    def refuse(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")
    return json.loads(text, parse_constant=refuse)


def _project(root: Path, files: dict[str, str]) -> dict[str, str]:
    environ = master_key_env()
    make_project(root, {"vaultline.yaml": PROJECT, "env/prod/values.yaml": "",
                        "env/prod/secrets.yaml": "", **files}, environ=environ)
    return environ


# values.yaml -> what every format gives: timestamps and keys as they were written.
KEPT = [
    ("Since: 2020-01-01\n", {"Since": "2020-01-01"}),
    ("At: 2020-01-01T10:00:00Z\n", {"At": "2020-01-01T10:00:00Z"}),
    ("At: 2020-01-01 10:00:00.5\n", {"At": "2020-01-01 10:00:00.5"}),
    ("Day: !!timestamp 2024-13-45\n", {"Day": "2024-13-45"}),
    ("null: a\ntrue: b\n'on': c\nNO: d\n0x1F: e\n",
     {"null": "a", "true": "b", "on": "c", "NO": "d", "0x1F": "e"}),
    ("Ports: [{80: http, ~: x}]\nDates: [2020-01-01]\n",
     {"Ports": [{"80": "http", "~": "x"}], "Dates": ["2020-01-01"]}),
]


@pytest.mark.parametrize(("values", "expected"), KEPT, ids=[v.replace("\n", " ") for v, _ in KEPT])
def test_every_format_gives_the_value_as_written(tmp_path: Path, values: str,
                                                 expected: dict[str, Any]) -> None:
    environ = _project(tmp_path, {"env/prod/values.yaml": values})
    outputs = {}
    for fmt in ("json", "flat-json", "yaml"):
        done = vaultline(tmp_path, environ, "resolve", "--env", "prod", "--format", fmt)
        assert done.returncode == 0, done.stderr
        outputs[fmt] = done.stdout
    assert _strict_json(outputs["json"]) == expected
    assert _strict_json(outputs["flat-json"]) == expected
    assert yaml.safe_load(outputs["yaml"]) == expected
    key = next(iter(expected))
    explained = vaultline(tmp_path, environ, "env", "explain", key, "--env", "prod",
                          "--format", "json")
    assert explained.returncode == 0, explained.stderr
    shown = _strict_json(explained.stdout)["candidates"][0]["value"]
    assert shown == (expected[key] if isinstance(expected[key], str)
                     else json.dumps(expected[key], separators=(",", ":")))


def test_a_date_is_the_same_text_in_the_shell_and_in_json(tmp_path: Path) -> None:
    environ = _project(tmp_path, {"env/prod/values.yaml": "At: 2020-01-01T10:00:00Z\n"})
    shell = vaultline(tmp_path, environ, "resolve", "--env", "prod", "--format", "shell")
    assert shell.stdout.strip() == "export AT=2020-01-01T10:00:00Z"


def _not_finite(text: str) -> str:
    return (f"{text} is not a finite number, which JSON cannot carry; quote it ('{text}') if "
            "the text is meant")


BINARY = ("a !!binary value is bytes, which JSON and environment variables cannot carry; drop "
          "the tag to keep the base64 text")
SET = "JSON has no set type; write a !!set as a list ([a, b])"
# (file, text, the one-line error) for values JSON has no form for.
REFUSED = [
    ("env/prod/values.yaml", "a: 1\nb: !!binary aGk=\n", f"env/prod/values.yaml:2: 'b': {BINARY}"),
    ("env/prod/values.yaml", "a: !!set {x, y}\n", f"env/prod/values.yaml:1: 'a': {SET}"),
    ("env/prod/values.yaml", "a: .nan\n", f"env/prod/values.yaml:1: 'a': {_not_finite('.nan')}"),
    ("env/prod/values.yaml", "a: 1\nb: -.inf\n",
     f"env/prod/values.yaml:2: 'b': {_not_finite('-.inf')}"),
    ("env/prod/values.yaml", "A:\n  B: [1, 1.0e+999]\n",
     f"env/prod/values.yaml:2: 'A:B': {_not_finite('1.0e+999')}"),
    ("vaultline.yaml", PROJECT + "schema: {a: {default: !!binary aGk=}}\n",
     f"vaultline.yaml:4: 'schema:a:default': {BINARY}"),
    ("vaultline.yaml", PROJECT + "defaults:\n  Timeout: .inf\n",
     f"vaultline.yaml:5: 'defaults:Timeout': {_not_finite('.inf')}"),
]


@pytest.mark.parametrize(("name", "text", "message"), REFUSED, ids=[t.splitlines()[-1] for _, t, _ in REFUSED])
@pytest.mark.parametrize("fmt", ["json", "flat-json", "shell"])
def test_a_value_json_cannot_carry_is_refused_at_its_line(tmp_path: Path, name: str, text: str,
                                                          message: str, fmt: str) -> None:
    environ = _project(tmp_path, {name: text})
    done = vaultline(tmp_path, environ, "resolve", "--env", "prod", "--format", fmt)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"vaultline: error: {message}\n"


def test_a_second_resolve_from_the_parse_cache_gives_the_same(tmp_path: Path) -> None:
    environ = _project(tmp_path, {"vaultline.yaml": PROJECT + "defaults: {Day: 2020-01-01}\n",
                                  "env/prod/values.yaml": "null: 2020-01-02T03:04:05Z\n"})
    runs = [vaultline(tmp_path, environ, "resolve", "--env", "prod", "--format", "json")
            for _ in range(2)]
    assert [_strict_json(r.stdout) for r in runs] == [
        {"Day": "2020-01-01", "null": "2020-01-02T03:04:05Z"}] * 2
    assert len(list((tmp_path / ".vaultline" / "cache").iterdir())) == 3  # and secrets.yaml
