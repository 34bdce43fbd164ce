"""Envelope encryption blobs: a self-describing, versioned binary format.

    offset  field
    0       magic + format version: b"VLE" 0x01
    4       u8 length, ring name (UTF-8)
    .       u8 length, kid of the key-encryption key (ASCII)
    .       u16 length, wrapped data key (backend-specific bytes)
    .       nonce (12 bytes)
    .       AES-256-GCM ciphertext + tag of the payload

The payload's associated data names the ring and the encryption context, not the kid or the
wrapped key: that is what lets ``rewrap`` swap the header without touching the payload.
Swapping a wrapped key between blobs still fails, because the payload is sealed under the
data key inside it. Streamed files (``stream.py``) share the header, with magic b"VLS".
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vaultline.errors import IntegrityError, KeyManagementError

MAGIC = b"VLE\x01"
STREAM_MAGIC = b"VLS\x01"
NONCE_BYTES = 12
TAG_BYTES = 16
_U8 = struct.Struct(">B")
U16 = _U16 = struct.Struct(">H")

Context = Mapping[str, str]
# What blob-taking functions accept: ``encrypt`` returns a bytearray (see KeyRing.encrypt).
Blob = bytes | bytearray | memoryview


def canonical_context(context: Context | None) -> bytes:
    if not context:
        return b"{}"
    for k, v in context.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise KeyManagementError("an encryption context maps strings to strings")
    return json.dumps(dict(context), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def payload_aad(ring: str, context: Context | None) -> bytes:
    return b"vaultline-envelope/v1|" + ring.encode("utf-8") + b"|" + canonical_context(context)


@dataclass(frozen=True, slots=True)
class Header:
    """The key part of a blob: which ring, which KEK (kid), and the data key it wrapped."""

    magic: bytes
    ring: str
    kid: str
    wrapped_key: bytes = field(repr=False)
    size: int  # bytes the header occupies in the blob

    def pack(self) -> bytes:
        return pack_header(self.magic, self.ring, self.kid, self.wrapped_key)


def pack_header(magic: bytes, ring: str, kid: str, wrapped_key: bytes) -> bytes:
    ring_b, kid_b = ring.encode("utf-8"), kid.encode("ascii")
    if len(ring_b) > 255 or len(kid_b) > 255 or len(wrapped_key) > 65535:
        raise KeyManagementError("ring name, kid or wrapped key too long for the blob format")
    return b"".join((magic, _U8.pack(len(ring_b)), ring_b, _U8.pack(len(kid_b)), kid_b,
                     _U16.pack(len(wrapped_key)), wrapped_key))


def locate(blob: Blob) -> tuple[bytes, bytes, int, int]:
    """Fast path for rewrap: ``(ring, kid, wrapped_key_start, payload_start)`` as raw bytes."""
    try:
        if blob[:4] != MAGIC:
            parse_header(blob)  # raises the precise error
        n = blob[4]
        ring = bytes(blob[5:5 + n])
        pos = 5 + n
        m = blob[pos]
        kid = bytes(blob[pos + 1:pos + 1 + m])
        pos += 1 + m
        start = pos + 2
        end = start + ((blob[pos] << 8) | blob[pos + 1])
    except IndexError:
        raise IntegrityError("the blob header is truncated or corrupt") from None
    if end + NONCE_BYTES + TAG_BYTES > len(blob):
        raise IntegrityError("the blob is truncated")
    return ring, kid, start, end


def parse_header(data: Blob, magic: bytes = MAGIC) -> Header:
    """Read the header at the start of ``data``; IntegrityError if it is not one."""
    head = bytes(data[:4])
    if head != magic:
        known = {MAGIC: "an envelope blob", STREAM_MAGIC: "a streamed file"}
        what = known.get(head)
        if what is not None:
            raise KeyManagementError(f"this is {what}; expected {known.get(magic, 'another format')}")
        if len(head) == 4 and head[:3] in (MAGIC[:3], STREAM_MAGIC[:3]):
            raise KeyManagementError(
                f"blob format version {head[3]} is not supported; this vaultline reads version 1"
            )
        raise IntegrityError("not a vaultline encrypted blob (bad magic bytes)")
    try:
        pos = 4
        (n,) = _U8.unpack_from(data, pos)
        ring = bytes(data[pos + 1:pos + 1 + n]).decode("utf-8")
        pos += 1 + n
        (n,) = _U8.unpack_from(data, pos)
        kid = bytes(data[pos + 1:pos + 1 + n]).decode("ascii")
        pos += 1 + n
        (n,) = _U16.unpack_from(data, pos)
        wrapped = bytes(data[pos + 2:pos + 2 + n])
        pos += 2 + n
    except (struct.error, UnicodeDecodeError):
        raise IntegrityError("the blob header is truncated or corrupt") from None
    if len(wrapped) != n or pos > len(data):
        raise IntegrityError("the blob header is truncated")
    return Header(magic, ring, kid, wrapped, pos)


def seal(data_key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """``nonce || ciphertext || tag``."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(data_key).encrypt(nonce, plaintext, aad)


def open_payload(data_key: bytes, payload: Blob, aad: bytes) -> bytes:
    if len(payload) < NONCE_BYTES + TAG_BYTES:
        raise IntegrityError("the blob is truncated")
    try:
        return AESGCM(data_key).decrypt(bytes(payload[:NONCE_BYTES]),
                                        payload[NONCE_BYTES:], aad)
    except InvalidTag:
        raise IntegrityError(
            "the blob failed authentication: it was tampered with, or the encryption context "
            "differs from the one it was encrypted with"
        ) from None
