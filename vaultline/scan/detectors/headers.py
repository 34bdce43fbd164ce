"""HTTP ``Authorization`` headers: Bearer and token credentials, Basic user:password, NTLM.

Seen in curl commands, HTTP client code, recorded requests and API docs:
``-H "Authorization: Bearer …"``, ``headers["Authorization"] = "token …"``,
``'Authorization': 'Basic …'``. The value after the scheme is the credential; a Basic value
counts only when it decodes to ``user:password``.
"""

from __future__ import annotations

import base64
import binascii

from vaultline.scan.detectors._base import END, rule

# The header name, then up to a few quote/colon/comma/space characters before the scheme
# (``Authorization: ``, ``"Authorization": "``, ``("Authorization", "``).
_HEADER = r"(?i:authorization|proxy-authorization|x-auth)[\"'\]]?\s*(?::|=>|=|,)?\s*[\"'`]?\s*"


def _is_user_colon_password(secret: bytes) -> bool:
    try:
        decoded = base64.b64decode(secret + b"=" * (-len(secret) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    user, sep, password = decoded.partition(b":")
    return bool(
        sep and user and len(password) >= 3 and decoded.isascii()
        and decoded.decode("ascii").isprintable()
    )


DETECTORS = (
    rule(
        "http-bearer-token",
        "Bearer or token credential in an HTTP Authorization header",
        _HEADER + r"(?i:bearer|token|apikey|api-key|sso-key)\s+(?P<secret>[A-Za-z0-9._~+/=:-]{16,4096})"
        + END,
        keywords=("authorization",),
        min_entropy=3.0,
        priority=1,
        free_form=True,
    ),
    rule(
        "http-basic-auth-header",
        "user:password (base64) in an HTTP Basic Authorization header",
        _HEADER + r"(?i:basic)\s+(?P<secret>[A-Za-z0-9+/]{8,400}={0,2})" + r"(?![A-Za-z0-9+/=])",
        keywords=("basic ",),
        validator=_is_user_colon_password,
        priority=1,
    ),
    rule(
        "http-ntlm-negotiate-header",
        "NTLM or Negotiate (Kerberos/SPNEGO) credential in an HTTP Authorization header",
        _HEADER + r"(?i:ntlm|negotiate)\s+(?P<secret>(?:TlRMTVNTUAAD|YII)[A-Za-z0-9+/]{40,4096}={0,2})",
        keywords=("ntlm ", "negotiate "),
        min_entropy=3.5,
        priority=1,
    ),
)
