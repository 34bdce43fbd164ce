"""Checking a log: the keyed chain line by line, its tail against the checkpoint, the store's
versions against their ``write`` lines, and optionally the chain against an anchor.

A valid log has ``seq`` = line number (across segments), each ``prev`` equal to the line
before's ``hash``, each ``hash`` the keyed MAC of its line, and its last line equal to the
checkpoint — or past it by one append's valid keyed lines (one timestamp), a *crash
tail* (a writer stopped between appending and checkpointing; reported, not a break).
The first line that breaks one of these is reported with the most likely cause (forged
or edited, deleted, inserted, reordered, truncated); telling those apart needs a second
look at the file, done only once something is already wrong, so an intact log is read
exactly once, streaming.

Every version of a secret in the embedded store must have a ``write`` line naming it (or
an ``intent`` line with no outcome yet: its writer stopped between commit and outcome).
A version with neither was written around vaultline's audit. The other way round, a
``write`` line into this store (``detail.store``; a rotation's ``publish`` line too) must
still have its version's row, once:
vaultline never deletes a row (destroying keeps it), so a missing or twice-written version
was removed, which rolls a secret back to an older value without the master key. And a
version whose last audited change deleted or destroyed it (a rotation's ``retire`` deletes
the version it replaced) must not be live: the
``deleted_time`` and ``destroyed`` columns carry no MAC, so an attacker could serve a
deleted value again by clearing them (or put back a copy of destroyed key material). Key
lines name the version of their ring's record (``detail.record``): that row must be there
too, or the ring was rolled back past a rotation (its old primary signing again).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vaultline._limits import ParseLimitError, parse_json
from vaultline.audit.checkpoint import Tip
from vaultline.audit.event import (
    AUDIT_BREAK,
    AUDIT_RESTART,
    DELETE,
    DESTROY,
    FORMAT_VERSION,
    GENESIS,
    INTENT,
    OK,
    ROTATE,
    UNDELETE,
    UNKEYED_VERSION,
    WRITE,
    AuditEvent,
    ValueMac,
    line_hash,
)

if TYPE_CHECKING:
    from vaultline.audit.anchor import Anchor
    from vaultline.audit.log import Snapshot
    from vaultline.store.embedded import VersionInfo

_CHUNK = 1 << 16
_WRITES = frozenset({WRITE, ROTATE})
_CHANGES = frozenset({DELETE, UNDELETE, DESTROY})
_PAST = {DELETE: "deleted", DESTROY: "destroyed"}


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    lines: int
    bad_line: int | None = None  # 1-based, across segments; None: not about one line
    reason: str | None = None
    subject: str = "checkpoint"  # what ``reason`` is about when ``bad_line`` is None
    crash_tail: int = 0  # valid keyed lines after the checkpoint
    unkeyed: int = 0  # version 1 lines before the keyed chain began
    interrupted: tuple[str, ...] = ()  # writes whose intent has no outcome
    segments: int = 1
    anchored: int | None = None  # the seq of the anchor the log reaches
    torn: int = 0  # bytes of an append cut short after the last line (the next removes them)

    def __str__(self) -> str:
        if self.ok:
            noun = "line" if self.lines == 1 else "lines"
            parts = [f"ok: {self.lines} {noun}, chain and checkpoint intact"]
            if self.segments > 1:
                parts.append(f"{self.segments} segments")
            if self.unkeyed:
                parts.append(f"the first {self.unkeyed} in the unkeyed format of older "
                             "vaultline")
            if self.crash_tail:
                parts.append(f"crash tail: {self.crash_tail} valid line(s) after the "
                             "checkpoint (a writer stopped before moving it; the next "
                             "write adopts them)")
            if self.torn:
                parts.append(f"torn append: {self.torn} bytes after the last line, from a "
                             "writer killed mid-write (the next write removes them)")
            parts += [f"interrupted write: {w}" for w in self.interrupted]
            if self.anchored is not None:
                parts.append(f"reaches the anchor at seq {self.anchored}")
            return "; ".join(parts)
        where = f"line {self.bad_line}" if self.bad_line is not None else self.subject
        return f"{where}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "lines": self.lines, "bad_line": self.bad_line,
                "reason": self.reason, "crash_tail": self.crash_tail,
                "unkeyed": self.unkeyed, "interrupted": list(self.interrupted),
                "segments": self.segments, "anchored": self.anchored, "torn": self.torn}


class _Bad(Exception):
    def __init__(self, line: int | None, reason: str) -> None:
        self.line = line
        self.reason = reason


def _parse(number: int, raw: bytes) -> tuple[AuditEvent, dict[str, Any]]:
    if not raw.endswith(b"\n"):
        raise _Bad(number, "incomplete line: the log was cut in the middle of a write")
    try:
        data = parse_json(raw)
    except ParseLimitError as exc:
        raise _Bad(number, f"JSON {exc}") from None
    except ValueError:
        raise _Bad(number, "not JSON") from None
    if not isinstance(data, dict):
        raise _Bad(number, "not a JSON object")
    if data.get("v") not in (UNKEYED_VERSION, FORMAT_VERSION):
        raise _Bad(number, f"unknown version {data.get('v')!r} (this vaultline reads versions "
                           f"{UNKEYED_VERSION} and {FORMAT_VERSION})")
    try:
        return AuditEvent.from_dict(data), data
    except ValueError as exc:
        raise _Bad(number, f"malformed: {exc}") from None


def complete_size(fd: int, size: int) -> int:
    """The length of a log file's first ``size`` bytes up to and with their last newline."""
    chunk = 8192
    while True:
        start = max(0, size - chunk)
        cut = os.pread(fd, size - start, start).rfind(b"\n")
        if cut >= 0:
            return start + cut + 1
        if start == 0:
            return 0
        chunk *= 4


