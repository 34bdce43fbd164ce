"""JSON Web Tokens."""

from __future__ import annotations

import base64
import binascii

from vaultline._limits import parse_json
from vaultline.scan.detectors._base import END, START, rule


def _has_jose_header(secret: bytes) -> bool:
    # "eyJ" starts many base64 JSON blobs; a JWT's first segment is a JOSE header with "alg".
    head = secret.split(b".", 1)[0]
    try:
        header = parse_json(base64.urlsafe_b64decode(head + b"=" * (-len(head) % 4)))
    except (binascii.Error, ValueError):
        return False
    return isinstance(header, dict) and "alg" in header


DETECTORS = (
    rule("jwt", "JSON Web Token",
         START + r"(eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{16,})" + END,
         keywords=("eyJ",), validator=_has_jose_header, min_entropy=3.5),
)
