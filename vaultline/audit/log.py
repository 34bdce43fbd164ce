"""The append-only audit log: one JSON line per event, in a keyed chain, safe across processes.

An append takes an exclusive ``flock`` on the log file, reads only the last line (seeking
from the end) to continue the chain, writes every new line with one ``write`` on an
``O_APPEND`` descriptor, moves the checkpoint, and unlocks. There is no fsync: the resolver
audits every read, and an event lost to a power cut shows up as a checkpoint mismatch
rather than silently.

A writer killed between its write and the checkpoint leaves valid keyed lines past the
checkpoint: a *crash tail*, one append's batch (one timestamp). Only a holder of the
master key can write such lines, so the next writer checks their MACs and adopts them;
``verify`` reports them, not a break. More than one batch past the checkpoint is not a
crash but an old checkpoint put back.

If a writer finds the log's tail does not match the checkpoint otherwise (lines cut or
rewritten, the checkpoint edited or removed, a half-written line), it does not refuse to
work — that would lock users out of their secrets over a damaged log — but it first
appends an ``audit.break`` event saying what it found, marks the checkpoint damaged, and
warns (:class:`~vaultline.errors.AuditDamageWarning`, one line on the CLI's stderr). Every
later command warns too, until ``audit restart`` archives the damaged log: ``verify``
fails at the break line from then on.

The log is cut into segments by size: when ``audit.log`` passes ``segment_size`` it is
renamed ``audit.<n>.log`` (``audit.1.log`` the oldest) and the chain goes on in a new
``audit.log``; ``verify``, ``show`` and ``report`` read every segment in order.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import itertools
import json
import os
import re
import stat
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from vaultline._files import open_private
from vaultline._limits import parse_json
from vaultline.audit.checkpoint import Checkpoint, StoreCheckpoint, Tip
from vaultline.audit.event import (
    AUDIT_BREAK,
    AUDIT_RESTART,
    DENIED,
    FAILED,
    FORMAT_VERSION,
    GENESIS,
    INTENT,
    OK,
    OVERRIDE_EXPIRE,
    OVERRIDE_REVOKE,
    AuditEntry,
    AuditEvent,
    ValueMac,
    encode_lines,
    format_time,
    line_hash,
    parse_time,
)
from vaultline.errors import AuditDamageWarning, AuditError, PermissionDeniedError

if TYPE_CHECKING:
    from vaultline.audit.anchor import Anchor
    from vaultline.audit.report import Report, ReportSettings
    from vaultline.audit.verify import VerifyResult
    from vaultline.store.embedded import EmbeddedStore, VersionInfo

LOG_NAME = "audit.log"
DEFAULT_SEGMENT_SIZE = 64 * 1024 * 1024
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


_FULL_ID_MAP = ["0", "0", "4294967295"]


def in_user_namespace(uid_map: Path = Path("/proc/self/uid_map")) -> bool:
    """Whether this process runs in a Linux user namespace of its own making, where
    :func:`default_actor` names a user id the process chose (``unshare -U`` makes anyone
    ``nobody``, ``unshare -r`` makes anyone ``root``) and the host name is its own too.

    Only the initial namespace maps every id to itself; elsewhere (no such file) there are none.
    """
    try:
        text = uid_map.read_text()
    except FileNotFoundError:
        return False
    except OSError:
        return True
    return text.split() != _FULL_ID_MAP


def _segment_name(path: Path, number: int) -> str:
    return f"{path.name.removesuffix('.log')}.{number}.log"


def sealed_segments(path: Path) -> list[Path]:
    """The full segments before ``path`` (``audit.1.log``, ``audit.2.log``, ...), oldest first."""
    try:
        names = os.listdir(path.parent)
    except FileNotFoundError:
        return []
    pattern = re.compile(re.escape(path.name.removesuffix(".log")) + r"\.(\d+)\.log")
    numbered = sorted((int(m.group(1)), n) for n in names if (m := pattern.fullmatch(n)))
    return [path.with_name(n) for _, n in numbered]


class Snapshot(NamedTuple):
    """What ``verify`` reads, taken in one moment under the writers' lock: every segment's
    open descriptor and size then, the checkpoint then (or why it could not be read), and
    the store's versions then. Appends after it are not looked at."""

    parts: list[tuple[str, int, int]]  # (file name, descriptor, size)
    tip: Tip | None
    checkpoint_error: str | None
    writes: Sequence[VersionInfo] | None
    store_id: str | None = None  # whose ``write`` lines must still have their rows
    records: frozenset[tuple[str, str, int]] = frozenset()  # (kind, name, version) rows
    rows_digest: Callable[[str], str] | None = None  # the store's rows created before a time

    def close(self) -> None:
        for _, fd, _ in self.parts:
            os.close(fd)


