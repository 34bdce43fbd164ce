"""The key ring model: purposes, algorithms, version states and the ring record as stored.

A ring is one JSON document, a record of kind ``keys`` in the embedded store (encrypted under
the master key, bound to that kind and name). Backends keep their own reference per version in
``KeyVersion.ref``: the key material itself for ``local``, a Transit version number or a KMS
key id otherwise. ``ref`` is never shown: not in reprs, not in :meth:`KeyVersion.public`.

States, after Tink keysets and Auth0's JWKS:

    next ──promote──▶ primary ──rotate/promote──▶ retiring ──grace ends / retire──▶ retired
                                                                            └──destroy──▶ destroyed

A ``retiring`` version whose grace has ended is *effectively* ``retired`` at once (the clock
decides, nothing needs to run); the record catches up on the next write.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from vaultline.errors import KeyManagementError, KeyUsageError

FORMAT_VERSION = 1

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


class Purpose(enum.StrEnum):
    SIGNING = "signing"
    HMAC = "hmac"
    ENCRYPTION = "encryption"


class State(enum.StrEnum):
    NEXT = "next"
    PRIMARY = "primary"
    RETIRING = "retiring"
    RETIRED = "retired"
    DESTROYED = "destroyed"


# Versions that verify signatures / decrypt: published, current, or within their grace.
ACTIVE_STATES = frozenset({State.NEXT, State.PRIMARY, State.RETIRING})


@dataclass(frozen=True, slots=True)
class Algorithm:
    name: str
    purpose: Purpose
    asymmetric: bool
    transit_type: str
    kms_spec: str | None  # None: KMS has no key spec for it


ALGORITHMS: dict[str, Algorithm] = {
    a.name: a
    for a in (
        Algorithm("EdDSA", Purpose.SIGNING, True, "ed25519", None),
        Algorithm("ES256", Purpose.SIGNING, True, "ecdsa-p256", "ECC_NIST_P256"),
        Algorithm("RS256", Purpose.SIGNING, True, "rsa-2048", "RSA_2048"),
        Algorithm("HS256", Purpose.HMAC, False, "hmac", "HMAC_256"),
        Algorithm("aes256-gcm", Purpose.ENCRYPTION, False, "aes256-gcm96", "SYMMETRIC_DEFAULT"),
    )
}
DEFAULT_ALG = {Purpose.SIGNING: "EdDSA", Purpose.HMAC: "HS256", Purpose.ENCRYPTION: "aes256-gcm"}


def algorithm_for(purpose: Purpose, alg: str | None) -> Algorithm:
    name = alg or DEFAULT_ALG[purpose]
    spec = ALGORITHMS.get(name)
    if spec is None or spec.purpose is not purpose:
        fitting = [a.name for a in ALGORITHMS.values() if a.purpose is purpose]
        raise KeyUsageError(
            f"algorithm {name!r} does not fit purpose {purpose.value!r}; use one of "
            f"{', '.join(fitting)}"
        )
    return spec


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat(timespec="seconds")


def _parse_time(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


@dataclass(frozen=True, slots=True)
class KeyVersion:
    """One version of a ring. ``ref`` (backend material or handle) is never shown."""

    version: int
    kid: str
    state: State
    created: datetime
    activated: datetime | None = None  # when it became primary
    retire_at: datetime | None = None  # end of the grace period while retiring
    retired: datetime | None = None
    destroyed: datetime | None = None
    jwk: Mapping[str, Any] | None = None  # public JWK of asymmetric keys
    ref: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def effective_state(self, now: datetime) -> State:
        if self.state is State.RETIRING and self.retire_at is not None and now >= self.retire_at:
            return State.RETIRED
        return self.state

    def usable(self, now: datetime) -> bool:
        """May verify / decrypt: next, primary, or retiring within its grace."""
        return self.effective_state(now) in ACTIVE_STATES

    def public(self, now: datetime) -> dict[str, Any]:
        return {
            "version": self.version, "kid": self.kid, "state": self.effective_state(now).value,
            "created": _time(self.created), "activated": _time(self.activated),
            "retire_at": _time(self.retire_at), "retired": _time(self.retired),
            "destroyed": _time(self.destroyed),
        }

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "version": self.version, "kid": self.kid, "state": self.state.value,
            "created": _time(self.created), "activated": _time(self.activated),
            "retire_at": _time(self.retire_at), "retired": _time(self.retired),
            "destroyed": _time(self.destroyed), "ref": dict(self.ref),
        }
        if self.jwk is not None:
            data["jwk"] = dict(self.jwk)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KeyVersion:
        created = _parse_time(data["created"])
        assert created is not None
        return cls(
            version=int(data["version"]), kid=str(data["kid"]), state=State(data["state"]),
            created=created, activated=_parse_time(data.get("activated")),
            retire_at=_parse_time(data.get("retire_at")), retired=_parse_time(data.get("retired")),
            destroyed=_parse_time(data.get("destroyed")), jwk=data.get("jwk"),
            ref=dict(data.get("ref") or {}),
        )


@dataclass(frozen=True, slots=True)
class RingRecord:
    """A ring as stored: immutable; lifecycle functions return a new record."""

    name: str
    purpose: Purpose
    alg: str
    backend: str
    created: datetime
    versions: tuple[KeyVersion, ...]
    key_class: str  # the rotation policy class (default: the purpose)
    env: str | None = None  # the environment whose rotation policy applies
    backend_ref: Mapping[str, Any] = field(default_factory=dict)  # e.g. the Transit key name

    @property
    def algorithm(self) -> Algorithm:
        return ALGORITHMS[self.alg]

    def version(self, number: int) -> KeyVersion:
        for v in self.versions:
            if v.version == number:
                return v
        raise KeyManagementError(f"key ring {self.name!r} has no version {number}")

    def by_kid(self, kid: str) -> KeyVersion | None:
        for v in self.versions:
            if v.kid == kid:
                return v
        return None

    @property
    def primary(self) -> KeyVersion:
        for v in self.versions:
            if v.state is State.PRIMARY:
                return v
        raise KeyManagementError(f"key ring {self.name!r} has no primary version")

    @property
    def next_number(self) -> int:
        return max((v.version for v in self.versions), default=0) + 1

    def with_versions(self, versions: list[KeyVersion]) -> RingRecord:
        return replace(self, versions=tuple(sorted(versions, key=lambda v: v.version)))

    def replace_version(self, new: KeyVersion) -> RingRecord:
        return self.with_versions([new if v.version == new.version else v for v in self.versions])

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION, "name": self.name, "purpose": self.purpose.value,
            "alg": self.alg, "backend": self.backend, "class": self.key_class, "env": self.env,
            "created": _time(self.created), "backend_ref": dict(self.backend_ref),
            "versions": [v.to_dict() for v in self.versions],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RingRecord:
        if data.get("format") != FORMAT_VERSION:
            raise KeyManagementError(
                f"key ring {data.get('name')!r} has format {data.get('format')!r}; this "
                f"vaultline reads format {FORMAT_VERSION}"
            )
        created = _parse_time(data["created"])
        assert created is not None
        return cls(
            name=str(data["name"]), purpose=Purpose(data["purpose"]), alg=str(data["alg"]),
            backend=str(data["backend"]), created=created,
            versions=tuple(KeyVersion.from_dict(v) for v in data["versions"]),
            key_class=str(data.get("class") or data["purpose"]), env=data.get("env"),
            backend_ref=dict(data.get("backend_ref") or {}),
        )

    def summary(self, now: datetime) -> dict[str, Any]:
        """What ``keys list`` shows: everything but backend references."""
        return {
            "name": self.name, "purpose": self.purpose.value, "alg": self.alg,
            "backend": self.backend, "class": self.key_class, "env": self.env,
            "created": _time(self.created),
            "versions": [v.public(now) for v in self.versions],
        }
