"""What a `run` child cannot reach: vaultline's own /proc entries, and the user's terminal.

A child runs as the user, so the /proc checks only mean something for an unprivileged user:
root reads every process's /proc (CAP_SYS_PTRACE). Those tests run vaultline as uid 65534 on
a project in a fresh directory it owns; the terminal tests use real pseudo-terminals.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.cli.test_core_cli import Cli, put_all
from tests.cli.test_core_cli import cli as cli
from tests.runtime.test_pty import VAULTLINE, _children, _stopped, _take_terminal
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


# -- the terminal -----------------------------------------------------------------------------

TERMINAL_LEAK = ("echo \"o $CONNECTIONSTRINGS__PRIMARY\";"
                 " echo \"t $CONNECTIONSTRINGS__PRIMARY\" > /dev/tty;"
                 " echo \"z $CONNECTIONSTRINGS__PRIMARY\" >&0;"
                 " test -t 0; echo \"stdin-tty $?\"; echo done")


class Session(NamedTuple):
    proc: subprocess.Popen[bytes]
    master: int


@contextlib.contextmanager
def on_terminal(cli: Cli, *args: str, stdout_to_terminal: bool = False) -> Iterator[Session]:
    """vaultline as a user starts it in a terminal: the pty is its controlling terminal,
    stdin and stderr, and (unless `stdout_to_terminal`) its stdout a pipe (`| cat`)."""
    master, slave = os.openpty()
    proc = subprocess.Popen([VAULTLINE, *args], cwd=cli.root, env=cli.env, stdin=slave,
                            stdout=slave if stdout_to_terminal else subprocess.PIPE,
                            stderr=slave, start_new_session=True, preexec_fn=_take_terminal)
    os.close(slave)
    try:
        yield Session(proc, master)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        os.close(master)


def _collect(session: Session, marker: bytes, seen: bytearray, timeout: float = 30) -> None:
    """Read the terminal and the stdout pipe into `seen` until `marker` shows up."""
    fds = [session.master] + ([session.proc.stdout.fileno()] if session.proc.stdout else [])
    deadline = time.monotonic() + timeout
    while marker not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"{marker!r} not in {bytes(seen)!r}"
        for fd in select.select(fds, [], [], left)[0]:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                fds.remove(fd)
            seen += chunk
        assert fds, f"everything closed before {marker!r}: {bytes(seen)!r}"


@pytest.mark.parametrize(("tty", "stdout_to_terminal"), [(None, False), ("--no-tty", True),
                                                         ("--no-tty", False)])
def test_a_piped_child_cannot_write_to_the_terminal(cli: Cli, tty: str | None,
                                                     stdout_to_terminal: bool) -> None:
    put_all(cli)
    args = ["run", "--env", "prod", *([tty] if tty else []), "--", "sh", "-c", TERMINAL_LEAK]
    with on_terminal(cli, *args, stdout_to_terminal=stdout_to_terminal) as session:
        seen = bytearray()
        _collect(session, b"done", seen)
        assert session.proc.wait(30) == 0
        with contextlib.suppress(OSError):
            seen += os.read(session.master, 65536)
    text = bytes(seen)
    assert b"o ********" in text
    assert b"s3cret" not in text, text
    assert b"stdin-tty 1" in text  # the terminal reaches it through a pipe


def test_typed_input_reaches_a_piped_child_and_ctrl_d_ends_it(cli: Cli) -> None:
    put_all(cli)
    child = ("import sys; print('ready', flush=True); print('got', input()[::-1], flush=True);"
             "print('rest', len(sys.stdin.read()), flush=True)")
    with on_terminal(cli, "run", "--env", "prod", "--", sys.executable, "-c", child) as session:
        seen = bytearray()
        _collect(session, b"ready", seen)
        os.write(session.master, b"olleh\r")  # the terminal's own line editing and echo
        _collect(session, b"got hello", seen)
        os.write(session.master, b"abc\r\x04")  # Ctrl-D: the end of input
        _collect(session, b"rest 4", seen)
        assert session.proc.wait(30) == 0
    assert b"olleh" in bytes(seen)  # echoed by the terminal, as without vaultline


def test_ctrl_c_reaches_a_piped_child_and_its_children(cli: Cli) -> None:
    # The child leads a group of its own: Ctrl-C goes to all of it, as from the terminal. The
    # shell traps it; its `sleep` gets it too and ends now, not in a minute.
    put_all(cli)
    with on_terminal(cli, "run", "--env", "prod", "--", "sh", "-c",
                     "trap 'echo trapped' INT; echo ready; sleep 60; echo after") as session:
        seen = bytearray()
        _collect(session, b"ready", seen)
        os.write(session.master, b"\x03")
        _collect(session, b"after", seen, timeout=15)
        assert session.proc.wait(15) == 0
    assert b"trapped" in bytes(seen)


def test_ctrl_z_stops_a_piped_child_with_vaultline_and_fg_resumes_both(cli: Cli) -> None:
    put_all(cli)
    child = "print('ready', flush=True); print('got', input()[::-1], flush=True)"
    with on_terminal(cli, "run", "--env", "prod", "--", sys.executable, "-c", child) as session:
        seen = bytearray()
        _collect(session, b"ready", seen)
        (pid,) = _children(session.proc.pid)
        os.write(session.master, b"\x1a")  # SIGTSTP to vaultline's group only
        deadline = time.monotonic() + 30
        while not (found := os.waitpid(session.proc.pid, os.WUNTRACED | os.WNOHANG))[0]:
            assert time.monotonic() < deadline, "vaultline did not stop"
            time.sleep(0.05)
        assert os.WIFSTOPPED(found[1]), found
        assert _stopped(pid)
        os.kill(session.proc.pid, signal.SIGCONT)  # what `fg` sends
        os.write(session.master, b"olleh\r")
        _collect(session, b"got hello", seen)
        assert session.proc.wait(30) == 0


# A session leader that starts vaultline as a background job of its terminal.
BACKGROUND = """
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[1:], process_group=0)
_, status = os.waitpid(proc.pid, os.WUNTRACED)
if os.WIFSTOPPED(status):
    os.kill(proc.pid, 9)
    print('stopped', flush=True)
else:
    print('exit', os.waitstatus_to_exitcode(status), flush=True)
"""


def test_a_background_job_is_not_stopped_by_the_terminal_on_its_stdin(cli: Cli) -> None:
    # Reading a terminal from the background would stop vaultline (SIGTTIN), and with it the
    # output of a child that never reads.
    put_all(cli)
    child = "import time; print('ready', flush=True); time.sleep(1); print('finished', flush=True)"
    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-c", BACKGROUND, VAULTLINE, "run", "--env", "prod",
                             "--no-tty", "--", sys.executable, "-c", child],
                            cwd=cli.root, env=cli.env, stdin=slave, stdout=slave, stderr=slave,
                            start_new_session=True, preexec_fn=_take_terminal)
    os.close(slave)
    seen = bytearray()
    try:
        _collect(Session(proc, master), b"exit", seen)
        assert proc.wait(30) == 0
        with contextlib.suppress(OSError):
            seen += os.read(master, 65536)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert b"finished" in seen and b"exit 0" in seen, bytes(seen)
