"""`run` on a real pseudo-terminal: the child sees a terminal, colours survive, secrets do not."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.cli.test_core_cli import Cli, put_all
from tests.cli.test_core_cli import cli as cli

VAULTLINE = str(Path(sys.executable).with_name("vaultline"))
CANARY = "postgres://app:s3cret-canary@db/app"

CHILD = r"""
import os, signal, sys
print('tty', sys.stdin.isatty(), sys.stdout.isatty(), sys.stderr.isatty(), flush=True)
print('size', *os.get_terminal_size(), flush=True)
sys.stderr.write('\x1b[31mred ' + os.environ['CONNECTIONSTRINGS__PRIMARY'] + '\x1b[0m\n')
sys.stderr.flush()
signal.signal(signal.SIGWINCH, lambda *_: print('resized', *os.get_terminal_size(), flush=True))
print('prompt>', flush=True)
line = sys.stdin.readline()
print('got', line.strip()[::-1], flush=True)
"""


def _take_terminal() -> None:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def set_size(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def read_until(fd: int, marker: bytes, seen: bytearray, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while marker not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"{marker!r} not in {bytes(seen)!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            assert chunk, f"terminal closed before {marker!r}: {bytes(seen)!r}"
            seen += chunk


def test_child_gets_a_terminal_and_output_is_masked(cli: Cli) -> None:
    put_all(cli)
    master, slave = os.openpty()
    set_size(slave, 31, 97)
    # vaultline runs as in a terminal session: the pty is its stdin, stdout and stderr.
    proc = subprocess.Popen([VAULTLINE, "run", "--env", "prod", "--", sys.executable, "-c", CHILD],
                            cwd=cli.root, env=cli.env, stdin=slave, stdout=slave, stderr=slave,
                            start_new_session=True, preexec_fn=_take_terminal)
    os.close(slave)
    seen = bytearray()
    try:
        read_until(master, b"prompt>", seen)
        set_size(master, 40, 120)  # the kernel signals SIGWINCH to vaultline, which forwards it
        read_until(master, b"resized 120 40", seen)
        os.write(master, b"olleh\r")  # typed on our terminal, forwarded to the child's
        read_until(master, b"got hello", seen)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    text = bytes(seen)
    assert b"tty True True True" in text
    assert b"size 97 31" in text
    assert b"\x1b[31mred ********\x1b[0m" in text
    assert b"s3cret" not in text


def test_no_tty_keeps_pipes(cli: Cli) -> None:
    put_all(cli)
    master, slave = os.openpty()
    proc = subprocess.Popen([VAULTLINE, "run", "--env", "prod", "--no-tty", "--", sys.executable,
                             "-c", "import sys; print('tty', sys.stdout.isatty(), flush=True)"],
                            cwd=cli.root, env=cli.env, stdin=subprocess.DEVNULL, stdout=slave,
                            stderr=slave)
    os.close(slave)
    seen = bytearray()
    try:
        read_until(master, b"tty False", seen)
        assert proc.wait(30) == 0
    finally:
        os.close(master)


def test_forced_tty_without_a_terminal(cli: Cli) -> None:
    put_all(cli)
    result = cli("run", "--env", "prod", "--tty", "--", sys.executable, "-c",
                 "import os, sys; print(sys.stdout.isatty(), os.environ['CONNECTIONSTRINGS__PRIMARY'])")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "********"]



def test_a_secret_coloured_in_pieces_is_masked_on_the_terminal(cli: Cli) -> None:
    # What grep --color=always prints for a match inside the value: the raw bytes hold no
    # secret, the terminal shows it whole.
    put_all(cli)
    child = ("import os; v = os.environ['CONNECTIONSTRINGS__PRIMARY']; i = v.index('canary');"
             "print(v[:i] + '\\x1b[01;31m\\x1b[K' + v[i:i + 6] + '\\x1b[m\\x1b[K' + v[i + 6:])")
    for tty in ("--tty", "--no-tty"):
        result = cli("run", "--env", "prod", tty, "--", sys.executable, "-c", child)
        assert result.returncode == 0, result.stderr
        assert "********" in result.stdout
        assert "\x1b[01;31m\x1b[K" in result.stdout  # the colours are still there
        shown = re.sub("\x1b\\[[0-9;]*[mK]", "", result.stdout)
        assert "canary" not in shown and "s3cret" not in shown, result.stdout
    redacted = cli("redact", "--env", "prod", stdin="x=postgres://app:s3cret-\x1b[31mcanary"
                   "\x1b[0m@db/app\n")
    assert redacted.returncode == 0, redacted.stderr
    assert redacted.stdout == "x=********\x1b[31m\x1b[0m\n"

def test_piped_stdin_stays_the_childs_stdin(cli: Cli) -> None:
    put_all(cli)
    result = cli("run", "--env", "prod", "--tty", "--", sys.executable, "-c",
                 "import sys; print(sys.stdout.isatty(), sys.stdin.isatty(), sys.stdin.read()[::-1])",
                 stdin="olleh")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "False", "hello"]



@pytest.mark.parametrize("tty", ["--tty", "--no-tty"])
def test_a_closed_stdout_ends_a_child_that_keeps_printing(cli: Cli, tty: str) -> None:
    # `vaultline run --tty -- cmd | head -1`: once our reader is gone the child must notice
    # (a hangup on its terminal, EPIPE on a pipe), not block on output nobody reads.
    put_all(cli)
    proc = subprocess.Popen([VAULTLINE, "run", "--env", "prod", tty, "--", sys.executable, "-c",
                             "while True: print('y' * 100, flush=True)"],
                            cwd=cli.root, env=cli.env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"y" * 100 + (b"\r\n" if tty == "--tty" else b"\n")
        proc.stdout.close()
        assert proc.wait(30) != 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


SUSPENDABLE = r"""
import os, signal, sys
print('ready', flush=True)
if sys.argv[1:] == ['stop-yourself']:
    os.kill(os.getpid(), signal.SIGSTOP)  # as a program that handles SIGTSTP itself ends
