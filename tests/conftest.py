"""Session fixtures for real servers (the process management is in ``tests/servers.py``).

- ``openbao``: a ``bao server -dev`` with a KV v2 mount ``kv``; ``.url``, ``.token`` (root),
  ``.env`` (BAO_ADDR/VAULT_ADDR/BAO_TOKEN/VAULT_TOKEN), ``.api(method, path, body)``, ``.bao(*args)``.
- ``moto_server``: a ``moto_server``; ``.endpoint_url``. Fake AWS credentials are set in the
  environment for the whole session (``servers.FAKE_AWS_ENV``).
- ``postgres``: a PostgreSQL cluster (initdb as the ``postgres`` user, fsync off, loopback);
  ``.dsn`` (the superuser ``admin``), ``.dsn_for(user, password)``, ``.create_role(name, pw)``,
  ``.execute(sql)``, ``.log_path`` (every statement is logged).

Also the everyday fixtures: ``environ`` (a fresh master key), ``store`` (an embedded store
made with it) and ``clock`` (a :class:`tests.factory.FakeClock`).

Under pytest-xdist every worker starts its own servers. A server that fails to start is a
test error, never a skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factory import FakeClock, master_key_env
from tests.servers import (
    FAKE_AWS_ENV,
    BaoServer,
    MotoServer,
    PostgresServer,
    bao_dev,
    moto,
    postgres_cluster,
)
from vaultline.store import EmbeddedStore


@pytest.fixture
def environ() -> dict[str, str]:
    """An environment holding a fresh master key (pass it where a store is opened)."""
    return master_key_env()


@pytest.fixture
def master_key(environ: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """``environ``'s master key, also set in this process's environment."""
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return environ


@pytest.fixture
def store(tmp_path: Path, environ: dict[str, str]) -> Iterator[EmbeddedStore]:
    created, _ = EmbeddedStore.create(tmp_path / ".vaultline", environ=environ)
    with created:
        yield created


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


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


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    with postgres_cluster(tmp_path_factory.mktemp("postgres")) as server:
        yield server


@pytest.fixture(scope="session", autouse=True)
def dev_null_survives() -> Iterator[None]:
    """A tool told to write to /dev/null once replaced it with a regular file for the whole
    machine; fail loudly if anything in the suite does that again."""
    import stat

    yield
    assert stat.S_ISCHR(Path("/dev/null").stat().st_mode), "/dev/null is no longer a device"
