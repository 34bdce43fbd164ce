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
