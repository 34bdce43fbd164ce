"""The byte sequences that give a secret value away: the value and its encoded forms.

Beyond the value itself: base64 (standard, URL-safe, unpadded, embedded), percent-encoding
in upper and lower case as the common encoders write it (each leaves other characters as
they are: Python's quote and quote_plus, JavaScript's encodeURIComponent and encodeURI, URL
userinfo as browsers and Go write it, Go's PathEscape and QueryEscape, and form encoding as
Java's URLEncoder, URLSearchParams and PHP's urlencode write it, ``~`` as ``%7E``), JSON
escaping as Python, JavaScript, Go (``<>&`` as ``\\u003c``...) and PHP (``\\/``) write it,
Python ``repr`` escaping (what ``%r``, a dict in a log call or ``KeyError(value)`` prints),
and for a multi-line value each line long enough to be unambiguous on its own (a PEM body
line is key material) and the value with the other line ending (``\n`` or ``\r\n``).

A value's base64 inside a longer base64 stream depends on where the value falls in the
3-byte groups, so besides the value's own encoding we keep, for each of the three
alignments, only the characters whose 6 bits come from the value alone.
"""

from __future__ import annotations

import base64
import functools
import json
import re

#: Values shorter than this (in characters) are never masked: they would mask everything.
MIN_VALUE_CHARS = 2
#: Base64 fragments cut from a longer stream are kept only from this length on; shorter
#: ones are too common in ordinary base64 to be evidence of the value.
MIN_EMBEDDED_BASE64 = 8
#: A line of a multi-line value is masked on its own from this length on.
MIN_LINE_CHARS = 8

_STD_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
# For a value preceded by `offset` unknown bytes in its 3-byte group: how many leading
# characters mix in those bytes, and how many characters of a trailing partial group
# (by its byte count) come from the value alone.
_LEADING_MIXED = {0: 0, 1: 2, 2: 3}
_TRAILING_PURE = {0: 0, 1: 1, 2: 2}


#: What every percent-encoder leaves as it is (RFC 3986's unreserved characters but ``~``).
_PLAIN = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"

#: What each percent-encoder leaves unescaped besides those, and how it writes a space (None:
#: as %20). Form encoding escapes ``~``: a value of unreserved characters has a form too.
_ENCODERS: tuple[tuple[str, str | None], ...] = (
    ("~/", None),                 # Python quote
    ("~", None),                  # Python quote(safe=""), PHP rawurlencode
    ("~!'()*", None),             # JavaScript encodeURIComponent
    ("~;,/?:@&=+$#!'()*", None),  # JavaScript encodeURI
    ("~!$%&'()*+,", None),        # WHATWG URL userinfo (browsers, Node)
    ("~$&+,;=", None),            # Go url.UserPassword
    ("~$&+:=@", None),            # Go url.PathEscape
    ("~", "+"),                   # Python quote_plus, Go url.QueryEscape
    ("*", "+"),                   # Java URLEncoder, URLSearchParams, HTML forms
    ("", "+"),                    # PHP urlencode
)


@functools.cache
def _percent_escapes() -> tuple[dict[int, str], ...]:
    """For each encoder and hex case, the bytes it escapes and how (``0x2F: "%2F"``); built on
    the first value that needs them (it costs a few thousand format calls)."""
    tables = []
    for safe, space in _ENCODERS:
        kept = set(_PLAIN) | set(safe.encode())
        for hex_format in ("%{:02X}", "%{:02x}"):
            table = {b: hex_format.format(b) for b in range(256) if b not in kept}
            if space is not None:
                table[0x20] = space
            tables.append(table)
    return tuple(tables)


@functools.lru_cache(maxsize=4096)
def _escapings(special: frozenset[int]) -> tuple[dict[int, str], ...]:
    """The distinct ways the encoders escape the bytes in `special`: encoders that agree on
    them write a value holding only those the same way (usually two or three ways)."""
    distinct: dict[frozenset[tuple[int, str]], dict[int, str]] = {}
    for escapes in _percent_escapes():
        mapping = {b: escapes[b] for b in special if b in escapes}
        distinct.setdefault(frozenset(mapping.items()), mapping)
    return tuple(distinct.values())


