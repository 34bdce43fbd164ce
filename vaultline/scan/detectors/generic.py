"""The generic detector: a secret-sounding name assigned a high-entropy literal.

Catches ``password = "…"``, ``DB_PASSWORD=…``, ``"apiKey": "…"``, ``secret: …``,
``<password>…</password>``, ``<add key="Password" value="…"/>``, Go ``var apiToken string =
"…"``, PHP ``$token .= "…"``, ``setProperty("X_TOKEN", "…")``, Makefile ``::=``, escaped
JSON (``{\\"access_token\\":\\"…\\"}``) and ``KEY=value`` inside a JSON string. Its precision
comes from the filters (placeholders, expressions, hashes, low entropy); provider rules
outrank it on overlap.

Its keywords are everywhere in code, so instead of running a regex over every line with a
keyword, the finder starts from each keyword hit: it takes the identifier around the hit as
the name and matches the assignment that follows with an anchored regex.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from vaultline.scan.detectors._base import Detector, RawMatch

_WORDS = (
    r"pass(?:word|wd|phrase)|pwd|secret|token|api[_.-]?key|apikey|access[_.-]?key"
    r"|auth[_.-]?key|private[_.-]?key|client[_.-]?secret|credentials?|signing[_.-]?key"
    r"|encryption[_.-]?key|master[_.-]?key|app[_.-]?key|consumer[_.-]?key|jwt[_.-]?key"
    r"|hmac[_.-]?key|license[_.-]?key|session[_.-]?key|client[_.-]?key|passcode"
)
# A keyword counts only as a whole word of the name: "pwd" in "pwdump" or "token" in
# "tokenizer" starts another word (a lower-case letter follows, other than a plural s).
_NAME_WORD = re.compile(("(?i)(?:" + _WORDS + ")(?:e?s)?(?-i:(?![a-z]))").encode())
# Short names ("DB_PASS", "smtpPw", "PW") count only as a whole segment of the name.
_SHORT_WORDS = frozenset({b"pass", b"pw", b"pwd", b"passwd", b"pword", b"pswd"})
_SEGMENT = re.compile(rb"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
_MAX_NAME = 64
# The identifier run around a keyword hit: matched forward from the hit, and forward over
# the reversed 64 bytes before it, so both scans run in the regex engine rather than Python.
_RUN = re.compile(rb"[A-Za-z0-9_.$-]{0,64}")
# After the name: an optional closing quote/bracket (maybe backslash-escaped), a type
# annotation (Go ``string``, TypeScript ``: string``) or a C# ``{ get; set; }``, an
# assignment operator or, for a
# quoted name, a comma (``put("token", "…")``) or an XML ``value=``; then an optional
# opening quote (with a Python string prefix) or YAML block indicator, and the value up to
# the matching quote or a delimiter.
_ASSIGNMENT = re.compile(
    rb"(?:\\?[\"'\]]){0,2}"
    rb"(?:[ \t]*:[ \t]*[A-Za-z_][\w.\[\]<>]*(?=[ \t]*=)|[ \t]+\*?(?:\[\])?[A-Za-z_][\w.]*(?=[ \t]*=)"
    rb"|[ \t]*\{[ \t]*get;[^}\n]{0,40}\}(?=[ \t]*=))?"
    rb"[ \t]*(?P<op>:::=|::=|:=|=>|\?=|\.=|\+=|\|\|=|\?\?=|=|:|<-|,|[ \t]value[ \t]*=)"
    rb"[ \t]*(?:[|>][-+]?[ \t]*\r?\n[ \t]+)?(?:[rbuf]?(?P<q>\\?[\"'`]))?"
    rb"(?P<secret>[^\s\"'`;,)}\]\\<>]{8,200})(?(q)(?P=q)|(?=[\s;,)}\]\"\\]|$))"
)
_XML_VALUE = re.compile(rb">\s*(?P<secret>[^<>\s]{8,200})\s*</")
_QUOTES = (0x22, 0x27)  # " '
_NAME_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.$-")


def name_strength(name: str) -> str:
    """``"word"`` when a secret keyword is a word of the name, ``"short"`` when only a short
    name (``PW``, ``DB_PASS``) is, else ``""``."""
    return _strength(name.encode("utf-8", "replace"))


def _strength(raw: bytes) -> str:
    if _NAME_WORD.search(raw):
        return "word"
    if any(s.lower() in _SHORT_WORDS for s in _SEGMENT.findall(raw)):
        return "short"
    return ""


def _find(data: bytes, ends: list[int]) -> Iterator[RawMatch]:
    done_until = -1
    size = len(data)
    for end in ends:
        if data[end - 1] not in _NAME_BYTES:
            end -= 1  # an anchor ends one past the name
        if end <= done_until:
            continue
        after = _RUN.match(data, end)
        stop = after.end() if after else end
        done_until = stop
        # The cheap, usually failing test first: most keyword hits in code assign nothing,
        # and then the name before the hit is never looked at.
        xml_close = stop < size and data[stop] == 0x3E
        match = None if xml_close else _ASSIGNMENT.match(data, stop)
        if match is None and not xml_close:
            continue
        before = _RUN.match(data[max(0, end - _MAX_NAME) : end][::-1])
        start = end - (before.end() if before else 0)
        escaped_line = start > 0 and data[start - 1] == 0x5C and data[start : start + 1] in b"ntr"
        if escaped_line:  # "...\nX_TOKEN=..." inside a JSON or code string
            start += 1
        name = data[start:stop]
        if xml_close:
            if start > 0 and data[start - 1] == 0x3C:  # <name>value</name>
                xml = _XML_VALUE.match(data, stop)
                if xml and _strength(name):
                    yield RawMatch(*xml.span("secret"), start, name, True)
            continue
        assert match is not None
        if not _strength(name):
            continue
        op = match.group("op")
        quoted_name = start > 0 and data[start - 1] in _QUOTES
        # A comma or value= only assigns when the name is a quoted string and so is the value.
        if (op == b"," or b"value" in op) and not (quoted_name and match.group("q")):
            continue
        quoted = match.group("q") is not None or escaped_line
        yield RawMatch(*match.span("secret"), start, name, quoted)


GENERIC = Detector(
    rule_id="generic-secret",
    description="High-entropy value assigned to a password, secret, token or key",
    patterns=(_ASSIGNMENT, _XML_VALUE),
    keywords=(
        "password", "passwd", "passphrase", "pwd", "secret", "token", "api_key", "apikey",
        "api-key", "api.key", "access_key", "accesskey", "access-key", "auth_key", "authkey",
        "private_key", "privatekey", "credential", "signing_key", "signingkey",
        "encryption_key", "master_key", "masterkey", "app_key", "appkey", "consumer_key",
        "consumerkey", "jwt_key", "hmac_key", "license_key", "licensekey", "session_key",
        "client_key", "passcode",
    ),
    # Short names as a whole segment: a letter after them is another word ("password" has
    # its own keyword; "passenger", "pwned" are not names of secrets).
    anchors=(r"(?:PASS|Pass|pass|PW|Pw|pw)[^A-Za-z]",),
    min_entropy=3.0,
    priority=0,
    finder=_find,
    free_form=True,
)

DETECTORS = (GENERIC,)
