"""Checking a log: the chain line by line, then its tail against the checkpoint.

A valid log has ``seq`` = line number, each ``prev`` equal to the line before's ``hash``,
each ``hash`` matching its line, and its last line equal to the checkpoint. The first line
that breaks one of these is reported with the most likely cause (edited, deleted, inserted,
reordered, truncated); telling those apart needs a second look at the file, done only once
something is already wrong, so an intact log is read exactly once, streaming.

What the chain cannot show by itself: someone who rewrites a line *and recomputes every
hash after it* leaves a valid chain; the checkpoint (MAC'd with a key derived from the
master key) is what catches that, at the checkpoint's line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vaultline.audit.checkpoint import Checkpoint, Tip
from vaultline.audit.event import AUDIT_BREAK, FORMAT_VERSION, GENESIS, AuditEvent, line_hash
from vaultline.errors import AuditError


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    lines: int
    bad_line: int | None = None  # 1-based; None when the problem is the checkpoint itself
    reason: str | None = None

    def __str__(self) -> str:
        if self.ok:
            noun = "line" if self.lines == 1 else "lines"
            return f"ok: {self.lines} {noun}, chain and checkpoint intact"
        where = f"line {self.bad_line}" if self.bad_line is not None else "checkpoint"
        return f"{where}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "lines": self.lines, "bad_line": self.bad_line,
                "reason": self.reason}


class _Bad(Exception):
    def __init__(self, line: int | None, reason: str) -> None:
        self.line = line
        self.reason = reason


def _parse(number: int, raw: bytes) -> tuple[AuditEvent, dict[str, Any]]:
    if not raw.endswith(b"\n"):
        raise _Bad(number, "incomplete line: the log was cut in the middle of a write")
    try:
        data = json.loads(raw)
    except ValueError:
        raise _Bad(number, "not JSON") from None
    if not isinstance(data, dict):
        raise _Bad(number, "not a JSON object")
    if data.get("v") != FORMAT_VERSION:
        raise _Bad(number, f"unknown version {data.get('v')!r} (this vaultline reads version "
                           f"{FORMAT_VERSION})")
    try:
        return AuditEvent.from_dict(data), data
    except ValueError as exc:
        raise _Bad(number, f"malformed: {exc}") from None


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return
    with handle:
        yield from enumerate(handle, 1)


def _event_at(path: Path, wanted: int) -> AuditEvent | None:
    for number, raw in _lines(path):
        if number == wanted:
            try:
                return _parse(number, raw)[0]
            except _Bad:
                return None
    return None


def _classify(path: Path, number: int, event: AuditEvent, last: AuditEvent | None) -> _Bad:
    """Name the likeliest cause of the broken link between line ``number - 1`` and ``number``."""
    expected = last.seq + 1 if last else 1
    if event.seq > expected:
        missing = range(expected, event.seq)
        for later, raw in _lines(path):
            if later <= number:
                continue
            try:
                seq = _parse(later, raw)[0].seq
            except _Bad:
                continue
            if seq in missing:
                return _Bad(number, f"reordered: seq {event.seq} comes before seq {seq} "
                                    f"(line {later})")
        gap = f"seq {expected}" if len(missing) == 1 else f"seq {expected}-{event.seq - 1}"
        return _Bad(number, f"deleted: {len(missing)} line(s) missing before this one ({gap})")
    if event.seq < expected:
        if last is not None and event.seq == last.seq and event.prev == last.prev:
            # Two lines claim the same place; the one the rest of the chain follows is real.
            following = _event_at(path, number + 1)
            if following is not None and following.prev == event.hash:
                return _Bad(number - 1, f"inserted: not part of the chain (line {number} "
                                        "holds the same seq and the log continues from it)")
            return _Bad(number, f"inserted: same seq as line {number - 1}, not part of the chain")
        original = _event_at(path, event.seq) if event.seq >= 1 else None
        if original is not None and original.hash == event.hash:
            return _Bad(number, f"inserted: a copy of line {event.seq}")
        return _Bad(number, f"inserted or reordered: seq {event.seq} after seq {expected - 1}")
    return _Bad(number, f"inserted or rewritten: its prev does not match line {number - 1}'s "
                        "hash")


def _check_chain(path: Path, tip: Tip | None) -> tuple[int, AuditEvent | None, str | None]:
    """Walk the chain; return (lines, last event, hash of the line at the checkpoint's seq)."""
    last: AuditEvent | None = None
    at_tip: str | None = None
    count = 0
    for number, raw in _lines(path):
        count = number
        event, data = _parse(number, raw)
        if line_hash(data) != event.hash:
            raise _Bad(number, "edited: its content does not match its hash")
        if event.seq != (last.seq + 1 if last else 1) or event.prev != (
                last.hash if last else GENESIS):
            raise _classify(path, number, event, last)
        if event.action == AUDIT_BREAK:
            why = (event.detail or {}).get("reason", "unknown")
            raise _Bad(number, f"the log was already broken when {event.actor} wrote at "
                               f"{event.time}: {why}")
        if tip is not None and event.seq == tip.seq:
            at_tip = event.hash
        last = event
    return count, last, at_tip


def verify_log(path: Path, checkpoint: Checkpoint | None) -> VerifyResult:
    """Verify the log at ``path``; with ``checkpoint`` None only the chain is checked."""
    checkpoint_error: str | None = None
    tip: Tip | None = None
    if checkpoint is not None:
        try:
            tip = checkpoint.load()
        except AuditError as exc:
            checkpoint_error = str(exc)
    try:
        count, last, at_tip = _check_chain(path, tip)
    except _Bad as bad:
        return VerifyResult(False, _count(path), bad.line, bad.reason)
    if checkpoint is None:
        return VerifyResult(True, count)
    if checkpoint_error is not None:
        return VerifyResult(False, count, None, checkpoint_error)
    last_seq = last.seq if last else 0
    if tip is None:
        if count:
            return VerifyResult(False, count, None, f"missing from the store, but the log has "
                                                    f"{count} lines (the checkpoint was removed)")
        return VerifyResult(True, 0)
    if last_seq < tip.seq:
        return VerifyResult(False, count, count + 1,
                            f"truncated: the checkpoint records {tip.seq} lines, the log ends "
                            f"after {last_seq}")
    if at_tip != tip.hash:
        return VerifyResult(False, count, tip.seq,
                            "does not match the checkpoint: the log was rewritten up to here")
    if last_seq > tip.seq:
        return VerifyResult(False, count, tip.seq + 1,
                            "not covered by the checkpoint: appended without the master key, "
                            "or a writer stopped between appending and checkpointing")
    return VerifyResult(True, count)


def _count(path: Path) -> int:
    return sum(1 for _ in _lines(path))
