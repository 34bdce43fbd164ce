"""Scanning one blob of bytes: prefilter, regexes near the hits, filters, allow comments.

This is the hot path. It works on bytes (no decoding of whole files), runs each detector's
regexes only over the lines where the prefilter saw one of its keywords, and decodes only
the few matches that survive.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from vaultline._limits import TimeLimitExceeded, seconds_setting, time_limit
from vaultline.errors import ScanError
from vaultline.scan.detectors import Detector, all_detectors
from vaultline.scan.detectors._base import RawMatch
from vaultline.scan.filters import DEFAULT_FILTERS, Candidate, Filter, rejected_by, tags_for_path
from vaultline.scan.finding import Finding
from vaultline.scan.prefilter import make_prefilter

# How far past its keyword a multi-line rule may look (a 4096-bit RSA PEM is ~3.3 KB).
MULTILINE_SPAN = 8192
WINDOW_GAP = 256
ALLOW_MARKERS = (b"vaultline:allow", b"gitleaks:allow", b"pragma: allowlist secret")
ALLOW_NEXT_LINE = b"vaultline:allow-next-line"
# Seconds a team rule's regexes may take over one file (VAULTLINE_SCAN_RULE_TIMEOUT).
RULE_TIMEOUT_VARIABLE = "VAULTLINE_SCAN_RULE_TIMEOUT"
DEFAULT_RULE_TIMEOUT = 10.0


class Scanner:
    """Detectors + prefilter + filters; ``scan(data, path)`` returns the findings in order."""

    def __init__(
        self,
        detectors: Sequence[Detector] | None = None,
        filters: tuple[Filter, ...] = DEFAULT_FILTERS,
        *,
        use_hyperscan: bool = True,
    ):
        self.detectors = tuple(detectors if detectors is not None else all_detectors())
        self.filters = filters
        self.use_hyperscan = use_hyperscan
        self.rule_timeout = rule_timeout()
        self._prefilter: Any = None

    @property
    def prefilter(self) -> Any:
        # Built lazily so that a Scanner can be pickled to worker processes cheaply and each
        # process compiles its own Hyperscan database (they are not shareable objects).
        if self._prefilter is None:
            self._prefilter = make_prefilter(self.detectors, use_hyperscan=self.use_hyperscan)
        return self._prefilter

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_prefilter": None}

    def scan(self, data: bytes, path: str, *, commit: str | None = None) -> list[Finding]:
        prefilter = self.prefilter
        owners: list[list[int]] = prefilter.owners
        ends_by_detector: dict[int, list[int]] = {}
        for pattern_id, end in prefilter.hits(data):
            for index in owners[pattern_id]:
                ends_by_detector.setdefault(index, []).append(end)
        if not ends_by_detector:
            return []

        size = len(data)
        raw: list[tuple[int, int, Detector, Candidate, int]] = []
        for index, ends in ends_by_detector.items():
            detector = self.detectors[index]
            seen: set[tuple[int, int]] = set()
            limit: AbstractContextManager[None] = (
                nullcontext() if detector.source is None else time_limit(self.rule_timeout))
            try:
                with limit:
                    for m in _matches(detector, data, sorted(ends), size):
                        if (m.start, m.end) in seen or m.start < 0:
                            continue
                        seen.add((m.start, m.end))
                        candidate = _candidate(detector, m, data, path)
                        if rejected_by(candidate, self.filters) is None:
                            raw.append((m.start, m.end, detector, candidate, m.match_start))
            except TimeLimitExceeded:
                raise ScanError(
                    f"{detector.source}: rule {detector.rule_id!r} ran for more than "
                    f"{self.rule_timeout:g} s on {path} and was stopped: its regex backtracks "
                    "(a repeated group that can match the same text in many ways, such as "
                    f"(a+)+); rewrite it, or raise {RULE_TIMEOUT_VARIABLE} if the file is only "
                    "large") from None
        if not raw:
            return []
        return _findings(_resolve_overlaps(raw), data, path, commit)


def rule_timeout(environ: Mapping[str, str] | None = None) -> float:
    """``VAULTLINE_SCAN_RULE_TIMEOUT`` seconds, default 10."""
    return seconds_setting(RULE_TIMEOUT_VARIABLE, DEFAULT_RULE_TIMEOUT, environ)


def _matches(detector: Detector, data: bytes, ends: list[int], size: int) -> Iterator[RawMatch]:
    if detector.finder is not None:
        yield from detector.finder(data, ends)
        return
    for start, stop in _windows(data, ends, size, detector.multiline):
        for pattern in detector.patterns:
            for match in pattern.finditer(data, start, stop):
                yield detector.raw_match(match)


def _windows(
    data: bytes, ends: list[int], size: int, multiline: bool
) -> list[tuple[int, int]]:
    """Merged [line start, line end) spans around each keyword end offset."""
    windows: list[tuple[int, int]] = []
    for end in ends:
        if windows and end <= windows[-1][1]:
            continue
        line_start = data.rfind(b"\n", 0, max(end - 1, 0)) + 1
        if multiline:
            stop = min(size, end + MULTILINE_SPAN)
        else:
            stop = data.find(b"\n", end)
            stop = size if stop < 0 else stop
        # Nearby lines share one regex call: a few extra bytes scanned cost less than a call.
        if windows and line_start <= windows[-1][1] + WINDOW_GAP:
            windows[-1] = (windows[-1][0], max(stop, windows[-1][1]))
        else:
            windows.append((line_start, stop))
    return windows


def _candidate(detector: Detector, m: RawMatch, data: bytes, path: str) -> Candidate:
    line_start = data.rfind(b"\n", 0, m.start) + 1
    line_end = data.find(b"\n", m.start)
    line = data[line_start : line_end if line_end >= 0 else len(data)]
    return Candidate(
        detector=detector,
        secret=data[m.start : m.end].decode("utf-8", "replace"),
        line=line[:2000].decode("utf-8", "replace"),
        path=path,
        name=m.name.decode("utf-8", "replace"),
        quoted=m.quoted,
    )


def _resolve_overlaps(
    raw: list[tuple[int, int, Detector, Candidate, int]],
) -> list[tuple[int, int, Detector, Candidate, int]]:
    """Where two rules claim overlapping text, the higher-priority (more specific) one wins."""
    raw.sort(key=lambda r: (r[0], -r[2].priority))
    kept: list[tuple[int, int, Detector, Candidate, int]] = []
    for item in raw:
        s, e, detector = item[0], item[1], item[2]
        clash = next((k for k in kept[-4:] if s < k[1] and k[0] < e), None)
        if clash is None:
            kept.append(item)
        elif detector.priority > clash[2].priority:
            kept[kept.index(clash)] = item
        elif detector.priority == clash[2].priority and detector is not clash[2]:
            kept.append(item)
    return kept


def _findings(
    raw: list[tuple[int, int, Detector, Candidate, int]],
    data: bytes,
    path: str,
    commit: str | None,
) -> list[Finding]:
    findings: list[Finding] = []
    tags = tags_for_path(path)
    line_no, counted_to = 1, 0
    for s, _e, detector, candidate, match_start in sorted(raw, key=lambda r: r[0]):
        line_no += data.count(b"\n", counted_to, s)
        counted_to = s
        if _allowed(data, match_start, s):
            continue
        line_start = data.rfind(b"\n", 0, s) + 1
        findings.append(
            Finding(
                rule_id=detector.rule_id,
                description=detector.description,
                path=path,
                line=line_no,
                # Characters, not bytes: editors and SARIF viewers count code points.
                column=len(data[line_start:s].decode("utf-8", "replace")) + 1,
                secret=candidate.secret,
                commit=commit,
                tags=tags,
                severity=detector.severity,
                offset=s,
            )
        )
    return findings


def _allowed(data: bytes, match_start: int, secret_start: int) -> bool:
    """``vaultline:allow`` on the line of the match (or of the secret), or
    ``vaultline:allow-next-line`` on the line before it.

    A line ends at any line break a reader of the file may go by, not only LF: a comment
    before a lone CR (Python, editors, a terminal's ``git diff``) or U+2028 (YAML, JavaScript)
    is on a line of its own and covers nothing after it.
    """
    for pos in {match_start, secret_start}:
        start, end, before = _line_at(data, pos)
        if any(marker in data[start:end] for marker in ALLOW_MARKERS):
            return True
        if before >= 0:
            previous, _, _ = _line_at(data, before)
            if ALLOW_NEXT_LINE in data[previous:before]:
                return True
    return False


# CRLF, CR, LF, NEL, U+2028 and U+2029, in UTF-8.
_LINE_BREAK = re.compile(rb"\r\n?|\n|\xc2\x85|\xe2\x80[\xa8\xa9]")


def _line_at(data: bytes, pos: int) -> tuple[int, int, int]:
    """``(start, end, where the line break before it starts, or -1)`` of the line at ``pos``."""
    newline = data.rfind(b"\n", 0, pos)
    start = newline + 1
    before = newline - 1 if newline > 0 and data[newline - 1] == 0x0D else newline
    for found in _LINE_BREAK.finditer(data, start, pos):
        start, before = found.end(), found.start()
    following = data.find(b"\n", pos)
    after = _LINE_BREAK.search(data, pos, len(data) if following < 0 else following + 1)
    return start, after.start() if after else len(data), before
