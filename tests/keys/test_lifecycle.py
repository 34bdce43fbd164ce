"""Rotation timeline, canary stage/promote, retire and destroy — with a fake clock."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.factory import FakeClock
from vaultline.audit import AuditLog
from vaultline.errors import KeyManagementError, VerificationError
from vaultline.keys import KeyManager, State
from vaultline.store import EmbeddedStore


@pytest.mark.parametrize("alg", ["EdDSA", "ES256", "RS256"])
def test_rotation_timeline_tokens_verify_during_grace_and_fail_after(
        keys: KeyManager, clock: FakeClock, alg: str) -> None:
    ring = keys.create("api", purpose="signing", alg=alg)
    before = ring.sign_jwt({"sub": "svc"})
    old_kid = ring.primary.kid

    clock.advance(days=10)
    new = ring.rotate(grace=timedelta(hours=12))
    assert new.kid != old_kid and new.state is State.PRIMARY
    after = ring.sign_jwt({"sub": "svc"})
    assert ring.verify_jwt(after) == {"sub": "svc"}

    clock.advance(hours=11, minutes=59)  # still within the grace period
    assert ring.verify_jwt(before) == {"sub": "svc"}
    assert {k["kid"] for k in ring.jwks()["keys"]} == {old_kid, new.kid}

    clock.advance(minutes=2)  # grace over: the old version is effectively retired
    with pytest.raises(VerificationError, match="retired"):
        ring.verify_jwt(before)
    assert [k["kid"] for k in ring.jwks()["keys"]] == [new.kid]
    assert ring.verify_jwt(after) == {"sub": "svc"}


def test_rotate_uses_the_policy_grace(keys: KeyManager, clock: FakeClock) -> None:
    ring = keys.create("api", purpose="signing")
    ring.rotate()
    old = ring.versions[0]
    assert old.state is State.RETIRING and old.retire_at == clock.now + timedelta(days=1)


def test_canary_stage_then_promote(keys: KeyManager, clock: FakeClock) -> None:
    ring = keys.create("api", purpose="signing")
    v1 = ring.primary
    staged = ring.stage()
    assert staged.state is State.NEXT
    # Published (JWKS, verification) before it signs anything: Auth0's "next" key.
    assert {k["kid"] for k in ring.jwks()["keys"]} == {v1.kid, staged.kid}
    token = ring.sign_jwt({"n": 1})
    assert json.loads(__import__("base64").urlsafe_b64decode(
        token.split(".")[0] + "==")).get("kid") == v1.kid
    with pytest.raises(KeyManagementError, match="already has a staged"):
        ring.stage()

    clock.advance(days=1)
    promoted = ring.promote()
    assert promoted.kid == staged.kid and ring.primary.kid == staged.kid
    assert ring.versions[0].state is State.RETIRING
    assert ring.verify_jwt(token) == {"n": 1}  # old tokens still verify during grace
    with pytest.raises(KeyManagementError, match="no staged version"):
        ring.promote()


def test_rotate_promotes_a_staged_version(keys: KeyManager) -> None:
    ring = keys.create("api", purpose="signing")
    staged = ring.stage()
    assert ring.rotate().kid == staged.kid
    assert len(ring.versions) == 2


def test_retire_ends_grace_now_and_destroy_removes_material(
        keys: KeyManager, store: EmbeddedStore, clock: FakeClock) -> None:
    ring = keys.create("hooks", purpose="hmac")
    token = ring.sign_jwt({"a": 1})
    ring.rotate()
    with pytest.raises(KeyManagementError, match="only retired"):
        ring.destroy(1)
    with pytest.raises(KeyManagementError, match="is the primary"):
        ring.retire(2)
    done = ring.retire()
    assert [v.version for v in done] == [1]
    with pytest.raises(VerificationError, match="retired"):
        ring.verify_jwt(token)
    ring.destroy(1)
    assert ring.versions[0].state is State.DESTROYED
    # No copy of the old material survives in the store's history of the record.
    table = store.records("keys")
    value, latest = table.get("hooks")
    assert table.history("hooks") == [latest] and latest > 1
    raw = json.loads(value)
    assert raw["versions"][0]["ref"] == {}


def test_every_lifecycle_operation_is_audited(keys: KeyManager, audit: AuditLog) -> None:
    ring = keys.create("api", purpose="signing")
    ring.stage()
    ring.promote()
    ring.rotate()
    ring.retire()
    ring.destroy(1)
    actions = [e.action for e in audit.show()]
    assert actions == ["key.create", "key.stage", "key.promote", "key.rotate", "key.retire",
                       "key.retire", "key.destroy"]
    assert all(e.key == "api" and e.detail and "kid" in e.detail for e in audit.show())
    assert audit.verify().ok


def test_names_and_errors(keys: KeyManager) -> None:
    with pytest.raises(KeyManagementError, match="invalid key ring name"):
        keys.create("../x", purpose="signing")
    with pytest.raises(KeyManagementError, match="invalid key ring name"):
        keys.create("api\n", purpose="signing")
    with pytest.raises(KeyManagementError, match="does not fit purpose"):
        keys.create("x", purpose="signing", alg="aes256-gcm")
    keys.create("x", purpose="signing")
    with pytest.raises(KeyManagementError, match="already exists"):
        keys.create("x", purpose="signing")
    with pytest.raises(KeyManagementError, match="no key ring 'nope'"):
        keys.ring("nope")
    assert keys.names() == ["x"]


def test_no_material_in_reprs(keys: KeyManager) -> None:
    ring = keys.create("x", purpose="hmac")
    material = ring.record.primary.ref["material"]
    for obj in (ring, ring.record, ring.primary, keys):
        assert material not in repr(obj)
    assert "ref" not in json.dumps(ring.record.summary(keys.now()))


def test_another_process_rotation_is_seen_by_kid(keys: KeyManager, store: EmbeddedStore,
                                                 clock: FakeClock) -> None:
    ring = keys.create("api", purpose="signing")
    other = KeyManager(store, clock=clock)
    token = other.ring("api").rotate() and other.ring("api").sign_jwt({"x": 1})
    assert ring.verify_jwt(token) == {"x": 1}  # unknown kid: the ring re-reads its record
