"""``scan --known``: the project's own resolved secret values, found in a real git history,
a tree and a CI log through the real CLI, named by key and reference, never shown."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.cli.test_core_cli import Cli, put_all
from tests.cli.test_core_cli import cli as cli
from tests.scan.conftest import Repo
from vaultline.scan.known import KnownScanner, KnownSecret

PRIMARY = "postgres://app:s3cret-canary@db/app"
API_KEY = "sk-canary-key"


def _leaks(result: subprocess.CompletedProcess[str]) -> bool:
    text = result.stdout + result.stderr
    return "s3cret-canary" in text or API_KEY in text


def test_known_values_in_history_named_by_key_never_shown(cli: Cli, tmp_path: Path) -> None:
    put_all(cli)
    repo = Repo(tmp_path / "app")
    repo.write("README.md", "nothing here\n")
    repo.commit("start")
    repo.write("deploy/values.yaml", f"db: {PRIMARY}\n")  # raw
    repo.write("ci.sh", f"echo {base64.b64encode(API_KEY.encode()).decode()} | base64 -d\n")
    repo.commit("oops")
    repo.write("deploy/values.yaml", "db: ${DB_URL}\n")
    repo.write("ci.sh", "echo fixed\n")
    repo.write("notes.json", json.dumps({"url": quote(PRIMARY, safe="")}) + "\n")  # URL-encoded
    repo.commit("clean up, but leak it once more")

    result = cli("scan", "--known", "--env", "prod", "--history", str(repo.root),
                 "--format", "json", "--baseline", str(tmp_path / "none.json"))
    assert result.returncode == 1, result.stderr
    assert not _leaks(result)
    findings = json.loads(result.stdout)["findings"]
    where = sorted((f["path"], f["description"].split()[2]) for f in findings)
    assert where == [
        ("ci.sh", "AI:OpenAI:ApiKey"),
        ("deploy/values.yaml", "ConnectionStrings:Primary"),
        ("notes.json", "ConnectionStrings:Primary"),
    ]
    assert all(f["rule_id"] == "known-secret" and f["commit"] for f in findings)
    assert all("local:" in f["description"] for f in findings)  # the reference, to rotate it

    # One audit event for the whole scan, with counts and never a value.
    log = next(cli.root.rglob("audit.log")).read_text()
    events = [json.loads(line) for line in log.splitlines() if '"scan.known"' in line]
    assert len(events) == 1 and events[0]["detail"]["findings"] == 3
    assert "s3cret-canary" not in log and API_KEY not in log


def test_known_in_a_tree_and_a_ci_log(cli: Cli, tmp_path: Path) -> None:
    put_all(cli)
    work = tmp_path / "work"
    work.mkdir()
    (work / "build.log").write_text(
        "step 1\n" + f"curl -d '{json.dumps({'k': API_KEY})}' https://x\n" + "done\n"
    )
    (work / "clean.txt").write_text("postgres://app:other@db/app sk-not-ours\n")
    result = cli("scan", "--known", "--env", "prod", str(work), "--no-hygiene")
    assert result.returncode == 1 and not _leaks(result)
    assert "build.log:2" in result.stdout and "AI:OpenAI:ApiKey" in result.stdout
    assert "clean.txt" not in result.stdout

    (work / "build.log").write_text("all clean\n")
    assert cli("scan", "--known", "--env", "prod", str(work)).returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--known"], "--env"),
        (["--env", "prod"], "--known"),
        (["--known", "--env", "prod", "--staged"], "--staged"),
    ],
)
def test_known_usage_errors(cli: Cli, args: list[str], message: str) -> None:
    result = cli("scan", *args)
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr


def _scanner(*values: str) -> KnownScanner:
    return KnownScanner(
        [(KnownSecret(f"K{i}", f"local:app/K{i}"), v) for i, v in enumerate(values)],
        backend="python",
    )


@pytest.mark.parametrize(
    ("text", "hits"),
    [
        (b"x = 'Tr0ub4dor&3-horse'\n", 1),
        (base64.b64encode(b"prefix:Tr0ub4dor&3-horse").decode().encode() + b"\n", 1),
        (quote("Tr0ub4dor&3-horse", safe="").encode() + b"\n", 1),
        (b"Tr0ub4dor&3-horse and again Tr0ub4dor&3-horse\n", 1),  # one finding per line
        (b"Tr0ub4dor&3\n", 0),
        (b"MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n", 1),  # one line of a multi-line value
    ],
)
def test_known_forms(text: bytes, hits: int) -> None:
    scanner = _scanner("Tr0ub4dor&3-horse", "-----BEGIN X-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END X-----")
    findings = scanner.scan(text, "f.txt")
    assert len(findings) == hits
    assert all("Tr0ub4dor" not in repr(f) + str(f.to_dict()) for f in findings)


def test_short_values_are_skipped_not_matched_everywhere() -> None:
    scanner = _scanner("dev", "Tr0ub4dor&3-horse")
    assert (scanner.values, scanner.skipped_short) == (1, 1)
    assert scanner.scan(b"dev dev dev\n", "f") == []
    assert "Tr0ub4dor" not in repr(scanner)


def test_known_scanner_is_never_pickled() -> None:
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(_scanner("Tr0ub4dor&3-horse"))


def test_known_scan_in_forked_workers_needs_no_pickling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vaultline.scan import runner

    monkeypatch.setattr(runner, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(runner, "CHUNK_FILES", 2)
    for i in range(8):
        (tmp_path / f"f{i}.txt").write_text("clean\n" if i % 2 else "x Tr0ub4dor&3-horse\n")
    result = runner.scan_paths([tmp_path], scanner=_scanner("Tr0ub4dor&3-horse"), jobs=2)
    assert sorted(f.path.rsplit("/", 1)[-1] for f in result.findings) == [
        "f0.txt", "f2.txt", "f4.txt", "f6.txt"
    ]
