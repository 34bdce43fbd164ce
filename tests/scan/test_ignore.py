"""``.gitignore`` patterns match the names git matches, no more: a name git tracks because no
pattern covers it (``settings.log`` followed by a newline, against ``*.log``) is read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.scan.conftest import GIT_ENV, Repo, secret
from vaultline.scan.ignore import IgnoreRules, is_ignored, parse

ROOT = Path(__file__).resolve().parents[2]

# (pattern, name): names with a newline or CR inside or at the end, against globs that end
# where the name would end without it.
CASES = [
    ("*.log", "settings.log\n"),
    ("*.log", "settings.log"),
    ("*.log", "a\nb.log"),
    ("secret.env", "secret.env\n"),
    ("/build", "build\n"),
    ("docs/**", "docs/a\nb"),
    ("**/cache", "x\ny/cache"),
    ("ab?", "ab\n"),
    ("*.txt", "notes.txt\r"),
]


@pytest.mark.parametrize(("pattern", "name"), CASES)
def test_a_pattern_ignores_what_git_ignores(tmp_path: Path, pattern: str, name: str) -> None:
    repo = Repo(tmp_path / "repo")
    (repo.root / ".gitignore").write_text(pattern + "\n")
    probe = subprocess.run(["git", "check-ignore", "-q", "--no-index", "--stdin", "-z"],
                           input=(name + "\0").encode(), cwd=repo.root, capture_output=True,
                           env={**os.environ, **GIT_ENV}, check=False)
    assert probe.returncode in (0, 1), probe.stderr
    rules = IgnoreRules("", tuple(parse(pattern)))
    assert is_ignored([rules], name, is_dir=False) == (probe.returncode == 0)


def test_a_tracked_file_whose_name_ends_in_a_newline_is_scanned(repo: Repo) -> None:
    repo.write(".gitignore", "*.log\n")
    repo.write("settings.log\n", f'TOKEN = "{secret("github-pat")}"\n')
    repo.commit("settings")
    assert "settings.log\n" in repo.git("ls-files", "-z").split("\0")
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from vaultline.cli import main; sys.exit(main())",
         "scan", ".", "--no-hygiene", "--format", "json"], cwd=repo.root, capture_output=True,
        text=True, env={**os.environ, **GIT_ENV, "PYTHONPATH": str(ROOT)}, timeout=120,
        check=False)
    assert done.returncode == 1, done.stderr
    assert [f["path"] for f in json.loads(done.stdout)["findings"]] == ["settings.log\n"]


def test_a_tracked_file_gitignore_matches_is_scanned(repo: Repo) -> None:
    """``git add -f`` puts an ignored file in the repository: only .vaultlineignore leaves it out."""
    repo.write(".gitignore", "*.local.json\nbuild/\n")
    repo.write(".vaultlineignore", "build/vendor/\n")
    tracked = ["prod.local.json", "build/out/keys.json"]
    untracked = ["dev.local.json", "build/out/cache.json", "build/other/x.json"]
    for i, path in enumerate(tracked + untracked + ["build/vendor/lib.json"]):
        repo.write(path, f'{{"token": "{secret("github-pat", i)}"}}\n')
    repo.git("add", ".gitignore", ".vaultlineignore")
    repo.git("add", "-f", *tracked, "build/vendor/lib.json")
    repo.commit("init")
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from vaultline.cli import main; sys.exit(main())",
         "scan", ".", "--no-hygiene", "--format", "json"], cwd=repo.root, capture_output=True,
        text=True, env={**os.environ, **GIT_ENV, "PYTHONPATH": str(ROOT)}, timeout=120,
        check=False)
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert sorted(f["path"] for f in report["findings"]) == sorted(tracked)
    # dev.local.json, build/out/cache.json, build/other/ and build/vendor/
    assert report["stats"]["skipped_ignored"] == 4


def test_scanning_a_subdirectory_finds_its_tracked_ignored_files(repo: Repo) -> None:
    repo.write(".gitignore", "*.pem\n")
    repo.write("deploy/tls/site.pem", secret("pem-rsa-private-key") + "\n")
    repo.write("deploy/tls/new.pem", secret("pem-rsa-private-key", 1) + "\n")
    repo.git("add", ".gitignore")
    repo.git("add", "-f", "deploy/tls/site.pem")
    repo.commit("init")
    from vaultline.scan.runner import scan_paths

    result = scan_paths([repo.root / "deploy"], jobs=1)
    assert [Path(f.path).name for f in result.findings] == ["site.pem"]


def test_outside_git_gitignore_still_excludes(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("*.local.json\n")
    (tmp_path / "prod.local.json").write_text(f'{{"token": "{secret("github-pat")}"}}\n')
    from vaultline.scan.runner import scan_paths

    result = scan_paths([tmp_path], jobs=1)
    assert result.findings == [] and result.stats.skipped_ignored == 1
