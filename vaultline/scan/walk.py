"""Which files a tree scan reads: everything not ignored, minus binaries."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from vaultline._limits import file_kind
from vaultline.errors import ScanError
from vaultline.scan.ignore import IgnoreRules, Tracked, enclosing_rules, is_ignored

DEFAULT_MAX_BYTES = 2 * 1024 * 1024
# Decided from the name alone, without opening the file.
BINARY_SUFFIXES = frozenset(
    {
        ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".ico", ".webp", ".tiff", ".pdf", ".zip", ".gz",
        ".tgz", ".bz2", ".xz", ".zst", ".7z", ".rar", ".jar", ".war", ".class", ".so", ".dylib",
        ".dll", ".exe", ".bin", ".o", ".a", ".pyc", ".pyo", ".whl", ".woff", ".woff2", ".ttf",
        ".otf", ".eot", ".mp3", ".mp4", ".mov", ".avi", ".wav", ".flac", ".ogg", ".sqlite", ".db",
        ".parquet", ".npy", ".pt", ".onnx",
    }
)
SKIP_DIRS = frozenset({".git", ".hg", ".svn"})


@dataclass
class WalkStats:
    files: int = 0
    bytes: int = 0
    skipped_binary: int = 0
    # Files (or blobs) over the size limit, read in windows of that size.
    large: int = 0
    skipped_ignored: int = 0
    unreadable: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    def add(self, other: WalkStats) -> None:
        self.files += other.files
        self.bytes += other.bytes
        self.skipped_binary += other.skipped_binary
        self.large += other.large
        self.skipped_ignored += other.skipped_ignored
        self.unreadable += other.unreadable

    def to_dict(self) -> dict[str, int]:
        return {
            "files_scanned": self.files,
            "bytes_scanned": self.bytes,
            "skipped_binary": self.skipped_binary,
            "large_files": self.large,
            "skipped_ignored": self.skipped_ignored,
            "unreadable": self.unreadable,
            **self.extra,
        }


def iter_files(root: Path, stats: WalkStats) -> Iterator[tuple[Path, str, int]]:
    """``(absolute path, path relative to root with /, size)`` for files worth reading.

    Applies git's exclude files and every ``.gitignore`` and ``.vaultlineignore`` from the
    work tree's top down, except that a file git tracks is excluded by ``.vaultlineignore``
    alone; counts ignored entries and name-detected binaries.
    """
    try:
        info = root.stat()
    except OSError:
        stats.unreadable += 1
        return
    if stat.S_ISREG(info.st_mode):
        yield root, root.name, info.st_size
        return
    if not stat.S_ISDIR(info.st_mode):
        # A FIFO or device: reading it might never end, and skipping it would pass a scan of
        # nothing as clean.
        raise ScanError(f"{root} is {file_kind(info.st_mode)}; give files and directories")
    stack = enclosing_rules(root)
    yield from _walk(root, "", stack, stats, Tracked(root))


def _walk(
    directory: Path, rel_dir: str, stack: list[IgnoreRules], stats: WalkStats,
    tracked: Tracked, ignored: bool = False,
) -> Iterator[tuple[Path, str, int]]:
    """``ignored``: ``directory`` is ignored, and walked only for the files git tracks in it."""
    rules = IgnoreRules.load(directory, rel_dir)
    if rules is not None:
        stack = [*stack, rules]
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        stats.unreadable += 1
        return
    for entry in entries:
        rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
            if not is_dir and not entry.is_file(follow_symlinks=False):
                continue  # symlinks, sockets, fifos
        except OSError:
            stats.unreadable += 1
            continue
        if is_dir and entry.name in SKIP_DIRS:
            continue
        skip = ignored or is_ignored(stack, rel, is_dir)
        if skip:
            in_git = tracked.holds_under(rel) if is_dir else rel in tracked
            if not in_git or is_ignored(stack, rel, is_dir, tracked=True):
                stats.skipped_ignored += 1
                continue
        if is_dir:
            yield from _walk(Path(entry.path), rel, stack, stats, tracked, skip)
            continue
        if os.path.splitext(entry.name)[1].lower() in BINARY_SUFFIXES:
            stats.skipped_binary += 1
            continue
        yield Path(entry.path), rel, entry.stat(follow_symlinks=False).st_size


def looks_binary(head: bytes) -> bool:
    """Git's own heuristic: a NUL byte in the first 8 KB (see :func:`vaultline.scan.text.encoding_of`
    for text with a UTF-16 or UTF-32 byte-order mark)."""
    return b"\x00" in head[:8192]
