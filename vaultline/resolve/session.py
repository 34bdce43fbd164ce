"""One command's work on a project: resolution with overrides applied, secret writes and
break-glass overrides — each operation audited here, by the library.

Both the Python API (:func:`vaultline.load`) and the CLI go through :class:`Session`, so the
audit trail is the same whichever way a secret is read or written; the CLI parses, calls one
method and prints.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, NamedTuple

from vaultline import audit
from vaultline._files import private_dir
from vaultline.audit.event import DENY
from vaultline.errors import (
    ConfigError,
    OverrideError,
    PermissionDeniedError,
    ProviderError,
    ReservedPathError,
    ResolutionError,
    StoreError,
    VaultlineError,
)
from vaultline.project.model import Project
from vaultline.resolve.bundle import Bundle, Layer
from vaultline.resolve.overrides import Override, OverrideLayer, OverrideStore
from vaultline.resolve.resolver import Applied, Read, Resolver
from vaultline.resolve.target import Target, resolve_target
from vaultline.store import EmbeddedStore
from vaultline.store.embedded import VersionInfo


def _now() -> datetime:
    return datetime.now(UTC)


def open_audit_log(project: Project, store: EmbeddedStore | None,
                   environ: Mapping[str, str] | None = None) -> audit.AuditLog:
    """The project's audit log; without an embedded store it is kept without value HMACs.
    An automatic anchor reaches its provider with ``environ`` (default: the project's)."""
    if store is not None:
        from vaultline.audit.settings import parse_settings

        settings = parse_settings(project.sections.get("audit"), str(project.file))
        log = audit.AuditLog.for_store(store, segment_size=settings.segment_size)
        if settings.anchor_to is not None and settings.anchor_every is not None:
            from vaultline.audit.anchor import auto_anchor

            log.after_append = auto_anchor(project, store, settings.anchor_to,
                                           settings.anchor_every, environ=environ)
        return log
    private_dir(project.store_dir)
    return audit.AuditLog(project.store_dir / audit.log.LOG_NAME, hmac_key=None, checkpoint=None)


class Written(NamedTuple):
    """Where a write landed and the version it made."""

    where: str
    version: str


class RolledBack(NamedTuple):
    """Where a rollback happened, the version it went back to, and the version now current."""

    where: str
    to: str
    version: str


class Changed(NamedTuple):
    """Where versions were deleted, destroyed or restored, and which."""

    where: str
    versions: list[int]


def stored_in(provider: object) -> dict[str, str]:
    """``{"store": id}`` when ``provider`` changes an embedded store: ``verify`` then holds
    the versions' rows to the line (rows are never deleted, so a missing one was removed; a
    deleted or destroyed one stays so until an audited undelete). Every line that writes or
    deletes versions of the store carries it: the session's and the rotations'."""
    from vaultline.providers.local import LocalProvider

    return {"store": provider.store.store_id} if isinstance(provider, LocalProvider) else {}


def _read_entries(env: str, reads: Iterable[Read], applied: Iterable[Applied],
                  revealed: Bundle | None) -> Iterator[audit.AuditEntry]:
    """The audit entries of a resolution: every value read (those an override shadows
    too; dynamic credentials with their lease, never the value), then per key the override
    applied and, when the values were shown (``revealed``), what was shown.

    A value read and then shown is one ``reveal`` line with its reference, as ``secret get``
    writes: a reveal is a read that a person saw, so it is not recorded twice. A shown value
    no read gave (a break-glass override's) is a ``reveal`` line of its own, without a
    reference.

    A generator: the log consumes it as it encodes, so no entry outlives its line. Once per
    secret read: kept lean (tuple.__new__, see Resolver.references).
    """
    read, reveal, ok, Entry, new = audit.READ, audit.REVEAL, audit.OK, audit.AuditEntry, tuple.__new__
    applies = {a.key: Entry(audit.OVERRIDE_APPLY, env, a.key, value=str(a.value),
                            detail={"override": a.override_id}) for a in applied}
    # Keys whose shown value is the one their read gave: won by the secrets layer, which
    # holds nothing but reads (one per key).
    shown = set() if revealed is None else {
        r.key for r in revealed.resolved_values()
        if r.secret and r.provenance.layer is Layer.SECRETS}
    for key, provider, path, value, identity, lease in reads:
        yield new(Entry, (reveal if key in shown else read, env, key, f"{provider}:{path}", ok,
                          value, identity, None if lease is None else {"lease": lease}))
    if revealed is None:
        yield from applies.values()
        return
    for resolved in revealed.resolved_values():
        if resolved.key in applies:
            yield applies[resolved.key]
        if resolved.secret and resolved.key not in shown:
            yield new(Entry, (reveal, env, resolved.key, None, ok, str(resolved.value), None,
                              None))


class Session:
    """``actor`` is who the audit names and who approves overrides; by default the OS account
    running this process (``user@host``), never an environment variable anyone can set."""

    def __init__(self, project: Project, env: str | None = None, *,
                 environ: Mapping[str, str] | None = None, clock: Callable[[], datetime] = _now,
                 actor: str | None = None):
        if env is not None:
            project.environment(env)
        self.project = project
        self.env = env
        self.environ = dict(project.environ if environ is None else environ)
        self.clock = clock
        self._actor = actor

    @cached_property
    def actor(self) -> str:
        return self._actor or audit.default_actor()

    @cached_property
    def store(self) -> EmbeddedStore | None:
        if not EmbeddedStore.exists(self.project.store_dir):
            return None
        return EmbeddedStore.open(self.project.store_dir, environ=self.environ)

    def require_store(self) -> EmbeddedStore:
        if self.store is None:
            raise StoreError(f"no embedded store in {self.project.store_dir}; run 'vaultline init'")
        return self.store

    @cached_property
    def audit(self) -> audit.AuditLog:
        return open_audit_log(self.project, self.store, self.environ)

    @cached_property
    def overrides(self) -> OverrideStore:
        return OverrideStore(self.project, self.require_store(), clock=self.clock)

    def close(self) -> None:
        if "store" in self.__dict__ and self.store is not None:
            self.store.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- resolution -------------------------------------------------------------------------

    def resolve(self, *, reveal: bool = False) -> Bundle:
        """The whole bundle, overrides applied, every read audited; all-or-nothing."""
        bundle, failures = self.resolve_partial(reveal=reveal)
        if failures:
            raise ResolutionError(failures)
        return bundle

    def resolve_partial(self, *, reveal: bool = False) -> tuple[Bundle, list[ProviderError]]:
        """What resolved and what failed, both audited (``check`` reports on both)."""
        env = self._env()
        # Unreadable override records are reported here, never fatal to the resolution.
        active, expired, warnings = (self.overrides.sweep(env) if self.store is not None
                                     else ([], [], []))
        entries = [audit.AuditEntry(audit.OVERRIDE_EXPIRE, env=env, key=o.key,
                                    detail={"override": o.id, "expired": o.expires,
                                            **self._override_record(o)})
                   for o in expired]
        warnings += [f"override {o.id} for {o.key} expired at {o.expires}; ignored"
                     for o in expired]
        if active:
            ended = self.audit.ended_overrides(
                env, {o.id: datetime.fromisoformat(o.created) for o in active})
            warnings += [f"override {o.id} for {o.key} was ended (revoked or expired) by an "
                         "audit line, yet its record is active: store.db was put back from an "
                         "older copy; ignored ('vaultline audit verify' reports it)"
                         for o in active if o.id in ended]
            active = [o for o in active if o.id not in ended]
        layer = OverrideLayer(active, self.environ)
        with Resolver(self.project, env, environ=self.environ, runtime_layers=[layer],
                      store=self.store) as resolver:
            bundle, failures, reads, applied = resolver.read()
        entries += [audit.AuditEntry(audit.READ, env=env, key=f.key, reference=f.reference,
                                     outcome=audit.FAILED, detail={"reason": f.reason})
                    for f in failures]
        self.audit.record_many(itertools.chain(
            entries, _read_entries(env, reads, applied, bundle if reveal else None)))
        bundle.warnings.extend(warnings + layer.warnings)
        return bundle, failures

    def _env(self) -> str:
        if self.env is None:
            raise ValueError("this session was opened without an environment")
        return self.env

    # -- secrets by key or reference ----------------------------------------------------------

    def target(self, target: str, *, action: str = DENY) -> Target:
        """``KEY`` (with the session's environment) or a full reference, as provider and path.

        A target in vaultline's own namespace is refused, and the attempt audited as denied.
        The caller closes ``Target.provider``; the methods below do that themselves.
        """
        try:
            return resolve_target(self.project, target, self.env, self.environ)
        except ReservedPathError:
            self.audit.record(action, env=self.env, reference=target, outcome=audit.DENIED,
                              actor=self.actor, detail={"reason": "reserved namespace"})
            raise

    @contextlib.contextmanager
    def _audited(self, action: str, target: str,
                 value: str | None = None) -> Iterator[tuple[Target, dict[str, Any]]]:
        """Resolve ``target`` and record ``action`` on it whatever happens: ok, denied or failed
        (never the value; a write's value only as its HMAC)."""
        where = self.target(target, action=action)
        detail: dict[str, Any] = {}
        env, key, reference, actor = self.env, where.key, str(where), where.provider.identity
        try:
            if action != audit.REVEAL:  # a change: its intent before it, the outcome after
                with self.audit.recording(action, env=env, key=key, reference=reference,
                                          value=value, actor=actor) as recorded:
                    yield where, recorded
                    if "version" in recorded or "versions" in recorded:
                        recorded.update(stored_in(where.provider))
                return
            try:
                yield where, detail
            except PermissionDeniedError:
                self.audit.record(action, env=env, key=key, reference=reference,
                                  outcome=audit.DENIED, actor=actor)
                raise
            except VaultlineError as exc:
                self.audit.record(action, env=env, key=key, reference=reference,
                                  outcome=audit.FAILED, actor=actor,
                                  detail={"reason": type(exc).__name__})
                raise
            self.audit.record(action, env=env, key=key, reference=reference, value=value,
                              actor=actor, detail=detail or None)
        finally:
            where.provider.close()

    def put(self, target: str, value: str, *, cas: int | None = None) -> Written:
        """Write a new version; through a ``#field`` reference only that field changes."""
        with self._audited(audit.WRITE, target, value) as (where, detail):
            if where.key is None and where.reference.version is not None:
                # '@3' names a version that exists; a write makes the next one.
                raise ConfigError(f"{target!r} names version {where.reference.version}; a "
                                  "write makes a new version: drop the '@' part (to go back "
                                  "to an old version, use 'vaultline secret rollback')")
            field = where.reference.field
            if field is None:
                version = where.provider.put(where.path, value, cas=cas)
            else:
                version = where.provider.put_field(where.path, field, value, cas=cas)
                detail["field"] = field
            detail["version"] = version
        return Written(str(where), version)

    def get(self, target: str, version: str | None = None) -> str:
        """A secret's value, shown to a person: audited as a reveal."""
        from vaultline.resolve.resolver import select_field

        with self._audited(audit.REVEAL, target) as (where, detail):
            fetched = where.provider.fetch(where.path, version or where.reference.version)
            value: str = select_field(fetched, where.reference)
            detail["version"] = fetched.version
        return value

    def list_paths(self, prefix: str = "", *, provider: str = "local") -> list[str]:
        """Secret paths under ``prefix`` in one provider (metadata only: not audited)."""
        from vaultline.providers import registry

        instance = registry.create(self.project.provider_config(provider),
                                   self.project.provider_context(self.env or "-", self.environ))
        try:
            return instance.list_paths(prefix)
        except ReservedPathError:
            self.audit.record(audit.DENY, env=self.env, reference=f"{provider}:{prefix}",
                              outcome=audit.DENIED, actor=self.actor,
                              detail={"reason": "reserved namespace"})
            raise
        finally:
            instance.close()

    def versions(self, target: str) -> list[VersionInfo]:
        """Every version of a secret (embedded store, Vault/OpenBao KV v2; metadata only: not
        audited)."""
        from vaultline.resolve.versioning import versions_of

        where = self.target(target)
        try:
            return versions_of(where.provider).rows(where.path)
        finally:
            where.provider.close()

    def delete(self, target: str, versions: Iterable[int] | None = None, *,
               destroy: bool = False) -> Changed:
        """Soft-delete versions (default: the latest), or destroy their key material for good."""
        return self._change(audit.DESTROY if destroy else audit.DELETE, target, versions)

    def undelete(self, target: str, versions: Iterable[int] | None = None) -> Changed:
        """Restore soft-deleted versions (default: the latest)."""
        return self._change(audit.UNDELETE, target, versions)

    def _change(self, action: str, target: str, versions: Iterable[int] | None) -> Changed:
        from vaultline.resolve.versioning import versions_of

        chosen_versions = None if versions is None else list(versions)
        with self._audited(action, target) as (where, detail):
            chosen = versions_of(where.provider).change(action, where.path, chosen_versions)
            detail["versions"] = chosen
        if action == audit.DESTROY and self.store is not None:
            # A remote provider's values have sealed copies here too (the compiled maskers,
            # the offline snapshots); the embedded store's own destroy removes them as well.
            self.store.forget_copies()
        return Changed(str(where), chosen)

    def rollback(self, target: str, to: str | None = None) -> RolledBack:
        """Make an earlier version current again (default: the newest live one before the
        current): a new version with its content, or on AWS the AWSCURRENT label moved back."""
        from vaultline.resolve.versioning import versions_of

        with self._audited(audit.WRITE, target) as (where, detail):
            back_to, current = versions_of(where.provider).rollback(where.path, to)
            detail.update({"rollback_to": back_to, "version": current})
        return RolledBack(str(where), back_to, current)

    # -- break-glass overrides ----------------------------------------------------------------

    def _refused(self, action: str, key: str | None, exc: OverrideError) -> None:
        self.audit.record(action, env=self.env, key=key, outcome=audit.DENIED, actor=self.actor,
                          detail={"reason": str(exc)})

    def _commit(self, override: Override, action: str, *, cas: int | None,
                undo: Override | None = None, value: str | None = None, **extra: Any) -> None:
        """Store ``override`` between its audit intent and outcome lines.

        Nothing is stored when the intent cannot be written; a process killed after the write
        leaves the intent, so a stored override is never unaudited; when the outcome cannot be
        written the record goes back to ``undo`` (or away, when it is new).
        """
        stored: int | None = None
        try:
            with self.audit.recording(action, env=override.env, key=override.key, value=value,
                                      actor=self.actor) as detail:
                detail.update({"override": override.id, "expires": override.expires, **extra})
                stored = self.overrides.write(override, cas=cas)
                detail.update(record=stored, store=self.overrides.store.store_id)
        except BaseException:
            if stored is not None:
                if undo is None:
                    self.overrides.discard(override)
                else:
                    self.overrides.write(undo, cas=stored)
            raise

    def _one_person(self) -> None:
        """Refuse a request or approval whose OS account this process may have chosen: in a
        user namespace (``unshare -U vaultline override approve ID``) one person would approve
        their own request under a second name. A Python caller's ``actor`` is its own word."""
        if self._actor is None and audit.in_user_namespace():
            raise OverrideError(f"this process runs in a user namespace, where {self.actor} is "
                                "an account it may have chosen; request and approve overrides "
                                "outside it")

    def set_override(self, key: str, value: str, *, ttl: timedelta, reason: str = "",
                     approved_by: str = "", ticket: str = "") -> Override:
        """An override that applies at once (not in protected environments: see
        :meth:`request_override`). Validated in full before anything is stored."""
        env = self._env()
        try:
            made = self.overrides.prepare_set(env, key, value, ttl=ttl, actor=self.actor,
                                              reason=reason, approved_by=approved_by,
                                              ticket=ticket)
        except OverrideError as exc:
            self._refused(audit.OVERRIDE_SET, key, exc)
            raise
        self._commit(made, audit.OVERRIDE_SET, cas=0, value=value, reason=reason,
                     approved_by=approved_by, ticket=ticket)
        return made

    def request_override(self, key: str, value: str, *, ttl: timedelta, reason: str = "",
                         ticket: str = "") -> Override:
        """A pending override: it applies once a different identity approves it."""
        env = self._env()
        try:
            self._one_person()
            made = self.overrides.prepare_request(env, key, value, ttl=ttl, actor=self.actor,
                                                  reason=reason, ticket=ticket)
        except OverrideError as exc:
            self._refused(audit.OVERRIDE_REQUEST, key, exc)
            raise
        self._commit(made, audit.OVERRIDE_REQUEST, cas=0, value=value, reason=reason,
                     ticket=ticket)
        return made

    def approve_override(self, override_id: str) -> Override:
        """Approve a pending override as this session's actor (not its requester)."""
        env = self._env()
        try:
            self._one_person()
            pending, version = self.overrides.read(env, override_id)
            approved = self.overrides.prepare_approval(pending, approver=self.actor)
        except OverrideError as exc:
            self._refused(audit.OVERRIDE_APPROVE, None, exc)
            raise
        self._commit(approved, audit.OVERRIDE_APPROVE, cas=version, undo=pending,
                     requested_by=approved.actor)
        return approved

    def revoke_override(self, override_id: str) -> Override | None:
        """Stop an override now (its value destroyed, its record kept); a malformed record is
        removed and None returned."""
        env = self._env()
        try:
            revoked = self.overrides.revoke(env, override_id)
        except OverrideError as exc:
            self._refused(audit.OVERRIDE_REVOKE, None, exc)
            raise
        self.audit.record(audit.OVERRIDE_REVOKE, env=env, key=None if revoked is None
                          else revoked.key, actor=self.actor,
                          detail={"override": override_id, "malformed": revoked is None,
                                  **({} if revoked is None else self._override_record(revoked))})
        return revoked

    def _override_record(self, override: Override) -> dict[str, Any]:
        """What an override's audit line says of its record: the version and the store, which
        ``audit verify`` holds to the store's rows (a store put back from a backup taken before
        a revoke brings the override back; its retired version is then missing)."""
        version = self.overrides.version(override)
        if version is None:
            return {}
        return {"record": version, "store": self.overrides.store.store_id}
