"""Reading blobs out of git: the staged index and the whole history, each blob once.

``git log --raw`` lists, commit by commit from the oldest, the blob ids each commit
introduced; the first time a blob id is seen is where its content first appeared. The
contents are then streamed through one ``git cat-file --batch`` process. git runs through
:mod:`vaultline._git`, so nothing the repository's configuration names is run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from vaultline._git import Batch, GitNotInstalled, run_git
from vaultline.errors import ScanError

_SUBMODULE_MODE = "160000"


@dataclass(frozen=True)
class BlobRef:
    """A blob, the commit and path where it first appeared, and its order of appearance."""

    oid: str
    path: str
    commit: str | None
    order: int


def _git(root: Path, *args: str) -> str:
    try:
        done = run_git(root, *args, config=[("core.quotePath", "false")])
    except GitNotInstalled:
        raise ScanError("git is not installed; --staged and --history need it") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ScanError(f"git {args[0]} failed in {root}: {message[-1] if message else '?'}")
    return done.stdout.decode("utf-8", "surrogateescape")


def repo_root(path: Path) -> Path:
    return Path(_git(path if path.is_dir() else path.parent, "rev-parse", "--show-toplevel").strip())


def is_repo(path: Path) -> bool:
    try:
        repo_root(path)
    except ScanError:
        return False
    return True


def _unquote(path: str) -> str:
    # With core.quotePath=false only control characters, '"' and '\\' are C-quoted.
    if len(path) >= 2 and path[0] == path[-1] == '"':
        return path[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
    return path


def staged_blobs(root: Path) -> list[BlobRef]:
    """Blobs for files added or modified in the index (what the next commit would add)."""
    raw = _git(root, "diff", "--cached", "--raw", "--no-abbrev", "--no-renames",
               "--diff-filter=AMT")
    refs: list[BlobRef] = []
    for line in raw.splitlines():
        meta, _, path = line.partition("\t")
        fields = meta.split()
        if len(fields) < 5 or fields[1] == _SUBMODULE_MODE:
            continue
        refs.append(BlobRef(fields[3], _unquote(path), None, len(refs)))
    return refs


@dataclass
class HistoryStats:
    commits: int = 0
    blob_mentions: int = 0  # (commit, path) pairs that introduced a blob, before dedup


def history_blobs(root: Path, since: str | None, stats: HistoryStats) -> list[BlobRef]:
    """Every blob reachable from any ref (after ``since``), once, oldest appearance first."""
    args = ["log", "--all", "--reverse", "--topo-order", "-m", "--raw", "--no-abbrev",
            "--no-renames", "--diff-filter=AMT", "--format=commit %H"]
    if since:
        try:
            if since.startswith("-"):  # would be read as an option
                raise ScanError(since)
            _git(root, "rev-parse", "--verify", "--quiet", f"{since}^{{commit}}")
        except ScanError:
            raise ScanError(f"--since {since!r}: no such commit, branch or tag in {root}; "
                            "give a ref git knows (e.g. v1.0, main~20)") from None
        args += ["--not", since]
    out = _git(root, *args)
    seen: set[str] = set()
    commits: set[str] = set()
    refs: list[BlobRef] = []
    commit: str | None = None
    for line in out.splitlines():
        if line.startswith("commit "):
            commit = line[7:].strip()
            commits.add(commit)
            continue
        if not line.startswith(":"):
            continue
        meta, _, path = line.partition("\t")
        fields = meta.split()
        if len(fields) < 5 or fields[1] == _SUBMODULE_MODE:
            continue
        stats.blob_mentions += 1
        oid = fields[3]
        if oid in seen:
            continue
        seen.add(oid)
        refs.append(BlobRef(oid, _unquote(path), commit, len(refs)))
    stats.commits = len(commits)
    return refs


def tracked_files(root: Path) -> list[str]:
    return [p for p in _git(root, "ls-files", "-z").split("\0") if p]


def is_ignored_by_git(root: Path, path: str) -> bool:
    return run_git(root, "check-ignore", "-q", "--no-index", path).returncode == 0


class BlobStream:
    """A blob larger than the limit, read in pieces straight from ``git cat-file``'s output;
    readable until the next blob is asked for."""

    def __init__(self, batch: Batch, size: int) -> None:
        self._batch = batch
        self.size = self.remaining = size

    def read(self, size: int) -> bytes:
        data = self._batch.read(min(size, self.remaining))
        self.remaining -= len(data)
        return data


def read_blobs(
    root: Path, refs: Iterable[BlobRef], max_bytes: int,
    on_missing: Callable[[BlobRef], None] = lambda ref: None,
) -> Iterator[tuple[BlobRef, bytes | BlobStream]]:
    """Stream contents through ``git cat-file --batch``; a :class:`BlobStream` for a blob over
    ``max_bytes``, to read before asking for the next blob.

    A blob the repository does not hold (a partial clone's, which git is not allowed to
    fetch) is passed to ``on_missing``. A writer thread feeds object ids while this
    generator reads, so neither pipe fills up.
    """
    refs = list(refs)
    batch = Batch(root, "cat-file", "--batch")
    stdin = batch.stdin

    def feed() -> None:
        try:
            for ref in refs:
                stdin.write(ref.oid.encode() + b"\n")
            stdin.close()
        except BrokenPipeError:
            pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        for done, ref in enumerate(refs):
            line = batch.readline()
            if not line:
                raise ScanError(f"git cat-file stopped after {done} of {len(refs)} blobs "
                                f"in {root}; run 'git fsck' there")
            header = line.split()
            if len(header) < 3:
                on_missing(ref)  # "<oid> missing": a partial clone or a pruned object
                continue
            size = int(header[2])
            if header[1] != b"blob":
                batch.skip(size + 1)
                continue
            if size > max_bytes:
                stream = BlobStream(batch, size)
                yield ref, stream
                batch.skip(stream.remaining + 1)  # what was not read, and the newline
                continue
            data = batch.read(size)
            batch.skip(1)  # the newline after each object
            yield ref, data
    finally:
        batch.close()
        writer.join(timeout=1)
