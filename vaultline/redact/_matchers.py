"""Multi-literal matchers behind the masker: Hyperscan, Aho–Corasick and pure Python.

Each reports, for a block of bytes, a list of ``(start, end)`` spans whose union is the
union of every occurrence of every pattern. Hyperscan and Aho–Corasick report every
occurrence; the pure-Python fallback reports the longest occurrence at each start, which
covers the same bytes. Hyperscan scans fastest but compiles tens of thousands of literals
in seconds; the Aho–Corasick automaton (pyahocorasick) builds in linear time and scans at a
fraction of Hyperscan's speed, so it masks a first run's output while Hyperscan compiles.
"""

from __future__ import annotations

import os
import re
import struct
import threading
from collections.abc import Sequence
from typing import Any, Literal, Protocol

from vaultline.errors import ConfigError

Backend = Literal["auto", "hyperscan", "ahocorasick", "python"]
Span = tuple[int, int]


class Matcher(Protocol):
    name: str

    def scan(self, data: bytes, offset: int = 0) -> list[Span]:
        """Spans in `data`, shifted by `offset` (the position of `data` in a stream)."""
        ...


#: Hyperscan's compile time grows faster than the number of literals: 60,000 take about 5 s
#: in one database, but 1.4 s as eight databases of 7,500 compiled two at a time (the compile
#: releases the GIL). Above SPLIT_ABOVE patterns (about a second's compile) they are split
#: into databases of at most PART_PATTERNS, and each chunk of output is scanned by every part:
#: half the single database's speed, still ten times Aho–Corasick's. Up to SPLIT_ABOVE, one
#: database scans fastest (a thousand secrets are about 8,000 patterns).
SPLIT_ABOVE = 16000
PART_PATTERNS = 8000
#: Compiles at once, at most: each holds its own working memory, and a container's quota
#: may allow fewer cores than the machine shows.
MAX_COMPILERS = 4


