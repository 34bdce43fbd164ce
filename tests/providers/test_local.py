from __future__ import annotations

from pathlib import Path

import pytest

from vaultline.errors import ProviderError
from vaultline.providers.base import Fetched, ProviderContext
from vaultline.providers.local import LocalProvider
from vaultline.store import EmbeddedStore


@pytest.fixture
def local(store: EmbeddedStore, environ: dict[str, str]) -> LocalProvider:
    store.put("app/prod/A", b"a1")
    store.put("app/prod/A", b"a2")
    store.put("app/prod/Binary", b"\xff\xfe")
    context = ProviderContext("app", "prod", store.directory.parent, environ,
                              store_dir=Path(store.directory.name))
    return LocalProvider("local", {}, context)


def test_fetch_many_answers_every_request(local: LocalProvider) -> None:
    requests = [("app/prod/A", None), ("/app/prod/A/", None), ("app/prod/A", "1"),
                ("app/prod/A", "x"), ("app/prod/A", "9"), ("app/prod/Missing", None),
                ("app/prod/Binary", None)]
    found = local.fetch_many(requests)
    assert set(found) == set(requests)
    assert found[("app/prod/A", None)] == Fetched("a2", "2")
    assert found[("/app/prod/A/", None)] == Fetched("a2", "2")
    assert found[("app/prod/A", "1")] == Fetched("a1", "1")
    errors = {request: result for request, result in found.items()
              if isinstance(result, ProviderError)}
    assert set(errors) == {("app/prod/A", "x"), ("app/prod/A", "9"), ("app/prod/Missing", None),
                           ("app/prod/Binary", None)}
    assert all(error.provider == "local" for error in errors.values())
    assert "versions are numbers" in str(errors[("app/prod/A", "x")])
    assert "not UTF-8" in str(errors[("app/prod/Binary", None)])
    assert "no secret" in str(errors[("app/prod/Missing", None)])
    local.close()


def test_fetch_one_raises_the_error(local: LocalProvider) -> None:
    assert local.fetch("app/prod/A", "1").value == "a1"
    with pytest.raises(ProviderError, match="no secret"):
        local.fetch("app/prod/Nope")
    local.close()


def test_a_shared_store_is_used_only_for_its_own_directory_and_left_open(
        local: LocalProvider, store: EmbeddedStore, tmp_path: Path,
        environ: dict[str, str]) -> None:
    other, _ = EmbeddedStore.create(tmp_path / "other-store", environ=environ)
    local.share(other)  # another directory: this provider opens its own store
    assert local.store is not other
    local.close()
    local.share(store)  # its own directory: read through the caller's connection
    assert local.store is store
    assert local.fetch("app/prod/A") == Fetched("a2", "2")
    local.close()
    assert store.get("app/prod/A").text() == "a2"  # still open: the caller closes it
    other.close()
