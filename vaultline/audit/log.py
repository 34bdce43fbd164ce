"""The append-only audit log: one JSON line per event, hash-chained, safe across processes.

An append takes an exclusive ``flock`` on the log file, reads only the last line (seeking
from the end) to continue the chain, writes every new line with one ``write`` on an
``O_APPEND`` descriptor, moves the checkpoint, and unlocks. There is no fsync: the resolver
audits every read, and an event lost to a power cut shows up as a checkpoint mismatch
rather than silently.

If a writer finds the log's tail does not match the checkpoint (lines cut or rewritten, the
checkpoint edited, a half-written line), it does not refuse to work — that would lock users
out of their secrets over a damaged log — but it first appends an ``audit.break`` event
saying what it found, so the damage can never be hidden by later appends: ``verify``
fails at that line from then on.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vaultline.audit.checkpoint import Checkpoint, StoreCheckpoint, Tip
from vaultline.audit.event import (
    AUDIT_BREAK,
    AUDIT_RESTART,
    GENESIS,
    OK,
    AuditEvent,
    Entry,
    ValueMac,
    encode_lines,
    format_time,
)
from vaultline.errors import AuditError

if TYPE_CHECKING:
    from vaultline.audit.report import Report, ReportSettings
    from vaultline.audit.verify import VerifyResult
    from vaultline.store.embedded import EmbeddedStore

LOG_NAME = "audit.log"
_TAIL_CHUNK = 8192


def default_actor() -> str:
    """``user@host`` of this process's OS account; providers pass their own identity instead.

    The account comes from the uid, not from ``$USER``/``$LOGNAME`` (which anyone can set):
    it is who the audit names and who approves a break-glass override.
    """
    import pwd

    try:
        user = pwd.getpwuid(os.getuid()).pw_name
    except KeyError:  # no passwd entry (some containers)
        user = f"uid{os.getuid()}"
    return f"{user}@{os.uname().nodename}"


class AuditLog:
    def __init__(
        self,
        path: Path,
        *,
        hmac_key: bytes | None,
        checkpoint: Checkpoint | None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.path = path
        self._hmac_key = hmac_key
        self._checkpoint = checkpoint
        self._clock = clock or (lambda: datetime.now(UTC))
        self._actor: str | None = None
        # flock locks belong to open file descriptions, so threads of one process would
        # serialize anyway; this lock also keeps the store connection single-user here.
        self._thread_lock = threading.Lock()

    @classmethod
    def for_store(
        cls, store: EmbeddedStore, *, clock: Callable[[], datetime] | None = None
    ) -> AuditLog:
        """The log of an embedded store: ``<store dir>/audit.log``, keys from its master key."""
        return cls(
            store.directory / LOG_NAME,
            hmac_key=store.derive_key("audit-hmac"),
            checkpoint=StoreCheckpoint(store, store.derive_key("audit-checkpoint")),
            clock=clock,
        )

    def __repr__(self) -> str:
        return f"AuditLog({str(self.path)!r})"

    @property
    def actor(self) -> str:
        if self._actor is None:
            self._actor = default_actor()
        return self._actor

    # -- writing --------------------------------------------------------------------------

    def record(
        self,
        action: str,
        *,
        env: str | None = None,
        key: str | None = None,
        reference: str | None = None,
        outcome: str = OK,
        value: str | bytes | None = None,
        actor: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> AuditEvent:
        """Append one event and return it. ``value`` is HMAC'd, never written; ``detail``
        holds no values."""
        entry = Entry(action, env, key, reference, outcome, value, actor, detail)
        entry.check()
        line = self._append([entry])[-1]
        return AuditEvent.from_dict(json.loads(line))

    def record_many(self, entries: Iterable[Entry]) -> None:
        """Append many events under one lock and one write; they share one timestamp."""
        pending = list(entries)
        for entry in pending:
            entry.check()
        if pending:
            self._append(pending)

    def _append(self, pending: list[Entry]) -> list[bytes]:
        """Chain ``pending`` onto the log's tip and write them; returns the lines written.

        The loop runs once per audited read, so it works on plain fields and bytes, never
        on event objects.
        """
        mac = None if self._hmac_key is None else ValueMac(self._hmac_key)
        with self._thread_lock, self._locked() as fd:
            tip, breaks = self._resume(fd)
            stamp = format_time(self._clock())
            lines: list[bytes] = []
            lines, seq, prev = encode_lines([*breaks, *pending], seq=tip.seq, prev=tip.hash,
                                            time=stamp, actor=self.actor, mac=mac)
            data = b"".join(lines)
            try:
                written = os.write(fd, data)
            except OSError as exc:
                raise AuditError(f"cannot append to {self.path}: {exc.strerror}") from None
            if written != len(data):
                raise AuditError(f"short write to {self.path} ({written} of {len(data)} bytes); "
                                 "run 'vaultline audit verify'")
            if self._checkpoint is not None:
                self._checkpoint.save(Tip(seq, prev))
        return lines[len(breaks):]

    def _locked(self) -> _FileLock:
        return _FileLock(self.path)

    def _resume(self, fd: int) -> tuple[Tip, list[Entry]]:
        """The tip to chain from, and an ``audit.break`` entry if the log is damaged."""
        size = os.fstat(fd).st_size
        tail, problem = _read_tail(fd, size)
        if problem == "partial":
            # Finish the half-written line so the next events start on a line of their own.
            os.write(fd, b"\n")
        recorded: Tip | None = None
        reasons: list[str] = []
        if self._checkpoint is not None:
            try:
                recorded = self._checkpoint.load()
            except AuditError as exc:
                reasons.append(str(exc))
            if not reasons:
                if recorded is None and tail is not None:
                    reasons.append(f"no checkpoint in the store, but the log ends at seq {tail.seq}")
                elif recorded is not None and tail is None and problem is None:
                    reasons.append(f"the checkpoint is at seq {recorded.seq}, the log is empty")
                elif recorded is not None and tail is not None and tail != recorded:
                    other = " with another hash" if tail.seq == recorded.seq else ""
                    reasons.append(f"the checkpoint is at seq {recorded.seq}, the log ends at "
                                   f"seq {tail.seq}{other}")
        if problem is not None:
            reasons.append(f"the last line of the log is {problem}")
        start = tail or recorded or Tip(0, GENESIS)
        if not reasons:
            return start, []
        detail = {"reason": "; ".join(reasons),
                  "checkpoint_seq": recorded.seq if recorded else None,
                  "log_seq": tail.seq if tail else None}
        return start, [Entry(AUDIT_BREAK, outcome=OK, detail=detail)]

    def restart(self, reason: str, *, actor: str | None = None) -> Path:
        """Archive the log as ``audit.<time>.log`` and start a new chain; returns the archive.

        For a damaged log (after keeping it as evidence) or a large one. The new log's first
        line (``audit.restart``) names the archive and the tip found in it, and the checkpoint
        moves to the new log; the archive can still be checked with ``verify_log(path, None)``.
        """
        if not reason.strip():
            raise AuditError("an audit log restart needs a reason")
        with self._thread_lock, self._locked() as fd:
            tail, problem = _read_tail(fd, os.fstat(fd).st_size)
            recorded: Tip | None = None
            if self._checkpoint is not None:
                try:
                    recorded = self._checkpoint.load()
                except AuditError:
                    recorded = None
            moment = self._clock()
            stamp = format_time(moment)
            archive = self.path.with_name(f"audit.{stamp.replace(':', '').replace('-', '')}.log")
            detail = {"reason": reason, "archived_as": archive.name,
                      "previous_seq": tail.seq if tail else None,
                      "previous_hash": tail.hash if tail else None,
                      "previous_problem": problem,
                      "checkpoint_seq": recorded.seq if recorded else None}
            (line,), _, hashed = encode_lines([Entry(AUDIT_RESTART, actor=actor, detail=detail)],
                                              seq=0, prev=GENESIS, time=stamp,
                                              actor=self.actor, mac=None)
            # The new log is written and locked under a temporary name, then renamed over
            # the old one: the path never goes missing, and writers queued on the old file
            # follow the name (see _FileLock) and wait for this lock on the new one.
            staging = self.path.with_name(f".{self.path.name}.{os.getpid()}.new")
            fresh = os.open(staging, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                fcntl.flock(fresh, fcntl.LOCK_EX)
                os.write(fresh, line)
                try:
                    os.link(self.path, archive)
                except OSError as exc:
                    os.unlink(staging)
                    raise AuditError(f"cannot archive {self.path} as {archive.name}: "
                                     f"{exc.strerror}") from None
                os.rename(staging, self.path)
                if self._checkpoint is not None:
                    self._checkpoint.save(Tip(1, hashed))
            finally:
                os.close(fresh)
        return archive

    # -- reading --------------------------------------------------------------------------

    # Reading back is for `vaultline audit`; those modules load only when asked, keeping the
    # import cost off every command that merely appends.
    def verify(self) -> VerifyResult:
        from vaultline.audit.verify import verify_log

        return verify_log(self.path, self._checkpoint)

    def show(
        self,
        *,
        since: datetime | None = None,
        actor: str | None = None,
        key: str | None = None,
        action: str | None = None,
        env: str | None = None,
        on_error: Callable[[int, str], None] | None = None,
    ) -> Iterator[AuditEvent]:
        """Events matching every filter given (``actor``/``key`` are globs, ``action`` a
        name or prefix: ``override`` matches ``override.set``). Unreadable lines are skipped
        and passed to ``on_error`` (``verify`` is what judges them)."""
        from vaultline.audit.query import EventFilter, read_events

        wanted = EventFilter(since=since, actor=actor, key=key, action=action, env=env)
        return (e for e in read_events(self.path, on_error=on_error) if wanted.matches(e))

    def report(self, settings: ReportSettings | None = None) -> Report:
        from vaultline.audit.query import read_events
        from vaultline.audit.report import ReportSettings, build_report

        return build_report(read_events(self.path), settings or ReportSettings())


class _FileLock:
    """Open the log (creating it 0600) and hold an exclusive flock on it."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd = -1

    def __enter__(self) -> int:
        while True:
            try:
                self._fd = os.open(self._path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            except OSError as exc:
                raise AuditError(f"cannot open audit log {self._path}: {exc.strerror}") from None
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            # ``restart`` renames the log while others wait for the lock: whoever then gets
            # it must follow the name to the new file, not append to the archived one.
            try:
                same = os.stat(self._path).st_ino == os.fstat(self._fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                return self._fd
            self.__exit__()

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)


def _read_tail(fd: int, size: int) -> tuple[Tip | None, str | None]:
    """The tip of the last line, reading backwards from the end; and what is wrong with it.

    Returns ``(None, None)`` for an empty log, ``(None, problem)`` if the last line cannot
    be used ("partial": no newline at the end; "not a valid event").
    """
    if size == 0:
        return None, None
    if os.pread(fd, 1, size - 1) != b"\n":
        return None, "partial"
    chunk = _TAIL_CHUNK
    while True:
        start = max(0, size - 1 - chunk)
        data = os.pread(fd, size - 1 - start, start)
        cut = data.rfind(b"\n")
        if cut >= 0 or start == 0:
            line = data[cut + 1:]
            break
        chunk *= 4
    try:
        parsed = json.loads(line)
        return Tip(int(parsed["seq"]), str(parsed["hash"])), None
    except (ValueError, KeyError, TypeError):
        return None, "not a valid event"
