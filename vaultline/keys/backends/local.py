"""The ``local`` backend: key material inside the ring record, in the embedded store.

The record is one of the store's own records (kind ``keys``), sealed under the master key with
associated data naming that kind and the ring, and out of reach of every secret path command:
no ``get`` can print the material. In memory it is kept as key objects (never bytes in a repr)
and cached per kid, because building an AESGCM or a private key object costs more than using it.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vaultline.errors import IntegrityError, KeyManagementError
from vaultline.keys.backends.base import DATA_KEY_BYTES, KeyBackend, NewVersion, context_bytes
from vaultline.keys.jwks import public_jwk
from vaultline.keys.model import KeyVersion, Purpose, RingRecord

NONCE_BYTES = 12


def _generate(alg: str) -> tuple[bytes, Any]:
    """``(material, public key or None)`` for a new version."""
    if alg == "EdDSA":
        ed = ed25519.Ed25519PrivateKey.generate()
        raw = ed.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                               serialization.NoEncryption())
        return raw, ed.public_key()
    if alg in ("ES256", "RS256"):
        private: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey = (
            ec.generate_private_key(ec.SECP256R1()) if alg == "ES256"
            else rsa.generate_private_key(public_exponent=65537, key_size=2048)
        )
        der = private.private_bytes(serialization.Encoding.DER,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        return der, private.public_key()
    return os.urandom(32), None


def _load_private(alg: str, material: bytes) -> Any:
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.from_private_bytes(material)
    return serialization.load_der_private_key(material, password=None)


class _Kek:
    """An AES-256-GCM key-encryption key with its associated data fixed."""

    __slots__ = ("_aad", "_aead")

    def __init__(self, material: bytes, aad: bytes) -> None:
        self._aead = AESGCM(material)
        self._aad = aad

    def wrap(self, data_key: bytes, nonce: bytes) -> bytes:
        return nonce + self._aead.encrypt(nonce, data_key, self._aad)

    def unwrap(self, wrapped: bytes) -> bytes:
        if len(wrapped) < NONCE_BYTES + 16:  # a nonce and a GCM tag at the least
            raise IntegrityError("the wrapped data key is truncated")
        try:
            return self._aead.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], self._aad)
        except InvalidTag:
            raise IntegrityError(
                "the wrapped data key failed authentication (tampered, or wrapped by another key)"
            ) from None

    def __repr__(self) -> str:
        return "_Kek(<hidden>)"


class LocalBackend(KeyBackend):
    name = "local"

    def __init__(self) -> None:
        self._keys: dict[tuple[str, str], Any] = {}

    def __repr__(self) -> str:
        return "LocalBackend()"

    def create_version(self, record: RingRecord, number: int) -> NewVersion:
        material, public = _generate(record.alg)
        jwk = public_jwk(public) if public is not None else None
        return NewVersion({"material": base64.b64encode(material).decode("ascii")}, jwk)

    def _material(self, record: RingRecord, version: KeyVersion) -> bytes:
        encoded = version.ref.get("material")
        if not encoded:
            raise KeyManagementError(
                f"version {version.version} of key ring {record.name!r} has no key material "
                f"(state {version.state.value})"
            )
        return base64.b64decode(encoded)

    def _cached(self, record: RingRecord, version: KeyVersion) -> Any:
        key = (record.name, version.kid)
        found = self._keys.get(key)
        if found is None:
            material = self._material(record, version)
            if record.purpose is Purpose.SIGNING:
                found = _load_private(record.alg, material)
            elif record.purpose is Purpose.HMAC:
                found = material
            else:
                found = _Kek(material, context_bytes(record, version))
            self._keys[key] = found
        return found

    def signing_key(self, record: RingRecord, version: KeyVersion) -> Any:
        if record.purpose is Purpose.ENCRYPTION:
            raise self.unsupported(record, "sign")
        return self._cached(record, version)

    def mac(self, record: RingRecord, version: KeyVersion, message: bytes) -> bytes:
        import hashlib
        import hmac

        if record.purpose is not Purpose.HMAC:
            raise self.unsupported(record, "mac")
        secret: bytes = self._cached(record, version)
        return hmac.new(secret, message, hashlib.sha256).digest()

    def _kek(self, record: RingRecord, version: KeyVersion) -> _Kek:
        if record.purpose is not Purpose.ENCRYPTION:
            raise self.unsupported(record, "wrap data keys")
        kek: _Kek = self._cached(record, version)
        return kek

    def generate_data_key(self, record: RingRecord, version: KeyVersion) -> tuple[bytes, bytes]:
        data_key = os.urandom(DATA_KEY_BYTES)
        return data_key, self._kek(record, version).wrap(data_key, os.urandom(NONCE_BYTES))

    def unwrap(self, record: RingRecord, version: KeyVersion, wrapped: bytes) -> bytes:
        return self._kek(record, version).unwrap(wrapped)

    def rewrap(self, record: RingRecord, source: KeyVersion, target: KeyVersion,
               wrapped: Sequence[bytes]) -> list[bytes]:
        old, new = self._kek(record, source), self._kek(record, target)
        # One getrandom call for all the nonces: per-blob calls cost more than the wrapping.
        nonces = os.urandom(NONCE_BYTES * len(wrapped))
        return [new.wrap(old.unwrap(w), nonces[i * NONCE_BYTES:(i + 1) * NONCE_BYTES])
                for i, w in enumerate(wrapped)]

    def destroy(self, record: RingRecord, version: KeyVersion) -> str:
        self._keys.pop((record.name, version.kid), None)
        return ""
