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

_PROVIDER = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
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
        if not isinstance(text, str) or not text.strip():
            raise ConfigError("a secret reference must be a non-empty string like 'local' or "
                              "'vault:db.primary#password'")
        text = text.strip()
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise ConfigError("a secret reference must be valid Unicode text; this one "
                                  "holds a lone surrogate (\\ud800-\\udfff)") from None
        head = _HEAD.match(text)
        provider = head.group(0) if head else ""
        rest = text[len(provider):]
        if not _PROVIDER.match(provider):
            raise ConfigError(f"reference {text!r}: provider name {provider!r} is not valid")
        version: str | None = None
        at = rest.rfind("@")
        if at >= 0 and "/" not in rest[at:] and "#" not in rest[at:]:
            version = rest[at + 1:]
            rest = rest[:at]
            if not version:
                raise ConfigError(f"reference {text!r}: empty version after '@'")
        field: str | None = None
        if "#" in rest:
            rest, _, field = rest.partition("#")
            if not field:
                raise ConfigError(f"reference {text!r}: empty field after '#'")
        path: str | None = None
        if rest.startswith(":"):
            path = rest[1:]
            if not path:
                raise ConfigError(f"reference {text!r}: empty path after ':'")
        elif rest:
            raise ConfigError(f"reference {text!r}: expected ':' after the provider name")
        return cls(provider, path, field, version)

    def __str__(self) -> str:
        text = self.provider
        if self.path is not None:
            text += f":{self.path}"
        if self.field is not None:
            text += f"#{self.field}"
        if self.version is not None:
            text += f"@{self.version}"
        return text


# Packs repeat the same few references ("local", "vault#password") thousands of times, and
# a Reference is immutable, so parsing each distinct text once is safe.
@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> Reference:
    return Reference._parse_uncached(text)
