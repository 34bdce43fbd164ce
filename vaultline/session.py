"""One command's work on a project: resolution with overrides applied, and every access audited.

Both the Python API (:func:`vaultline.load`) and the CLI go through :class:`Session`, so the
audit trail is the same whichever way a secret is read.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import cached_property

from vaultline import _gc, audit
from vaultline._files import private_dir
from vaultline.bundle import Bundle, Layer
from vaultline.errors import ProviderError, ResolutionError, StoreError
from vaultline.overrides import OverrideLayer, OverrideStore
from vaultline.project import Project
from vaultline.resolver import Resolver
from vaultline.store import EmbeddedStore


def _now() -> datetime:
    return datetime.now(UTC)


def open_audit_log(project: Project, store: EmbeddedStore | None) -> audit.AuditLog:
    """The project's audit log; without an embedded store it is kept without value HMACs."""
    if store is not None:
        from vaultline.audit.settings import parse_settings

        settings = parse_settings(project.sections.get("audit"), str(project.file))
        log = audit.AuditLog.for_store(store, segment_size=settings.segment_size)
        if settings.anchor_to is not None and settings.anchor_every is not None:
            from vaultline.audit.anchor import auto_anchor

            log.after_append = auto_anchor(project, store, settings.anchor_to,
                                           settings.anchor_every)
        return log
    private_dir(project.store_dir)
    return audit.AuditLog(project.store_dir / audit.log.LOG_NAME, hmac_key=None, checkpoint=None)


class Session:
    def __init__(self, project: Project, env: str | None = None, *,
                 environ: Mapping[str, str] | None = None, clock: Callable[[], datetime] = _now):
        if env is not None:
            project.environment(env)
        self.project = project
        self.env = env
        self.environ = dict(os.environ if environ is None else environ)
        self.clock = clock

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
        return open_audit_log(self.project, self.store)

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

    @_gc.paused
    def resolve_partial(self, *, reveal: bool = False) -> tuple[Bundle, list[ProviderError]]:
        """What resolved and what failed, both audited (``check`` reports on both)."""
        env = self._env()
        warnings: list[str] = []
        active, expired = self.overrides.sweep(env) if self.store is not None else ([], [])
        entries = [audit.Entry(audit.OVERRIDE_EXPIRE, env=env, key=o.key,
                               detail={"override": o.id, "expired": o.expires})
                   for o in expired]
        warnings += [f"override {o.id} for {o.key} expired at {o.expires}; ignored"
                     for o in expired]
        layer = OverrideLayer(active, self.environ)
        with Resolver(self.project, env, environ=self.environ, runtime_layers=[layer]) as resolver:
            bundle, failures = resolver.resolve_partial()
            entries += [audit.Entry(audit.READ, env=env, key=f.key, reference=f.reference,
                                    outcome=audit.FAILED, detail={"reason": f.reason})
                        for f in failures]
            # Every value a provider returned was read, including those an override shadows.
            secrets = Layer.SECRETS
            fetched = [(key, value, prov.source, prov.path)
                       for key, value, _, prov in bundle.candidates() if prov.layer is secrets]
            identities = {name: resolver.provider(name).identity
                          for name in {source for _, _, source, _ in fetched}}
        read, ok, Entry = audit.READ, audit.OK, audit.Entry  # once per secret read: stay lean
        entries += [Entry(read, env, key, f"{source}:{path}", ok, str(value), identities[source])
                    for key, value, source, path in fetched]
        for resolved in bundle.resolved_values():
            prov = resolved.provenance
            if prov.layer is Layer.OVERRIDE and prov.source.startswith("override "):
                entries.append(audit.Entry(audit.OVERRIDE_APPLY, env=env, key=resolved.key,
                                           value=str(resolved.value),
                                           detail={"override": prov.source.split()[1]}))
            if reveal and resolved.secret:
                entries.append(audit.Entry(audit.REVEAL, env=env, key=resolved.key,
                                           value=str(resolved.value)))
        self.audit.record_many(entries)
        bundle.warnings.extend(warnings + layer.warnings)
        return bundle, failures

    def _env(self) -> str:
        if self.env is None:
            raise ValueError("this session was opened without an environment")
        return self.env
