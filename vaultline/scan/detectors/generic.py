"""The generic detector: a secret-sounding name assigned a high-entropy literal.

Catches ``password = "…"``, ``DB_PASSWORD=…``, ``"apiKey": "…"``, ``secret: …`` and
``<password>…</password>`` in code and config formats. Its precision comes from the filters
(placeholders, expressions, hashes, low entropy); provider rules outrank it on overlap.

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
    r"|encryption[_.-]?key|master[_.-]?key"
)
_NAME_WORD = re.compile(("(?i)" + _WORDS).encode())
_MAX_NAME = 64
# The identifier run around a keyword hit: matched forward from the hit, and forward over
# the reversed 64 bytes before it, so both scans run in the regex engine rather than Python.
_RUN = re.compile(rb"[A-Za-z0-9_.$-]{0,64}")
# After the name: an optional closing quote/bracket, an assignment operator, an optional
# opening quote (with a Python string prefix), and the value up to the matching quote or a
# delimiter.
_ASSIGNMENT = re.compile(
    rb"[\"'\]]{0,2}[ \t]*(?::=|=>|\?=|=|:|<-)[ \t]*(?:[rbuf]?(?P<q>[\"'`]))?"
    rb"(?P<secret>[^\s\"'`;,)}\]\\<>]{8,200})(?(q)(?P=q)|(?=[\s;,)}\]]|$))"
)
_XML_VALUE = re.compile(rb">(?P<secret>[^<>\s]{8,200})</")


def _find(data: bytes, ends: list[int]) -> Iterator[RawMatch]:
    done_until = -1
    size = len(data)
    for end in ends:
        if end <= done_until:
            continue
        before = _RUN.match(data[max(0, end - _MAX_NAME) : end][::-1])
        start = end - (before.end() if before else 0)
        after = _RUN.match(data, end)
        stop = after.end() if after else end
        done_until = stop
        name = data[start:stop]
        if len(name) >= _MAX_NAME and not _NAME_WORD.search(name):
            continue
        if start > 0 and data[start - 1] == 0x3C and stop < size and data[stop] == 0x3E:  # <name>
            xml = _XML_VALUE.match(data, stop)
            if xml:
                yield RawMatch(*xml.span("secret"), start, name, True)
            continue
        match = _ASSIGNMENT.match(data, stop)
        if match:
            yield RawMatch(*match.span("secret"), start, name, match.group("q") is not None)


GENERIC = Detector(
    rule_id="generic-secret",
    description="High-entropy value assigned to a password, secret, token or key",
    patterns=(_ASSIGNMENT, _XML_VALUE),
    keywords=(
        "password", "passwd", "passphrase", "pwd", "secret", "token", "api_key", "apikey",
        "api-key", "api.key", "access_key", "accesskey", "access-key", "auth_key", "authkey",
        "private_key", "privatekey", "credential", "signing_key", "signingkey",
        "encryption_key", "master_key", "masterkey",
    ),
    min_entropy=3.0,
    priority=0,
    finder=_find,
)

DETECTORS = (GENERIC,)
