"""Files and directories that hold secrets: private to their owner, whatever the umask.

Every directory vaultline creates is 0700 and every file it writes with secret content 0600,
set explicitly after creation (the umask can only take bits away, and a umask of 000 would
otherwise leave a directory created with its parents 0777). A key file or store that group
or others can read is refused, as ssh refuses a private key it could have leaked.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from vaultline.errors import LoosePermissionsError

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def missing_parts(path: Path) -> tuple[list[Path], Path]:
    """The directories ``private_dir`` would create for `path`, outermost last, and the nearest
    existing ancestor (or `path` itself) they would go into."""
    missing: list[Path] = []
    here = path
    while not here.exists() and here.parent != here:
        missing.append(here)
        here = here.parent
    return missing, here


def private_dir(path: Path) -> Path:
    """Create `path` and its missing parents, each 0700; existing directories are left alone."""
    missing, _ = missing_parts(path)
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            continue  # created meanwhile by someone else: theirs to set
        os.chmod(directory, PRIVATE_DIR)
    return path


def owned_private_dir(path: Path, what: str) -> Path:
    """`path` for files holding secrets, written into it directly: created 0700 (its missing
    parents too) or, when it exists, already this user's and closed to group and others.

    An existing directory is checked, never chmodded: ``/tmp`` given by mistake would be
    closed to everyone else (as root), and another user's would stay theirs to read from.
    """
    from vaultline.errors import ConfigError

    private_dir(path)
    info = os.stat(path)
    if info.st_uid != os.geteuid():
        raise ConfigError(f"{what} {path} belongs to another user (uid {info.st_uid}), who could "
                          "read or replace what is written there: name a directory of yours")
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise ConfigError(f"{what} {path} is open to group or others (mode "
                          f"{stat.S_IMODE(info.st_mode):04o}): run chmod 700 {path}, or name a "
                          "new directory (vaultline creates it 0700)")
    return path


def safe_parent_dir(path: Path, what: str) -> Path:
    """`path` to hold a private directory of vaultline's own (created 0700 when missing): this
    user's or root's, and if others may write it, sticky (as ``/tmp`` and ``/dev/shm``), so no
    one else can rename that directory away and put one of theirs in its place."""
    from vaultline.errors import ConfigError

    private_dir(path)
    info = os.stat(path)
    if info.st_uid not in (os.geteuid(), 0):
        raise ConfigError(f"{what} {path} belongs to another user (uid {info.st_uid}), who could "
                          "swap the files written under it: name a directory of yours")
    if stat.S_IMODE(info.st_mode) & 0o022 and not info.st_mode & stat.S_ISVTX:
        raise ConfigError(f"{what} {path} can be written by group or others and is not sticky "
                          f"(mode {stat.S_IMODE(info.st_mode):04o}), so they could swap the files "
                          f"written under it: run chmod 700 {path} (or chmod +t), or name "
                          "another directory")
    return path


def open_private(path: Path, flags: int = os.O_WRONLY | os.O_CREAT | os.O_TRUNC) -> int:
    """``os.open`` for a file holding secrets: created 0600 and set to 0600 if it existed."""
    fd = os.open(path, flags | os.O_NOFOLLOW, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def write_private(path: Path, data: bytes, *, durable: bool = False) -> None:
    """Replace `path` with `data` atomically, as a 0600 file (see :func:`writing_private`)."""
    with writing_private(path, durable=durable) as handle:
        handle.write(data)


@contextlib.contextmanager
def writing_private(path: Path, *, durable: bool = False) -> Iterator[BinaryIO]:
    """A handle to write `path` anew in pieces: a 0600 temporary beside it, renamed into place
    when the block ends without an error and removed when it raises (with `durable`, on disk
    before the rename).

    The temporary is a new file (O_EXCL) under an unguessable name: in a directory others can
    write, a name known in advance could be theirs already (a FIFO that hangs the write, a
    file they hold open to read what is written), and O_EXCL refuses anything already there.
    A symlink at `path` is replaced, not written through.
    """
    import secrets

    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        try:
            fd = open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        except FileExistsError:
            continue
        break
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_output(path: Path, data: bytes) -> None:
    """Write what a command was asked to write at `path` (see :func:`writing_output`)."""
    with writing_output(path) as handle:
        handle.write(data)


def _own_stream(path: Path) -> bool:
    """Whether ``path`` names one of this process's own descriptors: ``/dev/fd/N`` or
    ``/proc/self/fd/N`` (a shell's ``>(...)``), or a link to one (``/dev/stdout``)."""
    parent = os.path.realpath(os.path.dirname(os.path.abspath(path)))
    if parent == f"/proc/{os.getpid()}/fd":
        return True
    try:
        target = os.readlink(path)
    except OSError:
        return False
    return target.startswith(("/proc/self/fd/", "/dev/fd/")) or target in (
        "/dev/stdout", "/dev/stderr")


@contextlib.contextmanager
def writing_output(path: Path) -> Iterator[BinaryIO]:
    """A handle to write, in pieces, what a command was asked to write at `path` (``-o``,
    ``--out``, env.example, a baseline).

    A device, FIFO or socket there (``/dev/stdout``, ``/dev/null``, a shell's ``>(...)``) is
    written as a stream: replacing it would leave the data in a file where a stream was meant,
    or replace ``/dev/stdout`` itself. A FIFO nobody reads is an error, not a hang. Anything
    else is replaced through :func:`writing_private`, so a symlink there (committed in a
    repository, or dangling, or pointing at someone's FIFO or terminal, even in ``/dev/shm``)
    is replaced, never written through to wherever it points. A link is followed only to one
    of this process's own descriptors (``/dev/stdout``, ``/dev/fd/N``).
    """
    from vaultline.errors import ConfigError

    own = _own_stream(path)  # the one kind of link followed
    with contextlib.ExitStack() as stack:
        try:
            try:
                info = os.stat(path) if own else os.lstat(path)
            except FileNotFoundError:
                info = None
            if info is None or not (stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)
                                    or stat.S_ISFIFO(info.st_mode) or stat.S_ISSOCK(info.st_mode)):
                handle = stack.enter_context(writing_private(path))
            else:
                flags = os.O_WRONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
                fd = os.open(path, flags if own else flags | os.O_NOFOLLOW)
                handle = stack.enter_context(os.fdopen(fd, "wb"))
                if stat.S_ISREG(os.fstat(fd).st_mode):
                    # Swapped for a file (or a link to one) since the stat: writing would
                    # overwrite wherever it points, in place.
                    raise ConfigError("cannot write: it changed while being opened; try again",
                                      file=str(path))
                os.set_blocking(fd, True)  # the reader is there: wait for it, as a shell would
        except OSError as exc:
            reason = ("a FIFO with no reader" if exc.errno == errno.ENXIO
                      else "it changed while being opened; try again" if exc.errno == errno.ELOOP
                      else exc.strerror)
            raise ConfigError(f"cannot write: {reason}", file=str(path)) from None
        yield handle


def refuse_loose(path: Path, what: str, mode: int | None = None) -> None:
    """Raise when group or others may read or write `path` (its `mode`, if already known)."""
    if mode is None:
        mode = os.stat(path).st_mode
    loose = stat.S_IMODE(mode) & 0o077
    if loose:
        raise LoosePermissionsError(
            f"{what} {path} is accessible by group or others (mode "
            f"{stat.S_IMODE(mode):04o}); it is not used until you run: chmod 600 {path}")
