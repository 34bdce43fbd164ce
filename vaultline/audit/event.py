"""One audit event: its fields, its action vocabulary, and how its hash is computed.

On disk an event is one JSON line (format version ``v`` = 2)::

    {"v":2,"seq":7,"time":"2026-01-02T03:04:05.000006Z","actor":"ana@build-7",
     "action":"read","env":"prod","key":"ConnectionStrings:Primary",
     "reference":"local:nexus-engine/prod/ConnectionStrings/Primary","outcome":"ok",
     "value_hmac":"9f2c…","detail":null,"prev":"<hash of line 6>","hash":"<this line's hash>"}

``hash`` is HMAC-SHA256, under a chain key derived from the store's master key, over the
canonical JSON of every other field, ``prev`` included: each line commits to the whole log
before it, and a line written without the master key is detected on its own, wherever it
is. Canonical: the fields in the order above, ``detail``'s keys sorted, no spaces, UTF-8 —
which is exactly the line as written up to ``,"hash"``, so writing an event costs one
serialization.

Version 1 lines are the same but unkeyed (``hash`` is plain SHA-256). A log kept without an
embedded store (no master key) is written in version 1; in a store's log, version 1 lines
are accepted only as the prefix written before the keyed chain began (the first version 2
line chains onto them), never after a keyed line.

``value_hmac`` is HMAC-SHA256 of the value under a key derived from the store's master key:
equal values give equal HMACs (a secret copied between environments shows up) while the
value itself is never written. ``detail`` is free-form metadata for the action (a version
number, an override's ticket and expiry, a key id); it must never carry a secret value.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from vaultline.errors import AuditError

if TYPE_CHECKING:
    from _hashlib import HASH

FORMAT_VERSION = 2  # keyed: ``hash`` is an HMAC under the chain key
UNKEYED_VERSION = 1  # ``hash`` is SHA-256: logs without a master key, and older logs
# ``prev`` of the first line: no line came before it.
GENESIS = "0" * 64

# -- actions --------------------------------------------------------------------------------
# Secrets
READ = "read"
WRITE = "write"
DELETE = "delete"
UNDELETE = "undelete"
DESTROY = "destroy"
REVEAL = "reveal"  # a value shown to a person (``get --reveal``, ``explain --show``)
DENY = "deny"  # an access refused before it reached a provider (policy, protection)
ROTATE = "rotate"  # a stored secret rotated (generated password, API key, database role)
SCAN_KNOWN = "scan.known"  # ``scan --known``: every secret value of an environment looked for
# Break-glass overrides
OVERRIDE_SET = "override.set"
OVERRIDE_REQUEST = "override.request"  # asked for in a protected environment; pending
OVERRIDE_APPROVE = "override.approve"  # a second identity approved a request: it applies
OVERRIDE_APPLY = "override.apply"
OVERRIDE_EXPIRE = "override.expire"
OVERRIDE_REVOKE = "override.revoke"
# Key rings
KEY_CREATE = "key.create"
KEY_ROTATE = "key.rotate"
KEY_PROMOTE = "key.promote"
KEY_RETIRE = "key.retire"
KEY_DESTROY = "key.destroy"
KEY_REWRAP = "key.rewrap"
KEY_SIGN = "key.sign"
KEY_ENCRYPT = "key.encrypt"
KEY_DECRYPT = "key.decrypt"
# Written by the log itself when a writer finds the log no longer matches its checkpoint.
AUDIT_BREAK = "audit.break"
# The first line of a log started by ``AuditLog.restart`` (the old one is archived).
AUDIT_RESTART = "audit.restart"

ACTIONS: frozenset[str] = frozenset({
    READ, WRITE, DELETE, UNDELETE, DESTROY, REVEAL, DENY, ROTATE, SCAN_KNOWN,
    OVERRIDE_SET, OVERRIDE_REQUEST, OVERRIDE_APPROVE, OVERRIDE_APPLY, OVERRIDE_EXPIRE, OVERRIDE_REVOKE,
    KEY_CREATE, KEY_ROTATE, KEY_PROMOTE, KEY_RETIRE, KEY_DESTROY, KEY_REWRAP,
    KEY_SIGN, KEY_ENCRYPT, KEY_DECRYPT, AUDIT_BREAK, AUDIT_RESTART,
})
# Actions that hand a value to someone: what "first-seen actor" and "burst" look at.
READ_ACTIONS: frozenset[str] = frozenset({READ, REVEAL})

# -- outcomes -------------------------------------------------------------------------------
OK = "ok"
DENIED = "denied"  # refused: not allowed (policy, permission, protected environment)
FAILED = "failed"  # attempted, but it did not work (not found, provider down)
# Written before a store change commits; the line with the outcome names it in ``detail``.
INTENT = "intent"
OUTCOMES: frozenset[str] = frozenset({OK, DENIED, FAILED, INTENT})

# New actions may be added by other parts without touching this module, but they must look
# like the vocabulary above so ``--action override`` style prefix filters keep working.
_ACTION_RE = re.compile(r"[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*")

FIELDS = ("v", "seq", "time", "actor", "action", "env", "key", "reference", "outcome",
          "value_hmac", "detail", "prev", "hash")


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def canonical(body: Mapping[str, Any]) -> bytes:
    """The fields covered by ``hash`` in their fixed order, serialized compactly."""
    return _ENCODER.encode({name: body[name] for name in FIELDS[:-1]}).encode()


_string = json.encoder.encode_basestring  # the C encoder that _ENCODER uses for str


def encode_lines(entries: Iterable[AuditEntry], *, seq: int, prev: str, time: str, actor: str,
                 mac: ValueMac | None, chain: ValueMac | None) -> tuple[list[bytes], int, str]:
    """The lines of ``entries`` chained after the line ``(seq, prev)``, and the new tip.

    Each entry is checked (:meth:`AuditEntry.check`) as it is encoded: one that fails
    raises before the caller has written anything.
    Each line is ``canonical()`` of its fields written out directly, then ``,"hash":...``.
    Resolving an environment audits every read, so this loop runs once per secret: the
    fields a batch shares are encoded once, and a line is one f-string and one pre-keyed
    HMAC (``chain``; plain SHA-256 and version 1 without one).
    A test holds the bytes equal to ``canonical()``, which ``verify`` uses, so writer and
    checker never share a bug. ``prev`` and the digests are hex and need no escaping.
    """
    lines: list[bytes] = []
    sha256 = hashlib.sha256
    version = UNKEYED_VERSION if chain is None else FORMAT_VERSION
    # ValueMac.digest, inlined: copying the keyed pads is the whole cost of the key here.
    inner, outer = (None, None) if chain is None else (chain._inner.copy, chain._outer.copy)
    value_inner, value_outer = (None, None) if mac is None else (mac._inner.copy,
                                                                 mac._outer.copy)
    shared: tuple[str | None, str, str | None] | None = None  # the last line's, usually the next's
    header = ""
    actions, outcomes = ACTIONS, OUTCOMES
    for entry in entries:
        action, env, key, reference, outcome, value, who, detail = entry
        if detail is not None or action not in actions or outcome not in outcomes:
            entry.check()  # its common case is the test above
        seq += 1
        if shared is None or shared[0] != who or shared[1] != action or shared[2] != env:
            shared = (who, action, env)
            header = (
                f'"time":{_string(time)},"actor":{_string(who or actor)},'
                f'"action":{_string(action)},"env":{"null" if env is None else _string(env)}')
        if value is None or value_inner is None or value_outer is None:
            value_hmac = "null"
        else:
            keyed = value_inner()
            keyed.update(value.encode() if isinstance(value, str) else value)
            sealed = value_outer()
            sealed.update(keyed.digest())
            value_hmac = f'"{sealed.hexdigest()}"'
        body = (
            f'{{"v":{version:d},"seq":{seq:d},{header},'
            f'"key":{"null" if key is None else _string(key)},'
            f'"reference":{"null" if reference is None else _string(reference)},'
            f'"outcome":{_string(outcome)},'
            f'"value_hmac":{value_hmac},'
            f'"detail":'
            f'{"null" if detail is None else _ENCODER.encode(normal_detail(action, key, detail))},'
            f'"prev":"{prev}"'
        ).encode()
        if inner is None or outer is None:
            prev = sha256(body + b"}").hexdigest()
        else:
            keyed = inner()
            keyed.update(body + b"}")
            sealed = outer()
            sealed.update(keyed.digest())
            prev = sealed.hexdigest()
        lines.append(b'%s,"hash":"%s"}\n' % (body, prev.encode()))
    return lines, seq, prev


def line_hash(body: Mapping[str, Any], chain: ValueMac | None = None) -> str:
    """The ``hash`` of an event without its ``hash`` field: SHA-256 of its canonical JSON
    for version 1, HMAC under ``chain`` for version 2 (``AuditError`` without the key)."""
    if body["v"] == UNKEYED_VERSION:
        return hashlib.sha256(canonical(body)).hexdigest()
    if chain is None:
        raise AuditError("a keyed audit line can only be checked with the master key")
    return chain.digest(canonical(body)).hexdigest()


def format_time(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise AuditError("the audit clock returned a naive datetime; it must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


_INNER_PAD = bytes(b ^ 0x36 for b in range(256))
_OUTER_PAD = bytes(b ^ 0x5C for b in range(256))


class ValueMac:
    """HMAC-SHA256 (RFC 2104) of values under one key, as hex.

    The keyed pads are hashed once and copied per value: with every read of a resolution
    audited, ``hmac.new``/``hmac.digest`` re-keying per call cost more than the hashing.
    A test holds it equal to ``hmac.new``.
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > 64:  # longer than a SHA-256 block: hashed first, as RFC 2104 says
            key = hashlib.sha256(key).digest()
        key = key.ljust(64, b"\0")
        self._inner = hashlib.sha256(key.translate(_INNER_PAD))
        self._outer = hashlib.sha256(key.translate(_OUTER_PAD))

    def __repr__(self) -> str:
        return "ValueMac(<key hidden>)"

    def __call__(self, value: str | bytes) -> str:
        return self.digest(value.encode("utf-8") if isinstance(value, str) else value
                           ).hexdigest()

    def digest(self, data: bytes) -> HASH:
        """The finished HMAC of ``data`` as a hash object (``.hexdigest()``, ``.digest()``)."""
        inner = self._inner.copy()
        inner.update(data)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer


