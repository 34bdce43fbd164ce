"""Copying a child's output to ours, masked: the pipes or the pseudo-terminal of ``run``.

Each output (stdout, stderr, or the terminal) is read as it comes and written through a
``TerminalMasker`` (its text masked with the escape sequences taken out, so colours inside a
secret do not hide it); what could be the start of a secret is held back until the child
has written nothing for ``FLUSH_AFTER`` (then shown, or masked if it is a secret's first
``PAUSE_MASK_BYTES`` or more), an unfinished escape sequence until it ends. The masker is built in threads
while the child runs (:class:`MaskerBuild`), and no byte is written before one is complete.
On a terminal, our keys and window size go to the child's, and Ctrl-Z stops both
(``jobcontrol``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import selectors
import signal
import subprocess
import termios
import threading
import time
import tty as _tty
from collections.abc import Iterable
from typing import Protocol

from vaultline.redact.masker import Masker, Staged
from vaultline.redact.terminal import TerminalMasker
from vaultline.runtime.jobcontrol import JobControl

#: Held-back output (a possible start of a secret) is written after at most this long.
FLUSH_AFTER = 0.05
_READ_SIZE = 65536


class Supervisor(Protocol):
    """What the pump needs of the supervisor: its masker, and where its outputs are."""

    masker: Masker | None
    compiling: threading.Thread | None
    outputs: list[Output]

    def stage(self) -> tuple[int, Staged]: ...

    def take(self, generation: int, masker: Masker, *, follow: bool) -> bool: ...


class MaskerBuild:
    """The child's masker, built in threads while the child runs.

    Output is read only once a masker is complete (:meth:`get` waits), so no byte passes
    unmasked; a child that prints nothing never waits. From the cache the masker is ready
    at once; otherwise Hyperscan compiles it (seconds for tens of thousands of secrets, with
    the GIL released) and, if output arrives first, a quick Aho–Corasick masker takes it
    meanwhile (its build holds the GIL, so it is built only when needed); the outputs move
    to the compiled one when it is done. :attr:`fd` becomes readable when a masker is ready
    or the build failed, so a failed build takes the child down at once.
    """

    def __init__(self, supervisor: Supervisor):
        self._supervisor = supervisor
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._needed = threading.Event()  # output is waiting (or nothing is left to wait for)
        self._masker: Masker | None = None
        self._error: BaseException | None = None
        self.fd, self._notify = os.pipe()
        if supervisor.masker is not None:  # a restart after a reload: built already
            self._finish(supervisor.masker, None)
        else:
            threading.Thread(target=self._build, daemon=True, name="vaultline-masker").start()

    def _build(self) -> None:
        try:
            generation, staged = self._supervisor.stage()
            if staged.ready is not None:
                self._supervisor.take(generation, staged.ready, follow=False)
                self._finish(staged.ready, None)
                return
            compiling = threading.Thread(target=self._compile, args=(generation, staged),
                                         daemon=True, name="vaultline-masker-compile")
            compiling.start()
            self._needed.wait()
            if not self._done.is_set():
                quick = staged.quick()
                # Known before the output the quick masker lets through can end the run, so
                # the run waits for the compile (and its cache entry) at exit; joining a
                # compile that won the race costs nothing.
                self._supervisor.compiling = compiling
                if self._finish(quick, None):
                    self._supervisor.take(generation, quick, follow=False)
        except BaseException as exc:  # handed to the thread that needs the masker
            self._finish(None, exc)

    def _compile(self, generation: int, staged: Staged) -> None:
        try:
            masker = staged.compiled()
        except BaseException as exc:
            self._finish(None, exc)  # unless the quick one is in use: it masks the same
            return
        if self._finish(masker, None):
            self._supervisor.take(generation, masker, follow=False)
        else:  # output flows through the quick masker: move it to this one
            self._supervisor.take(generation, masker, follow=True)

    def _finish(self, masker: Masker | None, error: BaseException | None) -> bool:
        """The first masker (or error) to arrive is the build's result; False for later ones."""
        with self._lock:
            if self._done.is_set():
                return False
            self._masker, self._error = masker, error
            self._done.set()
        self._needed.set()
        with contextlib.suppress(OSError):  # the reader may be gone (child exited)
            os.write(self._notify, b"\0")
        os.close(self._notify)
        return True

    def check(self) -> None:
        """Raise what the build raised, if it has failed."""
        if self._error is not None:
            raise self._error

    def get(self) -> Masker:
        self._needed.set()
        self._done.wait()
        self.check()
        assert self._masker is not None
        return self._masker

    def close(self) -> None:
        # The write end is the build's: a build nobody needs is left to finish or to die
        # with the process.
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class Output:
    """One of the child's pipes, its masker and where its bytes go."""

    def __init__(self, source: int, target: int, build: MaskerBuild):
        self.source = source
        self.target = target
        self.masker: TerminalMasker | None = None  # once the first byte needs it
        self.flush_at: float | None = None
        self.broken = False
        self._build = build
        self._next: Masker | None = None  # set by the watch thread, taken up on the next read

    def follow(self, masker: Masker) -> None:
        self._next = masker

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view and not self.broken:
            try:
                written = os.write(self.target, view)
            except BrokenPipeError:
                # Our reader went away: stop reading, so the child gets EPIPE/SIGPIPE in turn.
                self.broken = True
                return
            view = view[written:]

    def feed(self, data: bytes) -> None:
        masker = self.masker
        if masker is None:
            # Colours inside a secret (grep --color, a word diff) must not hide it.
            masker = self.masker = TerminalMasker(self._build.get())
        if self._next is not None:
            masker.follow(self._next)
            self._next = None
        self.write(masker.feed(data))
        if masker.pending:
            # Counted from the last read: a secret still coming in (a certificate bundle
            # through a busy pipe) is not cut by a flush while the child writes it.
            self.flush_at = time.monotonic() + FLUSH_AFTER
        else:
            self.flush_at = None

    def flush(self, *, end: bool = True) -> None:
        """Write what the masker holds: all of it at the end of the output (`end`), else all
        but an unfinished escape sequence (see ``TerminalMasker.flush``)."""
        if self.masker is not None:  # else nothing was fed
            self.write(self.masker.flush(end=end))
        self.flush_at = None


