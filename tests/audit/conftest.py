from __future__ import annotations

import pytest

from tests.factory import FakeClock
from vaultline.audit import AuditLog
from vaultline.store import EmbeddedStore


@pytest.fixture
def log(store: EmbeddedStore, clock: FakeClock) -> AuditLog:
    return AuditLog.for_store(store, clock=clock)
