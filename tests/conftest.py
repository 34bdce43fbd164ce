"""Session fixtures for real servers (the process management is in ``tests/servers.py``).

- ``openbao``: a ``bao server -dev`` with a KV v2 mount ``kv``; ``.url``, ``.token`` (root),
  ``.env`` (BAO_ADDR/VAULT_ADDR/BAO_TOKEN/VAULT_TOKEN), ``.api(method, path, body)``, ``.bao(*args)``.
- ``moto_server``: a ``moto_server``; ``.endpoint_url``. Fake AWS credentials are set in the
  environment for the whole session (``servers.FAKE_AWS_ENV``).

Under pytest-xdist every worker starts its own servers. A server that fails to start is a
test error, never a skip.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers import FAKE_AWS_ENV, BaoServer, MotoServer, bao_dev, moto


@pytest.fixture(scope="session")
def openbao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BaoServer]:
    with bao_dev(tmp_path_factory.mktemp("openbao")) as server:
        yield server


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in FAKE_AWS_ENV.items():
            patch.setenv(name, value)
        with moto(tmp_path_factory.mktemp("moto")) as server:
            yield server
