"""Projects with a ``rotate:`` section, opened as sessions on a fake clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.factory import FakeClock, make_project
from vaultline.project import Project
from vaultline.rotate import Rotator
from vaultline.session import Session

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
        session = Session(Project.load(root), env, environ=master_key,
                          clock=kwargs.pop("clock", clock))  # type: ignore[arg-type]
        opened.append(session)
        return Rotator(session, **kwargs)  # type: ignore[arg-type]

    yield open_
    for session in opened:
        session.close()
