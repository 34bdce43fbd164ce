"""Starting a child process with secrets injected: the engine behind ``vaultline run``.

The child gets the caller's environment without vaultline's credentials (``childenv``)
plus the bundle's variables (or, with ``files_dir``, one 0600 file per secret and
``NAME_FILE`` pointing to it), the caller's stdin, and, when masking, pipes for stdout and
stderr whose bytes pass through a ``TerminalMasker`` each. A masked child holds no handle on
the user's terminal that would let it print around the masking: it runs in a session of its
own, on its own pty or with no controlling terminal (no ``/dev/tty``), and a terminal on our
stdin reaches it through a pipe (``stdin``). Every signal that would end vaultline (SIGINT,
SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 ...: ``vaultline._signals``) is forwarded instead; the
exit status passes through as a shell reports it (killed by signal N: 128 + N). The runner
prints nothing.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import signal
import subprocess
import sys
import termios
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Literal

from vaultline._signals import FROM_TERMINAL, install
from vaultline.errors import (
    CommandNotExecutableError,
    CommandNotFoundError,
    ConfigError,
    VaultlineError,
)
from vaultline.redact.cache import MaskerCache
from vaultline.redact.masker import Masker, Staged
from vaultline.runtime.childenv import (
    NEVER_PASSED,
    ChildEnvironment,
    child_environment,
    credential_names,
    unfit_for_environment,
)
from vaultline.runtime.pump import (
    MaskerBuild,
    Output,
    copy_window_size,
    is_terminal,
    pump,
    pump_terminal,
)
from vaultline.runtime.stdin import StdinRelay
from vaultline.runtime.watch import OnChange, Snapshot, Watch

if TYPE_CHECKING:
    from vaultline.resolve.leases import LeaseBook
    from vaultline.runtime.secretfiles import SecretFiles


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
        self.secret_files: SecretFiles | None = None
        self.masked: list[str] = []
        self.masker: Masker | None = None
        self.outputs: list[Output] = []
        self.proc: subprocess.Popen[bytes] | None = None
        self.pending: Snapshot | None = None  # the bundle a restart starts the child with
        self.leases = leases
        self.stopped = threading.Event()
        self.wakeup = threading.Event()  # the watch's sleep cut short: a lease nears its end
        self.lock = threading.Lock()
        self.masker_lock = threading.Lock()
        self.stdin: StdinRelay | None = None  # a terminal on our stdin, piped to the child
        self.generation = 0  # bumped by a reload: a build for older values never takes over
        # A compile whose result the next run will load from the cache, finished before exit.
        self.compiling: threading.Thread | None = None

    def run(self, env: Mapping[str, str], secrets: Mapping[str, str],
            masked: Iterable[str] | None, watch: Watch | None) -> int:
        # The terminal's Ctrl-C and Ctrl-\ reach a child in our process group by
        # themselves; one in a session of its own behind pipes gets them from us, and one
        # on its own pty gets them typed, so a SIGINT to vaultline was sent on purpose.
        forwarder = _SignalForwarder(terminal="child" if self.tty else
                                     "group" if self.mask else "skip")
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
            if self.secret_files is not None:
                self.secret_files.remove()
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
            if self.secret_files is None:
                # With --files only: it pulls in shutil and its compression modules.
                from vaultline.runtime.secretfiles import SecretFiles

                self.secret_files = SecretFiles(self.files_dir)
            for name, value in secrets.items():
                child_env.pop(name, None)
                path = self.secret_files.write(name, value)
                child_env[self.file_vars.get(name, f"{name}_FILE")] = str(path)
        return child_env

    def stage(self) -> tuple[int, Staged]:
        """The masker for every value so far, to be built (``Masker.staged``)."""
        with self.masker_lock:
            values = [*self.masked, *self.inherit.passed.values()] if self.mask else []
            return self.generation, Masker.staged(values, self.masker_cache)

    def take(self, generation: int, masker: Masker, *, follow: bool) -> bool:
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
                self.take(generation, staged.compiled(), follow=True)

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
            copy_window_size(1, slave)
            try:
                proc = _start(self.argv, child_env, piped=False, terminal=slave)
            except BaseException:
                os.close(master)
                raise
            finally:
                os.close(slave)
        else:
            stdin = None
            if self.mask and is_terminal(0):
                if self.stdin is None:
                    self.stdin = StdinRelay(0)
                stdin = self.stdin.pipe()
            try:
                proc = _start(self.argv, child_env, piped=self.mask, stdin=stdin)
            finally:
                if stdin is not None:
                    os.close(stdin)
        self.proc = proc
        forwarder.attach(proc)
        try:
            if self.mask or master is not None:
                # Built while the child runs; its output waits in the pipe until the masker
                # is complete, and a child that prints nothing never waits for it.
                build = MaskerBuild(self)
                try:
                    if master is not None:
                        pump_terminal(proc, master, build, self)
                    else:
                        pump(proc, build, self)
                except BaseException:
                    proc.kill()
                    proc.wait()
                    raise
                finally:
                    build.close()
            if master is not None:
                # Nobody reads the terminal any more (the child exited, or our stdout was
                # closed): a child still writing gets a hangup, as on a closed pipe, instead
                # of blocking on a full terminal while we wait for it.
                os.close(master)
                master = None
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
            generation, staged = self.stage()
            self.take(generation, staged.quick(), follow=True)
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


def _start(argv: Sequence[str], env: dict[str, str], *, piped: bool,
           terminal: int | None = None, stdin: int | None = None) -> subprocess.Popen[bytes]:
    try:
        if terminal is not None:
            # Its own session with the pty as controlling terminal, as a shell would set up.
            # Piped input (`... | vaultline run`) stays the child's stdin; typed input goes
            # through the pty.
            return subprocess.Popen(list(argv), env=env,
                                    stdin=terminal if is_terminal(0) else None,
                                    stdout=terminal, stderr=terminal, start_new_session=True,
                                    preexec_fn=_take_terminal)
        if piped:
            # A session of its own has no controlling terminal: /dev/tty cannot be opened.
            return subprocess.Popen(list(argv), env=env, stdin=stdin, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, start_new_session=True)
        return subprocess.Popen(list(argv), env=env)
    except (FileNotFoundError, NotADirectoryError):
        raise CommandNotFoundError(argv[0]) from None
    except PermissionError:
        raise CommandNotExecutableError(argv[0]) from None
    except (ValueError, UnicodeEncodeError):  # a NUL byte, or text no environment can hold
        unfit = _unfit_variable(env)
        if unfit is None:
            raise
        raise unfit from None
    except OSError as exc:
        if exc.errno == errno.E2BIG:
            raise _unfit_variable(env) or ConfigError(
                "the command's environment and arguments together are larger than the system "
                "allows; hand the secrets over as files (vaultline run --files DIR)") from None
        raise CommandNotExecutableError(argv[0], f"cannot execute: {exc.strerror}") from None


def _unfit_variable(env: Mapping[str, str]) -> ConfigError | None:
    """The error for a variable exec refused. `run` checks the bundle's values before, naming
    their keys; this names what a caller of :func:`run` passed."""
    for name, value in env.items():
        problem = unfit_for_environment(name, value)
        if problem is not None:
            return ConfigError(f"variable {name}: its value {problem}; hand it over as a file "
                               "(vaultline run --files DIR)")
    return None


def _take_terminal() -> None:
    fcntl.ioctl(1, termios.TIOCSCTTY, 0)  # stdout is the pty; stdin may be a pipe


def _terminal_sends_sigint() -> bool:
    """Whether we are in the terminal's foreground process group.

    Then Ctrl-C (and Ctrl-\\) reaches the child directly; forwarding it too would interrupt
    the child twice (a second KeyboardInterrupt in its cleanup).
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
    """Forwards signals to the child while installed (main thread only, as Python requires).

    `terminal` says where the Ctrl-C and Ctrl-\\ that the terminal sends vaultline's group
    belong: ``skip`` (the child is in that group and got them too), ``group`` (the child
    leads a group of its own: it and its children get them, as from the terminal) or
    ``child`` (forwarded to the child like any other signal: its own pty sends it its keys).
    """

    def __init__(self, *, terminal: Literal["skip", "group", "child"] = "skip") -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._pending: list[int] = []
        self._previous: dict[int, object] = {}
        self._terminal = terminal
        self._from_terminal = False

    def __enter__(self) -> _SignalForwarder:
        if threading.current_thread() is threading.main_thread():
            self._from_terminal = self._terminal != "child" and _terminal_sends_sigint()
            self._previous = install(self._handle)
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
        assert self._proc is not None
        group = signum in FROM_TERMINAL and self._from_terminal
        if group and self._terminal == "skip":
            return
        if self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                if group:
                    os.killpg(self._proc.pid, signum)
                else:
                    self._proc.send_signal(signum)