def _without_torn_tail(parts: list[tuple[str, int, int]]) -> tuple[list[tuple[str, int, int]], int]:
    """The segments without the unfinished bytes at the very end of the log, and how many:
    an append a crash cut short (SIGKILL can stop a write between two pages). Everything
    else is checked as usual, so they pass only after the checkpoint or a crash tail."""
    for index in range(len(parts) - 1, -1, -1):
        name, fd, size = parts[index]
        if size == 0:
            continue
        if os.pread(fd, 1, size - 1) == b"\n":
            return parts, 0
        complete = complete_size(fd, size)
        return [*parts[:index], (name, fd, complete), *parts[index + 1:]], size - complete
    return parts, 0


def _lines(parts: list[tuple[str, int, int]]) -> Iterator[tuple[int, bytes]]:
    """Every line of the snapshot's segments, numbered across them; a cut last line as is."""
    number = 0
    for _, fd, size in parts:
        offset, rest = 0, b""
        while offset < size:
            chunk = os.pread(fd, min(_CHUNK, size - offset), offset)
            if not chunk:
                break
            offset += len(chunk)
            pieces = (rest + chunk).split(b"\n")
            rest = pieces.pop()
            for piece in pieces:
                number += 1
                yield number, piece + b"\n"
        if rest:
            number += 1
            yield number, rest


def _event_at(parts: list[tuple[str, int, int]], wanted: int) -> AuditEvent | None:
    for number, raw in _lines(parts):
        if number == wanted:
            try:
                return _parse(number, raw)[0]
            except _Bad:
                return None
    return None


def _classify(parts: list[tuple[str, int, int]], number: int, event: AuditEvent,
              last: AuditEvent | None) -> _Bad:
    """Name the likeliest cause of the broken link between line ``number - 1`` and ``number``."""
    expected = last.seq + 1 if last else 1
    if event.seq > expected:
        missing = range(expected, event.seq)
        for later, raw in _lines(parts):
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
            following = _event_at(parts, number + 1)
            if following is not None and following.prev == event.hash:
                return _Bad(number - 1, f"inserted: not part of the chain (line {number} "
                                        "holds the same seq and the log continues from it)")
            return _Bad(number, f"inserted: same seq as line {number - 1}, not part of the chain")
        original = _event_at(parts, event.seq) if event.seq >= 1 else None
        if original is not None and original.hash == event.hash:
            return _Bad(number, f"inserted: a copy of line {event.seq}")
        return _Bad(number, f"inserted or reordered: seq {event.seq} after seq {expected - 1}")
    return _Bad(number, f"inserted or rewritten: its prev does not match line {number - 1}'s "
                        "hash")


