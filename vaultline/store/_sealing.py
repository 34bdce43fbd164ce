"""The store's sealing of values: a fresh data key per secret version, under the store's KEK.

The value is sealed with AES-256-GCM under a random data key; the data key is sealed under the
store's key-encryption key. Both use associated data that names the path and version, so a
ciphertext copied to another row (or another version) fails to open.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vaultline.errors import IntegrityError

NONCE_BYTES = 12
FORMAT = b"vaultline-store-v1"
RECORD_FORMAT = b"vaultline-record-v1"  # its own tag: no secret path's data can spell a record's


# What opening a row that vaultline did not write can raise: a failed tag, or fields of the
# wrong type or size (a text ciphertext, a short nonce, a version that is no number).
UNSEALABLE = (InvalidTag, TypeError, ValueError)


def associated_data(path: str, version: int) -> bytes:
    return b"%s|%s|%d" % (FORMAT, path.encode("utf-8"), version)


def record_associated_data(kind: str, name: str, version: int) -> bytes:
    """Binds a record to its kind, name and version; kinds and versions hold no ``|``."""
    return b"%s|%s|%s|%d" % (RECORD_FORMAT, kind.encode("utf-8"), name.encode("utf-8"), version)


def seal(kek: AESGCM, plaintext: bytes, aad: bytes) -> tuple[bytes, bytes]:
    """Return ``(wrapped_data_key, ciphertext)``; each carries its own nonce in front."""
    data_key = AESGCM.generate_key(bit_length=256)
    key_nonce, value_nonce = os.urandom(NONCE_BYTES), os.urandom(NONCE_BYTES)
    wrapped = key_nonce + kek.encrypt(key_nonce, data_key, aad)
    ciphertext = value_nonce + AESGCM(data_key).encrypt(value_nonce, plaintext, aad)
    return wrapped, ciphertext


def open_sealed(kek: AESGCM, wrapped: bytes, ciphertext: bytes, aad: bytes) -> bytes:
    try:
        data_key = kek.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], aad)
        return AESGCM(data_key).decrypt(ciphertext[:NONCE_BYTES], ciphertext[NONCE_BYTES:], aad)
    except UNSEALABLE:
        raise tampered() from None


def tampered() -> IntegrityError:
    return IntegrityError(
        "stored ciphertext failed authentication (tampered, moved between rows, or "
        "written under another master key)"
    )