class AuditLog:
    def __init__(
        self,
        path: Path,
        *,
        hmac_key: bytes | None,
        checkpoint: Checkpoint | None,
        chain_key: bytes | None = None,
        clock: Callable[[], datetime] | None = None,
        segment_size: int = DEFAULT_SEGMENT_SIZE,
    ) -> None:
        self.path = path
        self._hmac_key = hmac_key
        self._chain = None if chain_key is None else ValueMac(chain_key)
        self._checkpoint = checkpoint
        self._clock = clock or (lambda: datetime.now(UTC))
        self._segment_size = segment_size
        self._actor: str | None = None
        self._warned = False
        # Called with the seq before and the tip after each append (automatic anchoring).
        self.after_append: Callable[[int, Tip], None] | None = None
        # flock locks belong to open file descriptions, so threads of one process would
        # serialize anyway; this lock also keeps the store connection single-user here.
        self._thread_lock = threading.Lock()

    @classmethod
    def for_store(
        cls, store: EmbeddedStore, *, clock: Callable[[], datetime] | None = None,
        segment_size: int = DEFAULT_SEGMENT_SIZE,
    ) -> AuditLog:
        """The log of an embedded store: ``<store dir>/audit.log``, keys from its master key."""
        return cls(
            store.directory / LOG_NAME,
            hmac_key=store.derive_key("audit-hmac"),
            checkpoint=StoreCheckpoint(store, store.derive_key("audit-checkpoint")),
            chain_key=store.derive_key("audit-chain"),
            clock=clock,
            segment_size=segment_size,
        )

    def __repr__(self) -> str:
        return f"AuditLog({str(self.path)!r})"

    @property
    def actor(self) -> str:
        if self._actor is None:
            self._actor = default_actor()
        return self._actor

    def files(self) -> list[Path]:
        """Every segment of the log, oldest first; the active ``audit.log`` last."""
        return [*sealed_segments(self.path), self.path]

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
        entry = AuditEntry(action, env, key, reference, outcome, value, actor, detail)
        line = self._append([entry])[-1]
        return AuditEvent.from_dict(json.loads(line))

    def record_many(self, entries: Iterable[AuditEntry]) -> None:
        """Append many events under one lock and one write; they share one timestamp.

        ``entries`` is consumed once, under the lock: a generator costs no list of 10,000
        entries kept alive (and traversed by the garbage collector) until the write. Each
        entry is checked before anything is written; one that fails writes nothing.
        """
        remaining = iter(entries)
        first = next(remaining, None)
        if first is not None:
            self._append(itertools.chain((first,), remaining))

    @contextlib.contextmanager
    def recording(
        self,
        action: str,
        *,
        env: str | None = None,
        key: str | None = None,
        reference: str | None = None,
        value: str | bytes | None = None,
        actor: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Audit a change to a store: an ``intent`` line before it, the outcome after.

        The body makes the change and fills the yielded dict with what ``detail`` should
        say (``version`` for a write: ``verify`` matches it against the store's versions).
        A process killed in between leaves the intent, so a durable write is never
        unaudited; ``verify`` lists intents without an outcome.

            with log.recording(WRITE, key=key, reference=f"local:{path}", value=v) as detail:
                detail["version"] = store.put(path, v)
        """
        intent = self.record(action, env=env, key=key, reference=reference, outcome=INTENT,
                             actor=actor)
        detail: dict[str, Any] = {}
        try:
            yield detail
        except PermissionDeniedError:
            self.record(action, env=env, key=key, reference=reference, outcome=DENIED,
                        actor=actor, detail={"intent": intent.seq})
            raise
        except BaseException as exc:
            self.record(action, env=env, key=key, reference=reference, outcome=FAILED,
                        actor=actor, detail={"intent": intent.seq,
                                             "reason": type(exc).__name__})
            raise
        self.record(action, env=env, key=key, reference=reference, value=value, actor=actor,
                    detail={**detail, "intent": intent.seq})

    def _append(self, pending: Iterable[AuditEntry]) -> list[bytes]:
        """Chain ``pending`` onto the log's tip and write them; returns the lines written.

        The loop runs once per audited read, so it works on plain fields and bytes, never
        on event objects.
        """
        mac = None if self._hmac_key is None else ValueMac(self._hmac_key)
        with self._thread_lock, self._locked() as fd:
            tip, breaks, damaged = self._resume(fd)
            before = tip.seq
            if breaks and damaged is None:
                damaged = tip.seq + 1  # the break line about to be written
            stamp = format_time(self._clock())
            lines, seq, prev = encode_lines(itertools.chain(breaks, pending), seq=tip.seq,
                                            prev=tip.hash, time=stamp, actor=self.actor,
                                            mac=mac, chain=self._chain)
            data = b"".join(lines)
            try:
                written = os.write(fd, data)
            except OSError as exc:
                raise AuditError(f"cannot append to {self.path}: {exc.strerror}") from None
            if written != len(data):
                raise AuditError(f"short write to {self.path} ({written} of {len(data)} bytes); "
                                 "run 'vaultline audit verify'")
            head = Tip(seq, prev, damaged)
            if self._checkpoint is not None:
                self._checkpoint.save(head)
            if os.fstat(fd).st_size >= self._segment_size:
                self._seal()
        if damaged is not None:
            self._warn(breaks, damaged)
        if self.after_append is not None:
            self.after_append(before, head)
        return lines[len(breaks):]

    def _warn(self, breaks: list[AuditEntry], damaged: int) -> None:
        if self._warned:
            return
        self._warned = True
        if breaks:
            why = (breaks[0].detail or {}).get("reason", "")
            message = (f"the audit log {self.path} is damaged ({why}); recorded as "
                       f"audit.break at seq {damaged}; run 'vaultline audit verify'")
        else:
            message = (f"the audit log {self.path} has been damaged since seq {damaged}; "
                       "run 'vaultline audit verify', keep the log as evidence, then "
                       "'vaultline audit restart'")
        warnings.warn(message, AuditDamageWarning, stacklevel=4)

    def _seal(self) -> None:
        """Rename the full ``audit.log`` to the next ``audit.<n>.log`` (under the lock);
        the next append creates a new one, and writers queued on the old file follow the
        name (see _FileLock)."""
        number = len(sealed_segments(self.path)) + 1
        os.rename(self.path, self.path.with_name(_segment_name(self.path, number)))

    def _locked(self) -> _FileLock:
        return _FileLock(self.path)

    def _last_tail(self, fd: int, size: int | None = None) -> tuple[Tip | None, str | None, int]:
        """The active log's last line (of its first ``size`` bytes), or the last sealed
        segment's when it is empty."""
        size = os.fstat(fd).st_size if size is None else size
        if size:
            return (*_read_tail(fd, size), size)
        sealed = sealed_segments(self.path)
        if not sealed:
            return None, None, 0
        other = open_segment(sealed[-1])
        try:
            return (*_read_tail(other, os.fstat(other).st_size), 0)
        finally:
            os.close(other)

    def _resume(self, fd: int) -> tuple[Tip, list[AuditEntry], int | None]:
        """The tip to chain from, an ``audit.break`` entry if the log is damaged, and the
        seq since which it is damaged."""
        tail, problem, size = self._last_tail(fd)
        recorded: Tip | None = None
        reasons: list[str] = []
        if self._checkpoint is not None:
            try:
                recorded = self._checkpoint.load()
            except AuditError as exc:
                reasons.append(str(exc))
        if problem == "partial":
            from vaultline.audit.verify import complete_size

            complete = complete_size(fd, size)
            if not reasons and self._follows_checkpoint(fd, complete, recorded):
                # An append a crash cut short (SIGKILL can stop a write between two pages)
                # after the checkpoint: none of it was acknowledged, so it goes.
                os.ftruncate(fd, complete)
                tail, problem, size = self._last_tail(fd)
            else:
                # Finish the half-written line so the next events start on a line of their own.
                os.write(fd, b"\n")
        if self._checkpoint is not None and not reasons:
            if recorded is None and tail is not None:
                reasons.append(f"no checkpoint in the store, but the log ends at seq {tail.seq}")
            elif recorded is not None and tail is None and problem is None:
                reasons.append(f"the checkpoint is at seq {recorded.seq}, the log is empty")
            elif (recorded is not None and tail is not None
                  and not tail.same_line(recorded)
                  and not (tail.seq > recorded.seq and self._crash_tail(fd, size, recorded))):
                other = " with another hash" if tail.seq == recorded.seq else ""
                reasons.append(f"the checkpoint is at seq {recorded.seq}, the log ends at "
                               f"seq {tail.seq}{other}")
        if problem is not None:
            reasons.append(f"the last line of the log is {problem}")
        damaged = recorded.damaged if recorded is not None else None
        start = tail or recorded or Tip(0, GENESIS)
        if not reasons:
            return Tip(start.seq, start.hash), [], damaged
        detail = {"reason": "; ".join(reasons),
                  "checkpoint_seq": recorded.seq if recorded else None,
                  "log_seq": tail.seq if tail else None}
        return Tip(start.seq, start.hash), [AuditEntry(AUDIT_BREAK, outcome=OK, detail=detail)], damaged

    def _follows_checkpoint(self, fd: int, size: int, recorded: Tip | None) -> bool:
        """Whether the log's first ``size`` bytes end at the checkpoint (``recorded``), or in
        a crash tail after it: what follows them was never acknowledged."""
        if self._checkpoint is None:
            return True  # a chain alone acknowledges no line
        tail, problem, size = self._last_tail(fd, size)
        if problem is not None or (tail is None) != (recorded is None):
            return False
        if tail is None or recorded is None:
            return True  # the very first append was cut short
        return tail.same_line(recorded) or (tail.seq > recorded.seq
                                            and self._crash_tail(fd, size, recorded))

    def _crash_tail(self, fd: int, size: int, recorded: Tip) -> bool:
        """Whether the lines after ``recorded`` are keyed lines chained onto it: written by
        a holder of the master key that stopped before moving the checkpoint."""
        if self._chain is None or size == 0:
            return False
        chunk = _TAIL_CHUNK
        while True:
            start = max(0, size - chunk)
            rows = os.pread(fd, size - start, start).split(b"\n")[:-1]
            if start > 0:
                rows = rows[1:]  # the first piece may begin mid-line
            parsed: list[dict[str, Any]] = []
            found = False
            for raw in reversed(rows):
                try:
                    data = parse_json(raw)
                    seq = int(data["seq"])
                except (ValueError, KeyError, TypeError):
                    return False
                if seq <= recorded.seq:
                    found = seq == recorded.seq and data.get("hash") == recorded.hash
                    if not found:
                        return False
                    break
                parsed.append(data)
            if found or start == 0:
                break
            chunk *= 4
        prev, seq = recorded.hash, recorded.seq
        stamp = parsed[-1].get("time") if parsed else None
        for data in reversed(parsed):
            try:
                if (data["v"] != FORMAT_VERSION or data["seq"] != seq + 1
                        or data["time"] != stamp  # one append: one batch, one timestamp
                        or data["prev"] != prev or line_hash(data, self._chain) != data["hash"]):
                    return False
            except (KeyError, TypeError, AuditError):
                return False
            prev, seq = data["hash"], seq + 1
        return bool(parsed)

    def restart(self, reason: str, *, actor: str | None = None) -> Path:
        """Archive the log as ``audit.<time>.log`` and start a new chain; returns the archive.

        For a damaged log (after keeping it as evidence). Sealed segments are archived with
        it (``audit.<time>.<n>.log``). The new log's first line (``audit.restart``) names
        the archive and the tip found in it, and the checkpoint moves to the new log,
        no longer marked damaged.
        """
        if not reason.strip():
            raise AuditError("an audit log restart needs a reason")
        with self._thread_lock, self._locked() as fd:
            tail, problem, _ = self._last_tail(fd)
            recorded: Tip | None = None
            if self._checkpoint is not None:
                try:
                    recorded = self._checkpoint.load()
                except AuditError:
                    recorded = None
            moment = self._clock()
            stamp = format_time(moment)
            label = stamp.replace(":", "").replace("-", "")
            archive = self.path.with_name(f"audit.{label}.log")
            detail = {"reason": reason, "archived_as": archive.name,
                      "previous_seq": tail.seq if tail else None,
                      "previous_hash": tail.hash if tail else None,
                      "previous_problem": problem,
                      "checkpoint_seq": recorded.seq if recorded else None}
            # Store rows older than this were audited in the archive, which verify does not
            # read: what they add up to is kept here, so removing one is still found.
            store_time = datetime.now(UTC).isoformat(timespec="microseconds")
            detail["store_time"] = store_time
            if self._checkpoint is not None:
                detail["store_rows"] = self._checkpoint.rows_digest(store_time)
            (line,), _, hashed = encode_lines([AuditEntry(AUDIT_RESTART, actor=actor, detail=detail)],
                                              seq=0, prev=GENESIS, time=stamp,
                                              actor=self.actor, mac=None, chain=self._chain)
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
                    for number, segment in enumerate(sealed_segments(self.path), 1):
                        os.rename(segment, archive.with_name(_segment_name(archive, number)))
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

    def snapshot(self) -> Snapshot:
        """Every segment as it is now, with the checkpoint and store versions of this moment.

        Taken under the writers' lock, held only while the files are opened and the store
        read: a write's intent line is appended before its commit, so every version seen
        here has its line within the snapshot.
        """
        with self._thread_lock, self._locked() as fd:
            tip: Tip | None = None
            error: str | None = None
            writes: Sequence[VersionInfo] | None = None
            records: frozenset[tuple[str, str, int]] = frozenset()
            if self._checkpoint is not None:
                try:
                    tip = self._checkpoint.load()
                except AuditError as exc:
                    error = str(exc)
                writes = self._checkpoint.writes()
                records = frozenset(self._checkpoint.records())
            parts: list[tuple[str, int, int]] = []
            try:
                for segment in sealed_segments(self.path):
                    part = open_segment(segment)
                    parts.append((segment.name, part, os.fstat(part).st_size))
                active = os.dup(fd)
                parts.append((self.path.name, active, os.fstat(active).st_size))
            except OSError as exc:
                Snapshot(parts, None, None, None).close()
                raise AuditError(f"cannot read the audit log segments: {exc.strerror}") from None
        checkpoint = self._checkpoint
        return Snapshot(parts, tip, error, writes, None if checkpoint is None else checkpoint.store_id,
                        records, None if checkpoint is None else checkpoint.rows_digest)

    # Reading back is for `vaultline audit`; those modules load only when asked, keeping the
    # import cost off every command that merely appends.
    def verify(self, *, anchor: Anchor | None = None) -> VerifyResult:
        """Check a snapshot of the whole log; with ``anchor``, also that it still reaches it."""
        from vaultline.audit.verify import verify_snapshot

        snapshot = self.snapshot()
        try:
            return verify_snapshot(snapshot, self._chain, checkpointed=self._checkpoint is not None,
                                   anchor=anchor)
        finally:
            snapshot.close()

    def head(self) -> Tip:
        """The checkpointed tip (what ``audit anchor`` publishes); ``AuditError`` if damaged."""
        if self._checkpoint is None:
            raise AuditError("this audit log has no checkpoint (no embedded store)")
        with self._thread_lock, self._locked() as fd:
            tip, breaks, damaged = self._resume(fd)
        if breaks or damaged is not None:
            raise AuditError("the audit log is damaged; run 'vaultline audit verify' "
                             "(not anchoring a damaged log)")
        return tip

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
        return (e for path in self.files() for e in read_events(path, on_error=on_error)
                if wanted.matches(e))

    def ended_overrides(self, env: str, ids: Mapping[str, datetime]) -> set[str]:
        """Which of the overrides ``ids`` (each with its creation time) an ``override.revoke``
        or ``override.expire`` line of ``env`` has ended. A store.db put back from before the
        line holds the override active again; this is what refuses it at resolve time.

        Read only while overrides are active: newest segment first, down to the one that
        starts before the oldest of them was created.
        """
        needles = {override_id: b'"override":"' + override_id.encode() + b'"'
                   for override_id in ids}
        oldest = min(ids.values(), default=None)
        ended: set[str] = set()
        for path in reversed(self.files()):
            try:
                fd = open_segment(path)
            except FileNotFoundError:
                continue
            with os.fdopen(fd, "rb") as segment:
                data = segment.read()
            for override_id, needle in needles.items():
                at = data.find(needle)
                while at != -1 and override_id not in ended:
                    start, end = data.rfind(b"\n", 0, at) + 1, data.find(b"\n", at)
                    with contextlib.suppress(ValueError, TypeError, AttributeError):
                        line = json.loads(data[start:None if end == -1 else end])
                        if (line.get("env") == env and line.get("outcome") == OK
                                and line.get("action") in (OVERRIDE_REVOKE, OVERRIDE_EXPIRE)
                                and (line.get("detail") or {}).get("override") == override_id):
                            ended.add(override_id)
                    at = -1 if end == -1 else data.find(needle, end)
            first = data[:data.find(b"\n")]
            with contextlib.suppress(ValueError, TypeError, AttributeError):
                if oldest is not None and parse_time(json.loads(first)["time"]) < oldest:
                    break
        return ended

    def report(self, settings: ReportSettings | None = None) -> Report:
        from vaultline.audit.query import read_events
        from vaultline.audit.report import ReportSettings, build_report

        events = (e for path in self.files() for e in read_events(path))
        return build_report(events, settings or ReportSettings())


def open_segment(path: Path) -> int:
    """A read descriptor on a log file that must be a regular file: a FIFO, device or symlink
    in its place (whoever can write the store directory) is an AuditError, not a hang."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        raise AuditError(f"audit log {path} is a symlink; move it away and run "
                         "'vaultline audit verify'") from None
    _regular(fd, path)
    return fd


def _regular(fd: int, path: Path) -> None:
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise AuditError(f"audit log {path} is not a regular file; move it away and run "
                         "'vaultline audit verify'")


class _FileLock:
    """Open the log (creating it 0600) and hold an exclusive flock on it."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd = -1

    def __enter__(self) -> int:
        while True:
            try:
                self._fd = open_private(self._path,
                                        os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK)
            except OSError as exc:
                raise AuditError(f"cannot open audit log {self._path}: {exc.strerror}") from None
            _regular(self._fd, self._path)  # a FIFO would take lines until its buffer filled
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
        parsed = parse_json(line)
        return Tip(int(parsed["seq"]), str(parsed["hash"])), None
    except (ValueError, KeyError, TypeError):
        return None, "not a valid event"