def pump(proc: subprocess.Popen[bytes], build: MaskerBuild, supervisor: Supervisor) -> None:
    """Copy the child's stdout and stderr to ours, masked, until both close or it exits.

    The child leads a session of its own (no terminal to write to around the masking), so
    Ctrl-Z, which stops only vaultline's group, stops it through ``jobcontrol``."""
    assert proc.stdout is not None and proc.stderr is not None
    # File descriptors 1 and 2: what the child would have written to without masking.
    outputs = {
        proc.stdout.fileno(): Output(proc.stdout.fileno(), 1, build),
        proc.stderr.fileno(): Output(proc.stderr.fileno(), 2, build),
    }
    supervisor.outputs = list(outputs.values())
    pipes = {proc.stdout.fileno(): proc.stdout, proc.stderr.fileno(): proc.stderr}
    exited = _ExitWatch(proc)
    # Stopped, the child's output so far is shown before vaultline stops too.
    with selectors.DefaultSelector() as selector, JobControl(
            proc, None, None, None, lambda: None,
            lambda: _drain_open(selector, outputs, unregister=False)) as jobs:
        for fd in outputs:
            selector.register(fd, selectors.EVENT_READ)
        if exited.fd is not None:
            selector.register(exited.fd, selectors.EVENT_READ)
        selector.register(build.fd, selectors.EVENT_READ)
        selector.register(jobs.fd, selectors.EVENT_READ)
        open_pipes = len(outputs)
        while open_pipes:
            for key, _ in selector.select(_timeout(outputs.values(), exited)):
                if key.fd == exited.fd:
                    continue
                if key.fd == build.fd:
                    selector.unregister(build.fd)
                    build.check()
                    continue
                if key.fd == jobs.fd:
                    jobs.handle()
                    continue
                output = outputs[key.fd]
                data = os.read(key.fd, _READ_SIZE)
                if data:
                    output.feed(data)
                if not data or output.broken:
                    output.flush()
                    selector.unregister(key.fd)
                    open_pipes -= 1
                    pipes[key.fd].close()  # a child still writing gets EPIPE, not a full pipe
            now = time.monotonic()
            for output in outputs.values():
                if output.flush_at is not None and output.flush_at <= now:
                    output.flush(end=False)
            if exited.check():
                # Whatever the child wrote is in the pipes now; a background grandchild
                # holding them open must not keep us waiting.
                _drain_open(selector, outputs, unregister=True)
                break
    exited.close()
    for output in outputs.values():
        output.flush()
    for pipe in pipes.values():
        pipe.close()


def _drain_open(selector: selectors.BaseSelector, outputs: dict[int, Output], *,
                unregister: bool) -> None:
    """Drain the outputs whose pipes are still open (registered in `selector`)."""
    for key in list(selector.get_map().values()):
        if key.fd in outputs:
            _drain(outputs[key.fd])
            if unregister:
                selector.unregister(key.fd)


