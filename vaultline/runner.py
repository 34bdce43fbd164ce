"""Starting a child process with secrets injected: the engine behind ``vaultline run``.

The child gets the caller's environment without vaultline's credentials (``childenv``)
plus the bundle's variables (or, with ``files_dir``, one 0600 file per secret and
``NAME_FILE`` pointing to it), the caller's
stdin, and, when masking, pipes for stdout and stderr whose bytes pass through a
``StreamMasker`` each. SIGINT, SIGTERM and SIGHUP are forwarded; the exit status passes
through as a shell reports it (killed by signal N: 128 + N). The runner prints nothing.
"""

from __future__ import annotations

import contextlib
import os
import select
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import FrameType, TracebackType

from vaultline._files import private_dir
from vaultline.childenv import NEVER_PASSED, ChildEnvironment, child_environment, credential_names
from vaultline.errors import CommandNotExecutableError, CommandNotFoundError, ConfigError
from vaultline.redact.masker import Masker, StreamMasker

#: Held-back output (a possible start of a secret) is written after at most this long.
FLUSH_AFTER = 0.05
_READ_SIZE = 65536
_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    secrets: Mapping[str, str],
    mask: bool = True,
    files_dir: Path | None = None,
    inherit: ChildEnvironment | None = None,
    masked: Iterable[str] | None = None,
) -> int:
    """Run `argv` to completion and return its exit status.

    `inherit` is what the child inherits (default: ``os.environ`` without credentials); the
    values it passed on by name are masked too. `env` is added to it and already holds the
    secrets, unless `files_dir` is given: then each name in `secrets` is unset and
    ``NAME_FILE`` names a file holding its value, in a fresh directory under `files_dir`
    (created 0700 if missing) that is removed when the child exits. With `mask`, every
    value in `masked` (default: those of `secrets`) is masked in the child's output.
    """
    if not argv:
        raise ConfigError("no command to run: vaultline run --env ENV -- COMMAND [ARGS...]")
    if inherit is None:
        inherit = child_environment(os.environ, credential_names(None))
    child_env = {**inherit.inherited, **env}
    for name in NEVER_PASSED:
        child_env.pop(name, None)
    secrets_dir: Path | None = None
    forwarder = _SignalForwarder()
    try:
        with forwarder:
            if files_dir is not None:
                secrets_dir = Path(tempfile.mkdtemp(prefix="vaultline-run-",
                                                    dir=private_dir(files_dir)))
                for name, value in secrets.items():
                    child_env.pop(name, None)
                    child_env[f"{name}_FILE"] = str(_write_secret_file(secrets_dir, name, value))
            # Anything our own buffers hold must come out before the child's output.
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            proc = _start(argv, child_env, piped=mask)
            forwarder.attach(proc)
            if mask:
                # Built while the child starts up (1,000 secrets: ~0.2 s of pattern compiling);
                # its output waits in the pipes until the masker can read them.
                try:
                    hidden = secrets.values() if masked is None else masked
                    masker = Masker([*hidden, *inherit.passed.values()])
                except BaseException:
                    proc.kill()
                    proc.wait()
                    raise
                _pump(proc, masker)
            returncode = proc.wait()
    finally:
        if secrets_dir is not None:
            shutil.rmtree(secrets_dir, ignore_errors=True)
    return 128 - returncode if returncode < 0 else returncode


def _start(argv: Sequence[str], env: dict[str, str], *, piped: bool) -> subprocess.Popen[bytes]:
    pipe = subprocess.PIPE if piped else None
    try:
        return subprocess.Popen(list(argv), env=env, stdout=pipe, stderr=pipe)
    except (FileNotFoundError, NotADirectoryError):
        raise CommandNotFoundError(argv[0]) from None
    except PermissionError:
        raise CommandNotExecutableError(argv[0]) from None
    except OSError as exc:
        raise CommandNotExecutableError(argv[0], f"cannot execute: {exc.strerror}") from None


def _write_secret_file(directory: Path, name: str, value: str) -> Path:
    if not name or "/" in name or "\0" in name or name in (".", ".."):
        raise ConfigError(f"secret name {name!r} cannot be used as a file name")
    path = directory / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)  # independent of the umask
        os.write(fd, value.encode("utf-8"))
    finally:
        os.close(fd)
    return path


