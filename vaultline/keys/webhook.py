"""Webhook signatures: HMAC-SHA256 over ``timestamp.body``, header ``t=…,v1=…[,v1=…]``.

During a rotation's overlap the sender signs with every active version (one ``v1`` each), so a
receiver holding either the old or the new secret accepts the request; the receiver accepts
any ``v1`` that matches one of its active versions, within a replay window around ``t``.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from datetime import datetime

from vaultline.errors import VerificationError

SCHEME = "v1"
DEFAULT_TOLERANCE = 300.0  # seconds either side of the receiver's clock

Mac = Callable[[bytes], bytes]


def signed_payload(timestamp: int, body: bytes) -> bytes:
    return str(timestamp).encode("ascii") + b"." + body


def sign(body: bytes, *, timestamp: int, macs: Sequence[Mac]) -> str:
    payload = signed_payload(timestamp, body)
    return ",".join([f"t={timestamp}", *(f"{SCHEME}={mac(payload).hex()}" for mac in macs)])


def parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise VerificationError("webhook signature header has a non-numeric t=") from None
        elif name == SCHEME and value:
            signatures.append(value.lower())
    if timestamp is None or not signatures:
        raise VerificationError(f"webhook signature header needs t= and at least one {SCHEME}=")
    return timestamp, signatures


def verify(header: str, body: bytes, *, now: datetime, macs: Sequence[Mac],
           tolerance: float = DEFAULT_TOLERANCE) -> int:
    """Check the header against ``body``; returns the timestamp. VerificationError otherwise."""
    timestamp, signatures = parse(header)
    if abs(now.timestamp() - timestamp) > tolerance:
        raise VerificationError(
            f"webhook timestamp is outside the replay window of {tolerance:.0f}s"
        )
    payload = signed_payload(timestamp, body)
    for mac in macs:
        expected = mac(payload).hex()
        # compare_digest against every candidate: no early exit on the position of a match.
        if any(hmac.compare_digest(expected, s) for s in signatures):
            return timestamp
    raise VerificationError("webhook signature does not match any active key version")
