"""Docker client configuration: registry credentials in an ``auths`` block."""

from __future__ import annotations

import base64
import binascii

from vaultline.scan.detectors._base import rule


def _is_user_colon_password(secret: bytes) -> bool:
    # A docker "auth" value is base64("user:password"); anything else is not a credential.
    try:
        decoded = base64.b64decode(secret, validate=True)
    except (binascii.Error, ValueError):
        return False
    user, sep, password = decoded.partition(b":")
    return bool(sep and user and len(password) >= 4)


DETECTORS = (
    rule(
        "docker-config-auth",
        "Registry credentials in a Docker config.json auths block",
        r"\"auths\"\s*:\s*\{.{0,400}?\"auth\"\s*:\s*\"([A-Za-z0-9+/]{8,}={0,2})\"",
        keywords=('"auths"',),
        validator=_is_user_colon_password,
        multiline=True,
    ),
)
