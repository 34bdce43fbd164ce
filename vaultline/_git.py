"""Running git in a directory vaultline does not trust: the one way every caller starts git.

A repository's configuration is whatever whoever made the directory put there (an extracted
archive, a copied workspace, a vendored checkout, a submodule, a ``.git`` file naming another
git directory), and git runs the programs some settings name. Every git process vaultline
starts goes through :func:`run_git` or :class:`Batch`, which

- set each setting that names a program for the commands vaultline runs to one that runs
  nothing, as ``-c`` options (they win over the system, global, repository and worktree
  files): ``core.fsmonitor`` (run by every command that reads the index), ``core.hooksPath``,
  ``core.pager``, ``core.editor``, ``core.askPass``, ``core.sshCommand``,
  ``credential.helper``, the ``gpg.*program`` settings and ``log.showSignature`` (``git log``
  would otherwise run the signature program for every signed commit);
- give ``diff`` and ``log`` ``--no-ext-diff --no-textconv``, and ``log``
  ``--no-show-signature``. No command vaultline runs reads work-tree contents or asks
  ``cat-file`` for ``--filters``, so no ``filter.<driver>`` program runs; drivers are named
  by the repository, so they cannot be overridden one by one, and a command that reads the
  work tree (``status``, ``diff`` without ``--cached``, ``add``) must not be run here;
- allow no transport (``GIT_ALLOW_PROTOCOL`` empty; it overrides every ``protocol.*.allow``):
  in a partial clone, reading an object that is not there would fetch it through the
  remote's URL (``ext::`` runs a command), ``core.sshCommand`` or a ``remote.<name>.vcs``
  helper. The object is reported missing instead;
- run with ``--no-pager --no-optional-locks``, no terminal prompt and no askpass program,
  in vaultline's environment without its credentials (:mod:`vaultline.runtime.childenv`);
- stop git when it writes nothing for ``VAULTLINE_GIT_TIMEOUT`` seconds (default 120): a
  FIFO in place of ``.git/config``, the index, a ref or an object blocks git forever.

The system and global configuration files are still read: they are the machine's and the
user's own, and the tree walk honours ``core.excludesFile`` from them on purpose
(:mod:`vaultline.scan.ignore`). The ``-c`` options override only the settings above.
"""

from __future__ import annotations

import os
import selectors
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

from vaultline._limits import seconds_setting
from vaultline.errors import ScanError

#: Settings that name a program, each set to a value that runs nothing.
OVERRIDES: tuple[tuple[str, str], ...] = (
    ("core.fsmonitor", "false"),
    ("core.hooksPath", os.devnull),
    ("core.pager", "cat"),
    ("core.editor", ":"),
    ("core.askPass", ""),
    ("core.sshCommand", "false"),
    ("credential.helper", ""),  # an empty value empties the list of helpers
    ("gpg.program", "false"),
    ("gpg.openpgp.program", "false"),
    ("gpg.x509.program", "false"),
    ("gpg.ssh.program", "false"),
    ("log.showSignature", "false"),
)
#: Options a subcommand gets right after its name.
_SUBCOMMAND_OPTIONS: dict[str, tuple[str, ...]] = {
    "diff": ("--no-ext-diff", "--no-textconv"),
    "log": ("--no-show-signature", "--no-ext-diff", "--no-textconv"),
}
#: Set in git's environment whatever vaultline's own holds.
_ENVIRONMENT = {
    "GIT_ALLOW_PROTOCOL": "",  # no transport at all
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_ASKPASS": "",  # wins over core.askPass and SSH_ASKPASS: no askpass program
    "GIT_EDITOR": ":",
    "GIT_PAGER": "cat",
}
TIMEOUT_VARIABLE = "VAULTLINE_GIT_TIMEOUT"
DEFAULT_TIMEOUT = 120.0
_CHUNK = 1 << 16


class GitError(ScanError):
    """git could not be started, or was stopped for writing nothing for too long."""


class GitNotInstalled(GitError):
    """No ``git`` on PATH."""


def command(*args: str, config: Sequence[tuple[str, str]] = ()) -> list[str]:
    """The argument list for ``git ARGS``: the overrides, then ``config``, then ``args`` with
    the options their subcommand gets."""
    argv = ["git", "--no-pager", "--no-optional-locks"]
    for key, value in (*OVERRIDES, *config):
        argv += ["-c", f"{key}={value}"]
    if args:
        argv += [args[0], *_SUBCOMMAND_OPTIONS.get(args[0], ()), *args[1:]]
    return argv


def environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``environ`` (default: vaultline's) without vaultline's and the providers' credentials,
    with git's prompts, askpass, editor, pager and transports switched off."""
    from vaultline.runtime.childenv import child_environment, credential_names

    source = os.environ if environ is None else environ
    return {**child_environment(source, credential_names(None)).inherited, **_ENVIRONMENT}


def idle_timeout(environ: Mapping[str, str] | None = None) -> float:
    """How long git may write nothing before it is stopped: ``VAULTLINE_GIT_TIMEOUT`` seconds."""
    return seconds_setting(TIMEOUT_VARIABLE, DEFAULT_TIMEOUT, environ)


def _start(cwd: Path, args: Sequence[str], config: Sequence[tuple[str, str]], *,
           stdin: int, stderr: int) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(command(*args, config=config), cwd=cwd, env=environment(),
                                stdin=stdin, stdout=subprocess.PIPE, stderr=stderr)
    except FileNotFoundError as exc:
        if exc.filename in (None, "git"):
            raise GitNotInstalled("git is not installed (no git on PATH)") from None
        raise GitError(f"git cannot run in {cwd}: {exc.strerror}") from None
    except OSError as exc:
        raise GitError(f"git cannot run in {cwd}: {exc.strerror}") from None


def _stalled(proc: subprocess.Popen[bytes], subcommand: str, cwd: Path, idle: float) -> GitError:
    proc.kill()
    proc.wait()
    return GitError(f"git {subcommand} wrote nothing for {idle:g} s in {cwd} (a FIFO or device "
                    f"in the repository?); if it is only slow, raise {TIMEOUT_VARIABLE}")


def run_git(cwd: Path, *args: str,
            config: Sequence[tuple[str, str]] = ()) -> subprocess.CompletedProcess[bytes]:
    """Run ``git ARGS`` in ``cwd`` to the end; its exit status, output and errors.

    Raises GitError when git cannot start or writes nothing for the idle timeout.
    """
    idle = idle_timeout()
    proc = _start(cwd, args, config, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    chunks: dict[int, list[bytes]] = {proc.stdout.fileno(): [], proc.stderr.fileno(): []}
    with selectors.DefaultSelector() as selector:
        for fd in chunks:
            selector.register(fd, selectors.EVENT_READ)
        while selector.get_map():
            ready = selector.select(idle)
            if not ready:
                proc.stdout.close()
                proc.stderr.close()
                raise _stalled(proc, args[0] if args else "", cwd, idle)
            for key, _ in ready:
                chunk = os.read(key.fd, _CHUNK)
                if chunk:
                    chunks[key.fd].append(chunk)
                else:
                    selector.unregister(key.fd)
    out = b"".join(chunks[proc.stdout.fileno()])
    err = b"".join(chunks[proc.stderr.fileno()])
    proc.stdout.close()
    proc.stderr.close()
    return subprocess.CompletedProcess(proc.args, proc.wait(), out, err)


class Batch:
    """A long-running git (``cat-file --batch``) fed on standard input, its output read as it
    comes; a read that waits longer than the idle timeout stops git and raises GitError.

    Its standard error is discarded: in a partial clone it would say, for each missing object,
    that fetching it is not allowed, and the output already says the object is missing.
    """

    def __init__(self, cwd: Path, *args: str) -> None:
        self._cwd, self._subcommand = cwd, args[0] if args else ""
        self._idle = idle_timeout()
        self._proc = _start(cwd, args, (), stdin=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self.stdin = self._proc.stdin
        self._out = self._proc.stdout
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._out.fileno(), selectors.EVENT_READ)
        self._buffer = bytearray()
        self._pos = 0
        self._eof = False

    def _fill(self) -> bool:
        if self._eof:
            return False
        if not self._selector.select(self._idle):
            raise _stalled(self._proc, self._subcommand, self._cwd, self._idle)
        chunk = os.read(self._out.fileno(), _CHUNK)
        if not chunk:
            self._eof = True
            return False
        if self._pos:
            del self._buffer[: self._pos]
            self._pos = 0
        self._buffer += chunk
        return True

    def readline(self) -> bytes:
        """The next line with its newline; what is left (maybe b"") at the end of output."""
        while True:
            end = self._buffer.find(b"\n", self._pos)
            if end >= 0:
                line = bytes(self._buffer[self._pos : end + 1])
                self._pos = end + 1
                return line
            if not self._fill():
                line = bytes(self._buffer[self._pos :])
                self._pos = len(self._buffer)
                return line

    def read(self, size: int) -> bytes:
        """The next ``size`` bytes, fewer only at the end of output."""
        while len(self._buffer) - self._pos < size and self._fill():
            pass
        data = bytes(self._buffer[self._pos : self._pos + size])
        self._pos += len(data)
        return data

    def skip(self, size: int) -> None:
        """Drop the next ``size`` bytes without holding them."""
        while size > 0:
            held = len(self._buffer) - self._pos
            if held >= size:
                self._pos += size
                return
            size -= held
            self._pos = len(self._buffer)
            if not self._fill():
                return

    def close(self) -> None:
        self._selector.close()
        self._out.close()
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()