def normal_detail(action: str, key: str | None, detail: Mapping[str, Any]) -> dict[str, Any]:
    """``detail`` as plain JSON with sorted keys: what is hashed at write time is then
    byte-for-byte what a reader re-serializes."""
    try:
        normal: dict[str, Any] = json.loads(json.dumps(dict(detail), sort_keys=True))
    except (TypeError, ValueError) as exc:
        raise AuditError(
            f"audit detail for {action} {key or ''} is not JSON-serializable: "
            f"{exc.__class__.__name__}"
        ) from None
    return normal


# NamedTuples rather than dataclasses: both are defined on every command's start-up path.
class AuditEntry(NamedTuple):
    """What a caller wants recorded; :meth:`AuditLog.record_many` turns it into an event.

    ``value`` is only HMAC'd, never stored, and never shown in the repr.
    """

    action: str
    env: str | None = None
    key: str | None = None
    reference: str | None = None
    outcome: str = OK
    value: str | bytes | None = None
    actor: str | None = None
    detail: Mapping[str, Any] | None = None

    def __repr__(self) -> str:
        return (f"AuditEntry(action={self.action!r}, env={self.env!r}, key={self.key!r}, "
                f"outcome={self.outcome!r})")

    def check(self) -> None:
        if self.detail is None and self.action in ACTIONS and self.outcome in OUTCOMES:
            return  # the common case, once per audited read: nothing more to look at
        if not _ACTION_RE.fullmatch(self.action):
            raise AuditError(
                f"audit action {self.action!r} is not a lower-case dotted name like 'read' "
                "or 'override.set'"
            )
        if self.outcome not in OUTCOMES:
            raise AuditError(
                f"audit outcome {self.outcome!r} is not one of {', '.join(sorted(OUTCOMES))}"
            )
        if self.detail is not None and self.value is not None:
            # A cheap guard against the most likely leak: the value pasted into detail.
            text = self.value if isinstance(self.value, str) else self.value.decode(
                "utf-8", "replace")
            if len(text) >= 4 and text in json.dumps(dict(self.detail), default=str,
                                                      ensure_ascii=False):
                raise AuditError(
                    f"audit detail for {self.action} {self.key or ''} contains the secret "
                    "value; detail must hold metadata only"
                )


