"""Findings worth a person's attention, from one pass over the log.

- ``new-actor``: a principal reads a key it has never read before, after that key's
  learning window. The window starts at the key's first event in the log (default 7 days):
  during it every reader is learned as normal; afterwards a first read is reported. A key
  created later gets its own window, so new keys do not flood the report. First reads by
  one actor close together (within the burst window) are one finding listing the keys,
  so a new CI runner resolving 1,000 keys is one line, not 1,000.
- ``burst``: one actor making at least ``burst_reads`` read accesses within
  ``burst_window`` (default 30 in 1 minute). An access is one ``record``/``record_many``
  call — the events of one resolution share a timestamp and count once — so resolving a
  large environment is not a burst, while a loop fetching keys one by one is.
- ``denied``: every refused access (action ``deny`` or outcome ``denied``).
- ``reveal``: every value shown to a person.
- ``override``: every break-glass override event (set, apply, expire, revoke).
- ``log-break``: every place a writer found the log damaged (``audit.break``), and the
  start of a restarted log (``audit.restart``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from vaultline.audit.event import (
    AUDIT_BREAK,
    AUDIT_RESTART,
    DENIED,
    DENY,
    OK,
    READ_ACTIONS,
    REVEAL,
    AuditEvent,
)
from vaultline.findings import Finding as BaseFinding
from vaultline.findings import Severity

NEW_ACTOR = "new-actor"
BURST = "burst"
DENIAL = "denied"
REVEALED = "reveal"
OVERRIDE = "override"
LOG_BREAK = "log-break"
KINDS = (NEW_ACTOR, BURST, DENIAL, REVEALED, OVERRIDE, LOG_BREAK)
# A damaged log is a fault; the unusual reads are worth a look; reveals and overrides are
# expected break-glass work that someone should still see.
_SEVERITY = {NEW_ACTOR: Severity.WARNING, BURST: Severity.WARNING, DENIAL: Severity.WARNING,
             REVEALED: Severity.INFO, OVERRIDE: Severity.INFO, LOG_BREAK: Severity.ERROR}


@dataclass(frozen=True, slots=True)
class ReportSettings:
    learning_window: timedelta = timedelta(days=7)
    burst_reads: int = 30
    burst_window: timedelta = timedelta(minutes=1)


@dataclass(slots=True)
class Finding(BaseFinding):
    kind: str
    seq: int  # the first event behind the finding
    time: str
    actor: str
    summary: str
    keys: list[str] = field(default_factory=list)
    env: str | None = None
    count: int = 1
    end_time: str | None = None

    _json_fields = ("kind", "seq", "time", "end_time", "actor", "env", "keys", "count",
                    "summary")

    @property
    def severity(self) -> Severity:
        return _SEVERITY[self.kind]

    @property
    def message(self) -> str:
        return self.summary


@dataclass(slots=True)
class Report:
    events: int
    first_time: str | None
    last_time: str | None
    findings: list[Finding]

    def by_kind(self, kind: str) -> list[Finding]:
        return [f for f in self.findings if f.kind == kind]

    def to_dict(self) -> dict[str, Any]:
        return {"events": self.events, "first_time": self.first_time,
                "last_time": self.last_time, "findings": [f.to_dict() for f in self.findings]}


@dataclass(slots=True)
class _Access:
    """Consecutive read events by one actor sharing a timestamp: one record_many call."""

    actor: str
    time: datetime
    first: AuditEvent
    keys: set[str]
    reads: int


class _Bursts:
    def __init__(self, settings: ReportSettings) -> None:
        self._settings = settings
        self._recent: dict[str, deque[_Access]] = {}
        self._open: dict[str, tuple[Finding, datetime, set[str]]] = {}
        self.findings: list[Finding] = []

    def add(self, access: _Access) -> None:
        window = self._settings.burst_window
        recent = self._recent.setdefault(access.actor, deque())
        recent.append(access)
        while access.time - recent[0].time > window:
            recent.popleft()
        current = self._open.get(access.actor)
        if current is not None and access.time - current[1] <= window:
            finding, _, keys = current
            keys |= access.keys
            finding.count += access.reads
            finding.end_time = access.first.time
            finding.summary = _burst_summary(finding.count, len(keys), finding)
            self._open[access.actor] = (finding, access.time, keys)
            return
        if len(recent) >= self._settings.burst_reads:
            keys = set().union(*(a.keys for a in recent))
            finding = Finding(BURST, recent[0].first.seq, recent[0].first.time, access.actor, "",
                              env=access.first.env, count=sum(a.reads for a in recent),
                              end_time=access.first.time)
            finding.summary = _burst_summary(finding.count, len(keys), finding)
            self.findings.append(finding)
            self._open[access.actor] = (finding, access.time, keys)


def _burst_summary(reads: int, keys: int, finding: Finding) -> str:
    return f"{reads} reads of {keys} key(s) between {finding.time} and {finding.end_time}"


def build_report(events: Iterable[AuditEvent], settings: ReportSettings) -> Report:
    findings: list[Finding] = []
    key_since: dict[str, datetime] = {}
    readers: dict[str, set[str]] = {}
    new_open: dict[str, tuple[Finding, datetime]] = {}
    bursts = _Bursts(settings)
    access: _Access | None = None
    count = 0
    first_time: str | None = None
    last_time: str | None = None

    for event in events:
        count += 1
        try:
            moment = event.moment
        except ValueError:
            continue
        first_time = first_time or event.time
        last_time = event.time
        if event.key is not None:
            key_since.setdefault(event.key, moment)

        if event.action in (AUDIT_BREAK, AUDIT_RESTART):
            verb = "log restarted" if event.action == AUDIT_RESTART else "log found broken"
            why = (event.detail or {}).get("reason", "")
            findings.append(Finding(LOG_BREAK, event.seq, event.time, event.actor,
                                    f"{verb}: {why}"))
        if event.action == DENY or event.outcome == DENIED:
            findings.append(Finding(DENIAL, event.seq, event.time, event.actor,
                                    "access refused" if event.action == DENY
                                    else f"{event.action} refused", _keys(event), event.env))
        elif event.action == REVEAL:
            findings.append(Finding(REVEALED, event.seq, event.time, event.actor,
                                    "value revealed", _keys(event), event.env))
        if event.action.startswith("override."):
            findings.append(Finding(OVERRIDE, event.seq, event.time, event.actor,
                                    f"{event.action} ({event.outcome})", _keys(event), event.env))

        if event.action not in READ_ACTIONS or event.outcome != OK:
            continue
        if access is not None and access.actor == event.actor and access.time == moment:
            access.reads += 1
            if event.key is not None:
                access.keys.add(event.key)
        else:
            if access is not None:
                bursts.add(access)
            access = _Access(event.actor, moment, event, set(_keys(event)), 1)

        if event.key is None:
            continue
        seen = readers.setdefault(event.key, set())
        if event.actor in seen:
            continue
        seen.add(event.actor)
        if moment - key_since[event.key] < settings.learning_window:
            continue
        current = new_open.get(event.actor)
        if current is not None and moment - current[1] <= settings.burst_window:
            finding = current[0]
            finding.keys.append(event.key)
            finding.count += 1
        else:
            finding = Finding(NEW_ACTOR, event.seq, event.time, event.actor, "", [event.key],
                              event.env)
            findings.append(finding)
        finding.summary = (f"first read of {finding.count} key(s) it had never read "
                           f"(after the {_human(settings.learning_window)} learning window)")
        new_open[event.actor] = (finding, moment)

    if access is not None:
        bursts.add(access)
    findings.extend(bursts.findings)
    findings.sort(key=lambda f: (f.seq, KINDS.index(f.kind)))
    return Report(count, first_time, last_time, findings)


def _keys(event: AuditEvent) -> list[str]:
    return [event.key] if event.key is not None else []


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
