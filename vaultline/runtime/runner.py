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
import fcntl
import os
import select
import selectors
import signal
import subprocess
import sys
import termios
import threading
import time
import tty as _tty
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import FrameType, TracebackType

from vaultline._files import private_dir, write_private
from vaultline.errors import (
    CommandNotExecutableError,
    CommandNotFoundError,
    ConfigError,
    VaultlineError,
)
from vaultline.redact.cache import MaskerCache
from vaultline.redact.masker import Masker, Staged, StreamMasker
from vaultline.resolve.leases import LeaseBook
from vaultline.runtime.childenv import NEVER_PASSED, ChildEnvironment, child_environment, credential_names
from vaultline.runtime.jobcontrol import JobControl
from vaultline.runtime.watch import OnChange, Snapshot, Watch

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
    file_vars: Mapping[str, str] | None = None,
    tty: bool = False,
    watch: Watch | None = None,
    on_change: OnChange | None = None,
    grace: float = 10.0,
    on_reload: Callable[[Snapshot], None] | None = None,
    masker_cache: MaskerCache | None = None,
    leases: LeaseBook | None = None,
) -> int:
    """Run `argv` to completion and return its exit status.

    `inherit` is what the child inherits (default: ``os.environ`` without credentials); the
    values it passed on by name are masked too. `env` is added to it and already holds the
    secrets, unless `files_dir` is given: then each name in `secrets` is unset and
    ``NAME_FILE`` (or the variable `file_vars` gives for the name) names a file holding its
    value, in a fresh directory under `files_dir` (created 0700 if missing) that is removed
    when the child exits. With `mask`, every value in `masked` (default: those of
    `secrets`) is masked in the child's output. With `tty` the child runs on a
    pseudo-terminal whose output is masked the same way.

    With `watch`, a thread ticks it; on a change `on_reload` runs (re-rendering templates),
    the new values are masked from then on (the old ones too), and per `on_change` the
    child is restarted (SIGTERM, `grace` seconds, SIGKILL) or the files are rewritten and
    the child signalled. `masker_cache` keeps compiled maskers (encrypted) between runs.

    With `leases` (dynamic credentials), a thread renews them while the child runs, the
    watch is woken when one nears its end (its next re-resolve gets new credentials), the
    leases a reload replaced are revoked, and all of them are revoked when the child exits.
    """
    if not argv:
        raise ConfigError("no command to run: vaultline run --env ENV -- COMMAND [ARGS...]")
    if inherit is None:
        inherit = child_environment(os.environ, credential_names(None))
    supervisor = _Supervisor(argv, inherit, mask=mask, tty=tty, files_dir=files_dir,
                             file_vars=dict(file_vars or {}), grace=grace, on_reload=on_reload,
                             on_change=on_change or OnChange(), masker_cache=masker_cache,
                             leases=leases)
    return supervisor.run(env, secrets, masked, watch)