def _usable_cores() -> int:
    """The cores this process may run on (its affinity mask), not the machine's count."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


class HyperscanMatcher:
    """Hyperscan block mode with literal patterns, in one database or, for many patterns,
    several compiled in parallel (:data:`SPLIT_ABOVE`).

    Block mode rather than stream mode: the streaming masker keeps its own context, and the
    python binding's stream close is unreliable. No SOM flag is needed: a literal's start is
    its end minus its length, known from the pattern id (ids are indexes into `patterns`
    across all parts).
    """

    name = "hyperscan"

    def __init__(self, patterns: Sequence[bytes], serialized: bytes | None = None):
        import hyperscan  # lazy: a compiled extension, and x86-64 only

        self._hyperscan = hyperscan
        self._lengths = [len(p) for p in patterns]
        if serialized is not None:
            self._dbs: list[Any] = [hyperscan.loadb(blob, hyperscan.HS_MODE_BLOCK)
                                    for blob in _unpack(serialized)]
        else:
            count = 1 if len(patterns) <= SPLIT_ABOVE else -(-len(patterns) // PART_PATTERNS)
            # Every count-th pattern: sorted neighbours share prefixes, so each part gets a
            # slice of every prefix and the parts take about as long as each other.
            parts = [range(k, len(patterns), count) for k in range(count)]
            if count == 1:
                self._dbs = [self._compile(patterns, parts[0])]
            else:
                from concurrent.futures import ThreadPoolExecutor

                with ThreadPoolExecutor(min(count, _usable_cores(), MAX_COMPILERS)) as pool:
                    self._dbs = list(pool.map(lambda ids: self._compile(patterns, ids), parts))
        # Scratch space must not be shared by concurrent scans (logging runs in many threads).
        self._local = threading.local()

    def _compile(self, patterns: Sequence[bytes], ids: range) -> Any:
        db = self._hyperscan.Database(mode=self._hyperscan.HS_MODE_BLOCK)
        db.compile(expressions=[patterns[i] for i in ids], ids=list(ids), elements=len(ids),
                   flags=0, literal=True)
        return db

    def serialize(self) -> bytes:
        blobs = [bytes(self._hyperscan.dumpb(db)) for db in self._dbs]
        return b"".join([struct.pack(">I", len(blobs)),
                         *(struct.pack(">I", len(b)) + b for b in blobs)])

    def _scratches(self) -> list[Any]:
        scratches = getattr(self._local, "scratches", None)
        if scratches is None:
            scratches = self._local.scratches = [self._hyperscan.Scratch(database=db)
                                                 for db in self._dbs]
        return scratches

    def scan(self, data: bytes, offset: int = 0) -> list[Span]:
        spans: list[Span] = []
        if not data:
            return spans
        lengths = self._lengths
        append = spans.append

        def on_match(pattern_id: int, _from: int, to: int, _flags: int, _ctx: object) -> None:
            end = offset + to
            append((end - lengths[pattern_id], end))

        for db, scratch in zip(self._dbs, self._scratches(), strict=True):
            db.scan(data, match_event_handler=on_match, scratch=scratch)
        return spans


def _unpack(serialized: bytes) -> list[bytes]:
    """The databases of :meth:`HyperscanMatcher.serialize`: a count, then each length-prefixed."""
    (count,), at = struct.unpack_from(">I", serialized), 4
    blobs = []
    for _ in range(count):
        (size,) = struct.unpack_from(">I", serialized, at)
        blobs.append(serialized[at + 4 : at + 4 + size])
        at += 4 + size
    if at != len(serialized):
        raise ValueError("trailing bytes after the masker's databases")
    return blobs


class AhoCorasickMatcher:
    """An Aho–Corasick automaton over the patterns, read as Latin-1 text (one character per
    byte: the wheels are built for str keys)."""

    name = "ahocorasick"

    def __init__(self, patterns: Sequence[bytes]):
        import ahocorasick  # lazy: a compiled extension

        automaton = ahocorasick.Automaton(ahocorasick.STORE_LENGTH)
        add = automaton.add_word
        for pattern in patterns:
            add(pattern.decode("latin-1"))
        automaton.make_automaton()
        self._automaton = automaton

    def scan(self, data: bytes, offset: int = 0) -> list[Span]:
        if not data:
            return []
        text = bytes(data).decode("latin-1")
        shift = offset + 1  # the automaton reports the index of a match's last character
        return [(shift + last - length, shift + last) for last, length in self._automaton.iter(text)]


class PythonMatcher:
    """A trie compiled into one regular expression, applied at every start by a lookahead.

    The trie makes each alternation branch on distinct bytes, so the C regex engine does not
    try thousands of alternatives at each position; a greedy optional group at each
    terminal node makes the first match found the longest one.
    """

    name = "python"

    def __init__(self, patterns: Sequence[bytes]):
        body = _trie_regex(patterns)
        self._regex = re.compile(b"(?=(" + body + b"))", re.DOTALL)

    def scan(self, data: bytes, offset: int = 0) -> list[Span]:
        return [(offset + m.start(1), offset + m.end(1)) for m in self._regex.finditer(data)]


_END = -1


def _trie_regex(patterns: Sequence[bytes]) -> bytes:
    root: dict[int, Any] = {}
    for pattern in patterns:
        node = root
        for byte in pattern:
            node = node.setdefault(byte, {})
        node[_END] = True
    # Iterative post-order walk: patterns can be thousands of bytes long (PEM keys).
    built: dict[int, bytes] = {}
    stack: list[tuple[dict[int, Any], bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        children = sorted(k for k in node if k != _END)
        if not children_done:
            stack.append((node, True))
            stack.extend((node[k], False) for k in children)
            continue
        alternatives = [re.escape(bytes([k])) + built.pop(id(node[k])) for k in children]
        if not alternatives:
            regex = b""
        elif len(alternatives) == 1:
            regex = alternatives[0]
        else:
            regex = b"(?:" + b"|".join(alternatives) + b")"
        if _END in node and regex:
            regex = b"(?:" + regex + b")?"
        built[id(node)] = regex
    return built[id(root)]


def make_matcher(patterns: Sequence[bytes], backend: Backend) -> Matcher:
    if backend == "python":
        return PythonMatcher(patterns)
    if backend == "ahocorasick":
        try:
            return AhoCorasickMatcher(patterns)
        except ImportError:
            raise ConfigError("masking backend 'ahocorasick' is not available (pip install "
                              "pyahocorasick); use backend='auto'") from None
    try:
        return HyperscanMatcher(patterns)
    except ImportError:
        if backend == "hyperscan":
            raise ConfigError(
                "masking backend 'hyperscan' is not available on this machine "
                "(pip install hyperscan, x86-64 only); use backend='python'"
            ) from None
        return PythonMatcher(patterns)
