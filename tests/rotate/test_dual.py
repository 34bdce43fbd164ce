"""Dual-key API keys in the embedded store: both verify during the grace, only current after."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factory import FakeClock, write
from tests.rotate.conftest import OpenRotator
from vaultline.api import load
from vaultline.errors import ResolutionError
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
