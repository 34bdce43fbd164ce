"""One audit event: its fields, its action vocabulary, and how its hash is computed.

On disk an event is one JSON line (format version ``v`` = 1)::

    {"v":1,"seq":7,"time":"2026-01-02T03:04:05.000006Z","actor":"ana@build-7",
     "action":"read","env":"prod","key":"ConnectionStrings:Primary",
     "reference":"local:nexus-engine/prod/ConnectionStrings/Primary","outcome":"ok",
     "value_hmac":"9f2c…","detail":null,"prev":"<hash of line 6>","hash":"<this line's hash>"}

``hash`` is SHA-256 over the canonical JSON of every other field, ``prev`` included, so
each line commits to the whole log before it. Canonical: the fields in the order above,
``detail``'s keys sorted, no spaces, UTF-8 — which is exactly the line as written up to
``,"hash"``, so writing an event costs one serialization.

``value_hmac`` is HMAC-SHA256 of the value under a key derived from the store's master key:
equal values give equal HMACs (a secret copied between environments shows up) while the
value itself is never written. ``detail`` is free-form metadata for the action (a version
number, an override's ticket and expiry, a key id); it must never carry a secret value.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

from vaultline.errors import AuditError

FORMAT_VERSION = 1
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
# Break-glass overrides
OVERRIDE_SET = "override.set"
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
    READ, WRITE, DELETE, UNDELETE, DESTROY, REVEAL, DENY, ROTATE,
    OVERRIDE_SET, OVERRIDE_APPLY, OVERRIDE_EXPIRE, OVERRIDE_REVOKE,
    KEY_CREATE, KEY_ROTATE, KEY_PROMOTE, KEY_RETIRE, KEY_DESTROY, KEY_REWRAP,
    KEY_SIGN, KEY_ENCRYPT, KEY_DECRYPT, AUDIT_BREAK, AUDIT_RESTART,
})
# Actions that hand a value to someone: what "first-seen actor" and "burst" look at.
READ_ACTIONS: frozenset[str] = frozenset({READ, REVEAL})

# -- outcomes -------------------------------------------------------------------------------
OK = "ok"
DENIED = "denied"  # refused: not allowed (policy, permission, protected environment)
FAILED = "failed"  # attempted, but it did not work (not found, provider down)
OUTCOMES: frozenset[str] = frozenset({OK, DENIED, FAILED})

# New actions may be added by other parts without touching this module, but they must look
# like the vocabulary above so ``--action override`` style prefix filters keep working.
_ACTION_RE = re.compile(r"^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$")

FIELDS = ("v", "seq", "time", "actor", "action", "env", "key", "reference", "outcome",
          "value_hmac", "detail", "prev", "hash")


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def canonical(body: Mapping[str, Any]) -> bytes:
    """The fields covered by ``hash`` in their fixed order, serialized compactly."""
    return _ENCODER.encode({name: body[name] for name in FIELDS[:-1]}).encode()


_string = json.encoder.encode_basestring  # the C encoder that _ENCODER uses for str


def _opt(text: str | None) -> str:
    return "null" if text is None else _string(text)


def fast_canonical(body: Mapping[str, Any]) -> bytes:
    """``canonical(body)`` written out directly: the same bytes, about 3x faster.

    Resolving an environment audits every read, so this runs once per secret; the
    generic encoder's per-call setup dominated. A test holds it byte-equal to canonical().
    """
    detail = body["detail"]
    return (
        f'{{"v":{body["v"]:d},"seq":{body["seq"]:d},"time":{_string(body["time"])},'
        f'"actor":{_string(body["actor"])},"action":{_string(body["action"])},'
        f'"env":{_opt(body["env"])},"key":{_opt(body["key"])},'
        f'"reference":{_opt(body["reference"])},"outcome":{_string(body["outcome"])},'
        f'"value_hmac":{_opt(body["value_hmac"])},'
        f'"detail":{"null" if detail is None else _ENCODER.encode(detail)},'
        f'"prev":{_string(body["prev"])}}}'
    ).encode()


def line_hash(body: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of an event without its ``hash`` field."""
    return hashlib.sha256(canonical(body)).hexdigest()


def format_time(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise AuditError("the audit clock returned a naive datetime; it must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@functools.lru_cache(maxsize=8)
def _keyed(hmac_key: bytes) -> hmac.HMAC:
    # Keying HMAC costs two extra compressions; copying a keyed object skips them.
    return hmac.new(hmac_key, digestmod=hashlib.sha256)


def value_hmac(hmac_key: bytes, value: str | bytes) -> str:
    data = value.encode("utf-8") if isinstance(value, str) else value
    mac = _keyed(hmac_key).copy()
    mac.update(data)
    return mac.hexdigest()


def _sorted_detail(detail: Mapping[str, Any]) -> dict[str, Any]:
    # Round-trip once so the stored detail is plain JSON with sorted keys: what is hashed
    # at write time is then byte-for-byte what a reader re-serializes.
    normal: dict[str, Any] = json.loads(json.dumps(dict(detail), sort_keys=True))
    return normal


# NamedTuples rather than dataclasses: both are defined on every command's start-up path.
class Entry(NamedTuple):
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
        return (f"Entry(action={self.action!r}, env={self.env!r}, key={self.key!r}, "
                f"outcome={self.outcome!r})")

    def check(self) -> None:
        if not _ACTION_RE.match(self.action):
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

    def to_line(self) -> bytes:
        return self.seal_body(self.body())[1]

    @staticmethod
    def seal_body(body: Mapping[str, Any]) -> tuple[str, bytes]:
        """The hash of ``body`` and the line that carries it."""
        data = fast_canonical(body)
        digest = hashlib.sha256(data).hexdigest()
        return digest, data[:-1] + b',"hash":"' + digest.encode() + b'"}\n'

    @classmethod
    def build(cls, entry: Entry, *, seq: int, time: str, actor: str, prev: str,
              hmac_key: bytes | None) -> tuple[AuditEvent, bytes]:
        """The event for ``entry`` at ``seq`` after ``prev``, and its line."""
        digest = None
        if hmac_key is not None and entry.value is not None:
            digest = value_hmac(hmac_key, entry.value)
        try:
            detail = None if entry.detail is None else _sorted_detail(entry.detail)
        except (TypeError, ValueError) as exc:
            raise AuditError(
                f"audit detail for {entry.action} {entry.key or ''} is not JSON-serializable: "
                f"{exc.__class__.__name__}"
            ) from None
        body: dict[str, Any] = {
            "v": FORMAT_VERSION, "seq": seq, "time": time, "actor": entry.actor or actor,
            "action": entry.action, "env": entry.env, "key": entry.key,
            "reference": entry.reference, "outcome": entry.outcome, "value_hmac": digest,
            "detail": detail, "prev": prev,
        }
        hashed, line = cls.seal_body(body)
        event = cls(seq=seq, time=time, actor=body["actor"], action=entry.action,
                    env=entry.env, key=entry.key, reference=entry.reference,
                    outcome=entry.outcome, value_hmac=digest, detail=detail, prev=prev,
                    hash=hashed)
        return event, line

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
