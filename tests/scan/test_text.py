"""What a scan reads: files over ``--max-file-size`` in windows, UTF-16/32 text with a byte-order
mark decoded; each finding at the line and column it has in the whole file."""

from __future__ import annotations

import codecs
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tests.scan.conftest import GIT_ENV, Repo, secret
from vaultline.scan import runner, text
from vaultline.scan.engine import Scanner
from vaultline.scan.runner import scan_history, scan_paths, scan_staged

ROOT = Path(__file__).resolve().parents[2]
RULES = ("github-pat", "stripe-secret-key", "pem-rsa-private-key", "generic-secret", "jwt",
         "postgres-url-password", "slack-bot-token")


def _scan_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """This tree's ``vaultline scan`` (not the installed console script)."""
    return subprocess.run(
        [sys.executable, "-c", "import sys; from vaultline.cli import main; sys.exit(main())",
         "scan", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=120,
        env={**os.environ, **GIT_ENV, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"})


def _located(findings: list) -> list[tuple[str, int, int, str]]:
    return [(f.rule_id, f.line, f.column, f.secret) for f in findings]


def _corpus(seed: int, size: int) -> bytes:
    """Filler lines (some non-ASCII, one long line) with secrets, PEM blocks and allow comments."""
    rng = random.Random(seed)
    parts: list[str] = []
    total, n = 0, 0
    while total < size:
        roll = rng.random()
        if roll < 0.02:
            part = f'K{n} = "{secret(rng.choice(RULES), n)}"\n'
        elif roll < 0.025:
            part = f"# vaultline:allow-next-line\nA{n} = '{secret('github-pat', n)}'\n"
        elif roll < 0.026:
            part = "é" * rng.randrange(1000, 90_000) + f" T={secret('github-pat', n)}\n"
        else:
            part = f"value_{n} = {'ü' * rng.randrange(3)}{rng.randrange(10**9)}  # filler\n"
        parts.append(part)
        total += len(part.encode())
        n += 1
    return "".join(parts).encode()


@pytest.mark.parametrize("seed", range(3))
def test_windows_find_what_one_scan_of_the_whole_file_finds(seed: int) -> None:
    data = _corpus(seed, 3 * text.MIN_WINDOW + 12345)
    scanner = Scanner()
    whole = scanner.scan(data, "app.py")
    pieces = iter([data[i : i + 7777] for i in range(0, len(data), 7777)])
    windowed = text.scan_text(scanner, pieces, "app.py", window=1)
    assert len(whole) > 20
    assert _located(windowed) == _located(whole)
    assert [f.offset for f in windowed] == [f.offset for f in whole]


def test_a_file_over_the_size_limit_is_scanned_to_its_end(tmp_path: Path) -> None:
    token = secret("github-pat")
    lines = 150_000  # 1.2 MB, far over --max-file-size 1 (KiB)
    (tmp_path / "dump.sql").write_text("x = 1\n" * lines + f'TOKEN = "{token}"\n')
    done = _scan_cli(tmp_path, ".", "--no-hygiene", "--format", "json", "--max-file-size", "1")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert [(f["path"], f["line"], f["column"]) for f in report["findings"]] == [
        ("dump.sql", lines + 1, 10)]
    assert report["stats"]["large_files"] == 1
    assert report["stats"]["bytes_scanned"] == (tmp_path / "dump.sql").stat().st_size


ENCODINGS = [("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE),
             ("utf-32-le", codecs.BOM_UTF32_LE), ("utf-32-be", codecs.BOM_UTF32_BE)]


def _config(token: str) -> str:
    return ('<?xml version="1.0"?>\r\n<configuration>\r\n  <!-- ünïcode -->\r\n'
            f'  <add key="GitHubToken" value="{token}"/>\r\n</configuration>\r\n')


@pytest.mark.parametrize(("codec", "mark"), ENCODINGS)
def test_utf16_and_utf32_text_with_a_byte_order_mark_is_scanned(
    tmp_path: Path, codec: str, mark: bytes,
) -> None:
    token = secret("github-pat")
    (tmp_path / "app.config").write_bytes(mark + _config(token).encode(codec))
    (tmp_path / "blob.dat").write_bytes(b"\x00\x01" + token.encode())  # still a binary
    (tmp_path / "fake.bin").write_bytes(codecs.BOM_UTF16_LE + b"\x00\xd8A\x00" + token.encode())
    result = scan_paths([tmp_path], jobs=1)
    assert [(f.path, f.line, f.column, f.secret) for f in result.findings] == [
        (str(tmp_path / "app.config"), 4, 33, token)]
    assert result.stats.skipped_binary == 2


def test_a_large_utf16_file_is_decoded_window_by_window(tmp_path: Path) -> None:
    token = secret("github-pat")
    body = "ligne = 'é'\r\n" * 40_000 + _config(token)
    (tmp_path / "big.config").write_bytes(codecs.BOM_UTF16_LE + body.encode("utf-16-le"))
    result = scan_paths([tmp_path], max_bytes=1024, jobs=1)
    assert [(f.line, f.column) for f in result.findings] == [(40_004, 33)]
    assert result.stats.large == 1


def test_history_and_staged_read_large_and_utf16_blobs(repo: Repo) -> None:
    big, wide = secret("github-pat", 1), secret("stripe-secret-key", 2)
    repo.write("big.log", "line\n" * 5000 + f"TOKEN={big}\n")
    (repo.root / "win.config").write_bytes(codecs.BOM_UTF16_LE + _config(wide).encode("utf-16-le"))
    repo.git("add", "big.log", "win.config")
    staged = scan_staged(repo.root, max_bytes=1024)
    expected = [("big.log", 5001, big), ("win.config", 4, wide)]
    assert [(f.path, f.line, f.secret) for f in staged.findings] == expected
    commit = repo.commit("logs")
    repo.write("big.log", "gone\n")
    repo.commit("rm")
    history = scan_history(repo.root, max_bytes=1024, jobs=1)
    assert [(f.path, f.line, f.secret, f.commit) for f in history.findings] == [
        (p, line, s, commit) for p, line, s in expected]
    assert history.stats.large == 1 and history.stats.extra["blobs_scanned"] == 3


def test_a_large_blob_is_read_in_windows_when_history_runs_in_parallel(
    repo: Repo, monkeypatch: pytest.MonkeyPatch,
) -> None:
    for i in range(210):
        repo.write(f"f{i}.txt", f"v = {i}\n")
    token = secret("github-pat", 3)
    repo.write("huge.txt", "filler line\n" * 30_000 + f"K = '{token}'\n")
    commit = repo.commit("many")
    monkeypatch.setattr(runner, "CHUNK_FILES", 20)
    result = scan_history(repo.root, max_bytes=4096, jobs=2)
    assert [(f.path, f.line, f.commit) for f in result.findings] == [("huge.txt", 30_001, commit)]
