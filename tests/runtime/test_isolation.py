"""What a `run` child cannot reach: vaultline's own /proc entries.

A child runs as the user, so these checks only mean something for an unprivileged user:
root reads every process's /proc (CAP_SYS_PTRACE). The tests run vaultline as uid 65534 on
a project in a fresh directory it owns.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.runtime.test_pty import _children
from vaultline.output import render

REPO = Path(__file__).resolve().parents[2]
NOBODY = 65534
SECRET = "S3cr3t-canary-value"
TOKEN = "hvs.token-canary-value"
AWS_SECRET = "aws-secret-canary-value"
MAIN = "import sys; from vaultline.cli import main; sys.exit(main(sys.argv[1:]))"


class Unprivileged(NamedTuple):
    """How to run Python as uid 65534: the command prefix, the interpreter, its import path."""

    prefix: list[str]
    python: str
    path: str

    def argv(self, *args: str, env: dict[str, str]) -> list[str]:
        # `env -i`: exactly these variables, whichever tool changes the user.
        return [*self.prefix, "env", "-i", *(f"{k}={v}" for k, v in env.items()),
                self.python, *args]


def _unprivileged() -> Unprivileged:
    if os.geteuid() != 0:
        pytest.skip("needs root, to run vaultline as uid 65534 (as root, /proc is open anyway)")
    if shutil.which("setpriv"):
        prefix = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    elif shutil.which("runuser"):
        prefix = ["runuser", "-u", "nobody", "--"]
    else:
        pytest.skip("neither setpriv nor runuser is installed: cannot run as uid 65534")
    path = os.pathsep.join(dict.fromkeys(
        [str(REPO), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]))
    # The test interpreter may live where uid 65534 cannot go (a pyenv under /root); the
    # system's interpreter of the same version loads the same packages.
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for python in (sys.executable, f"/usr/bin/{version}", f"/usr/local/bin/{version}"):
        probe = Unprivileged(prefix, python, path)
        done = subprocess.run(probe.argv("-c", "import vaultline.cli, hyperscan, cryptography",
                                         env={"PYTHONPATH": path}),
                              capture_output=True, cwd="/", timeout=60, check=False)
        if done.returncode == 0:
            return probe
    pytest.skip(f"uid 65534 can run no {version} that imports vaultline's dependencies")


class Project(NamedTuple):
    root: Path
    env: dict[str, str]


@pytest.fixture
def nobody() -> Unprivileged:
    return _unprivileged()


@pytest.fixture
def project(nobody: Unprivileged) -> Iterator[Project]:
    """A project owned by uid 65534 (pytest's tmp_path is root's, 0700), with one secret."""
    top = Path(tempfile.mkdtemp(prefix="vaultline-nobody-", dir="/tmp"))
    try:
        os.chown(top, NOBODY, NOBODY)
        root, home = top / "p", top / "home"
        for directory in (root, home):
            directory.mkdir(mode=0o700)
            os.chown(directory, NOBODY, NOBODY)
        env = {"PYTHONPATH": nobody.path, "HOME": str(home), "PATH": "/usr/bin:/bin",
               "NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": "1"}
        setup = Project(root, env)
        done = _vaultline(nobody, setup, "init", "--app", "demo", "--envs", "prod")
        assert done.returncode == 0, done.stderr
        (root / "env" / "prod" / "secrets.yaml").write_text("Db:Password: local\n")
        done = _vaultline(nobody, setup, "secret", "put", "Db:Password", "--env", "prod",
                          input=SECRET)
        assert done.returncode == 0, done.stderr
        key = next((home / ".config" / "vaultline" / "keys").glob("*.key")).read_text().strip()
        yield Project(root, {**env, "VAULTLINE_MASTER_KEY": key, "VAULT_TOKEN": TOKEN,
                             "AWS_SECRET_ACCESS_KEY": AWS_SECRET})
    finally:
        shutil.rmtree(top, ignore_errors=True)


def _vaultline(nobody: Unprivileged, project: Project, *args: str,
               **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(nobody.argv("-c", MAIN, *args, env=project.env), cwd=project.root,
                          capture_output=True, text=True, timeout=60, check=False,
                          **kwargs)  # type: ignore[call-overload]


# What a hostile child tries: read vaultline's environment, and print a secret through
# vaultline's own stdout, around the masking.
SNOOP = ("id -u; echo \"masked $DB__PASSWORD\";"
         " tr '\\0' '\\n' < /proc/$PPID/environ; echo \"environ $?\";"
         " echo \"leak $DB__PASSWORD\" > /proc/$PPID/fd/1; echo \"fd $?\";"
         " true < /proc/$PPID/mem; echo \"mem $?\"")


@pytest.mark.parametrize("tty", ["--no-tty", "--tty"])
def test_a_child_cannot_read_vaultlines_environment_or_descriptors(
        nobody: Unprivileged, project: Project, tty: str) -> None:
    # `vaultline run ... | cat` in the user's shell: the pipe is the user's, so only the
    # process holding it stands between the child and an unmasked write.
    pipeline = f'"$PY" -c "$MAIN" run --env prod {tty} -- sh -c "$SNOOP" | cat'
    done = subprocess.run(nobody.argv("-c", "import os, sys; os.execv('/bin/sh', ['sh', '-c', sys.argv[1]])",
                                      pipeline, env={**project.env, "PY": nobody.python,
                                                     "MAIN": MAIN, "SNOOP": SNOOP}),
                          cwd=project.root, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    out = done.stdout + done.stderr
    for value in (project.env["VAULTLINE_MASTER_KEY"], TOKEN, AWS_SECRET, SECRET):
        assert value not in out, out
    assert done.stdout.splitlines()[0].strip() == str(NOBODY), out  # the child is not root
    assert "masked ********" in done.stdout
    for what in ("environ", "fd", "mem"):
        status = re.search(rf"^{what} (\d+)", done.stdout, re.MULTILINE)
        assert status is not None and status[1] != "0", out  # each was refused


def test_vaultline_still_reads_its_own_descriptors(nobody: Unprivileged, project: Project,
                                                  tmp_path: Path) -> None:
    # /dev/fd/N is /proc/self/fd/N: a file handed over open, in a directory (root's tmp_path)
    # uid 65534 could not reach by name.
    template = tmp_path / "app.j2"
    template.write_text("pw={{ Db.Password }}\n")
    template.chmod(0o644)
    fd = os.open(template, os.O_RDONLY)
    try:
        done = _vaultline(nobody, project, "render", f"/dev/fd/{fd}", "-o", "out.txt", "--env",
                          "prod", pass_fds=(fd,))
    finally:
        os.close(fd)
    assert done.returncode == 0, done.stderr
    assert (project.root / "out.txt").read_text() == f"pw={SECRET}\n"


def test_the_render_child_is_private_before_it_reads_the_values(nobody: Unprivileged) -> None:
    # What `run --watch --render` starts while the command runs, holding every value: a
    # non-dumpable process's /proc entries belong to root.
    # Its stdin stays open and empty: it waits for the values, as it would for a big bundle.
    proc = subprocess.Popen(nobody.argv("-I", "-c", render._WORKER, *nobody.path.split(os.pathsep),
                                        env={}),
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, cwd="/")
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, "the render child ended"
            worker = _waiting_worker(proc.pid)
            if worker is not None and os.stat(f"/proc/{worker}/environ").st_uid == 0:
                break
            assert time.monotonic() < deadline, "the render child stayed dumpable"
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()


def _waiting_worker(pid: int) -> int | None:
    """The render child: `pid` or, under runuser (which may stay its parent), a descendant."""
    with contextlib.suppress(OSError):
        if b"make_non_dumpable" in Path(f"/proc/{pid}/cmdline").read_bytes():
            return pid
        for child in _children(pid):
            found = _waiting_worker(child)
            if found is not None:
                return found
    return None
