"""YAML loading with the libyaml C parser and line numbers for every mapping key.

Error messages must say ``FILE:LINE``; mappings built here are :class:`LineDict` objects that
remember the line of each key, so validation can point at it after parsing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from vaultline.errors import ConfigError

_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class LineDict(dict[Any, Any]):
    """A dict that also records the 1-based source line of each key."""

    lines: dict[Any, int]

    def line_of(self, key: Any, default: int | None = None) -> int | None:
        return self.lines.get(key, default)


class _LineLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> LineDict:
        self.flatten_mapping(node)
        result = LineDict()
        result.lines = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in result:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            result[key] = self.construct_object(value_node, deep=True)
            result.lines[key] = key_node.start_mark.line + 1
        return result


_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _LineLoader.construct_mapping
)


def load_file(path: Path, *, display: str | None = None) -> Any:
    """Parse one YAML document from ``path``; syntax errors become ``FILE:LINE`` ConfigErrors."""
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", file=name) from None
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text", file=name) from None
    try:
        return yaml.load(text, Loader=_LineLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"invalid YAML: {problem}", file=name, line=line) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", file=name) from None


def line_of(mapping: Any, key: Any) -> int | None:
    return mapping.line_of(key) if isinstance(mapping, LineDict) else None
