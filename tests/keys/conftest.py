from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vaultline.audit import AuditLog
from vaultline.keys import KeyManager, RotationPolicy
from vaultline.store import EmbeddedStore


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


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
def audit(store: EmbeddedStore, clock: FakeClock) -> AuditLog:
    return AuditLog.for_store(store, clock=clock)


@pytest.fixture
def keys(store: EmbeddedStore, clock: FakeClock, audit: AuditLog) -> KeyManager:
    policy = RotationPolicy.from_section({"grace": "1d", "signing": {"default": "90d"}})
    return KeyManager(store, clock=clock, audit=audit, policy=policy)
