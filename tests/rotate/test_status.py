"""``rotate status`` and ``check``: who still resolves the previous value; overdue, stuck, parity."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factory import FakeClock
from tests.rotate.conftest import OpenRotator
from vaultline.check.gate import run_checks
from vaultline.project.model import Project
from vaultline.resolve.session import Session
from vaultline.rotate import Rotation, Step

KEY = "Api:WebhookToken"


def _resolve_as(root: Path, environ: dict[str, str], secrets: str, actor: str) -> None:
    (root / "env/prod/secrets.yaml").write_text(secrets)
    with Session(Project.load(root), "prod", environ=environ) as session:
        session.audit._actor = actor  # another principal, as its own audit line says
        session.resolve()


def test_status_names_the_principals_that_still_resolved_previous(
        api_project: Path, open_rotator: OpenRotator, master_key: dict[str, str],
        clock: FakeClock) -> None:
    rotator = open_rotator(api_project)
    rotator.store.put("nexus-engine/prod/Api/WebhookToken", b"the-old-webhook-token")
    _resolve_as(api_project, master_key, f"{KEY}: local\n", "early-reader@ci")  # before
    rotation = rotator.run(KEY)
    _resolve_as(api_project, master_key, f"{KEY}: local@previous\n", "billing@web-1")
    _resolve_as(api_project, master_key, f"{KEY}: local@current\n", "search@web-2")
    assert rotator.previous_readers(rotation) == ["billing@web-1"]
    [status] = [s for s in rotator.status() if s.key == KEY]
    assert status.previous_readers == ["billing@web-1"] and status.state == "grace"


def test_check_fails_on_an_overdue_and_on_a_stuck_rotation(
        api_project: Path, open_rotator: OpenRotator, master_key: dict[str, str],
        clock: FakeClock) -> None:
    rotator = open_rotator(api_project)
    rotator.store.put("nexus-engine/prod/Api/WebhookToken", b"token-a")
    rotator.store.put("nexus-engine/prod/Api/Replaced", b"token-b")
    rotator.run(KEY)
    rotator.run("Api:Replaced")

    def findings() -> list[tuple[str, str, str]]:
        with Session(Project.load(api_project), "prod", environ=master_key,
                     clock=clock) as session:
            return [(f.severity, f.key, f.problem) for f in run_checks(session, "prod")
                    if f.check == "rotation"]

    assert findings() == []
    clock.advance(days=8)  # every 7d, and overdue a tenth of that (16.8h) later
    found = findings()
    assert ("error", KEY) in {(s, k) for s, k, _ in found}
    assert any("overdue" in p for _, _, p in found)

    class Crash(BaseException):
        pass

    def crash(rotation: Rotation, step: Step) -> None:
        if step is Step.PUBLISH:
            raise Crash

    rotator.on_step = crash
    clock.advance(days=2)
    rotator.retire(KEY)
    with pytest.raises(Crash):
        rotator.run(KEY)
    clock.advance(minutes=20)
    assert any("stuck" in p and "rotate resume" in p for _, k, p in findings() if k == KEY)


@pytest.mark.parametrize("then", ["stopped", "aborted"])
def test_a_rotation_that_has_not_published_keeps_the_last_rotated_date(
        api_project: Path, open_rotator: OpenRotator, master_key: dict[str, str],
        clock: FakeClock, then: str) -> None:
    # A rotation stopped by a crash (or aborted) before it published made status say
    # "never rotated" and the key due, though the one before it had published.
    rotator = open_rotator(api_project)
    rotator.store.put("nexus-engine/prod/Api/Replaced", b"token-b")
    first = rotator.run("Api:Replaced")
    published = first.steps[Step.PUBLISH]
    clock.advance(days=2)  # past the 1d grace

    class Crash(BaseException):
        pass

    def crash(rotation: Rotation, step: Step) -> None:
        if step is Step.CREATE:
            raise Crash

    rotator.on_step = crash
    with pytest.raises(Crash):
        rotator.run("Api:Replaced")
    rotator.on_step = None
    stopped = rotator.latest("Api:Replaced")
    assert stopped is not None and stopped.id != first.id
    if then == "aborted":
        rotator.abort(stopped.id)
    [row] = [r for r in open_rotator(api_project).status() if r.key == "Api:Replaced"]
    assert row.rotation == stopped.id and row.state == ("aborted" if then == "aborted"
                                                         else "running")
    assert (row.last_rotated, row.due) == (published, "ok")
    with Session(Project.load(api_project), "prod", environ=master_key, clock=clock) as session:
        problems = [f.problem or "" for f in run_checks(session, "prod")
                    if f.check == "rotation" and f.key == "Api:Replaced"]
    assert not any("never rotated" in p for p in problems), problems
