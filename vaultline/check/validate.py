"""Value formats a schema entry can require (``format:`` in vaultline.yaml).

Each validator returns problems as text that never quotes the value: a failing check must not
print the secret it failed on.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple
from urllib.parse import urlparse

from vaultline.findings import Severity

CERT_WARNING_DAYS = 30
# Seconds a schema's regex: format may take on one value (Python's re backtracks).
FORMAT_REGEX_TIMEOUT = 10.0


class FormatProblem(NamedTuple):  # not a dataclass: loading a project imports this
    severity: Severity
    message: str


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _pem_private_key(value: Any) -> list[FormatProblem]:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        load_pem_private_key(_text(value).encode(), password=None)
    except (ValueError, TypeError):
        return [FormatProblem(Severity.ERROR, "not an unencrypted PEM private key")]
    except Exception:  # unsupported algorithms raise their own types
        return [FormatProblem(Severity.ERROR, "not a PEM private key this machine can load")]
    return []


def _pem_certificate(value: Any, *, now: datetime | None = None) -> list[FormatProblem]:
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(_text(value).encode())
    except ValueError:
        return [FormatProblem(Severity.ERROR, "not a PEM certificate")]
    days = (cert.not_valid_after_utc - (now or datetime.now(UTC))).days
    if days < 0:
        return [FormatProblem(Severity.ERROR, f"certificate expired {-days} day(s) ago")]
    if days < CERT_WARNING_DAYS:
        return [FormatProblem(Severity.WARNING, f"certificate expires in {days} day(s)")]
    return []


def _jwt_key(value: Any) -> list[FormatProblem]:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    text = _text(value)
    if "-----BEGIN" not in text:
        if len(text.encode()) < 32:
            return [FormatProblem(Severity.ERROR, "an HMAC JWT secret must be at least 32 bytes")]
        return []
    try:
        key = load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError):
        return [FormatProblem(Severity.ERROR, "not a PEM private key usable for JWT signing")]
    if isinstance(key, rsa.RSAPrivateKey) and key.key_size < 2048:
        return [FormatProblem(Severity.ERROR, f"RSA key of {key.key_size} bits; use at least 2048")]
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
                      | ed25519.Ed25519PrivateKey):
        return [FormatProblem(Severity.ERROR, "key type cannot sign JWTs (use RSA, EC or Ed25519)")]
    return []


def _url(value: Any) -> list[FormatProblem]:
    parsed = urlparse(_text(value))
    if not parsed.scheme or not parsed.netloc:
        return [FormatProblem(Severity.ERROR, "not an absolute URL (scheme://host/...)")]
    return []


def _postgres_url(value: Any) -> list[FormatProblem]:
    parsed = urlparse(_text(value))
    if parsed.scheme not in ("postgres", "postgresql") or not parsed.hostname:
        return [FormatProblem(Severity.ERROR, "not a postgres:// URL with a host")]
    return []


VALIDATORS: dict[str, Callable[[Any], list[FormatProblem]]] = {
    "pem-private-key": _pem_private_key,
    "pem-certificate": _pem_certificate,
    "jwt-key": _jwt_key,
    "url": _url,
    "postgres-url": _postgres_url,
}


def check_format(fmt: str, value: Any) -> list[FormatProblem]:
    if fmt.startswith("regex:"):
        pattern = fmt[len("regex:"):]
        from vaultline._limits import TimeLimitExceeded, time_limit

        try:
            with time_limit(FORMAT_REGEX_TIMEOUT):
                matched = re.fullmatch(pattern, _text(value)) is not None
        except re.error as exc:
            return [FormatProblem(Severity.ERROR, f"format regex is invalid: {exc}")]
        except TimeLimitExceeded:
            return [FormatProblem(Severity.ERROR, f"format regex ran for more than "
                                  f"{FORMAT_REGEX_TIMEOUT:g} s on the value and was stopped: it "
                                  "backtracks (a repeated group that can match the same text in "
                                  "many ways, such as (a+)+); rewrite it")]
        return [] if matched else [FormatProblem(Severity.ERROR, f"does not match /{pattern}/")]
    validator = VALIDATORS.get(fmt)
    if validator is None:
        return [FormatProblem(Severity.ERROR, f"unknown format {fmt!r}; use one of "
                                       f"{', '.join(sorted(VALIDATORS))} or regex:PATTERN")]
    return validator(value)
