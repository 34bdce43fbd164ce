"""Multi-literal matchers behind the masker: Hyperscan, Aho–Corasick and pure Python.

Each reports, for a block of bytes, a list of ``(start, end)`` spans whose union is the
union of every occurrence of every pattern. Hyperscan and Aho–Corasick report every
occurrence; the pure-Python fallback reports the longest occurrence at each start, which
covers the same bytes. Hyperscan scans fastest but compiles tens of thousands of literals
in seconds; the Aho–Corasick automaton (pyahocorasick) builds in linear time and scans at a
fraction of Hyperscan's speed, so it masks a first run's output while Hyperscan compiles.
"""

from __future__ import annotations

import re
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


class HyperscanMatcher:
    """Hyperscan block mode with literal patterns.

    Block mode rather than stream mode: the streaming masker keeps its own context, and the
    python binding's stream close is unreliable. No SOM flag is needed: a literal's start is
    its end minus its length, known from the pattern id.
    """

    name = "hyperscan"

    def __init__(self, patterns: Sequence[bytes], serialized: bytes | None = None):
        import hyperscan  # lazy: a compiled extension, and x86-64 only

        self._lengths = [len(p) for p in patterns]
        if serialized is not None:
            self._db: Any = hyperscan.loadb(serialized, hyperscan.HS_MODE_BLOCK)
        else:
            self._db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            self._db.compile(
                expressions=list(patterns),
                ids=list(range(len(patterns))),
                elements=len(patterns),
                flags=0,
                literal=True,
            )
        self._hyperscan = hyperscan
        # Scratch space must not be shared by concurrent scans (logging runs in many threads).
        self._local = threading.local()

    def serialize(self) -> bytes:
        return bytes(self._hyperscan.dumpb(self._db))

    def _scratch(self) -> Any:
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = self._hyperscan.Scratch(database=self._db)
        return scratch

    def scan(self, data: bytes, offset: int = 0) -> list[Span]:
        spans: list[Span] = []
        if not data:
            return spans
        lengths = self._lengths
        append = spans.append

        def on_match(pattern_id: int, _from: int, to: int, _flags: int, _ctx: object) -> None:
            end = offset + to
            append((end - lengths[pattern_id], end))

        self._db.scan(data, match_event_handler=on_match, scratch=self._scratch())
        return spans


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
