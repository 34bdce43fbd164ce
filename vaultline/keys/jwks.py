"""Public keys as JWK (RFC 7517), their RFC 7638 thumbprints (the kid) and the JWKS document.

Only public members ever leave this module: :func:`public_jwk` builds a JWK from a *public*
key object, and :func:`jwks` re-checks every key against :data:`PUBLIC_MEMBERS` so that a
private member can never be published, whatever a backend returned.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from vaultline.errors import KeyManagementError, KeyUsageError
from vaultline.keys.model import Purpose, RingRecord

PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey

# RFC 7638 §3.2: the required members of each key type, in lexicographic order.
_REQUIRED = {"OKP": ("crv", "kty", "x"), "EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n")}
PUBLIC_MEMBERS = frozenset({"kty", "crv", "x", "y", "n", "e", "kid", "alg", "use", "key_ops"})


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int_bytes(value: int, length: int | None = None) -> bytes:
    return value.to_bytes(length or max(1, (value.bit_length() + 7) // 8), "big")


def public_jwk(key: PublicKey) -> dict[str, Any]:
    """The JWK of a public key (no kid, alg or use)."""
    from cryptography.hazmat.primitives import serialization

    if isinstance(key, ed25519.Ed25519PublicKey):
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise KeyManagementError(f"unsupported curve {key.curve.name}; use P-256 (ES256)")
        numbers = key.public_numbers()
        return {"kty": "EC", "crv": "P-256", "x": b64url(_int_bytes(numbers.x, 32)),
                "y": b64url(_int_bytes(numbers.y, 32))}
    numbers_rsa = key.public_numbers()
    return {"kty": "RSA", "n": b64url(_int_bytes(numbers_rsa.n)),
            "e": b64url(_int_bytes(numbers_rsa.e))}


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638: SHA-256 over the required members, sorted, no whitespace; base64url."""
    members = _REQUIRED.get(str(jwk.get("kty")))
    if members is None:
        raise KeyManagementError(f"cannot take the thumbprint of a {jwk.get('kty')!r} key")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def load_public(jwk: Mapping[str, Any]) -> PublicKey:
    """A cryptography public key object from a public JWK."""
    kty = jwk.get("kty")
    if kty == "OKP":
        return ed25519.Ed25519PublicKey.from_public_bytes(b64url_decode(str(jwk["x"])))
    if kty == "EC":
        return ec.EllipticCurvePublicNumbers(
            int.from_bytes(b64url_decode(str(jwk["x"])), "big"),
            int.from_bytes(b64url_decode(str(jwk["y"])), "big"), ec.SECP256R1(),
        ).public_key()
    if kty == "RSA":
        return rsa.RSAPublicNumbers(
            int.from_bytes(b64url_decode(str(jwk["e"])), "big"),
            int.from_bytes(b64url_decode(str(jwk["n"])), "big"),
        ).public_key()
    raise KeyManagementError(f"unsupported JWK key type {kty!r}")


def publishable(jwk: Mapping[str, Any], *, kid: str, alg: str) -> dict[str, Any]:
    """The JWK as published: public members only, with kid, alg and use."""
    clean = {k: v for k, v in jwk.items() if k in PUBLIC_MEMBERS}
    clean.update({"kid": kid, "alg": alg, "use": "sig"})
    return clean


def jwks(entries: Iterable[tuple[Mapping[str, Any], str, str]]) -> dict[str, Any]:
    """``{"keys": [...]}`` from ``(jwk, kid, alg)`` triples; private members are dropped."""
    return {"keys": [publishable(jwk, kid=kid, alg=alg) for jwk, kid, alg in entries]}


def ring_jwks(record: RingRecord, now: datetime) -> dict[str, Any]:
    """The JWKS of a signing ring: its next, primary and retiring versions (Auth0 style)."""
    if record.purpose is not Purpose.SIGNING:
        raise KeyUsageError(
            f"key ring {record.name!r} is a {record.purpose.value} ring; only signing rings have "
            "public keys to publish (hmac and encryption keys are secret)"
        )
    return jwks((v.jwk, v.kid, record.alg) for v in record.versions
                if v.usable(now) and v.jwk is not None)
