"""The baseline: versioned, fingerprinted, independent of line numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.scan.conftest import secret
from vaultline.errors import ScanError
from vaultline.scan import baseline
from vaultline.scan.engine import Scanner
from vaultline.scan.finding import Finding

SCANNER = Scanner()


def test_round_trip_and_moving_code_does_not_make_it_new(tmp_path: Path) -> None:
    token, other = secret("github-pat"), secret("stripe-secret-key")
    before = SCANNER.scan(f'TOKEN = "{token}"\n'.encode(), "config/settings.py")
    path = tmp_path / ".vaultline-baseline.json"
    assert baseline.dump(path, before) == 1
    document = json.loads(path.read_text())
    assert document["version"] == baseline.VERSION and token not in path.read_text()

    moved = f'import os\n\n\nclass Config:\n    TOKEN = "{token}"\n    STRIPE = "{other}"\n'
    after = SCANNER.scan(moved.encode(), "config/settings.py")
    new, known = baseline.split(after, baseline.load(path))
    assert [f.rule_id for f in known] == ["github-pat"]
    assert [f.rule_id for f in new] == ["stripe-secret-key"]
    # The same secret pasted into another file is another place to clean up.
    elsewhere = SCANNER.scan(f'TOKEN = "{token}"\n'.encode(), "scripts/release.py")
    assert baseline.split(elsewhere, baseline.load(path))[0] == elsewhere


def test_regenerating_after_moving_code_gives_the_same_bytes(tmp_path: Path) -> None:
    token, other = secret("github-pat"), secret("npm-access-token")
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    baseline.dump(first, SCANNER.scan(f'A = "{token}"\nB = "{other}"\n'.encode(), "app.py"))
    shifted = f'# header\n\n\nB = "{other}"\n\n\nA = "{token}"\n'
    baseline.dump(second, SCANNER.scan(shifted.encode(), "app.py"))
    assert first.read_bytes() == second.read_bytes()
    text = first.read_text()
    assert '"line"' not in text and "generated_at" not in text


def test_two_branches_accepting_findings_merge_cleanly(tmp_path: Path) -> None:
    """One entry a line, sorted by path: each branch's acceptance is its own line."""
    import subprocess

    def found(*paths: str) -> list[Finding]:
        return [f for i, p in enumerate(paths)
                for f in SCANNER.scan(f'A = "{secret("github-pat", i)}"\n'.encode(), p)]

    shared = ("b/app.py", "m/app.py", "y/app.py")
    base, left, right = (tmp_path / n for n in ("base.json", "left.json", "right.json"))
    baseline.dump(base, found(*shared))
    baseline.dump(left, found(*shared) + found("c/new.py"))
    baseline.dump(right, found(*shared) + found("n/new.py"))
    done = subprocess.run(["git", "merge-file", "-p", str(left), str(base), str(right)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout
    merged = tmp_path / "merged.json"
    merged.write_text(done.stdout)
    assert len(baseline.load(merged)) == 5


def test_version_1_baselines_are_still_read(tmp_path: Path) -> None:
    token = secret("github-pat")
    found = SCANNER.scan(f'TOKEN = "{token}"\n'.encode(), "app.py")
    legacy = tmp_path / "v1.json"
    legacy.write_text(json.dumps({"version": 1, "generated_at": "2025-01-01T00:00:00+00:00",
                                  "findings": [{"fingerprint": baseline._legacy_fingerprint(
                                      "github-pat", token), "line": 9}]}))
    assert baseline.split(found, baseline.load(legacy)) == ([], found)


def test_gitleaksignore_is_read(tmp_path: Path) -> None:
    token = secret("github-pat")
    found = SCANNER.scan(f'\nTOKEN = "{token}"\n'.encode(), "src/app.py")
    ignore = tmp_path / ".gitleaksignore"
    ignore.write_text("# triaged\nsrc/app.py:github-pat:2\n"
                      "0123abcd0123abcd0123abcd0123abcd0123abcd:other.py:generic-api-key:7\n")
    assert baseline.split(found, baseline.load_foreign(ignore)) == ([], found)
    ignore.write_text("src/app.py:github-pat:3\n")
    assert baseline.split(found, baseline.load_foreign(ignore))[0] == found
    ignore.write_text("just some words\n")
    with pytest.raises(ScanError, match=r"\.gitleaksignore:1:"):
        baseline.load_foreign(ignore)


def test_detect_secrets_baseline_is_read(tmp_path: Path) -> None:
    import hashlib

    token = secret("github-pat")
    found = SCANNER.scan(f'TOKEN = "{token}"\n'.encode(), "src/app.py")
    sha1 = hashlib.sha1(token.encode()).hexdigest()
    document = {"version": "1.5.0", "plugins_used": [], "filters_used": [],
                "results": {"src/app.py": [{"type": "GitHub Token", "filename": "src/app.py",
                                            "hashed_secret": sha1, "is_verified": False,
                                            "line_number": 1}]}}
    path = tmp_path / ".secrets.baseline"
    path.write_text(json.dumps(document))
    assert baseline.split(found, baseline.load_foreign(path)) == ([], found)


def test_missing_baseline_is_empty(tmp_path: Path) -> None:
    assert len(baseline.load(tmp_path / "nope.json")) == 0


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


def test_an_entry_accepts_only_the_path_and_rule_it_shows(tmp_path: Path) -> None:
    token = secret("github-pat")
    found = SCANNER.scan(f'TOKEN = "{token}"\n'.encode(), "deploy/prod.py")
    path = tmp_path / ".vaultline-baseline.json"
    baseline.dump(path, found)
    assert baseline.split(found, baseline.load(path)) == ([], found)
    entry = json.loads(path.read_text())["findings"][0]
    # The real secret's fingerprint, shown under a fixture's path or another rule.
    for shown in ({"path": "tests/fixtures/tokens.txt"}, {"rule_id": "generic-secret"}):
        path.write_text(json.dumps({"version": 2, "findings": [{**entry, **shown}]}))
        assert baseline.split(found, baseline.load(path)) == (found, [])
    path.write_text(json.dumps({"version": 2, "findings": [{"fingerprint": entry["fingerprint"]}]}))
    with pytest.raises(ScanError, match="finding 1 needs a fingerprint, a path and a rule_id"):
        baseline.load(path)
