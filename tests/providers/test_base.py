"""The provider base class: one read path whichever of fetch/fetch_many a provider writes."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from pathlib import Path

import pytest

from vaultline.errors import MissingSecretError, ProviderError, ProviderUnavailableError
from vaultline.providers.base import Fetched, Provider, ProviderContext, Request


def context(tmp_path: Path) -> ProviderContext:
    return ProviderContext(app="app", env="prod", root=tmp_path, environ={})


class Batch(Provider):
    """Reads only in batches, as the remote providers and the store do."""

    type = "batch"

    def __init__(self, name: str, ctx: ProviderContext):
        super().__init__(name, {}, ctx)
        self.batches: list[list[Request]] = []

    def fetch_many(self, requests: Iterable[Request]) -> dict[Request, Fetched | ProviderError]:
        wanted = list(dict.fromkeys(requests))
        self.batches.append(wanted)
        results: dict[Request, Fetched | ProviderError] = {}
        for path, version in wanted:
            if path == "absent":
                results[(path, version)] = MissingSecretError("nothing at absent",
                                                              provider=self.name, reference=path)
            elif path == "down":
                results[(path, version)] = ProviderUnavailableError("cannot reach the server",
                                                                    provider=self.name)
            else:
                results[(path, version)] = Fetched(f"value of {path}", version or "1")
        return results


class Single(Provider):
    """Reads one secret at a time, as env, file and dotenv do."""

    type = "single"

    def __init__(self, name: str, ctx: ProviderContext):
        super().__init__(name, {}, ctx)
        self.reads: list[Request] = []

    def fetch(self, path: str, version: str | None = None) -> Fetched:
        self.reads.append((path, version))
        if path == "absent":
            raise MissingSecretError("nothing at absent", provider=self.name, reference=path)
        return Fetched(path.upper())


def test_fetch_of_a_batch_provider_is_one_request_of_one(tmp_path: Path) -> None:
    provider = Batch("b", context(tmp_path))
    assert provider.fetch("db", "3") == Fetched("value of db", "3")
    assert provider.batches == [[("db", "3")]]


@pytest.mark.parametrize(("path", "error", "missing"), [
    ("absent", MissingSecretError, True),
    ("down", ProviderUnavailableError, False),
])
def test_fetch_raises_the_batch_error_as_returned(tmp_path: Path, path: str,
                                                  error: type[ProviderError], missing: bool) -> None:
    provider = Batch("b", context(tmp_path))
    with pytest.raises(error) as info:
        provider.fetch(path)
    assert info.value.missing is missing and info.value.provider == "b"


def test_fetch_many_of_a_single_provider_reads_each_distinct_request_once(tmp_path: Path) -> None:
    provider = Single("s", context(tmp_path))
    results = provider.fetch_many([("a", None), ("absent", None), ("a", None)])
    assert provider.reads == [("a", None), ("absent", None)]
    assert results[("a", None)] == Fetched("A")
    missing = results[("absent", None)]
    assert isinstance(missing, MissingSecretError) and missing.missing


def test_a_provider_must_write_one_of_the_two_reads() -> None:
    with pytest.raises(TypeError, match="must override fetch"):
        class Neither(Provider):  # would recurse between the two defaults
            type = "neither"


@pytest.mark.parametrize("target", [
    "vaultline.providers.local:LocalProvider",
    "vaultline.providers.vault:VaultProvider",
    "vaultline.providers.aws:AwsSecretsManagerProvider",
    "vaultline.providers.azure:AzureKeyVaultProvider",
])
def test_batch_providers_use_the_one_fetch(target: str) -> None:
    module, _, name = target.partition(":")
    cls = getattr(importlib.import_module(module), name)
    assert cls.fetch is Provider.fetch and cls.fetch_many is not Provider.fetch_many
