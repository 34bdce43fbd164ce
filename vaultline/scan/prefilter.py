"""The keyword prefilter: one pass over a file finds where each detector could match.

Hyperscan (x86-64) matches every keyword and anchor of every detector in a single pass;
without it, one compiled ``re`` alternation does the same job, slower but identically.
Either way the result is a list of ``(detector_index, end_offset)`` hits, and the engine
runs full regexes only on the lines around them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

from vaultline.scan.detectors import Detector


class Prefilter(Protocol):
    def hits(self, data: bytes) -> list[tuple[int, int]]:
        """``(pattern_id, end_offset)`` for every keyword/anchor occurrence in ``data``."""
        ...


def _patterns(detectors: Sequence[Detector]) -> tuple[list[tuple[str, bool]], list[list[int]]]:
    """Distinct prefilter patterns (regex source, caseless) and the detectors each one feeds."""
    ids: dict[tuple[str, bool], int] = {}
    owners: list[list[int]] = []
    for index, detector in enumerate(detectors):
        sources = [(re.escape(k), True) for k in detector.keywords]
        sources += [(a, False) for a in detector.anchors]
        for source in sources:
            if source not in ids:
                ids[source] = len(ids)
                owners.append([])
            owners[ids[source]].append(index)
    return list(ids), owners


class HyperscanPrefilter:
    def __init__(self, detectors: Sequence[Detector]):
        import hyperscan

        patterns, self.owners = _patterns(detectors)
        self._db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        self._db.compile(
            expressions=[p.encode() for p, _ in patterns],
            ids=list(range(len(patterns))),
            elements=len(patterns),
            flags=[hyperscan.HS_FLAG_CASELESS if caseless else 0 for _, caseless in patterns],
        )

    def hits(self, data: bytes) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        append = found.append

        def on_match(pattern_id: int, start: int, end: int, flags: int, context: Any) -> None:
            append((pattern_id, end))

        self._db.scan(data, match_event_handler=on_match)
        return found


class RegexPrefilter:
    """Pure-Python fallback: a lookahead alternation, a group per pattern.

    A zero-width match lets ``finditer`` try every offset, so overlapping keywords are all
    seen. At one offset only the first alternative that matches is reported, so keywords are
    ordered longest first and a hit also reports every shorter keyword that is its prefix
    (``secret_access_key`` implies ``secret``): the hits are those Hyperscan reports.
    """

    def __init__(self, detectors: Sequence[Detector]):
        patterns, self.owners = _patterns(detectors)
        literals = {i: re.sub(r"\\(.)", r"\1", p).lower() for i, (p, c) in enumerate(patterns) if c}
        anchors = [i for i, (_, c) in enumerate(patterns) if not c]
        # Anchors and keywords are two passes, so that an anchor and a keyword starting at
        # the same offset ("pass:" and a short-name anchor) are both reported.
        self._passes: list[tuple[re.Pattern[bytes], list[list[tuple[int, int]]]]] = []
        for order in (anchors, sorted(literals, key=lambda i: -len(literals[i]))):
            if not order:
                continue
            group_to_ids: list[list[tuple[int, int]]] = []
            parts = []
            for i in order:
                source, caseless = patterns[i]
                parts.append(f"({'(?i:' + source + ')' if caseless else source})")
                implied = [(i, len(literals[i]))] if i in literals else [(i, -1)]
                if i in literals:
                    implied += [
                        (j, len(lit))
                        for j, lit in literals.items()
                        if j != i and literals[i].startswith(lit)
                    ]
                group_to_ids.append(implied)
            self._passes.append((re.compile(("(?=" + "|".join(parts) + ")").encode()), group_to_ids))

    def hits(self, data: bytes) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        for regex, group_to_ids in self._passes:
            for m in regex.finditer(data):
                group = m.lastindex
                if not group:
                    continue
                start = m.start()
                for pattern_id, length in group_to_ids[group - 1]:
                    found.append((pattern_id, m.end(group) if length < 0 else start + length))
        return found


def make_prefilter(detectors: Sequence[Detector], *, use_hyperscan: bool = True) -> Any:
    """Hyperscan when importable (and wanted), else the ``re`` fallback."""
    if use_hyperscan:
        try:
            return HyperscanPrefilter(detectors)
        except ImportError:
            pass
    return RegexPrefilter(detectors)
