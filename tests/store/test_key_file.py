"""The master key file as someone who can replace it (not read the key) leaves it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factory import make_project

VAULTLINE = str(Path(sys.executable).with_name("vaultline"))


def vaultline(root: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULTLINE_")}
    env.update(HOME=str(root), XDG_CONFIG_HOME=str(root / ".config"), **extra)
    return subprocess.run([VAULTLINE, *args], cwd=root, env=env, capture_output=True,
                          text=True, timeout=30)


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    """A project whose store was made by ``vaultline init``: its key in the default file."""
    root = make_project(tmp_path)
    assert vaultline(root, "init").returncode == 0
    (key,) = (root / ".config" / "vaultline" / "keys").iterdir()
    return key


def test_a_fifo_in_place_of_the_key_file_is_refused_without_waiting(key_file: Path) -> None:
    key_file.unlink()
    os.mkfifo(key_file, 0o600)
    done = vaultline(key_file.parents[3], "resolve", "--env", "prod")  # never blocks
    assert done.returncode == 2  # configuration: the file named is not a key
    assert done.stderr == (f"vaultline: error: master key file {key_file}: not a regular "
                           "file (a FIFO); give the path of a file\n")


def test_a_huge_key_file_is_refused_unread(key_file: Path) -> None:
    with key_file.open("r+b") as handle:
        handle.truncate(64 << 20)  # sparse; read whole before, then called "not base64"
    done = vaultline(key_file.parents[3], "resolve", "--env", "prod")
    assert done.returncode == 2  # configuration: the file named is not a key
    assert "is larger than the limit of 16 MiB" in done.stderr
    assert done.stderr.startswith(f"vaultline: error: master key file {key_file}: ")


def test_a_key_file_named_through_a_symlink_opens(key_file: Path) -> None:
    # Kubernetes mounts secrets as symlinks into ..data/: the target's mode is what counts.
    root = key_file.parents[3]
    link = root / "mounted.key"
    link.symlink_to(key_file)
    done = vaultline(root, "resolve", "--env", "prod", VAULTLINE_KEY_FILE=str(link))
    assert "master key" not in done.stderr, done.stderr
    os.chmod(key_file, 0o644)
    done = vaultline(root, "resolve", "--env", "prod", VAULTLINE_KEY_FILE=str(link))
    assert done.returncode == 2 and "accessible by group or others" in done.stderr
