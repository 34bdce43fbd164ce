"""Files and directories that hold secrets: private to their owner, whatever the umask.

Every directory vaultline creates is 0700 and every file it writes with secret content 0600,
set explicitly after creation (the umask can only take bits away, and a umask of 000 would
otherwise leave a directory created with its parents 0777). A key file or store that group
or others can read is refused, as ssh refuses a private key it could have leaked.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

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


def open_private(path: Path, flags: int = os.O_WRONLY | os.O_CREAT | os.O_TRUNC) -> int:
    """``os.open`` for a file holding secrets: created 0600 and set to 0600 if it existed."""
    fd = os.open(path, flags | os.O_NOFOLLOW, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def write_private(path: Path, data: bytes) -> None:
    """Replace `path` with `data` atomically, as a 0600 file (a temporary beside it, renamed)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = open_private(tmp)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def refuse_loose(path: Path, what: str, mode: int | None = None) -> None:
    """Raise when group or others may read or write `path` (its `mode`, if already known)."""
    if mode is None:
        mode = os.stat(path).st_mode
    loose = stat.S_IMODE(mode) & 0o077
    if loose:
        raise LoosePermissionsError(
            f"{what} {path} is accessible by group or others (mode "
            f"{stat.S_IMODE(mode):04o}); it is not used until you run: chmod 600 {path}")
