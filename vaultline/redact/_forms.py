"""The byte sequences that give a secret value away: the value and its encoded forms.

Beyond the value itself: base64 (standard, URL-safe, unpadded, embedded), percent-encoding
in upper and lower case as the common encoders write it (each leaves other characters as
they are: Python's quote and quote_plus, JavaScript's encodeURIComponent and encodeURI, URL
userinfo as browsers and Go write it, Go's PathEscape and QueryEscape, and form encoding as
Java's URLEncoder, URLSearchParams and PHP's urlencode write it, ``~`` as ``%7E``), JSON
escaping as Python, JavaScript, Go (``<>&`` as ``\\u003c``...) and PHP (``\\/``) write it,
Python ``repr`` escaping (what ``%r``, a dict in a log call or ``KeyError(value)`` prints, and
the ``bytes`` repr of a non-ASCII value), HTML and XML escaping as the common template engines
and serializers write it, quotes doubled (YAML, SQL, CSV) and shell-quoted (bash's ``set -x``,
``shlex.quote``), PyYAML's double-quoted escapes, base64 wrapped at 76 or 64 columns, and for a
multi-line value each line long enough to be unambiguous on its own (a PEM body line is key
material) and the value with the other line ending (``\n`` or ``\r\n``).

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
    # These two for the whole value only: a program prints a document or a key as a whole
    # this way, not one line of it.
    forms |= _wrapped_base64(value.encode("utf-8", "surrogatepass"))
    forms |= {f.encode("utf-8", "surrogatepass") for f in _quoted(value)}
    if "\n" in value or "\r" in value:
        lines = value.splitlines()
        forms |= _forms_of("\r\n".join(lines) if "\r\n" not in value else "\n".join(lines))
        for line in lines:
            line = line.strip()
            if len(line) >= MIN_LINE_CHARS:
                forms |= _forms_of(line)
    return forms


#: How base64 is wrapped when it is written as lines: 76 columns (coreutils ``base64``,
#: Python's ``encodebytes``, Perl's ``encode_base64``; MIME and Java's ``getMimeEncoder`` with
#: CRLF) and 64 (``openssl base64``, PEM).
_WRAPS = ((76, b"\n"), (76, b"\r\n"), (64, b"\n"))


def _wrapped_base64(raw: bytes) -> set[bytes]:
    """The value's base64 as line-wrapping encoders write it, when it is longer than a line:
    up to its last character that comes from the value alone, so a newline or other bytes
    encoded after the value (``echo "$KEY" | base64``) change nothing."""
    pure = base64.b64encode(raw)[: 4 * (len(raw) // 3) + _TRAILING_PURE[len(raw) % 3]]
    return {end.join(pure[i : i + width] for i in range(0, len(pure), width))
            for width, end in _WRAPS if len(pure) > width}


def _python_escaped(value: str) -> set[str]:
    """The value as ``repr`` and ``ascii`` show it inside quotes, and once more repr'd.

    repr quotes with ``"`` when the value holds ``'`` only; the same value inside a
    single-quoted repr (of an enclosing string) shows ``\\'``. One more level covers a
    repr of text that already holds a repr (an exception message inside a tuple). A value
    with non-ASCII characters is also shown as its UTF-8 ``bytes`` repr (``b'p\\xc3\\xa4ss'``:
    a subprocess's output, a response body), and as PyYAML writes it in double quotes
    (``"p\\xE4ss"``: ``yaml.dump`` escapes non-ASCII characters unless told otherwise).
    """
    shown = {repr(value)[1:-1], ascii(value)[1:-1]}
    if not value.isascii():
        shown.add(repr(value.encode("utf-8", "surrogatepass"))[2:-1])
    if repr(value)[0] == '"':
        shown |= {s.replace("'", "\\'") for s in shown}
    shown |= {repr(s)[1:-1] for s in shown}
    if not value.isascii():
        shown.add(_yaml_double_quoted(value))
    return shown


# PyYAML's emitter (``write_double_quoted``): these by name, other characters outside
# printable ASCII as \xXX, \uXXXX or \UXXXXXXXX in upper-case hex.
_YAML_ESCAPES = {"\0": "0", "\x07": "a", "\x08": "b", "\t": "t", "\n": "n", "\x0b": "v",
                 "\x0c": "f", "\r": "r", "\x1b": "e", '"': '"', "\\": "\\", "\x85": "N",
                 "\xa0": "_", "\u2028": "L", "\u2029": "P"}


def _yaml_double_quoted(value: str) -> str:
    out = []
    for char in value:
        code = ord(char)
        if char in _YAML_ESCAPES:
            out.append("\\" + _YAML_ESCAPES[char])
        elif 0x20 <= code <= 0x7E:
            out.append(char)
        else:
            out.append(f"\\x{code:02X}" if code <= 0xFF else f"\\u{code:04X}" if code <= 0xFFFF
                       else f"\\U{code:08X}")
    return "".join(out)


_HTML_COMMON = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
#: How HTML and XML escapers write the quotes (all write ``&amp; &lt; &gt;``).
_HTML = tuple(str.maketrans({**_HTML_COMMON, '"': quot, "'": apos}) for quot, apos in (
    ("&quot;", "&#x27;"),  # Python's html.escape (Django's escape)
    ("&#34;", "&#39;"),    # MarkupSafe (Jinja2, Flask)
    ("&quot;", "&apos;"),  # Apache Commons Text's escapeXml10
    ('"', "'"),            # XML text: ElementTree, Java's Transformer
    ("&quot;", "'"),       # XML attributes: ElementTree, Java's Transformer; escapeHtml4
))
_HTML_SPECIAL = re.compile("[&<>\"']")


def _quoted(value: str) -> set[str]:
    """The value as HTML and XML escapers, quote doubling (YAML's and SQL's ``''``, CSV's
    ``""``) and shell quoting (bash's ``set -x`` and ``${v@Q}`` ``'\\''``, Python's
    ``shlex.quote`` ``'"'"'``) write it; nothing for a value without such characters."""
    if not _HTML_SPECIAL.search(value):
        return set()
    shown = {value.translate(table) for table in _HTML}
    if "'" in value:
        shown |= {value.replace("'", "''"), value.replace("'", "'\\''"),
                  value.replace("'", "'\"'\"'")}
    if '"' in value:
        shown.add(value.replace('"', '""'))
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
