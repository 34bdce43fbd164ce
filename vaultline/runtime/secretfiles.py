"""``run --files DIR``: each secret in a 0600 file of a 0700 directory of its own, for the
child's lifetime — and no longer, even when vaultline itself was killed.

A run removes its directory when the child is gone; a run killed with SIGKILL (or by the OOM
killer) cannot, and would leave the secrets on disk in plain text. So each directory holds a
lock file that its run keeps locked (``flock``) while it lives, and a run that creates its
directory first removes every ``vaultline-run-*`` directory beside it whose lock no process
holds: the kernel drops a lock when its holder dies, however it died. The lock file is locked
before its name appears (under a temporary name, then renamed into place), so no run ever
sees another's lock unlocked while that run is alive.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import stat
import tempfile
from pathlib import Path

from vaultline._files import PRIVATE_DIR, open_private, safe_parent_dir, write_private
from vaultline.errors import ConfigError

PREFIX = "vaultline-run-"
LOCK_NAME = ".vaultline-run.lock"


class SecretFiles:
    """The directory of one run's secret files under ``parent`` (made 0700 if missing; else
    this user's or root's, and sticky if others may write it)."""

    def __init__(self, parent: Path):
        parent = safe_parent_dir(parent, "--files")
        remove_abandoned(parent)
        self.directory = Path(tempfile.mkdtemp(prefix=PREFIX, dir=parent))
        os.chmod(self.directory, PRIVATE_DIR)  # mkdtemp's 0700 is less the umask
        pending = self.directory / f"{LOCK_NAME}.new"
        self._lock = open_private(pending, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        os.rename(pending, self.directory / LOCK_NAME)

    def write(self, name: str, value: str) -> Path:
        """The file holding ``value`` (replaced by a rename: a child reading it on a reload
        signal sees the old or the new value, whole)."""
        if not name or "/" in name or "\0" in name or name in (".", "..") \
                or name.startswith(LOCK_NAME):
            raise ConfigError(f"secret name {name!r} cannot be used as a file name")
        path = self.directory / name
        write_private(path, value.encode("utf-8"))
        return path

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)
        os.close(self._lock)  # released only once the files are gone


def remove_abandoned(parent: Path) -> list[Path]:
    """Remove the directories of runs that died without removing them; the ones removed.

    Only this user's directories named like a run's, holding a lock file that nothing holds
    locked, are touched; anything else (a symlink, another user's, one without a lock) stays.
    """
    removed = []
    me = os.geteuid()
    for candidate in parent.glob(f"{PREFIX}*"):
        try:
            info = candidate.lstat()
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != me:
            continue
        try:
            lock = os.open(candidate / LOCK_NAME, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue  # no lock: not a run's directory, or one from before locks
        try:
            if not stat.S_ISREG(os.fstat(lock).st_mode):
                continue
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its run is alive
            shutil.rmtree(candidate, ignore_errors=True)
            removed.append(candidate)
        finally:
            with contextlib.suppress(OSError):
                os.close(lock)
    return removed


__all__ = ["LOCK_NAME", "PREFIX", "SecretFiles", "remove_abandoned"]
