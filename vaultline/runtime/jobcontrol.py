"""Ctrl-Z for a child in a session of its own: the child and vaultline stop together.

The child leads its own session (on vaultline's pseudo-terminal, or with no terminal at all
behind masking pipes), so its process group counts as orphaned: the kernel discards the
SIGTSTP that the suspend key (Ctrl-Z) raises there, and a child with the default action would
not stop at all. On a pty vaultline reads the keys, so it does what a shell does for a job:
when the suspend key is typed while the child's terminal raises signals and the child's own
group holds it, the child's group is stopped, the user's terminal gets its own mode back and
vaultline stops itself; SIGCONT (``fg``) resumes both. A child that stops by other means
(SIGSTOP, or its own SIGTSTP handler) stops vaultline too, as ``script`` does; SIGTSTP sent
to vaultline (the user's terminal sends it for Ctrl-Z in piped mode) stops the child first;
SIGCONT to vaultline is passed on. A shell running as the child keeps Ctrl-Z for its jobs:
then a job of its holds the terminal and the key is passed on as typed, and an editor that
reads keys raw gets it as a key.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import termios
import threading
import tty
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

_DISABLED = (b"\0", 0)  # _POSIX_VDISABLE: no suspend key


class JobControl:
    """While entered: watches the child for stops and the keys for Ctrl-Z (main thread).

    `master` is the child's pty (None for a piped child: no keys to watch)."""

    def __init__(self, proc: subprocess.Popen[bytes], master: int | None, stdin: int | None,
                 saved: list[Any] | None, resumed: Callable[[], None],
                 stopping: Callable[[], None]):
        self._proc = proc
        self._master = master
        self._stdin = stdin
        self._saved = saved  # the user's terminal mode, put back while stopped
        self._resumed = resumed
        self._stopping = stopping  # shows what the stopped child printed before we stop too
        self.fd, self._wake = os.pipe()  # readable when a signal needs handling
        os.set_blocking(self._wake, False)
        self._previous: dict[int, object] = {}
        self._previous_wakeup: int | None = None
        self._asked_to_stop = False
        self._continued = False

    def __enter__(self) -> JobControl:
        if threading.current_thread() is threading.main_thread():
            for signum, handler in ((signal.SIGCHLD, self._on_signal),
                                    (signal.SIGTSTP, self._on_tstp),
                                    (signal.SIGCONT, self._on_cont)):
                self._previous[signum] = signal.signal(signum, handler)
            # A signal can land on another thread (the masker's build, the stdin copy): the
            # handler then runs only once the main thread leaves its select, which may wait
            # for nothing else. The wake-up fd is written by whichever thread takes it.
            self._previous_wakeup = signal.set_wakeup_fd(self._wake, warn_on_full_buffer=False)
            # A child that stopped before the handler was there raised a SIGCHLD nobody saw:
            # look once now, as if it came again.
            self._on_signal(signal.SIGCHLD, None)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._previous_wakeup is not None:
            signal.set_wakeup_fd(self._previous_wakeup)
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)  # type: ignore[arg-type]
        os.close(self.fd)
        os.close(self._wake)

    def _on_signal(self, _signum: int, _frame: FrameType | None) -> None:
        with contextlib.suppress(BlockingIOError):  # a wake-up is already pending
            os.write(self._wake, b"\0")

    def _on_tstp(self, signum: int, frame: FrameType | None) -> None:
        self._asked_to_stop = True
        self._on_signal(signum, frame)

    def _on_cont(self, signum: int, frame: FrameType | None) -> None:
        self._continued = True
        self._on_signal(signum, frame)

    def typed(self, data: bytes) -> None:
        """Pass typed bytes to the child's terminal, suspending at the suspend key where
        the kernel would not."""
        assert self._master is not None
        while data:
            key = self._suspend_key()
            if key is None or key not in data:
                _write_all(self._master, data)
                return
            before, _, data = data.partition(key)
            _write_all(self._master, before)
            self._suspend(stop_child=True)

    def handle(self) -> None:
        """After :attr:`fd` became readable: act on the signals that arrived."""
        with contextlib.suppress(BlockingIOError):
            os.read(self.fd, 64)
        if self._asked_to_stop:
            self._asked_to_stop = False
            self._suspend(stop_child=True)
        elif self._child_stopped():
            self._suspend(stop_child=False)
        if self._continued:
            self._continued = False
            self._continue_child()

    def _suspend_key(self) -> bytes | None:
        """The key that suspends, if the kernel would drop the signal it raises."""
        if self._master is None:
            return None
        try:
            attrs = termios.tcgetattr(self._master)
            in_front = os.tcgetpgrp(self._master) == self._proc.pid
        except (termios.error, OSError):
            return None
        if self._saved is None or not attrs[3] & termios.ISIG or not in_front:
            return None  # not typed, read raw by the child, or a shell's job's to handle
        key = attrs[6][termios.VSUSP]
        return None if key in _DISABLED or not isinstance(key, bytes) else key

    def _child_stopped(self) -> bool:
        try:  # WSTOPPED alone: an exit stays for the supervisor to reap
            info = os.waitid(os.P_PID, self._proc.pid, os.WSTOPPED | os.WNOHANG)
        except ChildProcessError:
            return False
        return info is not None and info.si_code == os.CLD_STOPPED

    def _suspend(self, *, stop_child: bool) -> None:
        if stop_child:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGSTOP)
            with contextlib.suppress(ChildProcessError):  # stopped (or gone) before we are;
                # WNOWAIT leaves an exit for the supervisor to reap
                os.waitid(os.P_PID, self._proc.pid, os.WSTOPPED | os.WEXITED | os.WNOWAIT)
        self._stopping()
        if self._saved is not None and self._stdin is not None:
            termios.tcsetattr(self._stdin, termios.TCSADRAIN, self._saved)
        os.kill(os.getpid(), signal.SIGSTOP)
        # Continued (fg, bg or SIGCONT): raw again, then the child.
        if self._saved is not None and self._stdin is not None:
            tty.setraw(self._stdin, termios.TCSADRAIN)  # keys typed meanwhile are kept
        self._resumed()
        self._continue_child()
        self._continued = False

    def _continue_child(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signal.SIGCONT)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
