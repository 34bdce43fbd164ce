"""``vaultline scan`` through the real executable: exit codes, formats, baseline, ignores."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

from tests.scan.conftest import Repo, secret

Cli = Callable[..., CompletedProcess[str]]


def test_clean_tree_exits_0(tmp_path: Path, cli: Cli) -> None:
    (tmp_path / "app.py").write_text("print('hello')\n")
    done = cli("scan", ".", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "0 new finding(s)" in done.stderr


def test_finding_exits_1_and_text_masks_the_secret(tmp_path: Path, cli: Cli) -> None:
    token = secret("github-pat")
    (tmp_path / "app.py").write_text(f'TOKEN = "{token}"\n')
    done = cli("scan", cwd=tmp_path)
    assert done.returncode == 1
    assert "app.py:1:10" in done.stdout and "github-pat" in done.stdout
    assert token[:4] + "*" in done.stdout
    assert token not in done.stdout + done.stderr


def test_usage_errors_exit_2(tmp_path: Path, cli: Cli) -> None:
    assert cli("scan", "--staged", "--history", cwd=tmp_path).returncode == 2
    assert cli("scan", "--since", "HEAD", cwd=tmp_path).returncode == 2
    assert cli("scan", "does-not-exist", cwd=tmp_path).returncode == 2
    (tmp_path / "b.json").write_text('{"version": 99, "findings": []}')
    done = cli("scan", "--baseline", "b.json", cwd=tmp_path)
    assert done.returncode == 2 and "vaultline: error:" in done.stderr
    assert cli("scan", "--history", cwd=tmp_path).returncode == 2  # not a git repository


def test_update_baseline_then_only_new_findings_fail(tmp_path: Path, cli: Cli) -> None:
    (tmp_path / "a.py").write_text(f'A = "{secret("github-pat")}"\n')
    assert cli("scan", "--update-baseline", cwd=tmp_path).returncode == 0
    assert (tmp_path / ".vaultline-baseline.json").exists()
    assert cli("scan", cwd=tmp_path).returncode == 0
    (tmp_path / "a.py").write_text(f'\n\nimport os\nA = "{secret("github-pat")}"\n')
    assert cli("scan", cwd=tmp_path).returncode == 0  # moved, still known
    (tmp_path / "b.py").write_text(f'B = "{secret("npm-access-token")}"\n')
    done = cli("scan", "--format", "json", cwd=tmp_path)
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert [f["rule_id"] for f in report["findings"]] == ["npm-access-token"]
    assert report["baselined"] == 1


def test_json_stats_count_skipped_binary_large_and_ignored(tmp_path: Path, cli: Cli) -> None:
    (tmp_path / ".gitignore").write_text("build/\n*.log\n")
    (tmp_path / ".vaultlineignore").write_text("fixtures/\n!fixtures/keep.txt\n")
    for path in ("build/out.py", "debug.log", "fixtures/a.txt"):
        (tmp_path / path).parent.mkdir(exist_ok=True)
        (tmp_path / path).write_text(f'K = "{secret("github-pat")}"\n')
    (tmp_path / "blob.dat").write_bytes(b"\x00\x01" + secret("github-pat").encode())
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / "big.txt").write_text("x = 1\n" * 1000)  # read, in windows
    (tmp_path / "ok.txt").write_text("fine\n")
    done = cli("scan", "--format", "json", "--max-file-size", "2", cwd=tmp_path)
    assert done.returncode == 0, done.stdout
    stats = json.loads(done.stdout)["stats"]
    assert stats["skipped_binary"] == 2 and stats["large_files"] == 1
    assert stats["skipped_ignored"] == 3  # build/, debug.log, fixtures/ (a directory)
    assert stats["files_scanned"] == 4  # .gitignore, .vaultlineignore, big.txt, ok.txt


def test_sarif_to_a_file(tmp_path: Path, cli: Cli) -> None:
    (tmp_path / "a.env").write_text(f"STRIPE={secret('stripe-secret-key')}\n")
    done = cli("scan", "--format", "sarif", "-o", "out.sarif", cwd=tmp_path)
    assert done.returncode == 1 and done.stdout == ""
    document = json.loads((tmp_path / "out.sarif").read_text())
    assert document["runs"][0]["results"][0]["ruleId"] == "stripe-secret-key"


def test_hygiene_tracked_env_and_gitignore(repo: Repo, cli: Cli) -> None:
    repo.write(".env", "DEBUG=1\n")
    repo.write(".env.example", "DEBUG=\n")
    repo.commit("oops")
    report = json.loads(cli("scan", "--format", "json", cwd=repo.root).stdout)
    rules = sorted(f["rule_id"] for f in report["findings"])
    assert rules == ["hygiene-env-not-ignored", "hygiene-tracked-env-file"]
    assert [f["path"] for f in report["findings"] if "tracked" in f["rule_id"]] == [".env"]

    repo.git("rm", "-q", "--cached", ".env")
    repo.write(".gitignore", ".env*\n!.env.example\n")
    repo.commit("fix")
    assert cli("scan", cwd=repo.root).returncode == 0
    assert cli("scan", "--no-hygiene", cwd=repo.root).returncode == 0


def test_scanning_a_subdirectory_honours_the_repository_gitignore(repo: Repo, cli: Cli) -> None:
    repo.write(".gitignore", ".env*\nsrc/generated/\n")
    repo.write("src/generated/keys.py", f'K = "{secret("github-pat")}"\n')
    repo.write("src/app.py", "x = 1\n")
    repo.commit("init")
    assert cli("scan", "src", cwd=repo.root).returncode == 0


def test_history_json_reports_the_commit(repo: Repo, cli: Cli) -> None:
    repo.write("ci.yml", f"token: {secret('gitlab-pat')}\n")
    leaked = repo.commit("ci")
    repo.write("ci.yml", "token: ${CI_TOKEN}\n")
    repo.commit("fix")
    done = cli("scan", "--history", "--format", "json", cwd=repo.root)
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert [(f["rule_id"], f["commit"]) for f in report["findings"]] == [("gitlab-pat", leaked)]
    assert report["stats"]["commits"] == 2 and report["stats"]["blobs_scanned"] == 2


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_a_jwt_with_a_deeply_nested_header_hides_no_other_finding(repo: Repo, cli: Cli) -> None:
    """JWT-shaped, with "alg", but its header nests past what json.loads takes: not a JWT."""
    header = b'{"alg":"' + _b64url(os.urandom(4500)).encode() + b'","a":' + b"[" * 1200 \
        + b"]" * 1200 + b"}"
    payload = b'{"sub":"1234567890"}'
    token = f"{_b64url(header)}.{_b64url(payload)}.{_b64url(os.urandom(32))}"
    repo.write("evil.txt", f't="{token}"\n')
    repo.write("aws.txt", f'k = "{secret("aws-access-key-id")}"\n')

    def findings(*args: str) -> list[tuple[str, str]]:
        done = cli("scan", *args, "--format", "json", cwd=repo.root)
        assert done.returncode == 1, done.stderr
        return [(f["path"], f["rule_id"]) for f in json.loads(done.stdout)["findings"]
                if "hygiene" not in f["tags"]]  # the repository's .gitignore is not the point

    assert findings("evil.txt", "aws.txt") == [("aws.txt", "aws-access-key-id")]
    repo.commit("add")
    repo.git("rm", "-q", "evil.txt")
    repo.commit("remove")
    assert findings("--history") == [("aws.txt", "aws-access-key-id")]


def test_pure_python_prefilter_gives_the_same_report(tmp_path: Path, cli: Cli) -> None:
    (tmp_path / "a.py").write_text(
        f'A = "{secret("github-pat")}"\nB = "{secret("slack-bot-token")}"\n'
    )
    fast = json.loads(cli("scan", "--format", "json", cwd=tmp_path).stdout)["findings"]
    slow = json.loads(cli("scan", "--format", "json", "--no-hyperscan", cwd=tmp_path).stdout)
    assert fast == slow["findings"] and len(fast) == 2


def test_git_exclude_files_are_honoured_like_gitignore(repo: Repo, cli: Cli, tmp_path: Path) -> None:
    leak = f'K = "{secret("github-pat")}"\n'
    repo.write("local/notes.txt", leak)  # excluded in .git/info/exclude
    repo.write("scratch.key.txt", leak)  # excluded by core.excludesFile
    repo.write("src/app.py", "x = 1\n")
    repo.write("src/debug.txt", leak)  # excluded by a pattern relative to the top
    (repo.root / ".git" / "info").mkdir(exist_ok=True)
    (repo.root / ".git" / "info" / "exclude").write_text("local/\n/src/debug.txt\n")
    excludes = tmp_path / "global-ignore"
    excludes.write_text("*.key.txt\n")
    repo.git("config", "core.excludesFile", str(excludes))
    assert cli("scan", "--no-hygiene", cwd=repo.root).returncode == 0
    assert cli("scan", "--no-hygiene", "src", cwd=repo.root).returncode == 0
    # What git would report, vaultline reports: the same file is found once un-excluded.
    (repo.root / ".git" / "info" / "exclude").write_text("local/\n")
    done = cli("scan", "--no-hygiene", "--format", "json", cwd=repo.root)
    assert done.returncode == 1
    assert [f["path"] for f in json.loads(done.stdout)["findings"]] == ["src/debug.txt"]


def test_the_users_global_excludes_file_is_still_honoured(repo: Repo, cli: Cli, tmp_path: Path) -> None:
    repo.write("scratch.key.txt", f'K = "{secret("github-pat")}"\n')
    excludes, config = tmp_path / "global-ignore", tmp_path / "gitconfig"
    excludes.write_text("*.key.txt\n")
    config.write_text(f"[core]\n\texcludesFile = {excludes}\n")
    assert cli("scan", "--no-hygiene", cwd=repo.root, env={"GIT_CONFIG_GLOBAL": str(config)}).returncode == 0
    assert cli("scan", "--no-hygiene", cwd=repo.root).returncode == 1
