"""The command end to end, through a real ``vaultline`` process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from vaultline.errors import InventoryError
from vaultline.inventory import scan_tree

CLEAN = {
    "stores.yaml": "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\n"
    "metadata: {name: kv}\nspec: {provider: {vault: {path: secret}}}\n",
    "app.yaml": "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\n"
    "metadata: {name: api, namespace: apps}\n"
    "spec:\n  secretStoreRef: {name: kv, kind: ClusterSecretStore}\n"
    "  data: [{secretKey: t, remoteRef: {key: apps/api}}]\n",
}
DIRTY = {**CLEAN, "leak.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: leak}\n"
         "stringData: {password: hunter2}\n"}


def vaultline(*args: str) -> subprocess.CompletedProcess[str]:
    code = "import sys; from vaultline.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(("files", "code"), [(CLEAN, 0), (DIRTY, 1)])
def test_check_exit_code(
    write_tree: Callable[[dict[str, str]], Path], files: dict[str, str], code: int
) -> None:
    root = write_tree(files)
    result = vaultline("inventory", str(root), "--check", "--format", "json")
    assert result.returncode == code, result.stderr
    data = json.loads(result.stdout)
    assert data["counts"]["findings"]["error"] == code
    if code:
        assert "leak.yaml:1: error INV003" in result.stderr
    assert "hunter2" not in result.stdout + result.stderr


def test_without_check_findings_do_not_fail(write_tree: Callable[[dict[str, str]], Path]) -> None:
    result = vaultline("inventory", str(write_tree(DIRTY)))
    assert result.returncode == 0
    assert result.stdout.startswith("# Kubernetes secrets inventory")
    assert "```json" in result.stdout


def test_output_file_markdown(write_tree: Callable[[dict[str, str]], Path], tmp_path: Path) -> None:
    root = write_tree(CLEAN)
    out = tmp_path / "out" / "inventory.md"
    out.parent.mkdir()
    result = vaultline("inventory", str(root), "--output", str(out))
    assert result.returncode == 0 and result.stdout == ""
    assert "| apps | 1 | 1 |" in out.read_text()


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    result = vaultline("inventory", str(tmp_path / "nope"))
    assert result.returncode == 2
    assert "vaultline: error:" in result.stderr and "nope" in result.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_as_the_tree_is_an_error_not_an_empty_inventory(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    with pytest.raises(InventoryError, match="is a FIFO; give a directory or a YAML file"):
        scan_tree(fifo)
    for path in (str(fifo), os.devnull):
        done = vaultline("inventory", path, "--check")
        assert done.returncode == 2
        assert done.stdout == ""
        assert done.stderr.count("\n") == 1 and "give a directory or a YAML file" in done.stderr


@pytest.mark.parametrize("broken", [
    "metadata: {name: leak}\nmetadata: {name: again}\n",  # a duplicate key
    "metadata: {name: leak, labels: {tier: .nan}}\n",  # what JSON cannot hold
    "metadata: {name: leak\n",  # plain broken YAML
], ids=["duplicate-key", "nan", "unclosed"])
def test_a_secret_that_does_not_parse_fails_the_gate(
    write_tree: Callable[[dict[str, str]], Path], broken: str
) -> None:
    # One broken line must not turn a Secret with literal values into a parse warning that
    # `--check` lets through; under a test path it is test data, as for INV003.
    leak = f"apiVersion: v1\nkind: Secret\n{broken}stringData: {{password: hunter2}}\n"
    root = write_tree({**CLEAN, "leak.yaml": leak, "tests/README": "fixtures\n"})
    result = vaultline("inventory", str(root), "--check")
    assert result.returncode == 1, result.stderr
    assert "leak.yaml:1: error INV007" in result.stderr
    assert "hunter2" not in result.stdout + result.stderr
    (root / "leak.yaml").rename(root / "tests" / "leak.yaml")
    fixture = vaultline("inventory", str(root), "--check")
    assert fixture.returncode == 0, fixture.stderr
