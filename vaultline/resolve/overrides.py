"""Break-glass runtime overrides: the highest layer, always time-bounded and audited.

An override is a record of kind ``overrides`` in the embedded store (``<env>/<id>``, out of
reach of the secret path API) holding its value, reason, approver, ticket and expiry. The
policy is enforced here, before anything is stored:

- every override expires, within the environment's ``max_override_ttl`` or, where none is
  set, :data:`DEFAULT_MAX_TTL`;
- it names a key the environment already has (defaults, pack values or secret references),
  spelled exactly, so it can neither add a variable such as ``LD_PRELOAD`` to a
  ``run`` child nor reach a secret through a case variant;
- its reason, ticket and approver never contain the value;
- in a protected environment it needs a reason and a ticket, and two people: one *requests*
  it (state ``pending``), a different identity *approves* it; only then does it apply.

The resolver applies an active override until it expires; the first resolution after expiry
destroys its value. Environment-variable overrides (``allow_env_overrides: true`` +
``env_override_prefix``) are the other runtime source: process-scoped, non-secret values only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from vaultline.duration import format_duration
from vaultline.errors import IntegrityError, OverrideError, SecretNotFoundError, StoreError
from vaultline.project import keypath
from vaultline.project.model import Environment, Project
from vaultline.resolve.bundle import Layer, Provenance, ResolvedValue
from vaultline.store import EmbeddedStore

Clock = Callable[[], datetime]

DEFAULT_MAX_TTL = timedelta(hours=24)
# Shorter values are ordinary words ("on", "4"): finding them in a reason means nothing.
_MIN_VALUE_CHECK = 4
# A reason, ticket or approver note is a line or two, not a document: each is copied into the
# record, into the audit lines and into every `override ls`.
MAX_NOTE = 1000
STATES = ("pending", "active", "revoked", "expired")


def _now() -> datetime:
    return datetime.now(UTC)


def max_ttl(environment: Environment) -> timedelta:
    """The longest override an environment allows."""
    limit = environment.max_override_ttl
    return DEFAULT_MAX_TTL if limit is None else limit


class Override(NamedTuple):  # not a dataclass: it is defined on every resolve's start-up path
    id: str
    env: str
    key: str
    value: str | None  # None once revoked or expired: the value is destroyed
    secret: bool
    created: str
    expires: str
    actor: str  # who set or requested it
    reason: str = ""
    approved_by: str = ""  # in a protected environment: the identity that approved it
    ticket: str = ""
    state: str = "active"  # pending | active | revoked | expired
    approved: str = ""  # when it was approved

    @property
    def expires_at(self) -> datetime:
        return datetime.fromisoformat(self.expires)

    def active(self, now: datetime) -> bool:
        """Applies now: approved, and between its creation and its expiry (a clock moved back
        past the creation does not stretch the time it applies)."""
        return (self.state == "active" and now < self.expires_at
                and now >= datetime.fromisoformat(self.created))

    def public(self) -> dict[str, Any]:
        """Everything but the value, for listings."""
        data = self._asdict()
        data.pop("value")
        return data

    def __repr__(self) -> str:
        return f"Override(id={self.id!r}, env={self.env!r}, key={self.key!r}, state={self.state!r})"


_TEXT_FIELDS = ("id", "env", "key", "created", "expires", "actor", "reason", "approved_by",
                "ticket", "state", "approved")


def _decode(raw: bytes) -> Override:
    """An override from its record; ValueError says what is wrong with a malformed one."""
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    unknown = set(data) - set(Override._fields)
    missing = {"id", "env", "key", "value", "secret", "created", "expires", "actor"} - set(data)
    if unknown or missing:
        raise ValueError(f"fields {sorted(unknown | missing)} unexpected or missing")
    for name in _TEXT_FIELDS:
        if name in data and not isinstance(data[name], str):
            raise ValueError(f"field {name!r} is not text")
    if not (data["value"] is None or isinstance(data["value"], str)) \
            or not isinstance(data["secret"], bool):
        raise ValueError("field 'value' or 'secret' has the wrong type")
    override = Override(**data)
    if override.state not in STATES:
        raise ValueError(f"unknown state {override.state!r}")
    if datetime.fromisoformat(override.created).tzinfo is None \
            or override.expires_at.tzinfo is None:
        raise ValueError("'created' or 'expires' has no time zone")
    return override


def _unreadable(env: str, override_id: str, why: Exception) -> OverrideError:
    """A record that cannot be read: malformed, or tampered with (``revoke`` removes it)."""
    return OverrideError(f"override record {env}/{override_id} is unreadable ({why}); "
                         f"'vaultline override revoke {override_id} --env {env}' removes it")


class OverrideStore:
    """Overrides of one project, kept in its embedded store. Nothing here audits: the
    :class:`vaultline.resolve.session.Session` methods do, around each call."""

    def __init__(self, project: Project, store: EmbeddedStore, *, clock: Clock = _now):
        self.project = project
        self.store = store
        self.records = store.records("overrides")
        self.clock = clock

    # -- policy -------------------------------------------------------------------------------

    def _secret(self, env: str, key: str) -> bool:
        spec = self.project.schema.get(key)
        return bool(spec and spec.secret) or key in self.project.pack(env).secrets

    def _check_key(self, env: str, key: str) -> None:
        problem = keypath.validate(key)
        if problem:
            raise OverrideError(problem)
        pack = self.project.pack(env)
        # Keys with a value in this environment (schema defaults are among the defaults).
        known = {*self.project.defaults, *pack.values, *pack.secrets}
        if key not in known:
            near = sorted(k for k in known if k.casefold() == key.casefold())
            hint = f"; did you mean {near[0]}?" if near else (
                "; an override replaces a value the environment already has, it never adds one")
            raise OverrideError(f"{key} is not a key of {env}{hint}")
        # Two keys that differ only in case share one environment variable in `run`.
        name = keypath.env_name(key)
        for other in known:
            if other != key and self._secret(env, other) and keypath.env_name(other) == name:
                raise OverrideError(f"{key} and the secret {other} are the same environment "
                                    f"variable {name}; override {other} itself")

    def _validate(self, env: str, key: str, value: str, ttl: timedelta, *, reason: str,
                  ticket: str, approved_by: str, protected_needs: Sequence[str]) -> None:
        """Every rule an override must pass, checked before anything is written."""
        environment = self.project.environment(env)
        self._check_key(env, key)
        if ttl <= timedelta(0):
            raise OverrideError("--ttl must be positive: every override expires")
        limit = max_ttl(environment)
        if ttl > limit:
            source = ("default maximum" if environment.max_override_ttl is None
                      else "max_override_ttl")
            raise OverrideError(
                f"--ttl {format_duration(ttl)} is above {env}'s {source} of "
                f"{format_duration(limit)}; ask for less time")
        try:
            self.clock() + ttl
        except OverflowError:  # a max_override_ttl of a million years allows it
            raise OverrideError(f"--ttl {format_duration(ttl)} ends after the last date a "
                                "clock can show; ask for less time") from None
        for flag, text in (("--reason", reason), ("--ticket", ticket),
                           ("--approved-by", approved_by)):
            if len(text) > MAX_NOTE:
                raise OverrideError(f"{flag} is {len(text)} characters long, above the "
                                    f"{MAX_NOTE} an override note may have")
            if len(value) >= _MIN_VALUE_CHECK and value in text:
                raise OverrideError(f"{flag} contains the override's value; describe the "
                                    "change without the value itself")
        if environment.protected:
            given = {"--reason": reason, "--ticket": ticket}
            missing = [flag for flag in protected_needs if not given[flag].strip()]
            if missing:
                raise OverrideError(f"{env} is protected: an override needs {', '.join(missing)}")

    def _new(self, env: str, key: str, value: str, ttl: timedelta, *, actor: str, reason: str,
             ticket: str, approved_by: str, state: str) -> Override:
        now = self.clock()
        return Override(id=os.urandom(4).hex(), env=env, key=key, value=value,
                        secret=self._secret(env, key), created=now.isoformat(),
                        expires=(now + ttl).isoformat(), actor=actor, reason=reason,
                        approved_by=approved_by, ticket=ticket, state=state)

    def prepare_set(self, env: str, key: str, value: str, *, ttl: timedelta, actor: str,
                    reason: str = "", approved_by: str = "", ticket: str = "") -> Override:
        """A validated, active override, not yet stored (see :meth:`write`)."""
        if self.project.environment(env).protected:
            raise OverrideError(
                f"{env} is protected: an override needs a second person. Request it with "
                f"'vaultline override request {key} --env {env} ...'; another identity "
                "approves it with 'vaultline override approve ID'")
        self._validate(env, key, value, ttl, reason=reason, ticket=ticket,
                       approved_by=approved_by, protected_needs=())
        self._one_active(env, key)
        return self._new(env, key, value, ttl, actor=actor, reason=reason, ticket=ticket,
                         approved_by=approved_by, state="active")

    def prepare_request(self, env: str, key: str, value: str, *, ttl: timedelta, actor: str,
                        reason: str = "", ticket: str = "") -> Override:
        """A validated, pending override, not yet stored: it applies once approved."""
        self._validate(env, key, value, ttl, reason=reason, ticket=ticket, approved_by="",
                       protected_needs=("--reason", "--ticket"))
        return self._new(env, key, value, ttl, actor=actor, reason=reason, ticket=ticket,
                         approved_by="", state="pending")

    def prepare_approval(self, override: Override, *, approver: str) -> Override:
        """The approved form of a pending override, not yet stored."""
        override_id = override.id
        if override.state != "pending":
            raise OverrideError(f"override {override_id} is {override.state}, not pending")
        if approver == override.actor:
            raise OverrideError(f"override {override_id} was requested by {approver}; a "
                                "different identity must approve it")
        now = self.clock()
        if now >= override.expires_at:
            raise OverrideError(f"override {override_id} expired at {override.expires} before "
                                "it was approved; request it again")
        if now < datetime.fromisoformat(override.created):
            raise OverrideError(f"override {override_id} was requested at {override.created}, "
                                f"after this clock's {now.isoformat()}: the clock was moved "
                                "back; approve it once the clock is right")
        self._one_active(override.env, override.key)
        return override._replace(state="active", approved_by=approver, approved=now.isoformat())

    def _one_active(self, env: str, key: str) -> None:
        """Refuse a second override applying to ``key`` at once: which of two values wins
        would not be what either person who made them meant."""
        now = self.clock()
        for other in self.entries(env):
            if other.key == key and other.active(now):
                raise OverrideError(
                    f"{key} already has override {other.id} in {env}, applying until "
                    f"{other.expires}; revoke it first with 'vaultline override revoke "
                    f"{other.id} --env {env}'")

    # -- records ------------------------------------------------------------------------------

    def write(self, override: Override, *, cas: int | None) -> int:
        return self.records.put(f"{override.env}/{override.id}",
                                json.dumps(override._asdict()).encode(), cas=cas)

    def discard(self, override: Override) -> None:
        """Undo :meth:`write` of a new override whose audit line could not be written."""
        name = f"{override.env}/{override.id}"
        self.records.destroy(name, self.records.history(name))

    def read(self, env: str, override_id: str) -> tuple[Override, int]:
        """An override and its record version (for a check-and-set write)."""
        try:
            raw, version = self.records.get(f"{env}/{override_id}")
        except SecretNotFoundError:
            raise OverrideError(f"no override {override_id!r} in {env}; "
                                f"'vaultline override ls --env {env}' lists them") from None
        except IntegrityError as exc:  # its row was edited without the master key
            raise _unreadable(env, override_id, exc) from None
        try:
            return _decode(raw), version
        except (ValueError, TypeError) as exc:
            raise _unreadable(env, override_id, exc) from None

    def get(self, env: str, override_id: str) -> Override:
        return self.read(env, override_id)[0]

    def version(self, override: Override) -> int | None:
        """The record version now holding `override` (what its audit line names, so
        ``audit verify`` finds a store put back from before the line), None if it has none."""
        history = self.records.history(f"{override.env}/{override.id}")
        return history[-1] if history else None

    def scan(self, env: str) -> tuple[list[Override], list[str]]:
        """Every override of ``env`` by creation time, and a message per unreadable record."""
        found, problems = [], []
        for name in self.records.names(f"{env}/"):
            try:
                found.append(self.get(env, name.rsplit("/", 1)[1]))
            except (OverrideError, StoreError) as exc:
                problems.append(str(exc))
        return sorted(found, key=lambda o: o.created), problems

    def entries(self, env: str) -> list[Override]:
        return self.scan(env)[0]

    def _retire(self, override: Override, state: str) -> Override:
        """Keep the record for the audit trail, destroy every version that held the value."""
        name = f"{override.env}/{override.id}"
        old = self.records.history(name)
        retired = override._replace(value=None, state=state)
        self.write(retired, cas=old[-1] if old else None)
        self.records.destroy(name, old)
        return retired

    def revoke(self, env: str, override_id: str) -> Override | None:
        """Stop an override; a malformed record is destroyed (then None is returned)."""
        try:
            override = self.get(env, override_id)
        except OverrideError:
            name = f"{env}/{override_id}"
            if name not in self.records.names(name):
                raise
            self.records.destroy(name, self.records.history(name))
            return None
        if override.state not in ("active", "pending"):
            raise OverrideError(f"override {override_id} is already {override.state}")
        return self._retire(override, "revoked")

    def sweep(self, env: str) -> tuple[list[Override], list[Override], list[str]]:
        """``(active, newly_expired, problems)``; expired overrides lose their value here."""
        now = self.clock()
        active, expired = [], []
        overrides, problems = self.scan(env)
        for override in overrides:
            if override.active(now):
                active.append(override)
            elif override.state in ("active", "pending") and now >= override.expires_at:
                expired.append(self._retire(override, "expired"))
        return active, expired, problems


class OverrideLayer:
    """The override layer for the resolver: active stored overrides, then env-var overrides."""

    def __init__(self, overrides: Sequence[Override], environ: Mapping[str, str]):
        self.overrides = overrides
        self.environ = environ
        self.warnings: list[str] = []

    def candidates(self, project: Project, env: str) -> list[ResolvedValue]:
        out = [ResolvedValue(o.key, o.value, o.secret,
                             Provenance(Layer.OVERRIDE, f"override {o.id}",
                                        version=f"expires {o.expires}", override_id=o.id))
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
        secret_names = {keypath.env_name(key, prefix): key for key in known
                        if key in pack.secrets or (key in project.schema
                                                   and project.schema[key].secret)}
        out = []
        for key in sorted(known):
            name = keypath.env_name(key, prefix)
            if name not in self.environ:
                continue
            if name in secret_names:  # the secret itself, or a key differing only in case
                warning = (f"{name} ignored: {secret_names[name]} is a secret; secrets are "
                           "overridden only with 'vaultline override set'")
                if warning not in self.warnings:
                    self.warnings.append(warning)
                continue
            out.append(ResolvedValue(key, self.environ[name], False,
                                     Provenance(Layer.OVERRIDE, f"env {name}")))
        return out
