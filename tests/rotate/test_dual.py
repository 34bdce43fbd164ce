"""Dual-key API keys in the embedded store: both verify during the grace, only current after."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factory import FakeClock, write
from tests.rotate.conftest import OpenRotator
from vaultline.errors import ResolutionError
from vaultline.resolve.api import load
from vaultline.rotate import RotationError, State


def _resolve(root: Path, refs: str, environ: dict[str, str]) -> dict[str, str]:
    write(root, {"env/prod/secrets.yaml": refs})
    bundle = load(env="prod", project_dir=root, environ=environ)
    return {k: str(v) for k, v in bundle.flat().items() if k.startswith("Api:")}


def test_previous_key_verifies_during_grace_and_not_after(
        api_project: Path, open_rotator: OpenRotator, clock: FakeClock,
        master_key: dict[str, str]) -> None:
    rotator = open_rotator(api_project)
    first = rotator.run("Api:WebhookToken")
    assert first.state == State.GRACE  # the first rotation has nothing to retire, but a grace
    clock.advance(days=2)
    rotator.retire("Api:WebhookToken")
    old_key = rotator.store.get("nexus-engine/prod/Api/WebhookToken").text()
    second = rotator.run("Api:WebhookToken")
    new_key = rotator.store.get("nexus-engine/prod/Api/WebhookToken").text()
    assert new_key != old_key and second.state == State.GRACE
    both = _resolve(api_project, "Api:WebhookToken: local@current\nApi:Previous: "
                    "local:nexus-engine/prod/Api/WebhookToken@previous\n", master_key)
    assert both == {"Api:WebhookToken": new_key, "Api:Previous": old_key}
    clock.advance(hours=23)
    with pytest.raises(RotationError, match="grace"):
        rotator.retire("Api:WebhookToken")
    clock.advance(hours=2)
    done = rotator.retire("Api:WebhookToken")
    assert done.state == State.DONE
    with pytest.raises(ResolutionError, match="deleted"):
        _resolve(api_project, "Api:Previous: local:nexus-engine/prod/Api/WebhookToken@previous\n",
                 master_key)
    assert _resolve(api_project, "Api:WebhookToken: local@current\n", master_key) == {
        "Api:WebhookToken": new_key}


def test_run_due_rotates_what_is_due_and_retires_what_is_over(
        api_project: Path, open_rotator: OpenRotator, clock: FakeClock) -> None:
    rotator = open_rotator(api_project)
    first = rotator.run_due()
    assert sorted(r.key for r in first) == ["Api:Replaced", "Api:WebhookToken"]
    states = {r.key: r.state for r in first}
    assert states == {"Api:Replaced": State.DONE, "Api:WebhookToken": State.GRACE}  # no overlap
    assert rotator.run_due() == []  # nothing due, the grace still runs
    clock.advance(days=2)
    [retired] = rotator.run_due()
    assert (retired.key, retired.state) == ("Api:WebhookToken", State.DONE)
    clock.advance(days=6)
    assert sorted(r.key for r in rotator.run_due()) == ["Api:Replaced", "Api:WebhookToken"]


def test_promote_needs_a_finished_rotation_in_the_source(
        api_project: Path, open_rotator: OpenRotator) -> None:
    staging, prod = open_rotator(api_project, "staging"), open_rotator(api_project, "prod")
    with pytest.raises(RotationError, match="no finished rotation in staging"):
        prod.promote("Api:WebhookToken", staging)
    staging.run("Api:WebhookToken")
    promoted = prod.promote("Api:WebhookToken", staging)
    assert promoted.env == "prod" and promoted.state == State.GRACE
    steps = [(e.detail or {}).get("step") for e in prod.session.audit.show(action="rotate")
             if e.env == "prod"]
    assert steps[-1] == "promote"


def test_emergency_on_a_dual_key_drops_the_previous_at_once(
        api_project: Path, open_rotator: OpenRotator, clock: FakeClock) -> None:
    rotator = open_rotator(api_project)
    rotator.store.put("nexus-engine/prod/Api/WebhookToken", b"leaked-webhook-token")
    rotator.run("Api:WebhookToken")
    rotation = rotator.run("Api:WebhookToken", emergency=True, ticket="INC-9",
                           approved_by="second-person")
    assert rotation.state == State.DONE and rotation.grace_seconds == 0
    with pytest.raises(RotationError):
        rotator.retire("Api:WebhookToken")  # nothing left to retire
    live = [v for v in rotator.store.versions("nexus-engine/prod/Api/WebhookToken") if v.live]
    assert [v.version for v in live] == [3]  # the leaked and the in-grace keys are both gone


def test_every_version_a_rotation_writes_has_its_audit_line(
        api_project: Path, open_rotator: OpenRotator, clock: FakeClock) -> None:
    rotator = open_rotator(api_project)
    rotator.run("Api:WebhookToken")
    clock.advance(days=2)
    rotator.retire("Api:WebhookToken")
    rotator.run("Api:WebhookToken")
    verdict = rotator.session.audit.verify()
    assert verdict.ok, str(verdict)
