"""A rotation's record and the stage machine it walks.

A rotated credential moves ``pending -> current -> previous -> retired``. One rotation walks
the steps below in order, each recorded (with its time) once done, so a crash leaves a record
that says exactly where to pick up:

    plan -> create -> set -> test -> publish -> mirror -> retire

Before ``publish`` nothing a consumer resolves has changed: a failure there discards the
pending value (``aborted``). From ``publish`` on the new value is current, so the only way is
forward (``resume``). After ``mirror`` the rotation waits out its grace (``grace``) and
``retire`` ends the replaced credential (``done``).
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from vaultline.errors import RotationError

FORMAT_VERSION = 2  # 2: published_before; version 1 records are read as they are


class Step(enum.StrEnum):
    PLAN = "plan"
    CREATE = "create"
    SET = "set"
    TEST = "test"
    PUBLISH = "publish"
    MIRROR = "mirror"
    RETIRE = "retire"


STEPS: tuple[Step, ...] = tuple(Step)
BEFORE_PUBLISH: frozenset[Step] = frozenset({Step.PLAN, Step.CREATE, Step.SET, Step.TEST})


class State(enum.StrEnum):
    RUNNING = "running"  # some steps up to mirror are still to do
    GRACE = "grace"  # published and mirrored; the replaced credential retires at retire_at
    DONE = "done"
    ABORTED = "aborted"  # failed or aborted before publish: nothing changed


class Stage(enum.StrEnum):
    """Where a credential stands; consumers resolve ``current`` (``REF@current``)."""

    PENDING = "pending"
    CURRENT = "current"
    PREVIOUS = "previous"
    RETIRED = "retired"


@dataclass
class Rotation:
    """One rotation of one key in one environment; ``id`` keys every step (AWS token)."""

    id: str
    key: str
    env: str
    strategy: str
    started: str
    actor: str
    reference: str  # where the secret lives: provider:path
    base_version: str | None  # the version current at plan time (the CAS expectation)
    grace_seconds: float
    steps: dict[str, str] = field(default_factory=dict)  # step -> time done
    state: str = State.RUNNING
    pending: str | None = field(default=None, repr=False)  # the new value, until mirrored
    new_user: str | None = None
    old_user: str | None = None
    published_version: str | None = None
    retire_at: str | None = None
    previous_macs: list[str] = field(default_factory=list)  # audit HMACs of the old value
    #: When the key was last published before this rotation began: what status shows while
    #: this one has not published (running, stopped by a crash, aborted).
    published_before: str | None = None
    parity: bool | None = None
    emergency: dict[str, str] | None = None
    error: str | None = None
    v: int = FORMAT_VERSION

    def __repr__(self) -> str:
        return (f"Rotation(id={self.id!r}, key={self.key!r}, env={self.env!r}, "
                f"state={self.state!r}, last={self.last_step!r})")

    @property
    def last_step(self) -> Step | None:
        done = [s for s in STEPS if s in self.steps]
        return done[-1] if done else None

    @property
    def next_step(self) -> Step | None:
        """The next step to run, or None when nothing is left (or the grace must pass)."""
        if self.state in (State.DONE, State.ABORTED):
            return None
        for step in STEPS:
            if step not in self.steps:
                return step
        return None

    @property
    def published(self) -> bool:
        return Step.PUBLISH in self.steps

    def done(self, step: Step, when: datetime) -> None:
        expected = self.next_step
        if step is not expected:
            raise RotationError(f"rotation {self.id}: step {step} cannot follow "
                                f"{self.last_step or 'nothing'} (next is {expected or 'none'})")
        self.steps[step] = when.isoformat()
        if step is Step.MIRROR:
            self.state = State.GRACE
            self.pending = None  # current now, and held by the stores: no copy kept here
        elif step is Step.RETIRE:
            self.state = State.DONE

    def abort(self, reason: str) -> None:
        if self.published:
            raise RotationError(f"rotation {self.id} of {self.key} is already published; it can "
                                f"only go forward: vaultline rotate resume {self.id}")
        self.state = State.ABORTED
        self.pending = None
        self.error = reason

    def to_json(self) -> bytes:
        # Saved after every step: a shallow field copy, not asdict's deep one.
        return json.dumps({f.name: getattr(self, f.name) for f in fields(self)},
                          sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Rotation:
        data: dict[str, Any] = json.loads(raw)
        if data.get("v") not in (1, FORMAT_VERSION):
            raise RotationError(f"rotation record format {data.get('v')!r} is not "
                                f"{FORMAT_VERSION}; upgrade vaultline")
        return cls(**{**data, "v": FORMAT_VERSION})
