"""JWT: kid in the header, claim checks with leeway, tampering, JWKS public only, RFC 7638."""

from __future__ import annotations

import json

import jwt as pyjwt
import pytest

from tests.factory import FakeClock
from vaultline.errors import KeyManagementError, VerificationError
from vaultline.keys import KeyManager
from vaultline.keys import jwt as jwt_mod
from vaultline.keys.jwks import PUBLIC_MEMBERS, b64url, load_public, thumbprint

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def test_rfc7638_example_thumbprint() -> None:
    jwk = {
        "kty": "RSA", "e": "AQAB", "alg": "RS256", "kid": "2011-04-29",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSo"
             "c_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YG"
             "jQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt"
             "-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    }
    assert thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.mark.parametrize("alg", ["EdDSA", "ES256", "RS256"])
def test_jwks_is_public_only_and_kid_is_the_thumbprint(keys: KeyManager, alg: str) -> None:
    ring = keys.create("api", purpose="signing", alg=alg)
    ring.stage()
    document = ring.jwks()
    assert len(document["keys"]) == 2
    for key in document["keys"]:
        assert set(key) <= PUBLIC_MEMBERS and not set(key) & PRIVATE_MEMBERS
        assert key["kid"] == thumbprint(key) and key["alg"] == alg and key["use"] == "sig"
    # Anyone with the JWKS can verify with PyJWT alone.
    token = ring.sign_jwt({"sub": "a"})
    kid = pyjwt.get_unverified_header(token)["kid"]
    jwk = next(k for k in document["keys"] if k["kid"] == kid)
    assert pyjwt.decode(token, load_public(jwk), algorithms=[alg]) == {"sub": "a"}
    assert "material" not in json.dumps(document)


def test_hmac_and_encryption_rings_have_no_jwks(keys: KeyManager) -> None:
    for name, purpose in (("h", "hmac"), ("e", "encryption")):
        with pytest.raises(KeyManagementError, match="only signing rings"):
            keys.create(name, purpose=purpose).jwks()


@pytest.mark.parametrize(("claims", "kwargs", "error"), [
    ({"exp": 1767225600 - 1}, {}, "expired"),
    ({"exp": 1767225600 - 5}, {"leeway": 10}, None),
    ({"nbf": 1767225600 + 60}, {}, "not valid yet"),
    ({"nbf": 1767225600 + 5}, {"leeway": 10}, None),
    ({"iat": 1767225600 + 60}, {}, "issued in the future"),
    ({"iss": "a"}, {"issuer": "b"}, "issuer"),
    ({"iss": "a"}, {"issuer": ["a", "b"]}, None),
    ({"aud": "x"}, {}, "none was expected"),
    ({"aud": ["x", "y"]}, {"audience": "y"}, None),
    ({"aud": "x"}, {"audience": "z"}, "audience"),
    ({}, {"require": ["exp"]}, "required claim 'exp'"),
    ({"exp": "soon"}, {}, "must be a number"),
])
def test_claim_checks_use_the_ring_clock(keys: KeyManager, claims: dict[str, object],
                                         kwargs: dict[str, object], error: str | None) -> None:
    # The fake clock starts at 2026-01-01T00:00:00Z = 1767225600.
    ring = keys.create("api", purpose="signing")
    token = ring.sign_jwt(claims)
    if error is None:
        assert ring.verify_jwt(token, **kwargs) == claims  # type: ignore[arg-type]
    else:
        with pytest.raises(VerificationError, match=error):
            ring.verify_jwt(token, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("alg", ["EdDSA", "HS256"])
def test_tampered_and_foreign_tokens_are_rejected(keys: KeyManager, alg: str) -> None:
    purpose = "hmac" if alg == "HS256" else "signing"
    ring = keys.create("a", purpose=purpose, alg=alg)
    other = keys.create("b", purpose=purpose, alg=alg)
    token = ring.sign_jwt({"role": "user"})
    head, _, sig = token.split(".")
    forged = f"{head}.{b64url(json.dumps({'role': 'admin'}).encode())}.{sig}"
    with pytest.raises(VerificationError, match="Signature"):
        ring.verify_jwt(forged)
    with pytest.raises(VerificationError, match="no key with kid"):
        other.verify_jwt(token)
    with pytest.raises(VerificationError):
        ring.verify_jwt("not-a-token")


def test_an_unknown_kid_is_shown_bounded(keys: KeyManager) -> None:
    """The kid is the token maker's: a 3 MB one must not make a 3 MB error line."""
    ring = keys.create("a", purpose="signing", alg="EdDSA")
    head = b64url(json.dumps({"alg": "EdDSA", "typ": "JWT", "kid": "k" * 3_000_000}).encode())
    token = f"{head}.{b64url(b'{}')}.{b64url(b'x' * 64)}"
    with pytest.raises(VerificationError) as info:
        ring.verify_jwt(token)
    assert str(info.value) == f"key ring 'a' has no key with kid '{'k' * 80}…'"


def test_alg_confusion_is_refused(keys: KeyManager) -> None:
    ring = keys.create("a", purpose="signing", alg="RS256")
    token = ring.sign_jwt({"x": 1})
    head = json.loads(__import__("base64").urlsafe_b64decode(token.split(".")[0] + "=="))
    head["alg"] = "HS256"
    forged = b64url(json.dumps(head).encode()) + "." + token.split(".", 1)[1]
    with pytest.raises(VerificationError, match="alg 'HS256'"):
        ring.verify_jwt(forged)


def test_webhook_signatures_overlap_and_replay_window(keys: KeyManager, clock: FakeClock) -> None:
    ring = keys.create("hooks", purpose="hmac")
    body = b'{"event":"paid"}'
    single = ring.sign_webhook(body)
    assert single.count("v1=") == 1
    assert ring.verify_webhook(single, body) == int(clock.now.timestamp())

    ring.rotate()
    both = ring.sign_webhook(body)
    assert both.count("v1=") == 2  # old and new secret during the overlap
    # A receiver that still only knows the old version accepts the second v1 too.
    old_only = "t=" + both.split(",")[0][2:] + "," + both.split(",")[2]
    assert ring.verify_webhook(old_only, body)
    with pytest.raises(VerificationError, match="does not match"):
        ring.verify_webhook(both, body + b" ")
    clock.advance(seconds=301)
    with pytest.raises(VerificationError, match="replay window"):
        ring.verify_webhook(both, body)
    with pytest.raises(VerificationError, match="needs t="):
        ring.verify_webhook("v1=abc", body)


def test_a_payload_is_parsed_only_once_its_signature_holds() -> None:
    """Through a backend's verifier (Transit HMAC): a forged payload is never parsed."""
    token = ".".join(b64url(part) for part in (b'{"alg":"HS256","kid":"k"}', b"[" * 100_000,
                                               b"signature"))
    with pytest.raises(VerificationError, match="Signature verification failed"):
        jwt_mod.verify_signature(token, alg="HS256", verifier=lambda _message, _sig: False)
    with pytest.raises(VerificationError, match="the payload is not JSON"):
        jwt_mod.verify_signature(token, alg="HS256", verifier=lambda _message, _sig: True)