class _Walk:
    """What one pass over the chain learns, beyond its validity."""

    def __init__(self, tip: Tip | None, anchor: Anchor | None, store_id: str | None) -> None:
        self.count = 0
        self.last: AuditEvent | None = None
        self.unkeyed = 0
        self.at_tip: str | None = None
        self.at_anchor: str | None = None
        self.tip = tip
        self.anchor = anchor
        self.store_time: str | None = None  # versions before it were audited in an archive
        self.store_rows: str | None = None  # what the rows before store_time added up to
        self.written: set[tuple[str, str]] = set()
        self.store_id = store_id
        self.stored: dict[tuple[str, str], int] = {}  # this store's (path, version) -> line
        self.gone: dict[tuple[str, str], tuple[str, int]] = {}  # -> (delete|destroy, line)
        self.changing: dict[int, str] = {}  # a change's intent seq -> path, until its outcome
        # (record kind, name, version) a line names -> its first line: key rings and overrides
        self.records: dict[tuple[str, str, int], int] = {}
        self.intents: dict[int, tuple[str, int]] = {}  # intent seq -> (path, line)
        self.tail_time: str | None = None  # the time of the last line after the checkpoint
        self.tail_batches = 1  # appends after the checkpoint: a crash leaves one


def _path_of(reference: str | None) -> str | None:
    return None if reference is None else reference.partition(":")[2] or None


def _walk(parts: list[tuple[str, int, int]], chain: ValueMac | None, walk: _Walk) -> None:
    for number, raw in _lines(parts):
        walk.count = number
        event, data = _parse(number, raw)
        if event.v == UNKEYED_VERSION:
            if chain is not None and walk.unkeyed != number - 1:
                raise _Bad(number, "forged: an unkeyed line after the keyed chain began "
                                   "(written without the master key)")
            walk.unkeyed += 1
            digest = line_hash(data)
        elif chain is None:
            raise _Bad(number, "a keyed line: checking it needs the store's master key")
        else:
            digest = line_hash(data, chain)
        if digest != event.hash:
            raise _Bad(number, "forged or edited: its hash is not the MAC of its content "
                               "(written without the master key, or changed since)")
        last = walk.last
        if event.seq != (last.seq + 1 if last else 1) or event.prev != (
                last.hash if last else GENESIS):
            raise _classify(parts, number, event, last)
        if event.action == AUDIT_BREAK:
            why = (event.detail or {}).get("reason", "unknown")
            raise _Bad(number, f"the log was already broken when {event.actor} wrote at "
                               f"{event.time}: {why}")
        if number == 1 and event.action == AUDIT_RESTART:
            walk.store_time = (event.detail or {}).get("store_time")
            walk.store_rows = (event.detail or {}).get("store_rows")
        if event.action in _WRITES:
            path = _path_of(event.reference)
            detail = event.detail or {}
            if event.outcome == INTENT and path is not None:
                walk.intents[event.seq] = (path, number)
            elif "intent" in detail:
                walk.intents.pop(detail["intent"], None)
            if event.outcome == OK and path is not None and "version" in detail:
                version = (path, str(detail["version"]))
                walk.written.add(version)
                if walk.store_id and detail.get("store") == walk.store_id:
                    if version in walk.stored:
                        raise _Bad(number, f"{path} version {version[1]} was written twice "
                                           f"(first at line {walk.stored[version]}): its row "
                                           "was removed from the store and the version "
                                           "written again")
                    walk.stored[version] = number
            if event.action == ROTATE and walk.store_id:
                _track_change(walk, event, number)  # a retire deletes the replaced version
        elif event.action in _CHANGES and walk.store_id:
            _track_change(walk, event, number)
        elif walk.store_id and event.action.startswith("key.") and event.outcome == OK:
            ring = (event.reference or "").removeprefix("key:")
            record = (event.detail or {}).get("record")
            if ring != event.reference and type(record) is int:
                walk.records.setdefault(("keys", ring, record), number)
        elif walk.store_id and event.action.startswith("override.") and event.outcome == OK:
            detail = event.detail or {}
            record, override = detail.get("record"), detail.get("override")
            if (type(record) is int and isinstance(override, str) and event.env
                    and detail.get("store") == walk.store_id):
                walk.records.setdefault(("overrides", f"{event.env}/{override}", record), number)
        if walk.tip is not None and event.seq == walk.tip.seq:
            walk.at_tip = event.hash
        elif walk.tip is not None and event.seq > walk.tip.seq:
            if walk.tail_time is not None and event.time != walk.tail_time:
                walk.tail_batches += 1
            walk.tail_time = event.time
        if walk.anchor is not None and event.seq == walk.anchor.seq:
            walk.at_anchor = event.hash
        walk.last = event


