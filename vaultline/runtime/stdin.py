"""A terminal on vaultline's stdin, handed to a piped child as a pipe.

A child whose output goes through masking pipes must hold no descriptor of the user's
terminal: writing to its stdin (``>&0``) would put a secret on the screen unmasked, as
``/dev/tty`` would (the child has no controlling terminal for that). So when vaultline's
stdin is a terminal, the child's stdin is a pipe, and one thread copies what the terminal
gives (a line at a time, as typed; Ctrl-D as the end) into the pipe of whichever child runs
now (a ``--watch`` restart starts another). The terminal stays in the user's mode: its echo
and line editing are the kernel's, as before.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import signal
import threading
import time

_READ_SIZE = 65536
#: How often the thread looks again while it waits: for `fg` in a background job, for a
#: child that does not read, or for a newer child's pipe.
_POLL = 0.2


class StdinRelay:
    """Copies fd `source` (a terminal) into the current child's stdin pipe, in a thread."""

    def __init__(self, source: int = 0):
        self._source = source
        self._lock = threading.Lock()
        self._next: int | None = None  # a new child's pipe, taken up before the next write
        self._ended = False  # the terminal gave its end (Ctrl-D): every later child gets it too
        self._thread: threading.Thread | None = None

    def pipe(self) -> int:
        """The read end of a new pipe for the next child's stdin (the caller closes it once
        the child has it); what is typed from now on goes there."""
        read, write = os.pipe()
        os.set_blocking(write, False)
        with self._lock:
            if self._ended:
                os.close(write)
            else:
                if self._next is not None:
                    os.close(self._next)  # a child that never got to read anything
                self._next = write
        if self._thread is None:
            self._thread = threading.Thread(target=self._copy, daemon=True,
                                            name="vaultline-stdin")
            self._thread.start()
        return read

    def _copy(self) -> None:
        # Blocked in this thread only: a read from the terminal while vaultline is a
        # background job then fails (EIO) instead of stopping vaultline (SIGTTIN), which would
        # stop the child's output too although the child may never read.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTTIN})
        target: int | None = None
        while True:
            try:
                data = os.read(self._source, _READ_SIZE)
            except OSError as exc:
                if exc.errno == errno.EIO:  # a background job: wait for `fg`
                    time.sleep(_POLL)
                    continue
                data = b""
            target = self._take(target)
            if not data:
                with self._lock:
                    self._ended = True
                    late, self._next = self._next, None
                for pipe in (target, late):
                    if pipe is not None:
                        os.close(pipe)  # the child reads the end of its input
                return
            target = self._write(target, data)

    def _take(self, target: int | None) -> int | None:
        """The newest child's pipe, the previous one closed."""
        with self._lock:
            new, self._next = self._next, None
        if new is None:
            return target
        if target is not None:
            os.close(target)
        return new

    def _write(self, target: int | None, data: bytes) -> int | None:
        view = memoryview(data)
        while view and target is not None:
            try:
                view = view[os.write(target, view):]
            except BlockingIOError:  # the child has not read yet: wait, or for a newer child
                select.select([], [target], [], _POLL)
                target = self._take(target)
            except OSError:  # EPIPE: the child is gone or closed its stdin; the rest is dropped
                with contextlib.suppress(OSError):
                    os.close(target)
                return None
        return target
