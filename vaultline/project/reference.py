"""Secret references: ``PROVIDER[:PATH][#FIELD][@VERSION]``.

``vault:db.primary#password`` reads field ``password`` of the secret at ``db.primary`` under the
``vault`` provider's prefix; a bare ``aws`` derives the path from the provider's naming
convention and the key being resolved. References are what environment packs hold — never values.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

from vaultline.errors import ConfigError

_PROVIDER = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
# Stage labels a rotated secret's versions carry; ``REF@previous`` works wherever ``REF@3`` does.
CURRENT = "current"
PREVIOUS = "previous"
_HEAD = re.compile(r"^[^:#@]*")


class Reference(NamedTuple):
    provider: str
    path: str | None = None  # None: derived from the provider's naming convention
    field: str | None = None
    version: str | None = None

    @classmethod
    def parse(cls, text: str) -> Reference:
        """Parse a reference; a ConfigError says what is wrong (the caller adds FILE:LINE)."""
        if not isinstance(text, str):  # unhashable junk from YAML: let the checks explain it
            return cls._parse_uncached(text)
        return _parse(text)

    @classmethod
    def _parse_uncached(cls, text: str) -> Reference:
        parsed = parse_or_problem(text)
        if isinstance(parsed, Reference):
            return parsed
        if not isinstance(text, str) or not text.strip() or parsed == _SURROGATE:
            raise ConfigError(parsed)
        text = text.strip()
        if parsed == _BAD_PROVIDER:  # on the command line, the provider part is shown
            head = _HEAD.match(text)
            raise ConfigError(f"reference {text!r}: provider name "
                              f"{head.group(0) if head else ''!r} is not valid")
        raise ConfigError(f"reference {text!r}: {parsed}")

    def __str__(self) -> str:
        text = self.provider
        if self.path is not None:
            text += f":{self.path}"
        if self.field is not None:
            text += f"#{self.field}"
        if self.version is not None:
            text += f"@{self.version}"
        return text


_BAD_PROVIDER = "the provider name is not valid: a letter, then letters, digits, '_' or '-'"
_SURROGATE = ("a secret reference must be valid Unicode text; this one holds a lone surrogate "
              "(\\ud800-\\udfff)")


def parse_or_problem(text: object) -> Reference | str:
    """The reference ``text``, or what is wrong with it in words that do not quote it: a
    committed pack's error must not repeat a value pasted where a reference belongs."""
    if not isinstance(text, str) or not text.strip():
        return "a secret reference must be a non-empty string like 'local' or 'vault:db.primary#password'"
    text = text.strip()
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return _SURROGATE
    head = _HEAD.match(text)
    provider = head.group(0) if head else ""
    rest = text[len(provider):]
    if not _PROVIDER.fullmatch(provider):
        return _BAD_PROVIDER
    version: str | None = None
    at = rest.rfind("@")
    if at >= 0 and "/" not in rest[at:] and "#" not in rest[at:]:
        version = rest[at + 1:]
        rest = rest[:at]
        if not version:
            return "empty version after '@'"
    field: str | None = None
    if "#" in rest:
        rest, _, field = rest.partition("#")
        if not field:
            return "empty field after '#'"
    path: str | None = None
    if rest.startswith(":"):
        path = rest[1:]
        if not path:
            return "empty path after ':'"
    elif rest:
        return "expected ':' after the provider name"
    return Reference(provider, path, field, version)


def names_a_path(text: str) -> bool:
    """Whether ``text`` is shaped ``PROVIDER:...``: a bare word could as well be a pasted
    password as a provider name, so only text of this shape is quoted in pack errors."""
    head = _HEAD.match(text.strip())
    provider = head.group(0) if head else ""
    return bool(_PROVIDER.fullmatch(provider)) and text.strip()[len(provider):].startswith(":")


# Packs repeat the same few references ("local", "vault#password") thousands of times, and
# a Reference is immutable, so parsing each distinct text once is safe.
@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> Reference:
    return Reference._parse_uncached(text)
