"""The key rings of a store: create, open, list, and every lifecycle operation, audited.

Each ring is one JSON record of kind ``keys`` in the embedded store's records table (out of
reach of the secret path API). Writes use
check-and-set on the record's store version and retry on conflict, so two processes rotating
at once produce one rotation (the second re-reads, sees the ring no longer due, and stops).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from vaultline.errors import (
    KeyManagementError,
    KeyUsageError,
    SecretNotFoundError,
    VersionConflictError,
)
from vaultline.keys import lifecycle
from vaultline.keys.backends.base import KeyBackend
from vaultline.keys.jwks import thumbprint
from vaultline.keys.model import (
    Clock,
    KeyVersion,
    Purpose,
    RingRecord,
    State,
    algorithm_for,
    system_clock,
)
from vaultline.keys.policy import Due, RotationPolicy, Status
from vaultline.keys.ring import KeyRing
from vaultline.keys.settings import BACKENDS, KeySettings

if TYPE_CHECKING:
    from vaultline.audit import AuditLog
    from vaultline.project.model import Project
    from vaultline.store import EmbeddedStore
    from vaultline.store.records import RecordTable

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_CAS_ATTEMPTS = 20
T = TypeVar("T")


@dataclass(frozen=True)
class RingStatus:
    record: RingRecord
    status: Status


class KeyManager:
    """Key rings in one embedded store.

    ``audit`` records every lifecycle operation; with ``audit_uses`` it also records each
    sign/encrypt/decrypt/rewrap (the CLI does; a service signing thousands of tokens a
    second usually does not want a log line per token).
    """

    def __init__(self, store: EmbeddedStore, *, settings: KeySettings | None = None,
                 policy: RotationPolicy | None = None, clock: Clock | None = None,
                 audit: AuditLog | None = None, audit_uses: bool = False,
                 environment_names: tuple[str, ...] | None = None) -> None:
        self.store = store
        self.settings = settings or KeySettings()
        self.policy = policy or RotationPolicy({})
        self.now: Clock = clock or system_clock
        self.audit = audit
        self.audit_uses = audit_uses
        self.environment_names = environment_names
        self._backends: dict[str, KeyBackend] = {}
        self._rings: dict[str, KeyRing] = {}
        self._record_versions: dict[str, int] = {}  # ring -> its record's version last seen

    @classmethod
    def from_project(cls, project: Project, *, clock: Clock | None = None,
                     audit: bool = True, audit_uses: bool = False,
                     environ: Mapping[str, str] | None = None) -> KeyManager:
        from vaultline.project._lines import line_of
        from vaultline.store import EmbeddedStore

        environ = project.environ if environ is None else environ
        shown = project.file.name
        sections = project.sections
        settings = KeySettings.from_section(sections.get("keys"), file=shown,
                                            line=line_of(sections, "keys"), environ=environ)
        policy = RotationPolicy.from_section(sections.get("rotation"), file=shown,
                                             line=line_of(sections, "rotation"),
                                             environments=project.environments)
        store = EmbeddedStore.open(project.store_dir, environ=environ)
        log = None
        if audit:
            from vaultline.audit import AuditLog

            log = AuditLog.for_store(store)
        return cls(store, settings=settings, policy=policy, clock=clock, audit=log,
                   audit_uses=audit_uses, environment_names=tuple(project.environments))

    def __repr__(self) -> str:
        return f"KeyManager({self.store!r})"

    def close(self) -> None:
        for backend in self._backends.values():
            backend.close()
        self._backends.clear()
        self.store.close()

    def __enter__(self) -> KeyManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- backends -------------------------------------------------------------------------------

    def backend(self, name: str) -> KeyBackend:
        found = self._backends.get(name)
        if found is not None:
            return found
        if name == "local":
            from vaultline.keys.backends.local import LocalBackend

            found = LocalBackend()
        elif name == "transit":
            from vaultline.keys.backends.transit import TransitBackend

            found = TransitBackend(self.settings.transit, self.settings.environ)
        elif name == "kms":
            from vaultline.keys.backends.kms import KmsBackend

            found = KmsBackend(self.settings.kms)
        else:
            raise KeyUsageError(f"unknown key backend {name!r}; use {', '.join(BACKENDS)}")
        self._backends[name] = found
        return found

    # -- records --------------------------------------------------------------------------------

    @property
    def _records(self) -> RecordTable:
        return self.store.records("keys")

    @staticmethod
    def _checked(name: str) -> str:
        if not _NAME_RE.fullmatch(name):
            raise KeyUsageError(
                f"invalid key ring name {name!r}: use letters, digits, '.', '_' and '-' "
                "(at most 64, starting with a letter or digit)"
            )
        return name

    def _read(self, name: str) -> tuple[RingRecord, int]:
        try:
            value, version = self._records.get(self._checked(name))
            self._record_versions[name] = version
        except SecretNotFoundError:
            raise KeyManagementError(
                f"no key ring {name!r}; create it with 'vaultline keys create {name} --purpose ...'"
            ) from None
        return RingRecord.from_dict(json.loads(value)), version

    def load_record(self, name: str) -> RingRecord:
        return self._read(name)[0]

    def _write(self, record: RingRecord, cas: int) -> int:
        data = json.dumps(record.to_dict(), separators=(",", ":")).encode("utf-8")
        version = self._records.put(self._checked(record.name), data, cas=cas)
        self._record_versions[record.name] = version
        return version

    def _update(self, name: str,
                change: Callable[[RingRecord, datetime], tuple[RingRecord, T]]) -> tuple[RingRecord, T]:
        """Apply ``change`` and write with check-and-set, re-reading and retrying on conflict."""
        for _ in range(_CAS_ATTEMPTS):
            record, version = self._read(name)
            new, result = change(record, self.now())
            if new is record:
                return record, result
            try:
                self._write(new, version)
            except VersionConflictError:
                continue
            ring = self._rings.get(name)
            if ring is not None:
                ring._set(new)
            return new, result
        raise KeyManagementError(f"key ring {name!r} is being changed by others; try again")

    def names(self) -> list[str]:
        return self._records.names()

    def records(self) -> list[RingRecord]:
        return [self.load_record(n) for n in self.names()]

    def ring(self, name: str) -> KeyRing:
        found = self._rings.get(name)
        if found is None:
            found = self._rings[name] = KeyRing(self, self.load_record(name))
        return found

    # -- auditing ---------------------------------------------------------------------------

    def _audit(self, action: str, record: RingRecord, version: KeyVersion | None = None,
               *, outcome: str = "ok", **detail: Any) -> None:
        if self.audit is None:
            return
        info: dict[str, Any] = {"backend": record.backend, "alg": record.alg}
        if record.name in self._record_versions:  # verify holds the store to it
            info["record"] = self._record_versions[record.name]
        if version is not None:
            info.update(version=version.version, kid=version.kid)
        info.update({k: v for k, v in detail.items() if v is not None})
        self.audit.record(action, env=record.env, key=record.name, outcome=outcome,
                          reference=f"key:{record.name}", detail=info)

    def audit_use(self, action: str, record: RingRecord, version: KeyVersion | None = None,
                  *, outcome: str = "ok", **detail: Any) -> None:
        """Record a use of a key (sign, verify, encrypt...) when ``audit_uses`` is on."""
        if self.audit_uses:
            self._audit(action, record, version, outcome=outcome, **detail)

    # -- lifecycle ------------------------------------------------------------------------------

    def _new_version(self, record: RingRecord, now: datetime) -> KeyVersion:
        number = record.next_number
        made = self.backend(record.backend).create_version(record, number)
        if record.algorithm.asymmetric:
            if made.jwk is None:
                raise KeyManagementError(f"backend {record.backend!r} returned no public key")
            kid = thumbprint(made.jwk)
        else:
            # Symmetric keys have no public half to hash: a random kid says nothing about them.
            kid = secrets.token_urlsafe(12)
        return KeyVersion(version=number, kid=kid, state=State.NEXT, created=now,
                          jwk=made.jwk, ref=made.ref)

    def create(self, name: str, *, purpose: Purpose | str, alg: str | None = None,
               backend: str | None = None, key_class: str | None = None,
               env: str | None = None) -> KeyRing:
        purpose = Purpose(purpose)
        spec = algorithm_for(purpose, alg)
        backend_name = backend or self.settings.default_backend
        if backend_name not in BACKENDS:
            raise KeyUsageError(f"unknown backend {backend_name!r}; use {', '.join(BACKENDS)}")
        if backend_name == "kms" and spec.kms_spec is None:
            raise KeyUsageError(f"the kms backend has no key spec for {spec.name}; use ES256 or "
                                "RS256 for signing rings on KMS")
        if env is not None and self.environment_names is not None \
                and env not in self.environment_names:
            raise KeyUsageError(f"unknown environment {env!r}; the project defines "
                                     f"{', '.join(self.environment_names)}")
        if self._checked(name) in self._records.names(name):
            raise KeyManagementError(f"key ring {name!r} already exists")
        now = self.now()
        record = RingRecord(name=name, purpose=purpose, alg=spec.name, backend=backend_name,
                            created=now, versions=(), key_class=key_class or purpose.value,
                            env=env)
        record = replace(record, backend_ref=self.backend(backend_name).setup_ring(record))
        first = self._new_version(record, now)
        record = record.with_versions([replace(first, state=State.PRIMARY, activated=now)])
        try:
            self._write(record, 0)
        except VersionConflictError:
            raise KeyManagementError(f"key ring {name!r} already exists") from None
        self._audit("key.create", record, record.primary)
        return self.ring(name)

    def _grace(self, record: RingRecord, grace: timedelta | None) -> timedelta:
        return grace if grace is not None else self.policy.grace_for(record.key_class, record.env)

    def stage(self, name: str) -> KeyVersion:
        """Publish a new ``next`` version (in the JWKS, verifies, does not sign yet)."""
        def change(record: RingRecord, now: datetime) -> tuple[RingRecord, KeyVersion]:
            new = self._new_version(record, now)
            return lifecycle.add_next(record, new), new

        record, staged = self._update(name, change)
        self._audit("key.stage", record, staged)
        return staged

    def promote(self, name: str, *, grace: timedelta | None = None) -> KeyVersion:
        """The staged version becomes primary; the old primary retires after the grace."""
        record, _ = self._update(name, lambda r, now: (
            lifecycle.promote(r, now, self._grace(r, grace)), None))
        self._audit("key.promote", record, record.primary)
        return record.primary

    def rotate(self, name: str, *, grace: timedelta | None = None,
               only_if_due: bool = False) -> KeyVersion | None:
        """A new primary (the staged one if there is one); the old one retires after the grace.

        With ``only_if_due`` nothing happens unless the policy says the ring is due — checked
        again under check-and-set, so concurrent ``rotate --due`` runs rotate once.
        """
        Outcome = tuple[KeyVersion | None, list[KeyVersion]]

        def change(record: RingRecord, now: datetime) -> tuple[RingRecord, Outcome]:
            record, swept = lifecycle.sweep(record, now)
            if only_if_due and not self._due(record, now):
                return record, (None, swept)
            if not any(v.state is State.NEXT for v in record.versions):
                record = lifecycle.add_next(record, self._new_version(record, now))
            record = lifecycle.promote(record, now, self._grace(record, grace))
            return record, (record.primary, swept)

        record, (rotated, swept) = self._update(name, change)
        for v in swept:
            self._audit("key.retire", record, v, reason="grace ended")
        if swept:
            self.backend(record.backend).retired(record, swept)
        if rotated is not None:
            self._audit("key.rotate", record, rotated, grace=str(self._grace(record, grace)))
        return rotated

    def _due(self, record: RingRecord, now: datetime) -> bool:
        return self.status_of(record, now).state in (Due.DUE, Due.OVERDUE)

    def retire(self, name: str, version: int | None = None) -> list[KeyVersion]:
        """End the grace now (one version, or every retiring one); servers refuse them too."""
        record, done = self._update(name, lambda r, now: lifecycle.retire(r, now, version))
        for v in done:
            self._audit("key.retire", record, v)
        if done:
            self.backend(record.backend).retired(record, done)
        return done

    def destroy(self, name: str, version: int) -> KeyVersion:
        """Remove a retired version's material for good (and every old copy of the record)."""
        before = self.load_record(name).version(version)
        record, _ = self._update(name, lambda r, now: (lifecycle.destroy(r, now, version), None))
        target = record.version(version)
        note = ""
        if before.state is not State.DESTROYED:
            note = self.backend(record.backend).destroy(record, before)
            # Earlier copies of the record still hold the material: destroy them in the store.
            old = self._records.history(name)[:-1]
            if old:
                self._records.destroy(name, old)
            self._audit("key.destroy", record, target, note=note or None)
        return target

    # -- rotation policy --------------------------------------------------------------------

    def status_of(self, record: RingRecord, now: datetime | None = None) -> Status:
        now = now or self.now()
        primary = record.primary
        return self.policy.status(record.key_class, record.env,
                                  primary.activated or primary.created, now)

    def status(self) -> list[RingStatus]:
        now = self.now()
        return [RingStatus(r, self.status_of(r, now)) for r in self.records()]

    def rotate_due(self) -> list[KeyVersion]:
        """Rotate every ring that is due or overdue; idempotent (cron-friendly)."""
        rotated: list[KeyVersion] = []
        for name in self.names():
            done = self.rotate(name, only_if_due=True)
            if done is not None:
                rotated.append(done)
        return rotated
