"""Helpers for inventory tests: manifests are written into tmp_path by each test."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from vaultline.inventory import Inventory, scan_tree

Tree = Callable[[dict[str, str]], Inventory]


@pytest.fixture
def write_tree(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    def write(files: dict[str, str]) -> Path:
        for name, text in files.items():
            path = tmp_path / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return tmp_path

    return write


@pytest.fixture
def scan(write_tree: Callable[[dict[str, str]], Path]) -> Tree:
    def run(files: dict[str, str]) -> Inventory:
        return scan_tree(write_tree(files))

    return run
