"""Parsed YAML mappings that remember the line of each key, without importing YAML.

A project read from the parse cache (``_packcache``) is made of these too, so the modules that
point at a line (`line_of`) work the same on a cached document and never need PyYAML for it.
"""

from __future__ import annotations

from typing import Any


class LineDict(dict[Any, Any]):
    """A dict that also records the 1-based source line of each key."""

    lines: dict[Any, int]

    def line_of(self, key: Any, default: int | None = None) -> int | None:
        return self.lines.get(key, default)


def line_of(mapping: Any, key: Any) -> int | None:
    return mapping.line_of(key) if isinstance(mapping, LineDict) else None