def _track_change(walk: _Walk, event: AuditEvent, number: int) -> None:
    """Follow delete/undelete/destroy lines of this store, and the versions a rotation's
    retire deleted: which versions must not be live."""
    path = _path_of(event.reference)
    detail = event.detail or {}
    if path is None:
        return
    action = event.action if event.action in _CHANGES else DELETE
    if event.outcome == INTENT and action == event.action:
        walk.changing[event.seq] = path
        return
    walk.changing.pop(detail.get("intent", -1), None)
    if event.outcome != OK or detail.get("store") != walk.store_id:
        return
    for version in detail.get("versions") or ():
        where = (path, str(version))
        before = walk.gone.get(where)
        if before is not None and before[0] == DESTROY:
            continue  # destroyed for good: nothing brings it back
        if action == UNDELETE:
            walk.gone.pop(where, None)
        else:
            walk.gone[where] = (action, number)


# How a record kind is named in findings. A store.db put back from a backup lacks the record
# versions written since: a key ring before its rotation, an override before its revoke.
_RECORD = {"keys": "key ring", "overrides": "override"}


def _cross_check(walk: _Walk, writes: list[VersionInfo],
                 records: frozenset[tuple[str, str, int]]) -> tuple[list[str], list[str], list[str]]:
    """(versions with no audit line, writes interrupted between commit and outcome,
    audited versions no longer in the store or live again after being deleted)."""
    open_intents: dict[str, list[int]] = {}
    for path, line in walk.intents.values():
        open_intents.setdefault(path, []).append(line)
    missing: list[str] = []
    interrupted: list[str] = []
    for info in writes:
        if walk.store_time is not None and info.created_time < walk.store_time:
            continue
        if (info.path, str(info.version)) in walk.written:
            continue
        lines = open_intents.get(info.path)
        if lines:
            interrupted.append(f"{info.path} version {info.version} (intent at line "
                               f"{lines.pop(0)}, no outcome)")
        else:
            missing.append(f"{info.path} version {info.version}")
    rows = {(info.path, str(info.version)): info for info in writes}
    removed = [f"{path} version {version} (written at line {line}) was removed from the store"
               for (path, version), line in walk.stored.items() if (path, version) not in rows]
    interrupted_paths = set(walk.changing.values())  # a change may have committed unaudited
    for (path, version), (action, line) in walk.gone.items():
        row = rows.get((path, version))
        if row is not None and row.live and path not in interrupted_paths:
            removed.append(f"{path} version {version} was {_PAST[action]} at line {line} but is "
                           "live again (its row was edited)")
    removed += [f"{_RECORD[kind]} {name} record version {version} (named at line {line}) was "
                "removed from the store" for (kind, name, version), line in walk.records.items()
                if (kind, name, version) not in records]
    return missing, interrupted, removed