class _Supervisor:
    """One child at a time, restarted or signalled when the watch reports a change."""

    def __init__(self, argv: Sequence[str], inherit: ChildEnvironment, *, mask: bool, tty: bool,
                 files_dir: Path | None, file_vars: dict[str, str], grace: float,
                 on_reload: Callable[[Snapshot], None] | None, on_change: OnChange,
                 masker_cache: MaskerCache | None, leases: LeaseBook | None = None):
        self.argv = list(argv)
        self.inherit = inherit
        self.mask = mask
        self.tty = tty
        self.files_dir = files_dir
        self.file_vars = file_vars
        self.grace = grace
        self.on_reload = on_reload
        self.on_change = on_change
        self.masker_cache = masker_cache
        self.secrets_dir: Path | None = None
        self.masked: list[str] = []
        self.masker: Masker | None = None
        self.outputs: list[_Output] = []
        self.proc: subprocess.Popen[bytes] | None = None
        self.pending: Snapshot | None = None  # the bundle a restart starts the child with
        self.leases = leases
        self.stopped = threading.Event()
        self.wakeup = threading.Event()  # the watch's sleep cut short: a lease nears its end
        self.lock = threading.Lock()
        self.masker_lock = threading.Lock()
        self.generation = 0  # bumped by a reload: a build for older values never takes over
        # A compile whose result the next run will load from the cache, finished before exit.
        self.compiling: threading.Thread | None = None

    def run(self, env: Mapping[str, str], secrets: Mapping[str, str],
            masked: Iterable[str] | None, watch: Watch | None) -> int:
        forwarder = _SignalForwarder(skip_terminal_sigint=not self.tty)
        threads: list[threading.Thread] = []
        try:
            with forwarder:
                child_env = self._child_env(env, secrets)
                self.masked = list(secrets.values() if masked is None else masked)
                if watch is not None:
                    threads.append(threading.Thread(target=self._watch, args=(watch,),
                                                    daemon=True, name="vaultline-watch"))
                if self.leases is not None:
                    threads.append(threading.Thread(target=self._keep, args=(self.leases,),
                                                    daemon=True, name="vaultline-leases"))
                for thread in threads:
                    thread.start()
                while True:
                    returncode = self._run_once(child_env, forwarder)
                    with self.lock:
                        snap, self.pending = self.pending, None
                    if snap is None:
                        break
                    child_env = self._child_env(snap.env, snap.secrets)
        finally:
            self.stopped.set()
            self.wakeup.set()
            if self.leases is not None:
                self.leases.changed.set()
            for thread in threads:
                thread.join(timeout=self.grace + 1)
            if self.leases is not None:
                self.leases.revoke_all()  # the child is gone: its credentials go with it
            if self.secrets_dir is not None:
                import shutil  # with --files only: it pulls in the compression modules

                shutil.rmtree(self.secrets_dir, ignore_errors=True)
        if self.compiling is not None:
            # The output went through the quick masker: let the compile finish (files and
            # leases are gone already), so the next run loads it from the cache instead of
            # building again. A silent child never waits; Ctrl-C interrupts the wait.
            self.compiling.join()
        return 128 - returncode if returncode < 0 else returncode

    def _child_env(self, env: Mapping[str, str], secrets: Mapping[str, str]) -> dict[str, str]:
        child_env = {**self.inherit.inherited, **env}
        for name in NEVER_PASSED:
            child_env.pop(name, None)
        if self.files_dir is not None:
            if self.secrets_dir is None:
                import tempfile

                self.secrets_dir = Path(tempfile.mkdtemp(prefix="vaultline-run-",
                                                         dir=private_dir(self.files_dir)))
            for name, value in secrets.items():
                child_env.pop(name, None)
                path = _write_secret_file(self.secrets_dir, name, value)
                child_env[self.file_vars.get(name, f"{name}_FILE")] = str(path)
        return child_env

    def _stage(self) -> tuple[int, Staged]:
        """The masker for every value so far, to be built (``Masker.staged``)."""
        with self.masker_lock:
            values = [*self.masked, *self.inherit.passed.values()] if self.mask else []
            return self.generation, Masker.staged(values, self.masker_cache)

    def _take(self, generation: int, masker: Masker, *, follow: bool) -> bool:
        """Make `masker` the current one unless a reload superseded the values it is for;
        with `follow`, the outputs move to it too."""
        with self.masker_lock:
            if generation != self.generation:
                return False
            self.masker = masker
            if follow:
                for output in list(self.outputs):
                    output.follow(masker)
            return True

    def _compile_later(self, generation: int, staged: Staged) -> None:
        """Compile the faster masker in a thread; the outputs move to it when it is done."""
        def compile_and_follow() -> None:
            with contextlib.suppress(Exception):  # the quick masker masks the same bytes
                self._take(generation, staged.compiled(), follow=True)

        threading.Thread(target=compile_and_follow, daemon=True,
                         name="vaultline-masker-compile").start()

    def _run_once(self, child_env: dict[str, str], forwarder: _SignalForwarder) -> int:
        # Anything our own buffers hold must come out before the child's output.
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        master: int | None = None
        if self.tty:
            master, slave = os.openpty()
            _copy_window_size(1, slave)
            try:
                proc = _start(self.argv, child_env, piped=False, terminal=slave)
            except BaseException:
                os.close(master)
                raise
            finally:
                os.close(slave)
        else:
            proc = _start(self.argv, child_env, piped=self.mask)
        self.proc = proc
        forwarder.attach(proc)
        try:
            if self.mask or master is not None:
                # Built while the child runs; its output waits in the pipe until the masker
                # is complete, and a child that prints nothing never waits for it.
                build = _MaskerBuild(self)
                try:
                    if master is not None:
                        _pump_terminal(proc, master, build, self)
                    else:
                        _pump(proc, build, self)
                except BaseException:
                    proc.kill()
                    proc.wait()
                    raise
                finally:
                    build.close()
            return proc.wait()
        finally:
            if master is not None:
                os.close(master)

    def _watch(self, watch: Watch) -> None:
        delay = watch.first_delay()
        while True:
            woken = self.wakeup.wait(delay)
            if self.stopped.is_set():
                return
            if woken:  # a lease became final: sleep until its replacement is due instead
                self.wakeup.clear()
                delay = watch.first_delay()
                if delay > 0:
                    continue
            new, delay = watch.tick()
            if new is None or self.stopped.is_set():
                continue
            try:
                self._apply(new)
            except (VaultlineError, OSError) as exc:  # a template that no longer renders
                # The child keeps its bundle (and its leases); the next tries back off. The
                # new values stay masked: they exist, and may be printed.
                delay = watch.failed("reload failed; the command keeps its current values "
                                     f"and vaultline retries with backoff: {exc}")
                continue
            watch.applied(new)
            if self.leases is not None:
                self.leases.revoke_retired()  # the child has moved to the new lease

    def _keep(self, leases: LeaseBook) -> None:
        """Renew the leases at two thirds of their TTL until the child is gone."""
        while not self.stopped.is_set():
            leases.changed.wait(leases.next_renewal())
            if self.stopped.is_set():
                return
            leases.changed.clear()
            if leases.renew_due():
                self.wakeup.set()

    def _apply(self, new: Snapshot) -> None:
        """Mask the new values first, then hand them to the child."""
        with self.masker_lock:
            self.masked = list(dict.fromkeys([*self.masked, *new.masked]))  # a retry adds none
            self.generation += 1
            self.masker = None
        if self.mask:
            generation, staged = self._stage()
            self._take(generation, staged.quick(), follow=True)
            if staged.ready is None:
                self._compile_later(generation, staged)
        if self.on_reload is not None:
            self.on_reload(new)
        proc = self.proc
        if self.on_change.restart:
            with self.lock:
                self.pending = new
            if proc is not None:
                _terminate(proc, self.grace)
        else:
            self._child_env(new.env, new.secrets)  # rewrites the files in place
            assert self.on_change.signal is not None
            if proc is not None and proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(self.on_change.signal)


