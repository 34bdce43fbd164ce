"""Running a scan over a tree, the git index or git history, on every core.

Files (or blobs) are grouped into chunks of a few megabytes and scanned by a process pool;
each worker builds its own prefilter once. Small scans stay in-process, where starting a
pool would cost more than it saves. A file larger than ``max_bytes`` is scanned too, in
windows of that size (:mod:`vaultline.scan.text`); a blob that large is scanned as it is read
from git.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from vaultline.scan import git, text
from vaultline.scan.engine import Scanner
from vaultline.scan.finding import Finding
from vaultline.scan.walk import DEFAULT_MAX_BYTES, WalkStats, iter_files

CHUNK_BYTES = 4 * 1024 * 1024
CHUNK_FILES = 512
# Below this much data a pool costs more (start-up, a prefilter per worker) than it saves.
PARALLEL_MIN_BYTES = 16 * 1024 * 1024

T = TypeVar("T")


class BlobScanner(Protocol):
    """What the runner drives: the pattern :class:`Scanner`, or the known-values scanner."""

    def scan(self, data: bytes, path: str, *, commit: str | None = None) -> list[Finding]: ...


@dataclass
class ScanResult:
    findings: list[Finding]
    stats: WalkStats
    history: git.HistoryStats | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# Set in each worker process by _init_worker (and in-process for serial scans).
_scanner: BlobScanner | None = None
_max_bytes = DEFAULT_MAX_BYTES


def _init_worker(scanner: BlobScanner, max_bytes: int) -> None:
    global _scanner, _max_bytes
    _scanner, _max_bytes = scanner, max_bytes


def _scan_one(
    scanner: BlobScanner, max_bytes: int, first: bytes, rest: text.Read | None, path: str,
    commit: str | None, stats: WalkStats,
) -> list[Finding]:
    """The findings in one file or blob: ``first``, then what ``rest`` reads (None: ``first``
    is all of it). Binaries are counted and skipped; everything else is read to its end."""
    codec = text.encoding_of(first)
    if codec is None:
        stats.skipped_binary += 1
        return []
    stats.files += 1
    stats.bytes += len(first)
    if rest is None and codec == text.UTF8:
        return scanner.scan(first, path, commit=commit)
    if rest is not None:
        stats.large += 1

    def read(size: int) -> bytes:
        piece = rest(size) if rest is not None else b""
        stats.bytes += len(piece)
        return piece

    return text.scan_text(scanner, text.utf8_pieces(first, read, codec), path, window=max_bytes,
                          commit=commit)


def _scan_files(chunk: list[tuple[str, str]]) -> tuple[list[Finding], WalkStats]:
    assert _scanner is not None
    stats = WalkStats()
    findings: list[Finding] = []
    for absolute, display in chunk:
        try:
            with open(absolute, "rb") as handle:
                data = handle.read(_max_bytes + 1)
                rest = handle.read if len(data) > _max_bytes else None
                findings += _scan_one(_scanner, _max_bytes, data, rest, display, None, stats)
        except OSError:
            stats.unreadable += 1
    return findings, stats


def _scan_blobs(
    chunk: list[tuple[git.BlobRef, bytes]],
) -> tuple[list[tuple[int, Finding]], WalkStats]:
    assert _scanner is not None
    stats = WalkStats()
    findings: list[tuple[int, Finding]] = []
    for ref, data in chunk:
        found = _scan_one(_scanner, _max_bytes, data, None, ref.path, ref.commit, stats)
        findings += [(ref.order, f) for f in found]
    return findings, stats


def _progress(enabled: bool, total: float, unit: str) -> Any:
    """A rich progress bar on stderr, only when stderr is a terminal."""
    if not enabled or not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    progress = Progress(
        TextColumn("scanning"), BarColumn(), TextColumn(f"{{task.completed:.0f}}/{total:.0f} {unit}"),
        TimeRemainingColumn(), console=Console(stderr=True), transient=True,
    )
    progress.start()
    progress.add_task("scan", total=total)
    return progress


def _run(
    worker: Callable[[list[T]], tuple[list[Any], WalkStats]],
    chunks: Iterable[list[T]],
    *,
    scanner: BlobScanner,
    max_bytes: int,
    parallel: bool,
    jobs: int,
    on_chunk: Callable[[WalkStats], None],
) -> tuple[list[Any], WalkStats]:
    stats = WalkStats()
    results: list[Any] = []
    # fork: workers inherit the imported modules; each still compiles its own prefilter.
    # A scanner holding secret values is never pickled: without fork it runs in-process.
    fork = "fork" in multiprocessing.get_all_start_methods()
    if not parallel or jobs < 2 or (getattr(scanner, "fork_only", False) and not fork):
        _init_worker(scanner, max_bytes)
        for chunk in chunks:
            found, chunk_stats = worker(chunk)
            results += found
            stats.add(chunk_stats)
            on_chunk(chunk_stats)
        return results, stats
    method = "fork" if fork else "spawn"
    context = multiprocessing.get_context(method)
    # At most 2 chunks per worker in flight: history chunks are read from git as we go
    # and must not pile up in memory faster than they are scanned.
    slots = threading.BoundedSemaphore(jobs * 2)

    def bounded() -> Iterator[list[T]]:
        for chunk in chunks:
            slots.acquire()
            yield chunk

    with context.Pool(jobs, initializer=_init_worker, initargs=(scanner, max_bytes)) as pool:
        for found, chunk_stats in pool.imap_unordered(worker, bounded()):
            slots.release()
            results += found
            stats.add(chunk_stats)
            on_chunk(chunk_stats)
    return results, stats


def _chunked(items: Iterable[tuple[T, int]]) -> Iterator[list[T]]:
    chunk: list[T] = []
    size = 0
    for item, item_size in items:
        chunk.append(item)
        size += item_size
        if size >= CHUNK_BYTES or len(chunk) >= CHUNK_FILES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def scan_paths(
    paths: Sequence[Path],
    *,
    scanner: BlobScanner | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    jobs: int | None = None,
    progress: bool = False,
) -> ScanResult:
    """Scan files and trees; paths in findings are shown as given (``src/app.py``)."""
    scanner = scanner or Scanner()
    stats = WalkStats()
    files: list[tuple[tuple[str, str], int]] = []
    for root in paths:
        for absolute, rel, size in iter_files(root, stats):
            display = str(root) if root.is_file() else os.path.normpath(os.path.join(root, rel))
            files.append(((str(absolute), display), size))
    total = sum(size for _, size in files)
    jobs = jobs or os.cpu_count() or 1
    bar = _progress(progress, total / 1e6, "MB")
    with _closing(bar):
        found, scanned = _run(
            _scan_files,
            _chunked(files),
            scanner=scanner,
            max_bytes=max_bytes,
            parallel=total >= PARALLEL_MIN_BYTES,
            jobs=jobs,
            on_chunk=lambda st: bar and bar.advance(bar.task_ids[0], st.bytes / 1e6),
        )
    stats.add(scanned)
    findings: list[Finding] = sorted(found, key=lambda f: (f.path, f.line, f.column))
    return ScanResult(findings, stats)


def scan_staged(
    root: Path, *, scanner: Scanner | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> ScanResult:
    """Scan what the next commit would add: index contents of added/modified files."""
    top = git.repo_root(root)
    refs = git.staged_blobs(top)
    return _scan_refs(top, refs, scanner or Scanner(), max_bytes, jobs=1, progress=False)


def scan_history(
    root: Path,
    *,
    since: str | None = None,
    scanner: BlobScanner | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    jobs: int | None = None,
    progress: bool = False,
) -> ScanResult:
    """Every blob reachable from any ref once; each secret reported where it first appeared."""
    top = git.repo_root(root)
    history = git.HistoryStats()
    refs = git.history_blobs(top, since, history)
    result = _scan_refs(top, refs, scanner or Scanner(), max_bytes,
                        jobs=jobs or os.cpu_count() or 1, progress=progress)
    result.history = history
    # The same secret in later blobs (every later version of the file) is the same leak.
    first: dict[str, Finding] = {}
    for finding in result.findings:
        first.setdefault(finding.fingerprint, finding)
    result.findings = list(first.values())
    return result


def _scan_refs(
    top: Path,
    refs: list[git.BlobRef],
    scanner: BlobScanner,
    max_bytes: int,
    *,
    jobs: int,
    progress: bool,
) -> ScanResult:
    stats = WalkStats()
    # Blobs over max_bytes, scanned here as git writes them out, a window at a time.
    large: list[tuple[int, Finding]] = []
    large_stats = WalkStats()

    def missing(ref: git.BlobRef) -> None:
        stats.extra["blobs_missing"] = stats.extra.get("blobs_missing", 0) + 1

    def blobs() -> Iterator[tuple[tuple[git.BlobRef, bytes], int]]:
        for ref, data in git.read_blobs(top, refs, max_bytes, on_missing=missing):
            if isinstance(data, git.BlobStream):
                found = _scan_one(scanner, max_bytes, data.read(max_bytes), data.read, ref.path,
                                  ref.commit, large_stats)
                large.extend((ref.order, f) for f in found)
                continue
            yield (ref, data), len(data)

    bar = _progress(progress, len(refs), "blobs")
    with _closing(bar):
        found, scanned = _run(
            _scan_blobs,
            _chunked(blobs()),
            scanner=scanner,
            max_bytes=max_bytes,
            parallel=len(refs) > 200,
            jobs=jobs,
            on_chunk=lambda st: bar and bar.advance(bar.task_ids[0], st.files + st.skipped_binary),
        )
    scanned.add(large_stats)
    stats.add(scanned)
    stats.extra["blobs_scanned"] = scanned.files
    ordered = sorted([*found, *large], key=lambda item: (item[0], item[1].line, item[1].column))
    return ScanResult([f for _, f in ordered], stats)


def _closing(bar: Any) -> AbstractContextManager[Any]:
    if bar is None:
        return nullcontext()

    class _Stop:
        def __enter__(self) -> Any:
            return bar

        def __exit__(self, *exc: object) -> None:
            bar.stop()

    return _Stop()
