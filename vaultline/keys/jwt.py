"""JSON Web Tokens signed by a key ring: the kid in the header, claims checked with leeway.

Local keys sign and verify through PyJWT directly. Keys whose private half stays on a server
(Transit, KMS) sign through the backend over the JWS signing input; asymmetric tokens are
always verified locally with the published public key, so verification needs no server.
Claim checks (exp, nbf, iat, iss, aud) use the ring's clock, not the system's, so rotation
timelines can be tested without waiting.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import jwt as pyjwt

from vaultline._limits import parse_json
from vaultline.errors import VerificationError
from vaultline.keys.jwks import b64url, b64url_decode

# Signature and decoding only: claims are checked below against the ring's clock.
_SIGNATURE_ONLY = {"verify_signature": True, "verify_exp": False, "verify_nbf": False,
                   "verify_iat": False, "verify_aud": False, "verify_iss": False}


def _json(obj: Mapping[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), default=str).encode("utf-8")


def sign(claims: Mapping[str, Any], *, alg: str, kid: str, key: Any | None = None,
         signer: Callable[[bytes], bytes] | None = None) -> str:
    """A compact JWS: with ``key`` through PyJWT, otherwise with ``signer(signing_input)``."""
    if key is not None:
        return pyjwt.encode(dict(claims), key, algorithm=alg, headers={"kid": kid})
    if signer is None:
        raise ValueError("sign needs a key or a signer")
    signing_input = (b64url(_json({"alg": alg, "kid": kid, "typ": "JWT"})) + "."
                     + b64url(_json(claims)))
    return signing_input + "." + b64url(signer(signing_input.encode("ascii")))


def header(token: str) -> dict[str, Any]:
    """The unverified JOSE header (to find the kid)."""
    try:
        head = parse_json(b64url_decode(token.split(".", 1)[0]))
    except ValueError:
        raise VerificationError("not a JWT: the header is not base64url JSON") from None
    if not isinstance(head, dict):
        raise VerificationError("not a JWT: the header is not a JSON object")
    return head


def verify_signature(token: str, *, alg: str, key: Any | None = None,
                     verifier: Callable[[bytes, bytes], bool] | None = None) -> dict[str, Any]:
    """The claims, once the signature checks out (claims themselves are not checked here)."""
    if key is not None:
        try:
            claims: dict[str, Any] = pyjwt.decode(token, key, algorithms=[alg],
                                                  options=_SIGNATURE_ONLY)  # type: ignore[arg-type]
        except pyjwt.InvalidTokenError as exc:
            raise VerificationError(f"token rejected: {exc}") from None
        return claims
    if verifier is None:
        raise ValueError("verify needs a key or a verifier")
    parts = token.split(".")
    if len(parts) != 3:
        raise VerificationError("not a JWT: expected three dot-separated parts")
    try:
        signature, body = b64url_decode(parts[2]), b64url_decode(parts[1])
    except ValueError:
        raise VerificationError("not a JWT: payload or signature is not base64url") from None
    if not verifier(f"{parts[0]}.{parts[1]}".encode("ascii"), signature):
        raise VerificationError("token rejected: Signature verification failed")
    # Parsed only once the signature holds: before that the payload is anyone's text.
    try:
        payload = parse_json(body)
    except ValueError:
        raise VerificationError("token rejected: the payload is not JSON") from None
    if not isinstance(payload, dict):
        raise VerificationError("token rejected: the payload is not a JSON object")
    return payload


def _number(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise VerificationError(f"token rejected: claim {name!r} must be a number")
    return float(value)


def check_claims(claims: Mapping[str, Any], *, now: datetime, leeway: float = 0.0,
                 issuer: str | Iterable[str] | None = None,
                 audience: str | Iterable[str] | None = None,
                 require: Iterable[str] = ()) -> None:
    """RFC 7519 checks: exp, nbf, iat (not in the future), iss and aud, with ``leeway`` seconds."""
    for name in require:
        if name not in claims:
            raise VerificationError(f"token rejected: required claim {name!r} is missing")
    t = now.timestamp()
    exp, nbf, iat = _number(claims, "exp"), _number(claims, "nbf"), _number(claims, "iat")
    if exp is not None and t > exp + leeway:
        raise VerificationError("token rejected: it has expired (exp)")
    if nbf is not None and t < nbf - leeway:
        raise VerificationError("token rejected: it is not valid yet (nbf)")
    if iat is not None and t < iat - leeway:
        raise VerificationError("token rejected: it was issued in the future (iat)")
    if issuer is not None:
        allowed = {issuer} if isinstance(issuer, str) else set(issuer)
        if claims.get("iss") not in allowed:
            raise VerificationError("token rejected: unexpected issuer (iss)")
    token_aud = claims.get("aud")
    if token_aud is not None and not isinstance(token_aud, str) and not (
            isinstance(token_aud, list) and all(isinstance(a, str) for a in token_aud)):
        raise VerificationError("token rejected: its audience (aud) is not a string or a list "
                                "of strings")
    if audience is None:
        if token_aud is not None:
            raise VerificationError(
                "token rejected: it has an audience (aud) but none was expected; accept it "
                "with --audience AUD (audience=... from Python)"
            )
        return
    expected = {audience} if isinstance(audience, str) else set(audience)
    given = {token_aud} if isinstance(token_aud, str) else set(token_aud or [])
    if not expected & given:
        raise VerificationError("token rejected: it is not for this audience (aud)")