def _drain(output: Output) -> None:
    """Copy what the child wrote so far (all of it: it exited or is stopped), masked; a
    stopped child may go on, so an unfinished escape sequence stays held (at exit the last
    flush writes it)."""
    blocking = os.get_blocking(output.source)
    os.set_blocking(output.source, False)
    try:
        while not output.broken:
            try:
                data = os.read(output.source, _READ_SIZE)
            except OSError:  # nothing more for now (EAGAIN), or a pty with no writer left (EIO)
                break
            if not data:
                break
            output.feed(data)
    finally:
        os.set_blocking(output.source, blocking)
    output.flush(end=False)


def _timeout(outputs: Iterable[Output], exited: _ExitWatch) -> float | None:
    deadlines = [o.flush_at for o in outputs if o.flush_at is not None]
    if exited.fd is None:
        deadlines.append(time.monotonic() + _ExitWatch.POLL)
    if not deadlines:
        return None
    return max(0.0, min(deadlines) - time.monotonic())


class _ExitWatch:
    """Tells when the child has exited: a pidfd in the selector on Linux, else polling."""

    POLL = 0.1

    def __init__(self, proc: subprocess.Popen[bytes]):
        self._proc = proc
        self.fd: int | None = None
        with contextlib.suppress(AttributeError, OSError):
            self.fd = os.pidfd_open(proc.pid)

    def check(self) -> bool:
        if self.fd is not None:
            # A pidfd is readable once the process has exited; poll() then reaps it.
            ready, _, _ = select.select([self.fd], [], [], 0)
            return bool(ready)
        return self._proc.poll() is not None

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def pump_terminal(proc: subprocess.Popen[bytes], master: int, build: MaskerBuild,
                   supervisor: Supervisor) -> None:
    """Copy the pty's output to our stdout, masked, and our stdin and window size to it.

    Our terminal is put in raw mode meanwhile, so keys (Ctrl-C included) reach the child's
    terminal as typed, and its line discipline does the rest; Ctrl-Z stops the child and
    vaultline together (``jobcontrol``).
    """
    output = Output(master, 1, build)
    supervisor.outputs = [output]
    stdin = 0 if is_terminal(0) else None
    saved = termios.tcgetattr(stdin) if stdin is not None else None
    previous_winch = None
    if threading.current_thread() is threading.main_thread():
        previous_winch = signal.signal(
            signal.SIGWINCH, lambda _s, _f: copy_window_size(1, master))
    exited = _ExitWatch(proc)
    jobs = JobControl(proc, master, stdin, saved, lambda: copy_window_size(1, master),
                      lambda: _drain(output))
    try:
        if stdin is not None:
            _tty.setraw(stdin, termios.TCSADRAIN)  # type-ahead is kept, as ssh does
        with selectors.DefaultSelector() as selector, jobs:
            selector.register(master, selectors.EVENT_READ)
            if stdin is not None:
                selector.register(stdin, selectors.EVENT_READ)
            if exited.fd is not None:
                selector.register(exited.fd, selectors.EVENT_READ)
            selector.register(build.fd, selectors.EVENT_READ)
            selector.register(jobs.fd, selectors.EVENT_READ)
            while True:
                for key, _ in selector.select(_timeout([output], exited)):
                    if key.fd == exited.fd:
                        continue
                    if key.fd == build.fd:
                        selector.unregister(build.fd)
                        build.check()
                        continue
                    if key.fd == jobs.fd:
                        jobs.handle()
                        continue
                    if key.fd == stdin:
                        data = os.read(stdin, _READ_SIZE)
                        if data:
                            jobs.typed(data)
                        else:
                            selector.unregister(stdin)
                        continue
                    try:
                        data = os.read(master, _READ_SIZE)
                    except OSError:  # EIO: every process on the terminal has closed it
                        data = b""
                    if not data:
                        output.flush()
                        return
                    output.feed(data)
                    if output.broken:
                        return
                if output.flush_at is not None and output.flush_at <= time.monotonic():
                    output.flush(end=False)
                if exited.check():
                    _drain(output)
                    return
    finally:
        exited.close()
        output.flush()
        if saved is not None and stdin is not None:
            termios.tcsetattr(stdin, termios.TCSADRAIN, saved)
        if previous_winch is not None:
            signal.signal(signal.SIGWINCH, previous_winch)


def is_terminal(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


def copy_window_size(source: int, target: int) -> None:
    with contextlib.suppress(OSError):
        size = fcntl.ioctl(source, termios.TIOCGWINSZ, b"\0" * 8)
        fcntl.ioctl(target, termios.TIOCSWINSZ, size)
