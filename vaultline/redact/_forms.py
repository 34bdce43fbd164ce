"""The byte sequences that give a secret value away: the value and its encoded forms.

A value's base64 inside a longer base64 stream depends on where the value falls in the
3-byte groups, so besides the value's own encoding we keep, for each of the three
alignments, only the characters whose 6 bits come from the value alone.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus

#: Values shorter than this (in characters) are never masked: they would mask everything.
MIN_VALUE_CHARS = 2
#: Base64 fragments cut from a longer stream are kept only from this length on; shorter
#: ones are too common in ordinary base64 to be evidence of the value.
MIN_EMBEDDED_BASE64 = 8

_STD_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
# For a value preceded by `offset` unknown bytes in its 3-byte group: how many leading
# characters mix in those bytes, and how many characters of a trailing partial group
# (by its byte count) come from the value alone.
_LEADING_MIXED = {0: 0, 1: 2, 2: 3}
_TRAILING_PURE = {0: 0, 1: 1, 2: 2}


def encoded_forms(value: str) -> set[bytes]:
    """Every byte sequence to mask for `value`; empty for values too short to mask."""
    if len(value) < MIN_VALUE_CHARS:
        return set()
    raw = value.encode("utf-8", "surrogatepass")
    b64 = {base64.b64encode(raw)}
    b64.add(base64.b64encode(raw).rstrip(b"="))
    for offset in (0, 1, 2):
        encoded = base64.b64encode(b"\0" * offset + raw)
        total = offset + len(raw)
        end = 4 * (total // 3) + _TRAILING_PURE[total % 3]
        fragment = encoded[_LEADING_MIXED[offset] : end]
        if len(fragment) >= MIN_EMBEDDED_BASE64:
            b64.add(fragment)
    forms = {raw}
    forms |= b64
    forms |= {f.translate(_STD_TO_URLSAFE) for f in b64}
    forms.add(quote(raw).encode("ascii"))
    forms.add(quote(raw, safe="").encode("ascii"))
    forms.add(quote_plus(raw).encode("ascii"))
    forms.add(json.dumps(value)[1:-1].encode("ascii"))
    forms.add(json.dumps(value, ensure_ascii=False)[1:-1].encode("utf-8", "surrogatepass"))
    return {f for f in forms if len(f) >= MIN_VALUE_CHARS}
