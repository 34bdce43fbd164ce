"""Crash after every step, then resume; CAS conflicts; mirrors on a real OpenBao; AWS stages on moto."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factory import FakeClock, make_project
from tests.rotate.conftest import OpenRotator
from tests.servers import BaoServer, MotoServer
from vaultline.errors import ProviderError
from vaultline.rotate import Rotation, RotationError, State, Step, stores

KEY = "Api:WebhookToken"
PATH = "nexus-engine/prod/Api/WebhookToken"


class Crash(BaseException):
    """The process dying mid-rotation: nothing after it runs, no clean-up."""


def _project(root: Path, environ: dict[str, str], openbao: BaoServer, primary: str = "local",
             mirrors: str = "['bao:mirror/webhook']") -> Path:
    return make_project(root, {
        "vaultline.yaml": f"""
            version: 1
            app: nexus-engine
            environments: [staging, prod]
            providers:
              bao: {{type: vault, url: "{openbao.url}", mount: kv, prefix: "{{app}}/{{env}}"}}
            rotation:
              api-key: {{default: {{every: 7d, grace: 1d}}}}
            rotate:
              {KEY}: {{class: api-key, strategy: dual, generate: token:32, mirrors: {mirrors}}}
        """,
        "env/prod/secrets.yaml": f"{KEY}: {primary}\n",
    }, environ=environ)


@pytest.fixture
def bao_environ(master_key: dict[str, str], openbao: BaoServer) -> dict[str, str]:
    return {**master_key, **openbao.env}


def _crash_after(target: Step) -> object:
    def hook(rotation: Rotation, step: Step) -> None:
        if step is target:
            raise Crash(step)
    return hook


@pytest.mark.parametrize("step", [Step.PLAN, Step.CREATE, Step.SET, Step.TEST, Step.PUBLISH,
                                  Step.MIRROR])
def test_crash_after_each_step_then_resume_publishes_once_with_mirror_parity(
        step: Step, tmp_path: Path, openbao: BaoServer, bao_environ: dict[str, str],
        open_rotator: OpenRotator) -> None:
    root = _project(tmp_path, bao_environ, openbao, mirrors=f"['bao:crash-{step}/webhook']")
    first = open_rotator(root, environ=bao_environ)
    first.store.put(PATH, b"key-before-rotation")
    with pytest.raises(Crash):
        open_rotator(root, environ=bao_environ, on_step=_crash_after(step)).run(KEY)
    again = open_rotator(root, environ=bao_environ)  # a new process: only the records survive
    [stopped] = [r for r in [again.latest(KEY)] if r is not None]
    assert stopped.last_step is step
    assert stopped.state == (State.GRACE if step is Step.MIRROR else State.RUNNING)
    done = again.resume(stopped.id)
    assert done.state == State.GRACE and done.parity is True
    versions = [v.version for v in again.store.versions(PATH)]
    assert versions == [1, 2]  # published exactly once, whatever step it stopped after
    assert again.store.get(PATH).text() != "key-before-rotation"
    assert [v.ok for v in again.verify(KEY)] == [True, True]  # the mirror holds the same value


def test_crash_inside_publish_after_the_write_does_not_write_twice(
        tmp_path: Path, openbao: BaoServer, bao_environ: dict[str, str],
        open_rotator: OpenRotator, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path, bao_environ, openbao, mirrors="['bao:inside/webhook']")
    real = stores.publish

    def publish_then_die(*args: object, **kwargs: object) -> str:
        real(*args, **kwargs)  # type: ignore[arg-type]
        raise Crash("after the write, before it was recorded")

    monkeypatch.setattr(stores, "publish", publish_then_die)
    with pytest.raises(Crash):
        open_rotator(root, environ=bao_environ).run(KEY)
    monkeypatch.setattr(stores, "publish", real)
    again = open_rotator(root, environ=bao_environ)
    stopped = again.latest(KEY)
    assert stopped is not None and stopped.last_step is Step.TEST
    assert again.resume(stopped.id).state == State.GRACE
    assert [v.version for v in again.store.versions(PATH)] == [1]


def test_crash_between_publish_and_mirror_shows_out_of_parity_until_resumed(
        tmp_path: Path, openbao: BaoServer, bao_environ: dict[str, str],
        open_rotator: OpenRotator) -> None:
    root = _project(tmp_path, bao_environ, openbao, mirrors="['bao:between/webhook']")
    with pytest.raises(Crash):
        open_rotator(root, environ=bao_environ, on_step=_crash_after(Step.PUBLISH)).run(KEY)
    again = open_rotator(root, environ=bao_environ)
    [status] = again.status()
    assert status.state == "running" and status.parity is False
    assert "out of parity: bao:between/webhook" in (status.problem or "")
    assert [v.ok for v in again.verify(KEY)] == [True, False]  # the mirror is behind
    assert again.resume(status.rotation or "").parity is True
    assert [v.ok for v in again.verify(KEY)] == [True, True]
    assert [s.parity for s in again.status()] == [True]


@pytest.mark.parametrize("primary", ["local", "bao"])
def test_a_write_between_plan_and_publish_is_a_cas_conflict_that_changes_nothing(
        primary: str, tmp_path: Path, openbao: BaoServer, bao_environ: dict[str, str],
        open_rotator: OpenRotator) -> None:
    root = _project(tmp_path, bao_environ, openbao, primary=f"{primary}:cas-{primary}/webhook",
                    mirrors="[]")
    rotator = open_rotator(root, environ=bao_environ)
    provider, path = rotator._primary(KEY)
    provider.put(path, "written-before")

    def someone_writes(rotation: Rotation, step: Step) -> None:
        if step is Step.TEST:
            provider.put(path, "written-by-someone-else")

    rotator.on_step = someone_writes
    with pytest.raises(RotationError, match="before publish; nothing was changed"):
        rotator.run(KEY)
    assert stores.current(provider, path)[0] == "written-by-someone-else"
    latest = rotator.latest(KEY)
    assert latest is not None and latest.state == State.ABORTED and latest.pending is None


def test_aws_stages_move_and_the_fence_refuses_a_stale_rotation(
        tmp_path: Path, moto_server: MotoServer, master_key: dict[str, str],
        open_rotator: OpenRotator, clock: FakeClock) -> None:
    name = "nexus-engine/prod/webhook-fence"
    root = make_project(tmp_path, {
        "vaultline.yaml": f"""
            version: 1
            app: nexus-engine
            environments: [prod]
            providers:
              aws: {{type: aws-secretsmanager, region: us-east-1,
                     endpoint_url: "{moto_server.endpoint_url}"}}
            rotation:
              api-key: {{default: {{every: 7d, grace: 1d}}}}
            rotate:
              {KEY}: {{class: api-key, strategy: dual, generate: token:32}}
        """,
        "env/prod/secrets.yaml": f"{KEY}: aws:{name}\n",
    }, environ=master_key)
    rotator = open_rotator(root)
    provider, path = rotator._primary(KEY)
    original = provider.put(path, "aws-original-key")
    rotation = rotator.run(KEY)
    stages = provider.stages(path)  # type: ignore[attr-defined]
    assert stages[rotation.id] == ["AWSCURRENT"] and stages[original] == ["AWSPREVIOUS"]
    assert provider.fetch(path, "previous").value == "aws-original-key"
    assert provider.fetch(path, "current").version == rotation.id  # the ClientRequestToken
    clock.advance(days=2)
    rotator.retire(KEY)
    assert "AWSPREVIOUS" not in provider.stages(path).get(original, [])  # type: ignore[attr-defined]

    def someone_rotates(r: Rotation, step: Step) -> None:
        if step is Step.TEST:
            provider.put(path, "moved-behind-our-back")  # AWSCURRENT moves away from base

    rotator.on_step = someone_rotates
    with pytest.raises(RotationError, match="AWSCURRENT moved"):
        rotator.run(KEY)
    assert provider.fetch(path).value == "moved-behind-our-back"
    staged = provider.stages(path)  # type: ignore[attr-defined]
    assert not any("AWSPENDING" in labels for labels in staged.values())  # nothing left stuck


def test_kv2_stage_labels_follow_the_rotation(
        tmp_path: Path, openbao: BaoServer, bao_environ: dict[str, str],
        open_rotator: OpenRotator, clock: FakeClock) -> None:
    root = _project(tmp_path, bao_environ, openbao, primary="bao:labels/webhook", mirrors="[]")
    rotator = open_rotator(root, environ=bao_environ)
    provider, path = rotator._primary(KEY)
    provider.put(path, "kv-original")
    rotator.run(KEY)
    current = provider.fetch(path, "current")
    assert provider.fetch(path, "previous").value == {"value": "kv-original"}
    assert current.value != {"value": "kv-original"} and current.version == "2"
    clock.advance(days=2)
    rotator.retire(KEY)
    with pytest.raises(ProviderError, match="deleted"):
        provider.fetch(path, "previous")