def _terminate(proc: subprocess.Popen[bytes], grace: float) -> None:
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()


def _copy_window_size(source: int, target: int) -> None:
    with contextlib.suppress(OSError):
        size = fcntl.ioctl(source, termios.TIOCGWINSZ, b"\0" * 8)
        fcntl.ioctl(target, termios.TIOCSWINSZ, size)


def _start(argv: Sequence[str], env: dict[str, str], *, piped: bool,
           terminal: int | None = None) -> subprocess.Popen[bytes]:
    pipe = subprocess.PIPE if piped else None
    try:
        if terminal is not None:
            # Its own session with the pty as controlling terminal, as a shell would set up.
            # Piped input (`... | vaultline run`) stays the child's stdin; typed input goes
            # through the pty.
            stdin = terminal if _is_terminal(0) else None
            return subprocess.Popen(list(argv), env=env, stdin=stdin, stdout=terminal,
                                    stderr=terminal, start_new_session=True,
                                    preexec_fn=_take_terminal)
        return subprocess.Popen(list(argv), env=env, stdout=pipe, stderr=pipe)
    except (FileNotFoundError, NotADirectoryError):
        raise CommandNotFoundError(argv[0]) from None
    except PermissionError:
        raise CommandNotExecutableError(argv[0]) from None
    except OSError as exc:
        raise CommandNotExecutableError(argv[0], f"cannot execute: {exc.strerror}") from None


def _take_terminal() -> None:
    fcntl.ioctl(1, termios.TIOCSCTTY, 0)  # stdout is the pty; stdin may be a pipe


def _write_secret_file(directory: Path, name: str, value: str) -> Path:
    if not name or "/" in name or "\0" in name or name in (".", ".."):
        raise ConfigError(f"secret name {name!r} cannot be used as a file name")
    path = directory / name
    # Replaced by a rename, so a child reading it on a reload signal sees old or new, whole.
    write_private(path, value.encode("utf-8"))
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

    def __init__(self, *, skip_terminal_sigint: bool = True) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._pending: list[int] = []
        self._previous: dict[int, object] = {}
        self._skip_sigint = False
        # A child on its own pty is in another session: the terminal's Ctrl-C never reaches it.
        self._check_terminal = skip_terminal_sigint

    def __enter__(self) -> _SignalForwarder:
        if threading.current_thread() is threading.main_thread():
            self._skip_sigint = self._check_terminal and _terminal_sends_sigint()
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


