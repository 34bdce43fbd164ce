"""The baseline: versioned, fingerprinted, independent of line numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.scan.conftest import secret
from vaultline.errors import ScanError
from vaultline.scan import baseline
from vaultline.scan.engine import Scanner

SCANNER = Scanner()


def test_round_trip_and_moving_a_secret_does_not_make_it_new(tmp_path: Path) -> None:
    token, other = secret("github-pat"), secret("stripe-secret-key")
    before = SCANNER.scan(f'TOKEN = "{token}"\n'.encode(), "app.py")
    path = tmp_path / ".vaultline-baseline.json"
    assert baseline.dump(path, before) == 1
    document = json.loads(path.read_text())
    assert document["version"] == baseline.VERSION and token not in path.read_text()

    moved = f'import os\n\n\nclass Config:\n    TOKEN = "{token}"\n    STRIPE = "{other}"\n'
    after = SCANNER.scan(moved.encode(), "config/settings.py")
    new, known = baseline.split(after, baseline.load(path))
    assert [f.rule_id for f in known] == ["github-pat"]
    assert [f.rule_id for f in new] == ["stripe-secret-key"]


def test_missing_baseline_is_empty(tmp_path: Path) -> None:
    assert baseline.load(tmp_path / "nope.json") == set()


@pytest.mark.parametrize(
    "content",
    ['{"version": 99, "findings": []}', "not json", '{"findings": "x"}', "[]"],
)
def test_unreadable_or_newer_baseline_is_a_usage_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "b.json"
    path.write_text(content)
    with pytest.raises(ScanError) as raised:
        baseline.load(path)
    assert raised.value.exit_code == 2 and str(path) in str(raised.value)
