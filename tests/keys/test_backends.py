"""Transit (OpenBao) and KMS (moto_server) backends, for real: same API as the local one."""

from __future__ import annotations

import io
import os
import secrets
from collections.abc import Iterator

import pytest

from tests.factory import FakeClock
from tests.servers import BaoServer, MotoServer
from vaultline.errors import KeyManagementError, VerificationError
from vaultline.keys import KeyManager, KeySettings, State
from vaultline.keys.settings import KmsSettings, TransitSettings
from vaultline.store import EmbeddedStore


@pytest.fixture
def transit(openbao: BaoServer, store: EmbeddedStore, clock: FakeClock) -> Iterator[KeyManager]:
    mount = f"transit-{secrets.token_hex(4)}"
    openbao.api("POST", f"sys/mounts/{mount}", {"type": "transit"})
    settings = KeySettings(transit=TransitSettings(url=openbao.url, mount=mount),
                           environ={"BAO_TOKEN": openbao.token})
    manager = KeyManager(store, settings=settings, clock=clock)
    yield manager
    manager.backend("transit").close()


@pytest.fixture
def kms(moto_server: MotoServer, store: EmbeddedStore, clock: FakeClock) -> Iterator[KeyManager]:
    settings = KeySettings(kms=KmsSettings(region="us-east-1",
                                           endpoint_url=moto_server.endpoint_url))
    manager = KeyManager(store, settings=settings, clock=clock)
    yield manager
    manager.backend("kms").close()


def _transit_key(openbao: BaoServer, manager: KeyManager, name: str) -> dict[str, object]:
    mount = manager.settings.transit.mount
    data: dict[str, object] = openbao.api("GET", f"{mount}/keys/vaultline-{name}")["data"]
    return data


@pytest.mark.parametrize("alg", ["EdDSA", "ES256", "RS256"])
def test_transit_signing_rotation_and_jwks(transit: KeyManager, openbao: BaoServer,
                                           clock: FakeClock, alg: str) -> None:
    ring = transit.create("api", purpose="signing", alg=alg, backend="transit")
    assert "material" not in ring.primary.ref  # private material stays on the server
    token = ring.sign_jwt({"sub": "svc"})
    assert ring.verify_jwt(token) == {"sub": "svc"}
    staged = ring.stage()
    assert ring.sign_jwt({"x": 1}).split(".")[0] == token.split(".")[0]  # still signs with v1
    assert {k["kid"] for k in ring.jwks()["keys"]} == {ring.versions[0].kid, staged.kid}
    ring.promote()
    assert ring.verify_jwt(token) == {"sub": "svc"}
    ring.retire()
    with pytest.raises(VerificationError, match="retired"):
        ring.verify_jwt(token)
    # The server refuses version 1 as well: min_decryption_version was raised.
    assert _transit_key(openbao, transit, "api")["min_decryption_version"] == 2


def test_transit_hmac_jwt_and_webhook(transit: KeyManager) -> None:
    ring = transit.create("hooks", purpose="hmac", backend="transit")
    token = ring.sign_jwt({"a": 1})
    assert ring.verify_jwt(token) == {"a": 1}
    ring.rotate()
    assert ring.verify_jwt(token) == {"a": 1}
    header = ring.sign_webhook(b"body")
    assert header.count("v1=") == 2 and ring.verify_webhook(header, b"body")


def test_transit_envelope_rewrap_server_side_and_destroy(transit: KeyManager,
                                                         openbao: BaoServer) -> None:
    ring = transit.create("payloads", purpose="encryption", backend="transit")
    blobs = [ring.encrypt(f"payload {i}".encode(), context={"i": str(i)}) for i in range(3)]
    ring.stage()  # a staged version on the server must not be used before promotion
    blob = ring.encrypt(b"still v1")
    assert b"vault:v1:" in blob
    ring.promote()
    rewrapped = ring.rewrap_many(blobs)
    assert all(b"vault:v2:" in b for b in rewrapped)
    for i, b in enumerate(rewrapped):
        assert ring.decrypt(b, context={"i": str(i)}) == f"payload {i}".encode()
    sealed, out = io.BytesIO(), io.BytesIO()
    ring.encrypt_stream(io.BytesIO(b"x" * 200_000), sealed)
    ring.decrypt_stream(io.BytesIO(sealed.getvalue()), out)
    assert out.getvalue() == b"x" * 200_000
    ring.retire()
    ring.destroy(1)
    key = _transit_key(openbao, transit, "payloads")
    assert key["min_available_version"] == 2 and set(key["keys"]) == {"2"}  # type: ignore[arg-type]
    assert ring.versions[0].state is State.DESTROYED


def test_transit_without_token_is_a_clear_error(store: EmbeddedStore, openbao: BaoServer) -> None:
    settings = KeySettings(transit=TransitSettings(url=openbao.url), environ={})
    with pytest.raises(Exception, match="needs a token"):
        KeyManager(store, settings=settings).create("x", purpose="signing", backend="transit")
    bad = KeySettings(transit=TransitSettings(url=openbao.url), environ={"BAO_TOKEN": "nope"})
    with pytest.raises(KeyManagementError, match="permission denied") as info:
        KeyManager(store, settings=bad).create("y", purpose="signing", backend="transit")
    assert "nope" not in str(info.value)


@pytest.mark.parametrize("alg", ["ES256", "RS256"])
def test_kms_signing(kms: KeyManager, alg: str) -> None:
    ring = kms.create("api", purpose="signing", alg=alg, backend="kms")
    token = ring.sign_jwt({"sub": "svc"})
    assert ring.verify_jwt(token) == {"sub": "svc"}
    ring.rotate()
    assert ring.verify_jwt(token) == {"sub": "svc"}
    assert len(ring.jwks()["keys"]) == 2


def test_kms_eddsa_is_refused_clearly(kms: KeyManager) -> None:
    with pytest.raises(KeyManagementError, match="no key spec for EdDSA"):
        kms.create("ed", purpose="signing", alg="EdDSA", backend="kms")


def test_kms_hmac(kms: KeyManager) -> None:
    ring = kms.create("hooks", purpose="hmac", backend="kms")
    token = ring.sign_jwt({"a": 1})
    assert ring.verify_jwt(token) == {"a": 1}
    assert ring.verify_webhook(ring.sign_webhook(b"b"), b"b")


def test_kms_envelope_reencrypt_retire_destroy(kms: KeyManager, moto_server: MotoServer) -> None:
    ring = kms.create("payloads", purpose="encryption", backend="kms")
    data = os.urandom(5000)
    blob = ring.encrypt(data, context={"tenant": "t1"})
    assert ring.decrypt(blob, context={"tenant": "t1"}) == data
    ring.rotate()
    moved = ring.rewrap(blob)
    assert ring.decrypt(moved, context={"tenant": "t1"}) == data
    old_key = ring.versions[0].ref["key_id"]
    ring.retire()
    ring.destroy(1)
    import boto3

    client = boto3.client("kms", endpoint_url=moto_server.endpoint_url, region_name="us-east-1")
    assert client.describe_key(KeyId=old_key)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    assert ring.decrypt(moved, context={"tenant": "t1"}) == data