def _terminal_sends_sigint() -> bool:
    """Whether we are in the terminal's foreground process group.

    Then Ctrl-C reaches the child directly; forwarding it too would interrupt the child
    twice (a second KeyboardInterrupt in its cleanup).
    """
    try:
        fd = os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY)
    except OSError:
        return False
    try:
        return os.tcgetpgrp(fd) == os.getpgrp()
    except OSError:
        return False
    finally:
        os.close(fd)


class _SignalForwarder:
    """Forwards signals to the child while installed (main thread only, as Python requires)."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._pending: list[int] = []
        self._previous: dict[int, object] = {}
        self._skip_sigint = False

    def __enter__(self) -> _SignalForwarder:
        if threading.current_thread() is threading.main_thread():
            self._skip_sigint = _terminal_sends_sigint()
            for signum in _FORWARDED:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)  # type: ignore[arg-type]

    def attach(self, proc: subprocess.Popen[bytes]) -> None:
        self._proc = proc
        for signum in self._pending:
            self._forward(signum)
        self._pending.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._proc is None:
            self._pending.append(signum)  # arrived before the child started
        else:
            self._forward(signum)

    def _forward(self, signum: int) -> None:
        if signum == signal.SIGINT and self._skip_sigint:
            return
        assert self._proc is not None
        if self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.send_signal(signum)


class _Output:
    """One of the child's pipes, its masker and where its bytes go."""

    def __init__(self, source: int, target: int, masker: StreamMasker):
        self.source = source
        self.target = target
        self.masker = masker
        self.flush_at: float | None = None
        self.broken = False

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
        self.write(self.masker.feed(data))
        if self.masker.pending:
            if self.flush_at is None:
                self.flush_at = time.monotonic() + FLUSH_AFTER
        else:
            self.flush_at = None

    def flush(self) -> None:
        self.write(self.masker.flush())
        self.flush_at = None


def _pump(proc: subprocess.Popen[bytes], masker: Masker) -> None:
    """Copy the child's stdout and stderr to ours, masked, until both close or it exits."""
    assert proc.stdout is not None and proc.stderr is not None
    # File descriptors 1 and 2: what the child would have written to without masking.
    outputs = {
        proc.stdout.fileno(): _Output(proc.stdout.fileno(), 1, masker.stream()),
        proc.stderr.fileno(): _Output(proc.stderr.fileno(), 2, masker.stream()),
    }
    pipes = {proc.stdout.fileno(): proc.stdout, proc.stderr.fileno(): proc.stderr}
    exited = _ExitWatch(proc)
    with selectors.DefaultSelector() as selector:
        for fd in outputs:
            selector.register(fd, selectors.EVENT_READ)
        if exited.fd is not None:
            selector.register(exited.fd, selectors.EVENT_READ)
        while len(selector.get_map()) > (exited.fd is not None):
            for key, _ in selector.select(_timeout(outputs.values(), exited)):
                if key.fd == exited.fd:
                    continue
                output = outputs[key.fd]
                data = os.read(key.fd, _READ_SIZE)
                if data:
                    output.feed(data)
                if not data or output.broken:
                    output.flush()
                    selector.unregister(key.fd)
                    pipes[key.fd].close()  # a child still writing gets EPIPE, not a full pipe
            now = time.monotonic()
            for output in outputs.values():
                if output.flush_at is not None and output.flush_at <= now:
                    output.flush()
            if exited.check():
                # Whatever the child wrote is in the pipes now; a background grandchild
                # holding them open must not keep us waiting.
                for key in list(selector.get_map().values()):
                    if key.fd in outputs:
                        _drain(outputs[key.fd])
                        selector.unregister(key.fd)
                break
    exited.close()
    for output in outputs.values():
        output.flush()
    for pipe in pipes.values():
        pipe.close()


def _drain(output: _Output) -> None:
    os.set_blocking(output.source, False)
    while not output.broken:
        try:
            data = os.read(output.source, _READ_SIZE)
        except BlockingIOError:
            break
        if not data:
            break
        output.feed(data)
    output.flush()


def _timeout(outputs: Iterable[_Output], exited: _ExitWatch) -> float | None:
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