class AuditEvent(NamedTuple):
    """One line of the log, as written."""

    seq: int
    time: str
    actor: str
    action: str
    env: str | None
    key: str | None
    reference: str | None
    outcome: str
    value_hmac: str | None
    detail: Mapping[str, Any] | None
    prev: str
    hash: str
    v: int = FORMAT_VERSION

    @property
    def moment(self) -> datetime:
        return parse_time(self.time)

    def body(self) -> dict[str, Any]:
        """The fields covered by ``hash``, in the order they are written."""
        return {
            "v": self.v, "seq": self.seq, "time": self.time, "actor": self.actor,
            "action": self.action, "env": self.env, "key": self.key,
            "reference": self.reference, "outcome": self.outcome,
            "value_hmac": self.value_hmac,
            "detail": None if self.detail is None else dict(self.detail),
            "prev": self.prev,
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.body(), "hash": self.hash}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditEvent:
        """Build from a parsed line; raises ``ValueError`` naming what is wrong."""
        missing = [f for f in FIELDS if f not in data]
        if missing:
            raise ValueError(f"missing field {missing[0]!r}")
        for name, kinds in _TYPES.items():
            if not isinstance(data[name], kinds) or isinstance(data[name], bool):
                raise ValueError(f"field {name!r} has the wrong type")
        return cls(
            v=data["v"], seq=data["seq"], time=data["time"], actor=data["actor"],
            action=data["action"], env=data["env"], key=data["key"],
            reference=data["reference"], outcome=data["outcome"],
            value_hmac=data["value_hmac"], detail=data["detail"], prev=data["prev"],
            hash=data["hash"],
        )


_NONE = type(None)
_TYPES: dict[str, tuple[type, ...]] = {
    "v": (int,), "seq": (int,), "time": (str,), "actor": (str,), "action": (str,),
    "env": (str, _NONE), "key": (str, _NONE), "reference": (str, _NONE), "outcome": (str,),
    "value_hmac": (str, _NONE), "detail": (dict, _NONE), "prev": (str,), "hash": (str,),
}
