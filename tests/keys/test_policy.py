"""Rotation policy: parsing with FILE:LINE errors, the due/overdue table, rotate --due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.factory import FakeClock
from vaultline.errors import ConfigError
from vaultline.keys import Due, KeyManager, RotationPolicy
from vaultline.project._yaml import load_file
from vaultline.store import EmbeddedStore

SEEDS = """\
rotation:
  grace: 7d
  signing:
    prod: 90d
    default: 30d
  encryption:
    prod: {every: 1y, grace: 30d}
  api-key:
    prod: 90d
  jwt:
    default: {every: 1d, grace: 1d, overdue_after: 6h}
"""
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def policy_from(tmp_path: Path, text: str) -> RotationPolicy:
    path = tmp_path / "vaultline.yaml"
    path.write_text(text)
    doc = load_file(path)
    return RotationPolicy.from_section(doc["rotation"], file="vaultline.yaml", line=1,
                                       environments=["dev", "staging", "prod"])


@pytest.mark.parametrize(("key_class", "env", "age", "state"), [
    ("signing", "prod", timedelta(days=89), Due.OK),        # prod signing 90 days
    ("signing", "prod", timedelta(days=90), Due.DUE),
    ("signing", "prod", timedelta(days=96), Due.DUE),       # overdue after 90 + 7 (min(9d, 7d))
    ("signing", "prod", timedelta(days=97), Due.OVERDUE),
    ("signing", "dev", timedelta(days=30), Due.DUE),        # non-prod rotates more often
    ("signing", None, timedelta(days=29), Due.OK),
    ("encryption", "prod", timedelta(days=364), Due.OK),    # encryption annually
    ("encryption", "prod", timedelta(days=366), Due.DUE),
    ("encryption", "prod", timedelta(days=400), Due.OVERDUE),
    ("encryption", "dev", timedelta(days=1000), Due.NO_POLICY),
    ("api-key", "prod", timedelta(days=91), Due.DUE),       # quarterly
    ("jwt", "prod", timedelta(hours=23), Due.OK),           # daily JWT keys
    ("jwt", "prod", timedelta(hours=25), Due.DUE),
    ("jwt", "prod", timedelta(hours=30), Due.OVERDUE),
])
def test_due_overdue_table(tmp_path: Path, key_class: str, env: str | None, age: timedelta,
                           state: Due) -> None:
    policy = policy_from(tmp_path, SEEDS)
    status = policy.status(key_class, env, T0, T0 + age)
    assert status.state is state
    assert status.age == age
    if state is not Due.NO_POLICY:
        assert status.due_at is not None and status.overdue_at is not None


def test_grace_per_class(tmp_path: Path) -> None:
    policy = policy_from(tmp_path, SEEDS)
    assert policy.grace_for("encryption", "prod") == timedelta(days=30)
    assert policy.grace_for("jwt", "dev") == timedelta(days=1)
    assert policy.grace_for("signing", "prod") == timedelta(days=7)
    assert policy.grace_for("unknown", None) == timedelta(days=7)


@pytest.mark.parametrize(("text", "line", "message"), [
    ("rotation:\n  signing:\n    prod: soon\n", 3, "not a duration"),
    ("rotation:\n  signing:\n    qa: 90d\n", 3, "unknown environment 'qa'"),
    ("rotation:\n  Signing!:\n    prod: 90d\n", 2, "lower-case name"),
    ("rotation:\n  signing: 90d\n", 2, "must map environments"),
    ("rotation:\n  signing:\n    prod: {every: 90d, grace: 0s}\n", 3, "longer than zero"),
    ("rotation:\n  signing:\n    prod:\n      every: 90d\n      graze: 1d\n", 5, "unknown field"),
    ("rotation:\n  signing:\n    prod: {grace: 1d}\n", 3, "'every' is required"),
    ("rotation:\n  grace: forever\n", 2, "not a duration"),
])
def test_config_errors_name_file_and_line(tmp_path: Path, text: str, line: int,
                                          message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        policy_from(tmp_path, text)
    assert str(info.value).startswith(f"vaultline.yaml:{line}: ")


def test_rotate_due_twice_rotates_once(tmp_path: Path, store: EmbeddedStore,
                                       clock: FakeClock) -> None:
    policy = policy_from(tmp_path, SEEDS)
    keys = KeyManager(store, clock=clock, policy=policy)
    jwt = keys.create("jwt-prod", purpose="signing", key_class="jwt", env="prod")
    keys.create("payload-prod", purpose="encryption", env="prod")
    keys.create("untracked", purpose="hmac")  # no policy for class hmac: never due

    assert keys.rotate_due() == []
    clock.advance(hours=25)
    statuses = {s.record.name: s.status.state for s in keys.status()}
    assert statuses == {"jwt-prod": Due.DUE, "payload-prod": Due.OK, "untracked": Due.NO_POLICY}
    first = keys.rotate_due()
    second = keys.rotate_due()
    assert [v.version for v in first] == [2] and second == []
    assert len(jwt.refresh().versions) == 2
    # A second process with the same view also finds nothing to do (check-and-set re-reads).
    assert KeyManager(store, clock=clock, policy=policy).rotate_due() == []
    # The old version retires when its 1d grace ends; the next due run records that.
    clock.advance(days=1, hours=1)
    assert [v.version for v in keys.rotate_due()] == [3]
    assert [v.state.value for v in jwt.refresh().versions] == ["retired", "retiring", "primary"]


def test_concurrent_rotate_due_rotates_once(tmp_path: Path, store: EmbeddedStore,
                                            environ: dict[str, str], clock: FakeClock) -> None:
    import threading

    policy = policy_from(tmp_path, SEEDS)
    KeyManager(store, clock=clock, policy=policy).create("jwt", purpose="hmac", key_class="jwt")
    clock.advance(days=2)
    results: list[int] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        with EmbeddedStore.open(store.directory, environ=environ) as own:
            manager = KeyManager(own, clock=clock, policy=policy)
            barrier.wait()
            results.append(len(manager.rotate_due()))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0, 0, 0, 1]
    assert len(KeyManager(store, clock=clock).load_record("jwt").versions) == 2
