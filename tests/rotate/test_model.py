"""The stage machine: steps in order, abort only before publish, records round-trip."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from vaultline.errors import RotationError
from vaultline.rotate.model import STEPS, Rotation, State, Step

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _rotation() -> Rotation:
    return Rotation(id="r1", key="Api:Token", env="prod", strategy="dual", started=NOW.isoformat(),
                    actor="ana@host", reference="local:a/b", base_version="1", grace_seconds=60)


def test_steps_run_in_order_and_states_follow() -> None:
    rotation = _rotation()
    states = []
    for step in STEPS:
        assert rotation.next_step is step
        rotation.done(step, NOW)
        states.append(rotation.state)
    assert states == [State.RUNNING] * 5 + [State.GRACE, State.DONE]
    assert rotation.next_step is None


@pytest.mark.parametrize("skip_to", [Step.SET, Step.PUBLISH, Step.RETIRE])
def test_a_step_cannot_be_skipped(skip_to: Step) -> None:
    rotation = _rotation()
    rotation.done(Step.PLAN, NOW)
    with pytest.raises(RotationError, match="cannot follow plan"):
        rotation.done(skip_to, NOW)


def test_a_step_cannot_run_twice() -> None:
    rotation = _rotation()
    rotation.done(Step.PLAN, NOW)
    with pytest.raises(RotationError):
        rotation.done(Step.PLAN, NOW)


@pytest.mark.parametrize("last", [Step.PLAN, Step.CREATE, Step.SET, Step.TEST])
def test_abort_before_publish_discards_the_pending_value(last: Step) -> None:
    rotation = _rotation()
    for step in STEPS[:STEPS.index(last) + 1]:
        rotation.done(step, NOW)
    rotation.pending = "new-secret"
    rotation.abort("test")
    assert rotation.state == State.ABORTED and rotation.pending is None
    assert rotation.next_step is None


def test_abort_after_publish_is_refused_resume_is_the_way() -> None:
    rotation = _rotation()
    for step in STEPS[:5]:
        rotation.done(step, NOW)
    with pytest.raises(RotationError, match="rotate resume r1"):
        rotation.abort("late")


def test_the_pending_value_is_dropped_once_mirrored_and_never_in_repr() -> None:
    rotation = _rotation()
    rotation.pending = "new-secret-value"
    assert "new-secret-value" not in repr(rotation)
    for step in STEPS[:6]:
        rotation.done(step, NOW)
    assert rotation.pending is None


def test_records_round_trip_and_carry_a_version() -> None:
    rotation = _rotation()
    rotation.done(Step.PLAN, NOW)
    again = Rotation.from_json(rotation.to_json())
    assert again == rotation and again.v == 2
    with pytest.raises(RotationError, match="format"):
        Rotation.from_json(rotation.to_json().replace(b'"v": 2', b'"v": 9'))
    # A record written before published_before existed is read as it is.
    import json

    older = {k: v for k, v in json.loads(rotation.to_json()).items() if k != "published_before"}
    read = Rotation.from_json(json.dumps({**older, "v": 1}).encode())
    assert read.published_before is None and read.v == 2 and read.steps == rotation.steps
