"""Envelope encryption: round trips, tampering, wrong context, rewrap, streamed files."""

from __future__ import annotations

import io
import os

import pytest

from tests.factory import FakeClock
from vaultline.errors import IntegrityError, KeyManagementError
from vaultline.keys import KeyManager, KeyRing
from vaultline.keys import envelope as env


@pytest.fixture
def ring(keys: KeyManager) -> KeyRing:
    return keys.create("payloads", purpose="encryption")


def test_blob_is_self_describing(ring: KeyRing) -> None:
    blob = ring.encrypt(b"secret", context={"tenant": "t1"})
    header = env.parse_header(blob)
    assert blob[:4] == b"VLE\x01"
    assert header.ring == "payloads" and header.kid == ring.primary.kid
    assert b"secret" not in blob
    assert ring.decrypt(blob, context={"tenant": "t1"}) == b"secret"


@pytest.mark.parametrize("offset", [-1, -20, -40])
def test_tampered_blobs_are_rejected(ring: KeyRing, offset: int) -> None:
    blob = bytearray(ring.encrypt(b"x" * 64))
    blob[offset] ^= 1
    with pytest.raises(IntegrityError, match="failed authentication"):
        ring.decrypt(bytes(blob))


def test_tampered_wrapped_key_and_header_are_rejected(ring: KeyRing) -> None:
    blob = ring.encrypt(b"payload")
    header = env.parse_header(blob)
    wrapped = bytearray(header.wrapped_key)
    wrapped[-1] ^= 1
    forged = env.pack_header(env.MAGIC, header.ring, header.kid, bytes(wrapped)) + blob[header.size:]
    with pytest.raises(IntegrityError, match="wrapped data key"):
        ring.decrypt(forged)
    # Another blob's data key with this payload: wrong key, authentication fails.
    other = env.parse_header(ring.encrypt(b"other"))
    swapped = other.pack() + blob[header.size:]
    with pytest.raises(IntegrityError):
        ring.decrypt(swapped)
    with pytest.raises(IntegrityError, match="magic"):
        ring.decrypt(b"garbage" * 10)
    with pytest.raises(IntegrityError, match="truncated"):
        ring.decrypt(blob[:header.size + 10])


@pytest.mark.parametrize("context", [None, {"tenant": "t2"}, {"tenant": "t1", "x": "y"}])
def test_wrong_context_is_rejected(ring: KeyRing, context: dict[str, str] | None) -> None:
    blob = ring.encrypt(b"payload", context={"tenant": "t1"})
    with pytest.raises(IntegrityError, match="encryption context"):
        ring.decrypt(blob, context=context)


def test_blob_of_another_ring_is_refused(keys: KeyManager, ring: KeyRing) -> None:
    other = keys.create("other", purpose="encryption")
    with pytest.raises(KeyManagementError, match="belongs to key ring 'other'"):
        ring.decrypt(other.encrypt(b"x"))


def test_rewrap_then_decrypt_and_payload_untouched(ring: KeyRing, clock: FakeClock) -> None:
    blobs = [ring.encrypt(os.urandom(100), context={"i": str(i)}) for i in range(5)]
    plain = [ring.decrypt(b, context={"i": str(i)}) for i, b in enumerate(blobs)]
    old_kid = ring.primary.kid
    ring.rotate()
    rewrapped = ring.rewrap_many(blobs)
    for i, (before, after) in enumerate(zip(blobs, rewrapped, strict=True)):
        h0, h1 = env.parse_header(before), env.parse_header(after)
        assert h0.kid == old_kid and h1.kid == ring.primary.kid
        assert before[h0.size:] == after[h1.size:]  # nonce and ciphertext unchanged
        assert ring.decrypt(after, context={"i": str(i)}) == plain[i]
    assert ring.rewrap(rewrapped[0]) == rewrapped[0]  # already under the primary
    # After the old version retires only rewrapped blobs still open.
    ring.retire()
    with pytest.raises(KeyManagementError, match="retired"):
        ring.decrypt(blobs[0], context={"i": "0"})
    assert ring.decrypt(rewrapped[0], context={"i": "0"}) == plain[0]


@pytest.mark.parametrize("size", [0, 1, 1000, 4096, 4097, 3 * 4096])
def test_stream_round_trip_and_rewrap(ring: KeyRing, size: int) -> None:
    data = os.urandom(size)
    sealed = io.BytesIO()
    ring.encrypt_stream(io.BytesIO(data), sealed, context={"f": "a"}, chunk_size=4096)
    out = io.BytesIO()
    ring.decrypt_stream(io.BytesIO(sealed.getvalue()), out, context={"f": "a"})
    assert out.getvalue() == data
    ring.rotate()
    moved = io.BytesIO()
    ring.rewrap_stream(io.BytesIO(sealed.getvalue()), moved)
    assert env.parse_header(moved.getvalue(), env.STREAM_MAGIC).kid == ring.primary.kid
    assert ring.decrypt_any(moved.getvalue(), context={"f": "a"}) == data


def test_stream_tampering_truncation_and_extension_fail(ring: KeyRing) -> None:
    sealed = io.BytesIO()
    ring.encrypt_stream(io.BytesIO(os.urandom(10000)), sealed, chunk_size=4096)
    data = sealed.getvalue()
    header_size = len(data) - (10000 + 3 * 16)
    chunk = 4096 + 16
    cases = {
        "flipped": data[:-5] + bytes([data[-5] ^ 1]) + data[-4:],
        "truncated": data[:header_size + 2 * chunk],
        "extended": data + data[header_size:header_size + chunk],
        "reordered": data[:header_size] + data[header_size + chunk:header_size + 2 * chunk]
                     + data[header_size:header_size + chunk] + data[header_size + 2 * chunk:],
    }
    for name, bad in cases.items():
        with pytest.raises(IntegrityError, match="chunk"):
            ring.decrypt_stream(io.BytesIO(bad), io.BytesIO())
        assert name


def test_sign_on_encryption_ring_and_encrypt_on_signing_ring_refused(keys: KeyManager,
                                                                     ring: KeyRing) -> None:
    with pytest.raises(KeyManagementError, match="encryption ring"):
        ring.sign_jwt({})
    with pytest.raises(KeyManagementError, match="needs a ring with purpose encryption"):
        keys.create("s", purpose="signing").encrypt(b"x")


def test_rewrap_in_place_touches_only_the_header(ring: KeyRing) -> None:
    blobs = [ring.encrypt(os.urandom(1000)) for _ in range(3)]
    assert all(isinstance(b, bytearray) for b in blobs)
    before = [bytes(b) for b in blobs]
    ring.rotate()
    result = ring.rewrap_many(blobs, in_place=True)
    for old, new, same in zip(before, blobs, result, strict=True):
        assert same is new  # updated where it lies
        size = env.parse_header(new).size
        assert env.parse_header(new).kid == ring.primary.kid
        assert old[size:] == bytes(new[size:])  # payload bytes unchanged
        assert ring.decrypt(new) == ring.decrypt(ring.rewrap(old))
