"""Azure Key Vault has no check-and-set: the publish compares and writes under a store lock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factory import make_project
from tests.providers.azure_fake import FakeKeyVault, fake_key_vault
from tests.providers.test_azure import provider as azure_provider
from tests.rotate.conftest import OpenRotator
from vaultline.errors import RotationError
from vaultline.rotate import Rotation, State, Step

KEY = "Api:WebhookToken"
NAME = "nexus-engine--prod--api--webhook-token"


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeKeyVault]:
    with fake_key_vault(tmp_path_factory.mktemp("akv")) as server:
        yield server


def test_publish_under_the_lock_and_previous_resolves(
        tmp_path: Path, vault: FakeKeyVault, master_key: dict[str, str],
        open_rotator: OpenRotator) -> None:
    root = make_project(tmp_path, {
        "vaultline.yaml": f"""
            version: 1
            app: nexus-engine
            environments: [prod]
            providers:
              akv: {{type: azure-keyvault, vault_url: "{vault.url}"}}
            rotate:
              {KEY}: {{class: api-key, strategy: dual, generate: token:32}}
        """,
        "env/prod/secrets.yaml": f"{KEY}: akv:{NAME}\n",
    }, environ=master_key)
    rotator = open_rotator(root)
    akv = rotator._providers["akv"] = azure_provider(vault, root)
    vault.set(NAME, "azure-original")
    rotation = rotator.run(KEY)
    assert rotation.state == State.GRACE
    assert akv.fetch(NAME, "previous").value == "azure-original"
    assert akv.fetch(NAME, "current").value not in ("azure-original", None)
    lock = json.loads(rotator.store.get(f"_vaultline/locks/akv/{NAME}").value)
    assert lock == {"holder": None}  # released

    rotator.retire(KEY, force=True)

    def someone_writes(r: Rotation, step: Step) -> None:
        if step is Step.TEST:
            vault.set(NAME, "written-behind-our-back")

    rotator.on_step = someone_writes
    with pytest.raises(RotationError, match="written since the rotation read it"):
        rotator.run(KEY)
    assert akv.fetch(NAME).value == "written-behind-our-back"