class _MaskerBuild:
    """The child's masker, built in threads while the child runs.

    Output is read only once a masker is complete (:meth:`get` waits), so no byte passes
    unmasked; a child that prints nothing never waits. From the cache the masker is ready
    at once; otherwise Hyperscan compiles it (seconds for tens of thousands of secrets, with
    the GIL released) and, if output arrives first, a quick Aho–Corasick masker takes it
    meanwhile (its build holds the GIL, so it is built only when needed); the outputs move
    to the compiled one when it is done. :attr:`fd` becomes readable when a masker is ready
    or the build failed, so a failed build takes the child down at once.
    """

    def __init__(self, supervisor: _Supervisor):
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
            generation, staged = self._supervisor._stage()
            if staged.ready is not None:
                self._supervisor._take(generation, staged.ready, follow=False)
                self._finish(staged.ready, None)
                return
            compiling = threading.Thread(target=self._compile, args=(generation, staged),
                                         daemon=True, name="vaultline-masker-compile")
            compiling.start()
            self._needed.wait()
            if not self._done.is_set():
                quick = staged.quick()
                if self._finish(quick, None):
                    self._supervisor._take(generation, quick, follow=False)
                    self._supervisor.compiling = compiling
        except BaseException as exc:  # handed to the thread that needs the masker
            self._finish(None, exc)

    def _compile(self, generation: int, staged: Staged) -> None:
        try:
            masker = staged.compiled()
        except BaseException as exc:
            self._finish(None, exc)  # unless the quick one is in use: it masks the same
            return
        if self._finish(masker, None):
            self._supervisor._take(generation, masker, follow=False)
        else:  # output flows through the quick masker: move it to this one
            self._supervisor._take(generation, masker, follow=True)

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


class _Output:
    """One of the child's pipes, its masker and where its bytes go."""

    def __init__(self, source: int, target: int, build: _MaskerBuild):
        self.source = source
        self.target = target
        self.masker: StreamMasker | None = None  # once the first byte needs it
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
            masker = self.masker = self._build.get().stream()
        if self._next is not None:
            masker.follow(self._next)
            self._next = None
        self.write(masker.feed(data))
        if masker.pending:
            if self.flush_at is None:
                self.flush_at = time.monotonic() + FLUSH_AFTER
        else:
            self.flush_at = None

    def flush(self) -> None:
        if self.masker is not None:  # else nothing was fed
            self.write(self.masker.flush())
        self.flush_at = None


def _pump(proc: subprocess.Popen[bytes], build: _MaskerBuild, supervisor: _Supervisor) -> None:
    """Copy the child's stdout and stderr to ours, masked, until both close or it exits."""
    assert proc.stdout is not None and proc.stderr is not None
    # File descriptors 1 and 2: what the child would have written to without masking.
    outputs = {
        proc.stdout.fileno(): _Output(proc.stdout.fileno(), 1, build),
        proc.stderr.fileno(): _Output(proc.stderr.fileno(), 2, build),
    }
    supervisor.outputs = list(outputs.values())
    pipes = {proc.stdout.fileno(): proc.stdout, proc.stderr.fileno(): proc.stderr}
    exited = _ExitWatch(proc)
    with selectors.DefaultSelector() as selector:
        for fd in outputs:
            selector.register(fd, selectors.EVENT_READ)
        if exited.fd is not None:
            selector.register(exited.fd, selectors.EVENT_READ)
        selector.register(build.fd, selectors.EVENT_READ)
        open_pipes = len(outputs)
        while open_pipes:
            for key, _ in selector.select(_timeout(outputs.values(), exited)):
                if key.fd == exited.fd:
                    continue
                if key.fd == build.fd:
                    selector.unregister(build.fd)
                    build.check()
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
        except OSError:  # nothing more for now (EAGAIN), or a pty with no writer left (EIO)
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


def _pump_terminal(proc: subprocess.Popen[bytes], master: int, build: _MaskerBuild,
                   supervisor: _Supervisor) -> None:
    """Copy the pty's output to our stdout, masked, and our stdin and window size to it.

    Our terminal is put in raw mode meanwhile, so keys (Ctrl-C included) reach the child's
    terminal as typed, and its line discipline does the rest; Ctrl-Z stops the child and
    vaultline together (``jobcontrol``).
    """
    output = _Output(master, 1, build)
    supervisor.outputs = [output]
    stdin = 0 if _is_terminal(0) else None
    saved = termios.tcgetattr(stdin) if stdin is not None else None
    previous_winch = None
    if threading.current_thread() is threading.main_thread():
        previous_winch = signal.signal(
            signal.SIGWINCH, lambda _s, _f: _copy_window_size(1, master))
    exited = _ExitWatch(proc)
    jobs = JobControl(proc, master, stdin, saved, lambda: _copy_window_size(1, master))
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
                    output.flush()
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


def _is_terminal(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False