line = sys.stdin.readline()
print('got', line.strip()[::-1], flush=True)
"""


def _stopped(pid: int) -> bool:
    return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] in ("T", "t")


def _wait_stopped(pid: int, master: int, seen: bytearray, timeout: float = 30) -> int:
    """The status of `pid` (our child) once it stops or ends, reading its terminal meanwhile."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found, status = os.waitpid(pid, os.WUNTRACED | os.WNOHANG)
        if found:
            return status
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            with contextlib.suppress(OSError):
                seen += os.read(master, 65536)
    raise AssertionError(f"vaultline neither stopped nor ended: {bytes(seen)!r}")


def _children(pid: int) -> list[int]:
    return [int(p) for p in open(f"/proc/{pid}/task/{pid}/children").read().split()]


def _wait_for_children(pid: int, timeout: float = 30) -> list[int]:
    deadline = time.monotonic() + timeout
    while not (children := _children(pid)) and time.monotonic() < deadline:
        time.sleep(0.01)
    return children


@pytest.mark.parametrize("how", ["ctrl-z", "sigtstp", "stop-yourself", "stop-at-once"])
def test_suspend_stops_the_child_and_vaultline_and_fg_resumes_both(cli: Cli, how: str) -> None:
    put_all(cli)
    master, slave = os.openpty()
    command = [sys.executable, "-c", SUSPENDABLE, how]
    if how == "stop-at-once":  # a shell stops before vaultline may be watching for it
        command = ["sh", "-c", 'kill -STOP $$; exec "$0" "$@"', *command]
    proc = subprocess.Popen([VAULTLINE, "run", "--env", "prod", "--", *command], cwd=cli.root,
                            env=cli.env, stdin=slave, stdout=slave, stderr=slave,
                            start_new_session=True, preexec_fn=_take_terminal)
    seen = bytearray()
    try:
        if how != "stop-at-once":
            read_until(master, b"ready", seen)
        (child,) = _wait_for_children(proc.pid)
        if how == "ctrl-z":
            os.write(master, b"\x1a")  # typed on vaultline's terminal
        elif how == "sigtstp":
            os.kill(proc.pid, signal.SIGTSTP)  # as `kill -TSTP` or a shell would send it
        status = _wait_stopped(proc.pid, master, seen)
        assert os.WIFSTOPPED(status), status
        assert _stopped(child)
        # While stopped, the user's terminal is in its own (cooked) mode again, for the shell.
        assert termios.tcgetattr(slave)[3] & termios.ICANON
        os.kill(proc.pid, signal.SIGCONT)  # what `fg` sends
        os.write(master, b"olleh\r")
        read_until(master, b"got hello", seen)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(slave)
        os.close(master)


PAUSING = r"""
import os, sys
value = os.environ['CONNECTIONSTRINGS__PRIMARY']
at = value.index('canary')
out = sys.stdout.buffer
out.write(value[:at].encode() + b'\x1b[3')
out.flush()
open(sys.argv[1]).close()  # waits until the test has seen what was written after the pause
out.write(b'1m' + value[at:].encode() + b'\x1b[0m\n')
"""


@pytest.mark.parametrize("tty", ["--tty", "--no-tty"])
def test_a_pause_inside_a_colour_code_masks_the_value_once(
        cli: Cli, tmp_path: Path, tty: str) -> None:
    # The child pauses (here: until the test has read the output) inside "\x1b[31m", longer
    # than output is held back; written out then, "1m" would be text and the rest of the
    # value after it shown. The part of the value written before the pause is masked then,
    # and the rest joins that mask.
    put_all(cli)
    go = tmp_path / "go"
    os.mkfifo(go)
    proc = subprocess.Popen([VAULTLINE, "run", "--env", "prod", tty, "--", sys.executable,
                             "-c", PAUSING, str(go)], cwd=cli.root, env=cli.env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    seen = bytearray()
    try:
        read_until(proc.stdout.fileno(), b"********", seen)
        assert bytes(seen) == b"********"  # nothing of the value, nor of the colour code
        os.close(os.open(go, os.O_WRONLY))
        rest = proc.stdout.read()
        assert proc.wait(30) == 0
    finally:
        with contextlib.suppress(OSError):  # a child still waiting goes on, to a closed pipe
            os.close(os.open(go, os.O_WRONLY | os.O_NONBLOCK))
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    newline = b"\r\n" if tty == "--tty" else b"\n"
    assert rest == b"\x1b[31m\x1b[0m" + newline
