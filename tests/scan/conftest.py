"""Helpers for scan tests: synthetic secrets, a real git repository, the real CLI."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from tests.scan.synthetic import SAMPLES, expand
from vaultline.scan.engine import Scanner

VAULTLINE = str(Path(sys.executable).with_name("vaultline"))
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


def secret(rule_id: str, seed: int = 0) -> str:
    """A fresh synthetic secret (in its minimal context) for ``rule_id``, built at runtime."""
    return expand(SAMPLES[rule_id], random.Random(f"{rule_id}:{seed}"))


_SCANNER = Scanner()


def flagged(text: str, path: str = "src/app.conf", scanner: Scanner = _SCANNER) -> list[str]:
    return [f.rule_id for f in scanner.scan(text.encode(), path)]


class Repo:
    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        env = {**os.environ, **GIT_ENV}
        return subprocess.run(
            ["git", *args], cwd=self.root, env=env, check=True, capture_output=True, text=True
        ).stdout.strip()

    def write(self, path: str, text: str) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    def commit(self, message: str, *paths: str) -> str:
        self.git("add", "-A", *paths)
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path / "repo")


def run_vaultline(*args: str, cwd: Path, env: Mapping[str, str] | None = None,
                  timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, **GIT_ENV, "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [VAULTLINE, *args], cwd=cwd, env=environ, capture_output=True, text=True, check=False,
        timeout=timeout,
    )


@pytest.fixture
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    return run_vaultline
