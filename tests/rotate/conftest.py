"""Projects with a ``rotate:`` section, opened as sessions on a fake clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.factory import FakeClock, make_project
from tests.servers import PostgresServer
from vaultline.project.model import Project
from vaultline.resolve.session import Session
from vaultline.rotate import Rotator

API_PROJECT = """
    version: 1
    app: nexus-engine
    environments:
      staging: {}
      prod: {protected: true}
    rotation:
      api-key:
        default: {every: 7d, grace: 1d}
    rotate:
      Api:WebhookToken: {class: api-key, strategy: dual, generate: token:32}
      Api:Replaced: {class: api-key, strategy: replace, generate: password:24:aA0}
"""

API_SECRETS = "Api:WebhookToken: local\nApi:Replaced: local\n"


@pytest.fixture
def real_now_clock() -> FakeClock:
    """A fake clock that starts now: PostgreSQL compares VALID UNTIL with its own clock."""
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


OpenRotator = Callable[..., Rotator]


@pytest.fixture
def api_project(tmp_path: Path, master_key: dict[str, str]) -> Path:
    return make_project(tmp_path, {"vaultline.yaml": API_PROJECT,
                                   "env/prod/secrets.yaml": API_SECRETS,
                                   "env/staging/secrets.yaml": API_SECRETS},
                        environ=master_key)


@pytest.fixture
def open_rotator(master_key: dict[str, str], clock: FakeClock) -> Iterator[OpenRotator]:
    opened: list[Session] = []

    def open_(root: Path, env: str = "prod", **kwargs: object) -> Rotator:
        session = Session(Project.load(root), env,
                          environ=kwargs.pop("environ", master_key),  # type: ignore[arg-type]
                          clock=kwargs.pop("clock", clock))  # type: ignore[arg-type]
        opened.append(session)
        return Rotator(session, **kwargs)  # type: ignore[arg-type]

    yield open_
    for session in opened:
        session.close()


def pg_project(root: Path, postgres: PostgresServer, environ: dict[str, str], *,
               strategy: str = "alternating-users", users: str = "[app_a, app_b]",
               grace: str = "1h", mirrors: str = "[]", extra_providers: str = "") -> Path:
    """A project rotating ``ConnectionStrings:Primary`` against the ``postgres`` fixture.

    The roles are created fresh (no password); the admin credential is stored as a JSON map.
    """
    import json

    names = [u.strip() for u in users.strip("[]").split(",")]
    for name in names:
        postgres.create_role(name)
    target = (f"{{type: postgres, admin: 'local:shared/pg-admin', users: {users}, "
              f"grace: {grace}}}")
    make_project(root, {
        "vaultline.yaml": f"""
            version: 1
            app: nexus-engine
            environments:
              staging: {{}}
              prod: {{protected: true}}
            providers:
              local: {{type: local}}
            {extra_providers}
            rotation:
              db-credentials:
                default: 30d
            rotate:
              ConnectionStrings:Primary:
                class: db-credentials
                strategy: {strategy}
                target: {target}
                mirrors: {mirrors}
        """,
        "env/prod/secrets.yaml": "ConnectionStrings:Primary: local#url\n",
        "env/staging/secrets.yaml": "ConnectionStrings:Primary: local#url\n",
    }, environ=environ)
    from vaultline.store import EmbeddedStore

    with EmbeddedStore.open(root / ".vaultline", environ=environ) as store:
        store.put("shared/pg-admin", json.dumps({
            "username": postgres.admin_user, "password": postgres.admin_password,
            "host": postgres.host, "port": postgres.port, "dbname": postgres.dbname}).encode())
    return root
