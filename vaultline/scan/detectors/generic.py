"""The generic detector: a secret-sounding name assigned a high-entropy literal.

Catches ``password = "…"``, ``DB_PASSWORD=…``, ``"apiKey": "…"``, ``secret: …`` and
``<password>…</password>`` in code and config formats. Its precision comes from the filters
(placeholders, expressions, hashes, low entropy); provider rules outrank it on overlap.
"""

from __future__ import annotations

from vaultline.scan.detectors._base import rule

_WORDS = (
    r"pass(?:word|wd|phrase)|pwd|secret|token|api[_.-]?key|apikey|access[_.-]?key"
    r"|auth[_.-]?key|private[_.-]?key|client[_.-]?secret|credentials?|signing[_.-]?key"
    r"|encryption[_.-]?key|master[_.-]?key"
)
# name, optional closing quote/bracket, an assignment operator, an optional opening quote
# and the value up to the matching quote or a delimiter.
_ASSIGN = (
    r"(?i)(?P<name>[A-Za-z0-9_.$-]{0,40}?(?:" + _WORDS + r")[A-Za-z0-9_.-]{0,20})"
    r"[\"'\]]{0,2}[ \t]*(?::=|=>|\?=|=|:|<-)[ \t]*(?:[rbuf]?(?P<q>[\"'`]))?"
    r"(?P<secret>[^\s\"'`;,)}\]\\<>]{8,200})(?(q)(?P=q)|(?=[\s;,)}\]]|$))"
)
_XML = r"(?i)<(?P<name>[A-Za-z0-9_.:-]{0,30}(?:" + _WORDS + r"))>(?P<secret>[^<>\s]{8,200})</"

GENERIC = rule(
    "generic-secret",
    "High-entropy value assigned to a password, secret, token or key",
    _ASSIGN,
    _XML,
    keywords=(
        "password", "passwd", "passphrase", "pwd", "secret", "token", "api_key", "apikey",
        "api-key", "api.key", "access_key", "accesskey", "access-key", "auth_key", "authkey",
        "private_key", "privatekey", "credential", "signing_key", "signingkey",
        "encryption_key", "master_key", "masterkey",
    ),
    min_entropy=3.0,
    priority=0,
)

DETECTORS = (GENERIC,)
