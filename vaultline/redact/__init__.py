"""Masking of secret values in byte streams, strings, ``logging`` records and structlog events.

    masker = Masker(["s3cr3t-value"])
    masker.mask_bytes(b"token=s3cr3t-value")        # b"token=********"
    stream = masker.stream()                         # for pipes: feed() chunks, then flush()

``RedactingFilter`` and ``RedactingProcessor`` build a ``Masker`` from secret values or from
a resolved bundle (``from_bundle``).
"""

from __future__ import annotations

from vaultline.redact.logging_filter import RedactingFilter
from vaultline.redact.masker import DEFAULT_MASK, Masker, SecretSource, StreamMasker
from vaultline.redact.structlog_processor import RedactingProcessor

__all__ = [
    "DEFAULT_MASK",
    "Masker",
    "RedactingFilter",
    "RedactingProcessor",
    "SecretSource",
    "StreamMasker",
]
