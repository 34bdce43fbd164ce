"""The azure-keyvault provider through the real azure-keyvault-secrets client (``azure_fake``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.factory import make_project
from tests.providers.azure_fake import FakeCredential, FakeKeyVault, fake_key_vault
from vaultline.errors import (
    AuthenticationError,
    ConfigError,
    PermissionDeniedError,
    ProviderError,
    ProviderUnavailableError,
)
from vaultline.project.model import Project
from vaultline.providers.azure import AzureKeyVaultProvider, validate_name
from vaultline.providers.base import ProviderContext
from vaultline.resolve.resolver import Resolver


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeKeyVault]:
    with fake_key_vault(tmp_path_factory.mktemp("akv")) as server:
        yield server


@pytest.fixture(autouse=True)
def _clean(vault: FakeKeyVault) -> None:
    vault.secrets.clear()
    vault.requests.clear()
    vault.fail_next.clear()
    vault.forbidden.clear()
    vault.challenges = 0


def options(vault: FakeKeyVault, **extra: Any) -> dict[str, Any]:
    return {"vault_url": vault.url, "credential": FakeCredential(vault.token),
            "connection_verify": str(vault.ca_cert), "verify_challenge_resource": False,
            "retries": 2, "backoff": 0.01, **extra}


def provider(vault: FakeKeyVault, root: Path, **extra: Any) -> AzureKeyVaultProvider:
    return AzureKeyVaultProvider("akv", options(vault, **extra),
                                 ProviderContext(app="nexus-engine", env="prod", root=root, environ={}))


def test_seed_naming_and_resolution(vault: FakeKeyVault, tmp_path: Path) -> None:
    vault.set("nexus-engine--prod--connectionstrings--primary", "Server=db;Password=pw")
    vault.set("nexus-engine--prod--ai--azure-openai--api-key", "sk-azure")
    root = make_project(tmp_path, {
        "vaultline.yaml": """
            version: 1
            app: nexus-engine
            environments: [prod]
            providers:
              akv: {type: azure-keyvault, vault_url: "https://nexus.vault.azure.net"}
        """,
        "env/prod/secrets.yaml": "ConnectionStrings:Primary: akv\n"
                                 "AI:AzureOpenAI:ApiKey: akv:nexus-engine--prod--ai--azure-openai--api-key\n",
    })
    project = Project.load(root)
    with Resolver(project, "prod", environ={}) as resolver:
        rows = {r.key: r.path for r in resolver.references()}
        assert rows == {"ConnectionStrings:Primary": "nexus-engine--prod--connectionstrings--primary",
                        "AI:AzureOpenAI:ApiKey": "nexus-engine--prod--ai--azure-openai--api-key"}
        # Point the project's provider at the local endpoint (its options are code-only here).
        resolver._providers["akv"] = provider(vault, root)
        bundle = resolver.resolve()
    assert bundle["ConnectionStrings:Primary"] == "Server=db;Password=pw"
    assert bundle["AI:AzureOpenAI:ApiKey"] == "sk-azure"


def test_bearer_challenge_then_token(vault: FakeKeyVault, tmp_path: Path) -> None:
    from azure.keyvault.secrets._shared.challenge_auth_policy import ChallengeCache

    ChallengeCache.clear()  # the SDK caches a vault's challenge process-wide
    vault.set("a", "1")
    akv = provider(vault, tmp_path)
    assert akv.fetch("a").value == "1"
    # The unauthenticated probe (answered 401 + challenge), then the GET with the bearer token.
    assert vault.requests == [("GET", "/secrets/a"), ("GET", "/secrets/a")]
    assert vault.challenges == 1, "a second challenge means the token was not used"
    credential = akv.credential
    assert credential.scopes == [("https://vault.azure.net/.default",)]
    assert akv.identity == "azure:ci@nexus.example"


def test_versions_set_and_list(vault: FakeKeyVault, tmp_path: Path) -> None:
    akv = provider(vault, tmp_path)
    first = akv.put("api-key", "v1")
    second = akv.put("api-key", "v2")
    assert akv.fetch("api-key").value == "v2"
    assert akv.fetch("api-key").version == second
    assert akv.fetch("api-key", first).value == "v1"
    assert akv.versions("api-key") == [first, second]
    akv.put("other", "x")
    assert akv.list_paths() == ["api-key", "other"]
    assert akv.list_paths("api") == ["api-key"]
    with pytest.raises(ConfigError, match="no check-and-set"):
        akv.put("api-key", "v3", cas=1)


def test_fetch_many_once_per_distinct_request(vault: FakeKeyVault, tmp_path: Path) -> None:
    for i in range(12):
        vault.set(f"s{i}", f"value-{i}")
    akv = provider(vault, tmp_path, max_workers=4)
    results = akv.fetch_many([(f"s{i % 12}", None) for i in range(36)] + [("missing", None)])
    assert len(results) == 13 and vault.calls == 13
    assert results[("s5", None)].value == "value-5"  # type: ignore[union-attr]
    missing = results[("missing", None)]
    assert isinstance(missing, ProviderError) and "nothing at secret missing" in str(missing)


@pytest.mark.parametrize(("name", "why"), [
    ("has_underscore", "contains '_'"),
    ("x" * 128, "128 characters"),
    ("dots.in.name", "contains '.'"),
])
def test_invalid_names_are_refused_before_any_request(vault: FakeKeyVault, tmp_path: Path,
                                                      name: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why):
        validate_name(name)
    akv = provider(vault, tmp_path)
    with pytest.raises(ProviderError, match="letters, digits and dashes"):
        akv.fetch(name)
    assert vault.requests == []
    assert validate_name("x" * 127)


def test_throttling_and_5xx_are_retried(vault: FakeKeyVault, tmp_path: Path) -> None:
    vault.set("a", "1")
    akv = provider(vault, tmp_path)
    akv.fetch("a")  # handshake done
    vault.fail_next[:] = [429, 503]
    assert akv.fetch("a").value == "1"
    assert vault.calls == 4
    vault.fail_next[:] = [503, 503, 503]
    with pytest.raises(ProviderUnavailableError, match="after 3 attempts"):
        akv.fetch("a")


def test_denied_and_missing_are_not_retried(vault: FakeKeyVault, tmp_path: Path) -> None:
    vault.set("locked", "1")
    vault.forbidden.add("locked")
    akv = provider(vault, tmp_path)
    with pytest.raises(PermissionDeniedError, match="access denied to secret locked"):
        akv.fetch("locked")
    with pytest.raises(ProviderError, match="nothing at"):
        akv.fetch("absent")
    assert vault.calls == 2


def test_wrong_token_is_an_authentication_error(vault: FakeKeyVault, tmp_path: Path) -> None:
    akv = provider(vault, tmp_path, credential=FakeCredential("not-the-token"))
    with pytest.raises(AuthenticationError) as info:
        akv.fetch("a")
    assert "not-the-token" not in str(info.value)


def test_untrusted_certificate_and_unreachable(vault: FakeKeyVault, tmp_path: Path) -> None:
    from tests.servers import free_port

    akv = provider(vault, tmp_path, connection_verify=True)  # system CAs do not know the fake
    with pytest.raises(ProviderUnavailableError):
        akv.fetch("a")
    gone = provider(vault, tmp_path, vault_url=f"https://127.0.0.1:{free_port()}")
    with pytest.raises(ProviderUnavailableError, match="cannot reach"):
        gone.fetch("a")


def test_vault_url_must_be_https(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="https://"):
        AzureKeyVaultProvider("akv", {"vault_url": "http://x"},
                              ProviderContext(app="a", env="e", root=tmp_path, environ={}))


def test_a_credential_chain_failure_names_the_credential_that_stopped_it() -> None:
    from vaultline.providers.azure import _credential_failure

    summary = ("DefaultAzureCredential failed to retrieve a token from the included credentials.\n"
               "Attempted credentials:\n"
               "\tEnvironmentCredential: EnvironmentCredential authentication unavailable.\n"
               "\tManagedIdentityCredential: 169.254.169.254 answered more than the limit\n"
               "To mitigate this issue, please refer to the troubleshooting guidelines.")
    assert _credential_failure(summary) == (
        "ManagedIdentityCredential: 169.254.169.254 answered more than the limit")
    none_found = summary.replace("169.254.169.254 answered more than the limit",
                                 "ManagedIdentityCredential authentication unavailable.")
    assert _credential_failure(none_found) == none_found  # nothing failed: the whole story
    assert _credential_failure("401: the vault refused the token") == (
        "401: the vault refused the token")
