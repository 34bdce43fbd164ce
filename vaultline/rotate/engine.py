"""Running rotations: the steps of :mod:`.model` applied to targets and stores, audited.

    with Session(project, "prod") as session:
        rotator = Rotator(session)
        rotation = rotator.run("ConnectionStrings:Primary")   # publishes; never waits the grace
        rotator.retire("ConnectionStrings:Primary")           # after the grace

Every step is recorded in the embedded store before the next starts and audited as a
``rotate`` event, so ``resume`` can carry on after a crash from exactly where it stopped.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from vaultline import audit
from vaultline._limits import parse_json
from vaultline.audit.event import ValueMac
from vaultline.drift.mirror import HMAC_PURPOSE, canonical
from vaultline.errors import ConfigError, RotationError, SecretNotFoundError, VaultlineError
from vaultline.keys.policy import Due, RotationPolicy
from vaultline.project.reference import Reference
from vaultline.providers import registry
from vaultline.providers.base import Provider
from vaultline.resolve.session import Session, stored_in
from vaultline.rotate import config, postgres, stores
from vaultline.rotate.config import RotationSpec, Strategy
from vaultline.rotate.model import BEFORE_PUBLISH, Rotation, State, Step

# A rotation still running this long after it started has stopped: `check` calls it stuck.
STUCK_AFTER = timedelta(minutes=15)
StepHook = Callable[[Rotation, Step], None]


@dataclass(frozen=True)
class Plan:
    key: str
    env: str
    strategy: str
    reference: str
    generator: str
    target: str | None
    new_user: str | None
    old_user: str | None
    mirrors: list[str]
    grace: timedelta
    retire_at: datetime
    warnings: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=lambda: [s.value for s in Step])


@dataclass(frozen=True)
class KeyStatus:
    key: str
    key_class: str
    strategy: str
    state: str  # never-rotated | running | grace | done | aborted | stuck
    due: str  # ok | due | overdue | no-policy
    last_rotated: str | None
    due_at: str | None
    retire_at: str | None
    rotation: str | None
    parity: bool | None
    previous_readers: list[str]
    problem: str | None = None


@dataclass(frozen=True)
class Verified:
    store: str
    ok: bool
    problem: str | None = None


class Rotator:
    """Rotations of one environment's secrets (``session.env``), as ``rotate:`` describes."""

    def __init__(self, session: Session, *, on_step: StepHook | None = None):
        if session.env is None:
            raise ConfigError("rotation needs an environment: pass --env")
        self.session = session
        self.env: str = session.env
        self.project = session.project
        self.config = config.load(self.project)
        self.policy = RotationPolicy.from_section(self.project.sections.get("rotation"),
                                                  environments=self.project.environments)
        self.store = session.require_store()
        self.on_step = on_step  # called after each step is recorded (tests inject crashes)
        self._providers: dict[str, Provider] = {}
        self._admins: dict[str, postgres.Admin] = {}

    def close(self) -> None:
        for admin in self._admins.values():
            admin.close()
        self._admins.clear()
        for provider in self._providers.values():
            provider.close()
        self._providers.clear()

    def __enter__(self) -> Rotator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def now(self) -> datetime:
        return self.session.clock()

    # -- where things live ------------------------------------------------------------------

    def _provider(self, name: str) -> Provider:
        if name not in self._providers:
            context = self.project.provider_context(self.env, self.session.environ)
            self._providers[name] = registry.create(self.project.provider_config(name), context)
        return self._providers[name]

    def _locate(self, ref: Reference, key: str) -> tuple[Provider, str]:
        provider = self._provider(ref.provider)
        return provider, provider.locate(ref, key)

    def _primary(self, key: str) -> tuple[Provider, str]:
        entry = self.project.pack(self.env).secrets.get(key)
        if entry is None:
            raise ConfigError(f"{key!r} has no reference in env/{self.env}/secrets.yaml; add one "
                              f"(e.g. {key}: local) so the rotation knows where it lives")
        return self._locate(entry.value, key)

    # -- records ----------------------------------------------------------------------------

    # In the store's records table (kind ``rotations``), out of the secret path API.
    def _run_name(self, rotation_id: str) -> str:
        return f"{self.env}/runs/{rotation_id}"

    def _latest_name(self, key: str) -> str:
        return f"{self.env}/latest/{key}"

    def _save(self, rotation: Rotation) -> None:
        self.store.records("rotations").put(self._run_name(rotation.id), rotation.to_json())

    def load(self, rotation_id: str) -> Rotation:
        try:
            value, _ = self.store.records("rotations").get(self._run_name(rotation_id))
            return Rotation.from_json(value)
        except SecretNotFoundError:
            raise RotationError(f"no rotation {rotation_id!r} in {self.env}; "
                                f"'vaultline rotate status --env {self.env}' lists them") from None

    def latest(self, key: str) -> Rotation | None:
        pointer = self._pointer(key)[1]
        return None if pointer is None else self.load(pointer)

    def _pointer(self, key: str) -> tuple[int, str | None]:
        try:
            value, version = self.store.records("rotations").get(self._latest_name(key))
        except SecretNotFoundError:
            return 0, None
        return version, json.loads(value)["rotation"]

    def _claim(self, key: str, rotation_id: str, seen: int) -> None:
        """Point the key at a new rotation; a check-and-set, so two runs cannot both start."""
        from vaultline.errors import VersionConflictError

        try:
            self.store.records("rotations").put(
                self._latest_name(key), json.dumps({"rotation": rotation_id}).encode(), cas=seen)
        except VersionConflictError:
            raise RotationError(f"another rotation of {key} started at the same time; "
                                f"see 'vaultline rotate status --env {self.env}'") from None

    # -- audit ------------------------------------------------------------------------------

    def _audit(self, rotation: Rotation, step: str, *, outcome: str = audit.OK,
               value: str | None = None, **detail: Any) -> None:
        self.session.audit.record(audit.ROTATE, env=self.env, key=rotation.key,
                                  reference=rotation.reference, outcome=outcome, value=value,
                                  detail={"rotation": rotation.id, "step": step,
                                          "strategy": rotation.strategy, **detail})

    def _macs(self, value: str | None) -> list[str]:
        """Audit HMACs a read of ``value`` (whole, or any ``#field``) would be recorded with."""
        if value is None:
            return []
        mac = ValueMac(self.store.derive_key("audit-hmac"))
        macs = [mac(value)]
        try:
            fields = parse_json(value)
        except ValueError:
            fields = None
        if isinstance(fields, dict):
            macs += [mac(v if isinstance(v, str) else json.dumps(v, separators=(",", ":")))
                     for v in fields.values()]
        return macs

    # -- planning ---------------------------------------------------------------------------

    def _grace(self, spec: RotationSpec, override: timedelta | None, emergency: bool) -> timedelta:
        if emergency or spec.strategy in (Strategy.SINGLE_USER, Strategy.REPLACE):
            return timedelta(0)
        if override is not None:
            return override
        if spec.grace is not None:
            return spec.grace
        return self.policy.grace_for(spec.key_class, self.env)

    def _users(self, spec: RotationSpec, current: str | None) -> tuple[str | None, str | None]:
        """(role to re-key, role it replaces) for a database strategy."""
        if spec.target is None:
            return None, None
        users = spec.target.users
        if spec.strategy is Strategy.SINGLE_USER:
            return users[0], users[0]
        old = None
        if current is not None:
            old = postgres.parse_credential(current, f"the current {spec.key}")["username"]
        new = users[1] if old == users[0] else users[0]
        return new, old

    def plan(self, key: str, *, grace: timedelta | None = None,
             emergency: bool = False) -> Plan:
        """What ``run`` would do, changing nothing (the current value is read, not shown)."""
        spec = self.config.spec(key)
        provider, path = self._primary(key)
        value, _ = stores.current(provider, path)
        new_user, old_user = self._users(spec, value)
        span = self._grace(spec, grace, emergency)
        warnings = []
        if spec.strategy is Strategy.SINGLE_USER:
            warnings.append("single-user re-keys the role in use: clients that resolved the old "
                            "password fail until they resolve again; prefer alternating-users")
        target = None
        if spec.target is not None:
            target = f"postgres roles {', '.join(spec.target.users)} (admin {spec.target.admin})"
        return Plan(key, self.env, spec.strategy, f"{provider.name}:{path}", str(spec.generator),
                    target, new_user, old_user, [str(m) for m in spec.mirrors], span,
                    self.now() + span, warnings)

    # -- running ----------------------------------------------------------------------------

    def run(self, key: str, *, grace: timedelta | None = None, emergency: bool = False,
            ticket: str | None = None, approved_by: str | None = None) -> Rotation:
        """Rotate ``key`` now: every step up to mirror; retire too if the grace is zero."""
        spec = self.config.spec(key)
        actor = self.session.audit.actor
        if emergency:
            self._check_emergency(ticket, approved_by, actor)
        seen, latest_id = self._pointer(key)
        previous = None if latest_id is None else self.load(latest_id)
        if previous is not None and previous.state == State.RUNNING:
            raise RotationError(
                f"rotation {previous.id} of {key} is still running (last step: "
                f"{previous.last_step}); finish it with 'vaultline rotate resume {previous.id}' "
                f"or drop it with 'vaultline rotate abort {previous.id}'")
        if previous is not None and previous.state == State.GRACE:
            retire_at = datetime.fromisoformat(previous.retire_at or previous.started)
            if retire_at > self.now() and not emergency:
                raise RotationError(
                    f"{key} was rotated by {previous.id} and its replaced credential is in its "
                    f"grace until {retire_at.isoformat()}; rotating now would re-key the "
                    "credential clients may still use. Wait, or pass --emergency")
            self._advance(previous, force_retire=True)
        provider, path = self._primary(key)
        value, version = stores.current(provider, path)
        new_user, old_user = self._users(spec, value)
        rotation = Rotation(
            id=str(uuid.uuid4()), key=key, env=self.env, strategy=spec.strategy,
            started=self.now().isoformat(), actor=actor, reference=f"{provider.name}:{path}",
            base_version=version, grace_seconds=self._grace(spec, grace, emergency).total_seconds(),
            new_user=new_user, old_user=old_user, previous_macs=self._macs(value),
            published_before=(None if (last := self._last_published(previous)) is None
                              else last.isoformat()),
            emergency=({"ticket": ticket or "", "approved_by": approved_by or ""}
                       if emergency else None))
        rotation.done(Step.PLAN, self.now())
        self._save(rotation)
        self._claim(key, rotation.id, seen)
        if emergency:
            self._audit(rotation, "emergency", ticket=ticket, approved_by=approved_by,
                        replaced=previous.id if previous else None)
        self._audit(rotation, Step.PLAN, base_version=version)
        self._hook(rotation, Step.PLAN)
        return self._advance(rotation)

    def _check_emergency(self, ticket: str | None, approved_by: str | None, actor: str) -> None:
        if not (ticket or "").strip():
            raise ConfigError("an emergency rotation needs --ticket (the incident it answers)")
        if self.project.environment(self.env).protected:
            if not (approved_by or "").strip():
                raise ConfigError(f"{self.env} is protected: an emergency rotation needs "
                                  "--approved-by (a second person)")
            if approved_by == actor or approved_by == actor.partition("@")[0]:
                raise ConfigError(f"{self.env} is protected: the approver must be someone "
                                  f"other than {actor}")

    def resume(self, rotation_id: str) -> Rotation:
        """Carry a stopped rotation on from its last recorded step."""
        rotation = self.load(rotation_id)
        if rotation.state in (State.ABORTED, State.DONE):
            raise RotationError(f"rotation {rotation.id} is {rotation.state}; nothing to resume")
        return self._advance(rotation)

    def abort(self, rotation_id: str) -> Rotation:
        """Drop a rotation that has not published (refused once it has)."""
        rotation = self.load(rotation_id)
        if rotation.state == State.ABORTED:
            return rotation
        rotation.abort("aborted")  # raises once published
        self._undo(rotation)
        self._save(rotation)
        self._audit(rotation, "abort")
        return rotation

    def retire(self, key: str, *, force: bool = False) -> Rotation:
        """End the credential the last rotation replaced, once its grace is over."""
        rotation = self.latest(key)
        if rotation is None or rotation.state != State.GRACE:
            state = "never rotated" if rotation is None else rotation.state
            raise RotationError(f"{key} has nothing to retire in {self.env} ({state})")
        retire_at = datetime.fromisoformat(rotation.retire_at or rotation.started)
        if retire_at > self.now() and not force:
            raise RotationError(f"{key}: the grace of rotation {rotation.id} runs until "
                                f"{retire_at.isoformat()}; retire after it")
        return self._advance(rotation, force_retire=True)

    def run_due(self) -> list[Rotation]:
        """What cron runs: retire every grace that is over, rotate every key that is due."""
        done: list[Rotation] = []
        for key, spec in sorted(self.config.specs.items()):
            latest = self.latest(key)
            if latest is not None and latest.state == State.GRACE:
                if datetime.fromisoformat(latest.retire_at or latest.started) <= self.now():
                    done.append(self._advance(latest, force_retire=True))
                continue
            if latest is not None and latest.state == State.RUNNING:
                continue
            if self._due(spec, latest) in (Due.DUE, Due.OVERDUE) or latest is None:
                done.append(self.run(key))
        return done

    def _hook(self, rotation: Rotation, step: Step) -> None:
        if self.on_step is not None:
            self.on_step(rotation, step)

    def _advance(self, rotation: Rotation, *, force_retire: bool = False) -> Rotation:
        spec = self.config.spec(rotation.key)
        while (step := rotation.next_step) is not None:
            if step is Step.RETIRE and not force_retire:
                retire_at = datetime.fromisoformat(rotation.retire_at or rotation.started)
                if retire_at > self.now():
                    break  # the grace runs; `retire` or `run --due` finishes it
            try:
                detail = self._do(step, rotation, spec)
            except VaultlineError as exc:
                reason = str(exc)
                self._audit(rotation, step, outcome=audit.FAILED, reason=type(exc).__name__)
                # A publish that failed otherwise may have landed: only resume can tell.
                published = rotation.published or (step is Step.PUBLISH and not isinstance(
                    exc, stores.PublishConflict))
                if step in BEFORE_PUBLISH or not published:
                    rotation.abort(f"{step}: {type(exc).__name__}")
                    self._undo(rotation)
                    self._save(rotation)
                    raise RotationError(f"rotation of {rotation.key} failed at {step}, before "
                                        f"publish; nothing was changed: {reason}") from None
                rotation.error = f"{step}: {type(exc).__name__}"
                self._save(rotation)
                raise RotationError(f"rotation {rotation.id} of {rotation.key} failed at {step}, "
                                    f"with the new value published (or possibly so): {reason}; fix the "
                                    f"cause, then 'vaultline rotate resume {rotation.id}'"
                                    ) from None
            value = rotation.pending if step is Step.PUBLISH else None
            rotation.done(step, self.now())
            rotation.error = None
            self._save(rotation)
            self._audit(rotation, step, value=value, **detail)
            self._hook(rotation, step)
        return rotation

    # -- the steps --------------------------------------------------------------------------

    def _admin(self, spec: RotationSpec) -> postgres.Admin:
        """The target's admin session, opened once per Rotator."""
        assert spec.target is not None
        name = str(spec.target.admin)
        if name not in self._admins:
            provider, path = self._locate(spec.target.admin, f"{spec.key}:admin")
            value, _ = stores.current(provider, path)
            if value is None:
                raise RotationError(f"the admin credential {name} of {spec.key} is missing; "
                                    "store it as a JSON map (username, password, host...)")
            self._admins[name] = postgres.Admin(postgres.parse_credential(
                value, f"admin credential {name}"))
        return self._admins[name]

    def _new_value(self, rotation: Rotation, spec: RotationSpec) -> str:
        secret = spec.generator.generate(self.project.root, self.session.environ)
        if spec.target is None:
            return secret
        admin = self._admin(spec).cred
        target = spec.target
        assert rotation.new_user is not None
        return postgres.credential(rotation.new_user, secret, target.host or admin["host"],
                                   target.port or int(admin["port"]),
                                   target.dbname or admin["dbname"])

    def _do(self, step: Step, rotation: Rotation, spec: RotationSpec) -> dict[str, Any]:
        if step is Step.CREATE:
            rotation.pending = self._new_value(rotation, spec)
            return {"generator": spec.generator.kind}
        if step is Step.SET:
            if spec.target is not None:
                assert rotation.pending is not None and rotation.new_user is not None
                cred = postgres.parse_credential(rotation.pending, "the new credential")
                self._admin(spec).set_password(rotation.new_user, cred["password"])
                return {"role": rotation.new_user}
            return {}
        if step is Step.TEST:
            assert rotation.pending is not None
            if spec.target is not None:
                problem = postgres.can_log_in(postgres.parse_credential(rotation.pending,
                                                                        "the new credential"))
                if problem:
                    raise RotationError(f"the new credential does not log in: {problem}")
            return {}
        if step is Step.PUBLISH:
            return self._publish(rotation, spec)
        if step is Step.MIRROR:
            return self._mirror(rotation, spec)
        if step is Step.RETIRE:
            return self._retire(rotation, spec)
        raise AssertionError(step)

    def _publish(self, rotation: Rotation, spec: RotationSpec) -> dict[str, Any]:
        provider, path = self._primary(rotation.key)
        assert rotation.pending is not None
        value, version = stores.current(provider, path)
        if value == rotation.pending:  # published before a crash: do not write it twice
            rotation.published_version = version
        else:
            rotation.published_version = stores.publish(
                provider, path, rotation.pending, base=rotation.base_version, token=rotation.id,
                store=self.store)
        retire_at = self.now() + timedelta(seconds=rotation.grace_seconds)
        rotation.retire_at = retire_at.isoformat()
        if self._managed_old_role(rotation, spec) and rotation.grace_seconds > 0:
            assert rotation.old_user is not None
            self._admin(spec).expire_at(rotation.old_user, retire_at)
        return {"version": rotation.published_version, "retire_at": rotation.retire_at,
                **stored_in(provider)}

    def _mirror(self, rotation: Rotation, spec: RotationSpec) -> dict[str, Any]:
        provider, path = self._primary(rotation.key)
        value, _ = stores.current(provider, path)
        if value is None:
            raise RotationError(f"{rotation.reference} has no current value to mirror")
        for ref in spec.mirrors:
            mirror, mirror_path = self._locate(ref, rotation.key)
            if stores.current(mirror, mirror_path)[0] != value:
                # A write like `secret put`'s, audited the same way (intent, then outcome),
                # so `audit verify` finds the line of a version mirrored into the store.
                with self.session.audit.recording(
                        audit.WRITE, env=self.env, key=rotation.key,
                        reference=f"{mirror.name}:{mirror_path}", value=value,
                        actor=mirror.identity) as recorded:
                    recorded.update(version=mirror.put(mirror_path, value),
                                    rotation=rotation.id, **stored_in(mirror))
        rotation.parity = not self._out_of_parity(spec, value)
        if not rotation.parity:
            raise RotationError(f"{rotation.key}: a mirror does not hold the published value "
                                "after writing it (compared by keyed hash)")
        return {"mirrors": len(spec.mirrors), "parity": True}

    def _out_of_parity(self, spec: RotationSpec, value: str) -> list[str]:
        """Mirrors whose current value differs from ``value`` (compared by keyed hash)."""
        import hmac

        key = self.store.derive_key(HMAC_PURPOSE)
        expected = hmac.digest(key, canonical(value), "sha256")
        differ = []
        for ref in spec.mirrors:
            mirror, mirror_path = self._locate(ref, spec.key)
            held, _ = stores.current(mirror, mirror_path)
            if held is None or not hmac.compare_digest(
                    expected, hmac.digest(key, canonical(held), "sha256")):
                differ.append(f"{mirror.name}:{mirror_path}")
        return differ

    @staticmethod
    def _managed_old_role(rotation: Rotation, spec: RotationSpec) -> bool:
        """The replaced role is one of the pair: a hand-made credential's role (the first
        rotation's) is left alone, it may serve others."""
        return (spec.strategy is Strategy.ALTERNATING_USERS and spec.target is not None
                and rotation.old_user in spec.target.users)

    def _retire(self, rotation: Rotation, spec: RotationSpec) -> dict[str, Any]:
        detail: dict[str, Any] = {}
        if spec.target is not None:
            admin = self._admin(spec)
            if self._managed_old_role(rotation, spec):
                assert rotation.old_user is not None
                admin.retire(rotation.old_user)
                detail["role"] = rotation.old_user
            if rotation.emergency is not None and rotation.old_user:
                detail["sessions_ended"] = admin.end_sessions(rotation.old_user)
        provider, path = self._primary(rotation.key)
        dropped = stores.drop_previous(provider, path, rotation.base_version)
        if dropped and stored_in(provider):
            # The embedded store's replaced version was deleted: `audit verify` then reports
            # it live again (a row edited back to the leaked value) as it does for `secret rm`.
            detail.update(versions=dropped, **stored_in(provider))
        return detail

    def _undo(self, rotation: Rotation) -> None:
        """Before publish: drop what was staged, put a re-keyed role back (audited)."""
        spec = self.config.spec(rotation.key)
        try:
            provider, path = self._primary(rotation.key)
            stores.discard_pending(provider, path, rotation.id)
        except VaultlineError as exc:
            self._audit(rotation, "undo", outcome=audit.FAILED, reason=type(exc).__name__)
        if Step.SET not in rotation.steps or spec.target is None or rotation.new_user is None:
            return
        try:
            admin = self._admin(spec)
            if spec.strategy is Strategy.ALTERNATING_USERS:
                admin.retire(rotation.new_user)  # it was the unused role: leave it unusable
            else:
                provider, path = self._primary(rotation.key)
                value, _ = stores.current(provider, path)
                if value is not None:
                    old = postgres.parse_credential(value, "the current credential")
                    admin.set_password(rotation.new_user, old["password"])
            self._audit(rotation, "undo", role=rotation.new_user)
        except VaultlineError as exc:
            self._audit(rotation, "undo", outcome=audit.FAILED, reason=type(exc).__name__)

    # -- looking ----------------------------------------------------------------------------

    def _due(self, spec: RotationSpec, latest: Rotation | None) -> Due:
        published = self._last_published(latest)
        if published is None:
            return Due.NO_POLICY if self.policy.rule_for(spec.key_class, self.env) is None \
                else Due.DUE
        return self.policy.status(spec.key_class, self.env, published, self.now()).state

    @staticmethod
    def _last_published(latest: Rotation | None) -> datetime | None:
        """When ``latest`` published, else when the key was published before it began."""
        if latest is None:
            return None
        published = latest.steps.get(Step.PUBLISH) or latest.published_before
        return None if published is None else datetime.fromisoformat(published)

    def status(self) -> list[KeyStatus]:
        rows = []
        for key, spec in sorted(self.config.specs.items()):
            latest = self.latest(key)
            published = self._last_published(latest)
            due = self._due(spec, latest)
            rule = self.policy.rule_for(spec.key_class, self.env)
            due_at = (published + rule.every).isoformat() if published and rule else None
            state = "never-rotated" if latest is None else latest.state
            problem = latest.error if latest is not None else None
            if latest is not None and latest.state == State.RUNNING and (
                    latest.error or self.now() - datetime.fromisoformat(latest.started)
                    > STUCK_AFTER):
                state = "stuck"
            readers = self.previous_readers(latest) if latest is not None else []
            parity = latest.parity if latest is not None else None
            if spec.mirrors and latest is not None and latest.published:
                differ = self.out_of_parity(key)
                parity = not differ
                if differ:
                    problem = problem or f"out of parity: {', '.join(differ)}"
            rows.append(KeyStatus(key, spec.key_class, spec.strategy, state, due,
                                  published.isoformat() if published else None, due_at,
                                  latest.retire_at if latest else None,
                                  latest.id if latest else None, parity, readers, problem))
        return rows

    def out_of_parity(self, key: str) -> list[str]:
        """Mirrors of ``key`` that do not hold its current value now (by keyed hash)."""
        spec = self.config.spec(key)
        provider, path = self._primary(key)
        value, _ = stores.current(provider, path)
        return self._out_of_parity(spec, value or "")

    def previous_readers(self, rotation: Rotation) -> list[str]:
        """Principals that resolved the replaced value after ``rotation`` published the new
        one: reads later in the audit log than its publish, whose value HMAC is the old one's."""
        if not rotation.published or not rotation.previous_macs:
            return []
        macs = set(rotation.previous_macs)
        readers: set[str] = set()
        published = False
        for event in self.session.audit.show(key=rotation.key, env=self.env):
            detail = event.detail or {}
            if (event.action == audit.ROTATE and detail.get("rotation") == rotation.id
                    and detail.get("step") == Step.PUBLISH and event.outcome == audit.OK):
                published = True
            elif published and event.action == audit.READ and event.value_hmac in macs:
                readers.add(event.actor)
        return sorted(readers)

    def verify(self, key: str) -> list[Verified]:
        """Does each store's current credential work? (database: it logs in; else parity)."""
        spec = self.config.spec(key)
        provider, path = self._primary(key)
        places = [(provider, path), *(self._locate(ref, key) for ref in spec.mirrors)]
        primary_value, _ = stores.current(provider, path)
        results = []
        for place, place_path in places:
            where = f"{place.name}:{place_path}"
            try:
                value, _ = stores.current(place, place_path)
            except VaultlineError as exc:
                results.append(Verified(where, False, f"cannot read: {type(exc).__name__}"))
                continue
            if value is None:
                results.append(Verified(where, False, "holds no value"))
            elif spec.target is not None:
                try:
                    problem = postgres.can_log_in(postgres.parse_credential(value, where))
                except RotationError as exc:
                    problem = str(exc)
                results.append(Verified(where, problem is None, problem))
            elif canonical(value) != canonical(primary_value or ""):
                results.append(Verified(where, False, "differs from the primary store"))
            else:
                results.append(Verified(where, True))
        self.session.audit.record(audit.ROTATE, env=self.env, key=key,
                                  reference=f"{provider.name}:{path}",
                                  outcome=audit.OK if all(r.ok for r in results) else audit.FAILED,
                                  detail={"step": "verify", "stores": len(results),
                                          "failed": sum(not r.ok for r in results)})
        return results

    def promote(self, key: str, source: Rotator) -> Rotation:
        """Rotate ``key`` here after ``source``'s environment rotated it and it soaked."""
        soaked = source.latest(key)
        if soaked is None or not soaked.published or soaked.state in (State.RUNNING,
                                                                       State.ABORTED):
            raise RotationError(f"{key} has no finished rotation in {source.env} to promote; "
                                f"run 'vaultline rotate run {key} --env {source.env}' first")
        failing = [v for v in source.verify(key) if not v.ok]
        if failing:
            raise RotationError(f"{key} in {source.env} does not verify ({failing[0].store}: "
                                f"{failing[0].problem}); not promoting")
        rotation = self.run(key)
        self._audit(rotation, "promote", source_env=source.env, source_rotation=soaked.id)
        return rotation
