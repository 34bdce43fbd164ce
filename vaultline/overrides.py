"""Break-glass runtime overrides: the highest layer, always time-bounded and audited.

An override is stored encrypted in the embedded store (``_vaultline/overrides/<env>/<id>``)
with its reason, approver, ticket and expiry. The resolver applies it until it expires; the
first resolution after expiry destroys its value and records ``override.expire``.

Environment-variable overrides (``allow_env_overrides: true`` + ``env_override_prefix``) are
the other runtime source: process-scoped, for non-secret values only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from vaultline import keypath
from vaultline.bundle import Layer, Provenance, ResolvedValue
from vaultline.duration import format_duration
from vaultline.errors import OverrideError, SecretNotFoundError
from vaultline.project import Project
from vaultline.store import EmbeddedStore
from vaultline.store.embedded import INTERNAL_PREFIX

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


class Override(NamedTuple):  # not a dataclass: it is defined on every resolve's start-up path
    id: str
    env: str
    key: str
    value: str | None  # None once revoked or expired: the value is destroyed
    secret: bool
    created: str
    expires: str
    actor: str
    reason: str = ""
    approved_by: str = ""
    ticket: str = ""
    state: str = "active"  # active | revoked | expired

    @property
    def expires_at(self) -> datetime:
        return datetime.fromisoformat(self.expires)

    def active(self, now: datetime) -> bool:
        return self.state == "active" and now < self.expires_at

    def public(self) -> dict[str, Any]:
        """Everything but the value, for listings."""
        data = self._asdict()
        data.pop("value")
        return data

    def __repr__(self) -> str:
        return f"Override(id={self.id!r}, env={self.env!r}, key={self.key!r}, state={self.state!r})"


def _path(env: str, override_id: str = "") -> str:
    return f"{INTERNAL_PREFIX}overrides/{env}/{override_id}".rstrip("/")


class OverrideStore:
    """Overrides of one project, kept in its embedded store."""

    def __init__(self, project: Project, store: EmbeddedStore, *, clock: Clock = _now):
        self.project = project
        self.store = store
        self.clock = clock

    def _secret(self, env: str, key: str) -> bool:
        spec = self.project.schema.get(key)
        return bool(spec and spec.secret) or key in self.project.pack(env).secrets

    def set(self, env: str, key: str, value: str, *, ttl: timedelta, actor: str,
            reason: str = "", approved_by: str = "", ticket: str = "") -> Override:
        environment = self.project.environment(env)
        problem = keypath.validate(key)
        if problem:
            raise OverrideError(problem)
        if ttl <= timedelta(0):
            raise OverrideError("--ttl must be positive: every override expires")
        limit = environment.max_override_ttl
        if limit is not None and ttl > limit:
            raise OverrideError(
                f"--ttl {format_duration(ttl)} is above {env}'s max_override_ttl of "
                f"{format_duration(limit)}; ask for less time")
        if environment.protected:
            missing = [flag for flag, given in (("--reason", reason),
                                                ("--approved-by", approved_by),
                                                ("--ticket", ticket)) if not given.strip()]
            if missing:
                raise OverrideError(f"{env} is protected: an override needs "
                                    f"{', '.join(missing)}")
        now = self.clock()
        override = Override(
            id=os.urandom(4).hex(), env=env, key=key, value=value,
            secret=self._secret(env, key), created=now.isoformat(),
            expires=(now + ttl).isoformat(), actor=actor, reason=reason,
            approved_by=approved_by, ticket=ticket)
        self._write(override, cas=0)
        return override

    def _write(self, override: Override, *, cas: int | None = None) -> None:
        self.store.put(_path(override.env, override.id), json.dumps(override._asdict()).encode(),
                       cas=cas)

    def get(self, env: str, override_id: str) -> Override:
        try:
            raw = self.store.get(_path(env, override_id)).value
        except SecretNotFoundError:
            raise OverrideError(f"no override {override_id!r} in {env}; "
                                f"'vaultline override ls --env {env}' lists them") from None
        return Override(**json.loads(raw))

    def entries(self, env: str) -> list[Override]:
        found = [self.get(env, path.rsplit("/", 1)[1])
                 for path in self.store.list_paths(_path(env))]
        return sorted(found, key=lambda o: o.created)

    def _retire(self, override: Override, state: str) -> Override:
        """Keep the record for the audit trail, destroy every version that held the value."""
        path = _path(override.env, override.id)
        versions = [v.version for v in self.store.versions(path) if not v.destroyed]
        retired = override._replace(value=None, state=state)
        self._write(retired)
        self.store.destroy(path, versions)
        return retired

    def revoke(self, env: str, override_id: str) -> Override:
        override = self.get(env, override_id)
        if override.state != "active":
            raise OverrideError(f"override {override_id} is already {override.state}")
        return self._retire(override, "revoked")

    def sweep(self, env: str) -> tuple[list[Override], list[Override]]:
        """``(active, newly_expired)``; expired overrides lose their value here."""
        now = self.clock()
        active, expired = [], []
        for override in self.entries(env):
            if override.active(now):
                active.append(override)
            elif override.state == "active":
                expired.append(self._retire(override, "expired"))
        return active, expired


class OverrideLayer:
    """The override layer for the resolver: active stored overrides, then env-var overrides."""

    def __init__(self, overrides: Sequence[Override], environ: Mapping[str, str]):
        self.overrides = overrides
        self.environ = environ
        self.warnings: list[str] = []

    def candidates(self, project: Project, env: str) -> list[ResolvedValue]:
        out = [ResolvedValue(o.key, o.value, o.secret,
                             Provenance(Layer.OVERRIDE, f"override {o.id}",
                                        version=f"expires {o.expires}"))
               for o in self.overrides if o.value is not None]
        out.extend(self._from_environment(project, env))
        return out

    def _from_environment(self, project: Project, env: str) -> list[ResolvedValue]:
        environment = project.environment(env)
        if not environment.allow_env_overrides:
            return []
        prefix = environment.env_override_prefix
        pack = project.pack(env)
        known = {*project.schema, *project.defaults, *pack.values, *pack.secrets}
        out = []
        for key in sorted(known):
            name = keypath.env_name(key, prefix)
            if name not in self.environ:
                continue
            spec = project.schema.get(key)
            if (spec and spec.secret) or key in pack.secrets:
                self.warnings.append(f"{name} ignored: {key} is a secret; secrets are overridden "
                                     "only with 'vaultline override set'")
                continue
            out.append(ResolvedValue(key, self.environ[name], False,
                                     Provenance(Layer.OVERRIDE, f"env {name}")))
        return out