def _percent_forms(raw: bytes) -> set[bytes]:
    """`raw` as each encoder writes it. Generated secrets share a few sets of non-plain
    bytes, so the ways to escape each set are worked out once (this runs for every secret a
    `run` masks)."""
    text = raw.decode("latin-1")  # one character per byte, for str.translate
    forms = set()
    for mapping in _escapings(frozenset(raw.translate(None, _PLAIN))):
        if len(mapping) == 1:  # the usual case, and replace() is several times faster
            [(byte, escaped)] = mapping.items()
            forms.add(text.replace(chr(byte), escaped).encode("ascii"))
        else:
            forms.add(text.translate(mapping).encode("ascii") if mapping else raw)
    return forms


# Go's encoding/json writes these as \u00XX (HTML-safe); PHP's json_encode writes \/.
_GO_JSON = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})
_JSON_HEX = re.compile(r"\\u[0-9a-f]{4}")


def _upper_hex(match: re.Match[str]) -> str:
    return "\\u" + match.group(0)[2:].upper()


def encoded_forms(value: str) -> set[bytes]:
    """Every byte sequence to mask for `value`; empty for values too short to mask."""
    if len(value) < MIN_VALUE_CHARS:
        return set()
    forms = _forms_of(value)
    if "\n" in value or "\r" in value:
        lines = value.splitlines()
        forms |= _forms_of("\r\n".join(lines) if "\r\n" not in value else "\n".join(lines))
        for line in lines:
            line = line.strip()
            if len(line) >= MIN_LINE_CHARS:
                forms |= _forms_of(line)
    return forms


def _python_escaped(value: str) -> set[str]:
    """The value as ``repr`` and ``ascii`` show it inside quotes, and once more repr'd.

    repr quotes with ``"`` when the value holds ``'`` only; the same value inside a
    single-quoted repr (of an enclosing string) shows ``\\'``. One more level covers a
    repr of text that already holds a repr (an exception message inside a tuple).
    """
    shown = {repr(value)[1:-1], ascii(value)[1:-1]}
    if repr(value)[0] == '"':
        shown |= {s.replace("'", "\\'") for s in shown}
    shown |= {repr(s)[1:-1] for s in shown}
    return shown


#: Characters that JSON and Python escaping leave as they are, and percent-encoding too but
#: for form encoding's ``~``.
_UNESCAPED = re.compile(r"[A-Za-z0-9_.~-]*")


def _forms_of(value: str) -> set[bytes]:
    raw = value.encode("utf-8", "surrogatepass")
    whole = base64.b64encode(raw)
    b64 = {whole, whole.rstrip(b"=")}
    for offset in (0, 1, 2):
        encoded = whole if offset == 0 else base64.b64encode(b"\0" * offset + raw)
        total = offset + len(raw)
        end = 4 * (total // 3) + _TRAILING_PURE[total % 3]
        fragment = encoded[_LEADING_MIXED[offset] : end]
        if len(fragment) >= MIN_EMBEDDED_BASE64:
            b64.add(fragment)
    forms = {raw}
    forms |= b64
    forms |= {f.translate(_STD_TO_URLSAFE) for f in b64}
    if _UNESCAPED.fullmatch(value):
        # The usual generated secret: every escaped form below is the value itself, but form
        # encoding's of a ~. This runs for each secret a `run` masks (tests check it against
        # the full computation).
        if "~" in value:
            forms |= _percent_forms(raw)
        return {f for f in forms if len(f) >= MIN_VALUE_CHARS}
    forms |= _percent_forms(raw)
    escaped = json.dumps(value)[1:-1]
    shown = {escaped, json.dumps(value, ensure_ascii=False)[1:-1]}
    if "\\u" in escaped:
        shown.add(_JSON_HEX.sub(_upper_hex, escaped))
    if "<" in value or ">" in value or "&" in value:
        shown |= {f.translate(_GO_JSON) for f in shown}
    if "/" in value:
        shown |= {f.replace("/", "\\/") for f in shown}
    forms |= {f.encode("utf-8", "surrogatepass") for f in shown}
    forms |= {f.encode("utf-8", "surrogatepass") for f in _python_escaped(value)}
    return {f for f in forms if len(f) >= MIN_VALUE_CHARS}