def verify_snapshot(snapshot: Snapshot, chain: ValueMac | None, *, checkpointed: bool,
                    anchor: Anchor | None = None) -> VerifyResult:
    """Verify a :class:`~vaultline.audit.log.Snapshot`; ``checkpointed`` False checks only
    the chain (a log kept without an embedded store)."""
    parts, torn = _without_torn_tail(snapshot.parts)
    walk = _Walk(snapshot.tip, anchor, snapshot.store_id if checkpointed else None)
    segments = len([p for p in parts if p[2]]) or 1
    try:
        _walk(parts, chain, walk)
    except _Bad as bad:
        return VerifyResult(False, sum(1 for _ in _lines(parts)), bad.line, bad.reason,
                            segments=segments)
    count, tip = walk.count, snapshot.tip
    last_seq = walk.last.seq if walk.last else 0

    def fail(line: int | None, reason: str, subject: str = "checkpoint") -> VerifyResult:
        return VerifyResult(False, count, line, reason, subject=subject,
                            unkeyed=walk.unkeyed, segments=segments)

    if not checkpointed:
        return VerifyResult(True, count, unkeyed=walk.unkeyed, segments=segments, torn=torn)
    if snapshot.checkpoint_error is not None:
        return fail(None, snapshot.checkpoint_error)
    if tip is None:
        if count:
            return fail(None, f"missing from the store, but the log has {count} lines (the "
                              "checkpoint was removed)")
    elif last_seq < tip.seq and torn:
        return fail(count + 1, "incomplete line: the log was cut in the middle of a line the "
                               "checkpoint records")
    elif last_seq < tip.seq:
        what = "the log is missing" if count == 0 else f"the log ends after {last_seq}"
        return fail(count + 1, f"truncated: the checkpoint records {tip.seq} lines, {what}")
    elif walk.at_tip != tip.hash:
        return fail(tip.seq, "does not match the checkpoint: the log was rewritten up to here")
    crash_tail = last_seq - tip.seq if tip is not None else 0
    if crash_tail and walk.last is not None and walk.last.v != FORMAT_VERSION:
        return fail(last_seq - crash_tail + 1,
                    "not covered by the checkpoint: appended without the master key")
    if crash_tail and walk.tail_batches > 1:
        return fail(last_seq - crash_tail + 1,
                    f"not covered by the checkpoint: {walk.tail_batches} appends after it, "
                    "where a crash leaves one (an old checkpoint was put back)")
    if (walk.store_time is not None and walk.store_rows is not None
            and snapshot.rows_digest is not None
            and (now := snapshot.rows_digest(walk.store_time)) != walk.store_rows):
        then_count, now_count = walk.store_rows.partition(":")[0], now.partition(":")[0]
        return fail(None, f"the store's rows from before the log was restarted at "
                          f"{walk.store_time} were changed ({then_count} then, {now_count} now): "
                          "rows removed or added without vaultline (a secret, key ring or "
                          "override rolled back); restore store.db from a backup", "store")
    missing, interrupted, removed = _cross_check(walk, list(snapshot.writes or ()),
                                                snapshot.records)
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        return fail(None, f"{missing[0]}{more} has no audit line: written around vaultline's "
                          "audit (with the master key), or its lines were removed", "store")
    if removed:
        more = f" (and {len(removed) - 1} more)" if len(removed) > 1 else ""
        return fail(None, f"{removed[0]}{more}: the store's rows were changed without "
                          "vaultline (a secret rolled back or a deleted value served again); "
                          "restore store.db from a backup", "store")
    anchored: int | None = None
    if anchor is not None:
        if last_seq < anchor.seq:
            return fail(None, f"rolled back: the anchor of {anchor.time} records seq "
                              f"{anchor.seq}, the log ends at seq {last_seq}", "anchor")
        if walk.at_anchor != anchor.hash:
            return fail(None, f"rewritten: line seq {anchor.seq} is not the one anchored at "
                              f"{anchor.time}", "anchor")
        anchored = anchor.seq
    return VerifyResult(True, count, crash_tail=crash_tail, unkeyed=walk.unkeyed,
                        interrupted=tuple(interrupted), segments=segments, anchored=anchored,
                        torn=torn)
