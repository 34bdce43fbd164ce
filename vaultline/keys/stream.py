"""Streamed envelope encryption for files that need not fit in memory.

The header is the envelope header (magic b"VLS" 0x01, ring, kid, wrapped data key), then a
u32 chunk size and a 7-byte nonce prefix. Each chunk of plaintext is sealed on its own with
AES-256-GCM under the data key, with nonce ``prefix || u32 counter || last flag`` (the STREAM
construction of Hoang, Reyhanitabar, Rogaway and Vizár, as in Tink's streaming AEAD): chunks
cannot be reordered, dropped, or the stream truncated or extended without failing.

A reader of ``decrypt_stream`` sees plaintext chunk by chunk, before the end of the stream is
authenticated; callers writing to a file write a temporary file and rename it on success.
"""

from __future__ import annotations

import os
import shutil
import struct
from collections.abc import Callable
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vaultline.errors import IntegrityError
from vaultline.keys.envelope import STREAM_MAGIC, TAG_BYTES, Header, pack_header, parse_header

CHUNK_SIZE = 64 * 1024
PREFIX_BYTES = 7
_TAIL = struct.Struct(">I7s")
_COUNTER = struct.Struct(">IB")
_MAX_CHUNK = 16 * 1024 * 1024


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + _COUNTER.pack(counter, 1 if last else 0)


def _read_exact(src: BinaryIO, n: int) -> bytes:
    data = src.read(n)
    while data is not None and len(data) < n:
        more = src.read(n - len(data))
        if not more:
            break
        data += more
    if data is None or len(data) < n:
        raise IntegrityError("the encrypted stream is truncated (incomplete header)")
    return data


def _read_full(src: BinaryIO, n: int) -> bytes:
    """Up to ``n`` bytes; fewer only at the end of the stream (pipes return short reads)."""
    parts: list[bytes] = []
    left = n
    while left > 0:
        data = src.read(left)
        if not data:
            break
        parts.append(data)
        left -= len(data)
    return b"".join(parts)


def read_header(src: BinaryIO) -> tuple[Header, int, bytes]:
    """``(header, chunk size, nonce prefix)`` read from the start of a stream."""
    raw = bytearray(_read_exact(src, 5))
    raw += _read_exact(src, raw[4] + 1)
    raw += _read_exact(src, raw[-1] + 2)
    raw += _read_exact(src, int.from_bytes(raw[-2:], "big"))
    header = parse_header(bytes(raw), STREAM_MAGIC)
    chunk_size, prefix = _TAIL.unpack(_read_exact(src, _TAIL.size))
    if not 0 < chunk_size <= _MAX_CHUNK:
        raise IntegrityError(f"the encrypted stream declares an invalid chunk size {chunk_size}")
    return header, chunk_size, prefix


def encrypt_stream(src: BinaryIO, dst: BinaryIO, *, ring: str, kid: str, wrapped_key: bytes,
                   data_key: bytes, aad: bytes, chunk_size: int = CHUNK_SIZE) -> int:
    """Encrypt ``src`` to ``dst`` chunk by chunk; returns the plaintext byte count."""
    aead = AESGCM(data_key)
    prefix = os.urandom(PREFIX_BYTES)
    dst.write(pack_header(STREAM_MAGIC, ring, kid, wrapped_key))
    dst.write(_TAIL.pack(chunk_size, prefix))
    total, counter = 0, 0
    current = _read_full(src, chunk_size)
    while True:
        following = _read_full(src, chunk_size) if len(current) == chunk_size else b""
        last = not following
        dst.write(aead.encrypt(_nonce(prefix, counter, last), current, aad))
        total += len(current)
        if last:
            return total
        current, counter = following, counter + 1


def decrypt_stream(src: BinaryIO, dst: BinaryIO,
                   open_key: Callable[[Header], tuple[bytes, bytes]]) -> int:
    """Decrypt a stream; ``open_key(header)`` returns ``(data_key, aad)``. Returns byte count."""
    header, chunk_size, prefix = read_header(src)
    data_key, aad = open_key(header)
    aead = AESGCM(data_key)
    sealed = chunk_size + TAG_BYTES
    total, counter = 0, 0
    current = _read_full(src, sealed)
    while True:
        following = _read_full(src, sealed) if len(current) == sealed else b""
        last = not following
        try:
            plain = aead.decrypt(_nonce(prefix, counter, last), current, aad)
        except InvalidTag:
            raise IntegrityError(
                f"chunk {counter} of the encrypted stream failed authentication: tampered, "
                "truncated, or a different encryption context"
            ) from None
        dst.write(plain)
        total += len(plain)
        if last:
            return total
        current, counter = following, counter + 1


def rewrap_stream(src: BinaryIO, dst: BinaryIO,
                  rewrap_key: Callable[[Header], tuple[str, bytes]]) -> Header:
    """Write the stream with a new header (``rewrap_key`` gives kid and wrapped key); chunks
    are copied as they are. Returns the old header."""
    header, chunk_size, prefix = read_header(src)
    kid, wrapped = rewrap_key(header)
    dst.write(pack_header(STREAM_MAGIC, header.ring, kid, wrapped))
    dst.write(_TAIL.pack(chunk_size, prefix))
    shutil.copyfileobj(src, dst, 1024 * 1024)
    return header
