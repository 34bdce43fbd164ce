"""The runner: parallel chunks give the serial answer; the progress bar needs a terminal."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.scan.conftest import secret
from vaultline.scan import runner


def test_parallel_tree_scan_matches_serial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(40):
        body = f"x_{i} = {i}\n" + (f'K = "{secret("github-pat", i)}"\n' if i % 4 == 0 else "")
        (tmp_path / f"m{i}.py").write_text(body)
    serial = runner.scan_paths([tmp_path], jobs=1)
    monkeypatch.setattr(runner, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(runner, "CHUNK_FILES", 3)
    parallel = runner.scan_paths([tmp_path], jobs=2)
    assert len(serial.findings) == 10
    assert [f.fingerprint for f in parallel.findings] == [f.fingerprint for f in serial.findings]
    assert parallel.stats.files == serial.stats.files == 40


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert runner._progress(True, 10, "MB") is None
    monkeypatch.setattr("sys.stderr", _Tty())
    bar = runner._progress(True, 10, "MB")
    assert bar is not None
    bar.stop()
    assert runner._progress(False, 10, "MB") is None
