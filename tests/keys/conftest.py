from __future__ import annotations

import pytest

from tests.factory import FakeClock
from vaultline.audit import AuditLog
from vaultline.keys import KeyManager, RotationPolicy
from vaultline.store import EmbeddedStore


@pytest.fixture
def audit(store: EmbeddedStore, clock: FakeClock) -> AuditLog:
    return AuditLog.for_store(store, clock=clock)


@pytest.fixture
def keys(store: EmbeddedStore, clock: FakeClock, audit: AuditLog) -> KeyManager:
    policy = RotationPolicy.from_section({"grace": "1d", "signing": {"default": "90d"}})
    return KeyManager(store, clock=clock, audit=audit, policy=policy)
