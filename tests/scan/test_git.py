"""History and staged scanning against real git repositories built in the test."""

from __future__ import annotations

from tests.scan.conftest import Repo, secret
from vaultline.scan import git
from vaultline.scan.runner import scan_history, scan_staged


def test_secret_added_then_deleted_is_found_with_its_commit(repo: Repo) -> None:
    token = secret("github-pat")
    repo.write("README.md", "# app\n")
    repo.commit("init")
    repo.write("src/settings.py", f'DEBUG = False\nGITHUB_TOKEN = "{token}"\n')
    leaked = repo.commit("add settings")
    repo.write("src/settings.py", "DEBUG = False\nGITHUB_TOKEN = os.environ['GITHUB_TOKEN']\n")
    repo.commit("read the token from the environment")
    repo.git("rm", "-q", "src/settings.py")
    repo.commit("remove settings")

    result = scan_history(repo.root, jobs=1)
    assert [(f.rule_id, f.path, f.line, f.commit) for f in result.findings] == [
        ("github-pat", "src/settings.py", 2, leaked)
    ]


def test_each_blob_is_read_once_and_the_first_appearance_wins(repo: Repo) -> None:
    token = secret("npm-access-token")
    repo.write("a/.npmrc", f"//registry.npmjs.org/:_authToken={token}\n")
    first = repo.commit("add npmrc")
    for i in range(5):
        repo.write(f"file{i}.txt", f"content {i}\n")
        repo.commit(f"commit {i}")
    repo.write("b/.npmrc", f"//registry.npmjs.org/:_authToken={token}\n")  # same blob
    repo.commit("copy npmrc")

    stats = git.HistoryStats()
    refs = git.history_blobs(repo.root, None, stats)
    assert len(refs) == len({r.oid for r in refs}) == 6
    assert stats.commits == 7 and stats.blob_mentions == 7

    result = scan_history(repo.root, jobs=1)
    assert result.stats.extra["blobs_scanned"] == 6
    assert [(f.path, f.commit) for f in result.findings] == [("a/.npmrc", first)]


def test_history_on_a_side_branch_and_since(repo: Repo) -> None:
    repo.write("a.txt", "a\n")
    base = repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("deploy.sh", f"export SLACK={secret('slack-bot-token')}\n")
    on_branch = repo.commit("feature work")
    repo.git("checkout", "-q", "main")

    assert [f.commit for f in scan_history(repo.root, jobs=1).findings] == [on_branch]
    assert [f.commit for f in scan_history(repo.root, since=base, jobs=1).findings] == [on_branch]
    assert scan_history(repo.root, since="feature", jobs=1).findings == []


def test_history_in_parallel_matches_serial(repo: Repo) -> None:
    for i in range(220):
        body = f"value_{i} = {i}\n" + (f'KEY = "{secret("github-pat", i)}"\n' if i % 20 == 0 else "")
        repo.write(f"f{i}.py", body)
    repo.commit("many files")
    serial = scan_history(repo.root, jobs=1)
    parallel = scan_history(repo.root, jobs=2)
    assert len(serial.findings) == 11
    assert [f.fingerprint for f in serial.findings] == [f.fingerprint for f in parallel.findings]


def test_staged_scans_the_index_not_the_working_tree(repo: Repo) -> None:
    repo.write("app.py", "x = 1\n")
    repo.commit("init")
    token = secret("stripe-secret-key")
    repo.write("app.py", f'STRIPE = "{token}"\n')
    repo.git("add", "app.py")
    repo.write("app.py", "x = 1\n")  # working tree clean again; the index is not
    findings = scan_staged(repo.root).findings
    assert [(f.rule_id, f.path, f.commit) for f in findings] == [("stripe-secret-key", "app.py", None)]


def test_staged_in_a_repository_without_commits(repo: Repo) -> None:
    repo.write("creds.env", f"OPENAI_API_KEY={secret('openai-api-key')}\n")
    repo.git("add", "creds.env")
    assert [f.rule_id for f in scan_staged(repo.root).findings] == ["openai-api-key"]
