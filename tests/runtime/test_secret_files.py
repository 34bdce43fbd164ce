"""`run --files DIR` after a run was killed with SIGKILL: its plain-text secret files are
removed by the next run in DIR, while a run still alive keeps its own."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_core_cli import PRIMARY, Cli, put_all
from tests.cli.test_core_cli import cli as cli
from vaultline.errors import ConfigError
from vaultline.runtime.secretfiles import LOCK_NAME, PREFIX, SecretFiles, remove_abandoned

VAULTLINE = str(Path(sys.executable).with_name("vaultline"))
SLEEPER = ("import os, sys, time; print(os.getpid(), flush=True); time.sleep(60)")


def _start(cli: Cli, files: Path) -> tuple[subprocess.Popen[str], int]:
    """A run whose child waits; (vaultline's process, the child's pid)."""
    proc = subprocess.Popen([VAULTLINE, "run", "--env", "prod", "--files", str(files), "--",
                             sys.executable, "-c", SLEEPER],
                            cwd=cli.root, env=cli.env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


def _runs(files: Path) -> list[Path]:
    return sorted(files.glob(f"{PREFIX}*"))


def _holds_canary(directory: Path) -> bool:
    return any(PRIMARY in p.read_text() for p in directory.iterdir() if p.name != LOCK_NAME)


def test_the_files_of_a_killed_run_are_removed_by_the_next_one(cli: Cli, tmp_path: Path) -> None:
    put_all(cli)
    files = tmp_path / "shm"
    alive, alive_child = _start(cli, files)
    killed, killed_child = _start(cli, files)
    try:
        [first, second] = _runs(files)
        os.kill(killed.pid, signal.SIGKILL)  # no cleanup can run
        killed.wait(10)
        os.kill(killed_child, signal.SIGKILL)
        abandoned = [d for d in (first, second) if d.exists()]
        assert len(abandoned) == 2 and all(_holds_canary(d) for d in abandoned)
        done = cli("run", "--env", "prod", "--files", str(files), "--", "true")
        assert done.returncode == 0, done.stderr
        [left] = _runs(files)  # the killed run's directory is gone, the live run's stays
        assert _holds_canary(left)
    finally:
        alive.send_signal(signal.SIGTERM)
        assert alive.wait(20) == 128 + signal.SIGTERM
        if killed.poll() is None:
            killed.kill()
    assert _runs(files) == []
    for pid in (alive_child, killed_child):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        os.kill(pid, signal.SIGKILL)


def test_only_this_users_abandoned_run_directories_are_removed(tmp_path: Path) -> None:
    parent = tmp_path / "files"
    parent.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / LOCK_NAME).write_text("")
    (elsewhere / "KEEP").write_text("someone else's")
    (parent / f"{PREFIX}link").symlink_to(elsewhere)  # would delete what it points at
    (parent / f"{PREFIX}nolock").mkdir()  # not a run's, or a run's from before the locks
    (parent / f"{PREFIX}nolock" / "A").write_text("x")
    (parent / f"{PREFIX}file").write_text("a file")
    (parent / f"{PREFIX}fifolock").mkdir()
    os.mkfifo(parent / f"{PREFIX}fifolock" / LOCK_NAME)  # opened without blocking, skipped
    (parent / "unrelated").mkdir()
    (parent / "unrelated" / LOCK_NAME).write_text("")
    abandoned = parent / f"{PREFIX}dead"
    abandoned.mkdir()
    (abandoned / LOCK_NAME).write_text("")  # its run died: nothing holds the lock
    (abandoned / "DB__PASSWORD").write_text("s3cret")
    live = SecretFiles(parent)  # sweeps once, as it claims its own directory
    try:
        live.write("DB__PASSWORD", "s3cret")
        assert not abandoned.exists()
        assert (elsewhere / "KEEP").exists() and (parent / f"{PREFIX}link").is_symlink()
        assert sorted(p.name for p in parent.iterdir()) == sorted([
            f"{PREFIX}link", f"{PREFIX}nolock", f"{PREFIX}file", f"{PREFIX}fifolock",
            "unrelated", live.directory.name])
        assert remove_abandoned(parent) == []  # the live one's lock is held
        lock = os.open(live.directory / LOCK_NAME, os.O_RDONLY)
        try:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                raise AssertionError("a live run's lock was free")
            except BlockingIOError:
                pass
        finally:
            os.close(lock)
    finally:
        live.remove()
    assert not live.directory.exists()


def test_a_secret_cannot_be_named_over_the_lock(tmp_path: Path) -> None:
    files = SecretFiles(tmp_path)
    try:
        for name in (LOCK_NAME, f"{LOCK_NAME}.new", "../x", ""):
            with pytest.raises(ConfigError, match="cannot be used as a file name"):
                files.write(name, "v")
    finally:
        files.remove()


@pytest.mark.parametrize(("mode", "allowed"), [(0o700, True), (0o755, True), (0o1777, True),
                                               (0o777, False), (0o770, False)])
def test_the_files_parent_must_not_let_others_swap_the_run_directory(tmp_path: Path, mode: int,
                                                                     allowed: bool) -> None:
    parent = tmp_path / "parent"
    parent.mkdir()
    os.chmod(parent, mode)
    if allowed:
        SecretFiles(parent).remove()
        return
    with pytest.raises(ConfigError, match=r"can be written by group or others and is not sticky"):
        SecretFiles(parent)
    assert list(parent.iterdir()) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a directory away takes root")
def test_another_users_files_parent_is_refused_through_the_cli(cli: Cli, tmp_path: Path) -> None:
    put_all(cli)
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o755)
    os.chown(theirs, 65534, 65534)
    done = cli("run", "--env", "prod", "--files", str(theirs), "--", "true")
    assert done.returncode == 2, done.stderr
    assert done.stderr == (f"vaultline: error: --files {theirs} belongs to another user "
                           "(uid 65534), who could swap the files written under it: name a "
                           "directory of yours\n")
    assert list(theirs.iterdir()) == []
