"""Environment drift in Azure Key Vault (the provider tests' local HTTPS Key Vault subset):
the naming root is a name prefix (``app--env--``), not a folder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factory import make_project
from tests.providers.azure_fake import FakeCredential, FakeKeyVault, fake_key_vault
from vaultline.drift import check_environment
from vaultline.project.model import Project
from vaultline.providers import registry
from vaultline.providers.base import Provider, ProviderConfig, ProviderContext
from vaultline.resolve.session import Session


@pytest.fixture(scope="module")
def akv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeKeyVault]:
    with fake_key_vault(tmp_path_factory.mktemp("akv")) as server:
        yield server


def test_missing_and_orphaned_by_name_prefix(akv: FakeKeyVault, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    akv.set("nexus-engine--prod--connectionstrings--primary", "canary-akv-1")
    akv.set("nexus-engine--prod--left-over", "canary-akv-2")
    akv.set("nexus-engine--production--x", "canary-akv-3")  # another env sharing a prefix
    akv.set("nexus-engine--dev--connectionstrings--primary", "canary-akv-4")
    root = make_project(tmp_path, {
        "vaultline.yaml": """
            version: 1
            app: nexus-engine
            environments: [dev, prod]
            providers:
              akv: {type: azure-keyvault, vault_url: "https://nexus.vault.azure.net"}
        """,
        "env/prod/secrets.yaml": "ConnectionStrings:Primary: akv\nAI:ApiKey: akv\n",
    })
    create = registry.create

    def local_endpoint(config: ProviderConfig, context: ProviderContext) -> Provider:
        # The credential and CA are code-only options: point the provider at the fake here.
        if config.type != "azure-keyvault":
            return create(config, context)
        options = {"vault_url": akv.url, "credential": FakeCredential(akv.token),
                   "connection_verify": str(akv.ca_cert), "verify_challenge_resource": False}
        return create(ProviderConfig(config.name, config.type, options), context)

    monkeypatch.setattr(registry, "create", local_endpoint)
    with Session(Project.load(root), "prod", environ={}) as session:
        report = check_environment(session)
    assert {(i.kind, i.key, i.path.rsplit("/", 1)[-1]) for i in report.items} == {
        ("missing", "AI:ApiKey", "nexus-engine--prod--ai--apikey"),
        ("orphaned", None, "nexus-engine--prod--left-over"),
    }
    assert "canary-akv" not in json.dumps(report.to_dict())
