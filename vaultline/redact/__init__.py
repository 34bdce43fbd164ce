"""Masking of secret values in byte streams, strings, ``logging`` records and structlog events.

    masker = Masker(["s3cr3t-value"])
    masker.mask_bytes(b"token=s3cr3t-value")        # b"token=********"
    stream = masker.stream()                         # for pipes: feed() chunks, then flush()

``RedactingFilter`` and ``RedactingProcessor`` build a ``Masker`` from secret values or from
a resolved bundle (``from_bundle``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from vaultline.redact.masker import DEFAULT_MASK, Masker, SecretSource, StreamMasker

if TYPE_CHECKING:
    from vaultline.redact.logging_filter import RedactingFilter
    from vaultline.redact.structlog_processor import RedactingProcessor

# `vaultline run` needs only the masker; the logging integrations load on first use.
_LAZY = {"RedactingFilter": "vaultline.redact.logging_filter",
         "RedactingProcessor": "vaultline.redact.structlog_processor"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'vaultline.redact' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)

__all__ = [
    "DEFAULT_MASK",
    "Masker",
    "RedactingFilter",
    "RedactingProcessor",
    "SecretSource",
    "StreamMasker",
]
