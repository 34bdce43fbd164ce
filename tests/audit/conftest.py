from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.audit.audit_helpers import FakeClock
from vaultline.audit import AuditLog
from vaultline.store import EmbeddedStore


@pytest.fixture
def environ() -> dict[str, str]:
    return {"VAULTLINE_MASTER_KEY": base64.b64encode(os.urandom(32)).decode()}


@pytest.fixture
def store(tmp_path: Path, environ: dict[str, str]) -> Iterator[EmbeddedStore]:
    created, _ = EmbeddedStore.create(tmp_path / ".vaultline", environ=environ)
    with created:
        yield created


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def log(store: EmbeddedStore, clock: FakeClock) -> AuditLog:
    return AuditLog.for_store(store, clock=clock)
