"""YAML loading with the libyaml C parser, line numbers for every mapping key, and limits.

Error messages must say ``FILE:LINE``; mappings built here are :class:`LineDict` objects that
remember the line of each key, so validation can point at it after parsing.

Every YAML file vaultline reads is hostile until parsed, so three limits apply before any
Python object is built: the file size (``vaultline._limits``), the nesting depth (libyaml's
composer recurses on the C stack and crashes the process on a few hundred thousand ``[``), and
how much aliases expand the document (a billion-laughs file is a few hundred bytes). Mapping
keys must be scalars (``? [a]`` is refused with its line).

What comes out is what JSON carries, so every output (json, yaml, env, manifests, the parse
cache) writes the same value: strings, finite numbers, booleans, null, lists and mappings.
Timestamps stay the text they were written as (``2020-01-01``: YAML 1.2 has no timestamp type,
and an application reads configuration as text anyway); a key is always the text it was
written as (``null:``, ``on:``, ``0x1F:`` are the keys ``null``, ``on``, ``0x1F``). ``!!binary``,
``!!set``, ``.nan`` and ``.inf`` have no JSON form and are refused with their key and line.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from vaultline._limits import (
    ALIAS_EXPANSION_LIMIT,
    ALIAS_TEXT_LIMIT,
    MAX_DEPTH,
    format_size,
    read_config,
)
from vaultline.errors import ConfigError
from vaultline.project._lines import LineDict

_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE = "tag:yaml.org,2002:merge"
_TAG = "tag:yaml.org,2002:"
# Scalar keys kept as written: keys are names, not typed values.
_KEY_AS_WRITTEN = {_TAG + name for name in ("null", "bool", "int", "float", "timestamp")}


class LimitError(yaml.MarkedYAMLError):
    """A document over a structural limit (depth, alias expansion); a YAMLError for callers."""


class RefusedValue(yaml.MarkedYAMLError):
    """A value JSON has no form for; ``key`` is where it sits (``A:B``), once known."""

    key: str | None = None


class _LineLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> str:
        return str(self.construct_scalar(node))

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:
        value: float = super().construct_yaml_float(node)
        if not math.isfinite(value):
            raise RefusedValue(None, None, f"{node.value} is not a finite number, which JSON "
                               f"cannot carry; quote it ('{node.value}') if the text is meant",
                               node.start_mark)
        return value

    def refuse_binary(self, node: yaml.Node) -> None:
        raise RefusedValue(None, None, "a !!binary value is bytes, which JSON and environment "
                           "variables cannot carry; drop the tag to keep the base64 text",
                           node.start_mark)

    def refuse_set(self, node: yaml.Node) -> None:
        raise RefusedValue(None, None, "JSON has no set type; write a !!set as a list "
                           "([a, b])", node.start_mark)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> LineDict:
        own = sum(1 for key_node, _ in node.value if key_node.tag != _MERGE)
        self.flatten_mapping(node)  # merged pairs first, then the mapping's own
        merged = len(node.value) - own
        result = LineDict()
        result.lines = {}
        inherited: set[Any] = set()  # keys from `<<` merges, which the mapping's own override
        for index, (key_node, value_node) in enumerate(node.value):
            if not isinstance(key_node, yaml.ScalarNode):
                raise yaml.constructor.ConstructorError(
                    None, None, "a mapping key must be a plain value, not a list or mapping",
                    key_node.start_mark)
            key = (key_node.value if key_node.tag in _KEY_AS_WRITTEN
                   else self.construct_object(key_node, deep=True))
            if index < merged:
                inherited.add(key)
            elif key in inherited:
                inherited.discard(key)
            elif key in result:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            try:
                result[key] = self.construct_object(value_node, deep=True)
            except RefusedValue as exc:
                # Each enclosing mapping adds its key: the message names the flat key.
                exc.key = str(key) if exc.key is None else f"{key}:{exc.key}"
                raise
            result.lines[key] = key_node.start_mark.line + 1
        return result


_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _LineLoader.construct_mapping
)
_LineLoader.add_constructor(_TAG + "timestamp", _LineLoader.construct_yaml_timestamp)
_LineLoader.add_constructor(_TAG + "float", _LineLoader.construct_yaml_float)
_LineLoader.add_constructor(_TAG + "binary", _LineLoader.refuse_binary)
_LineLoader.add_constructor(_TAG + "set", _LineLoader.refuse_set)


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    pass


_Dumper.add_representer(LineDict, yaml.SafeDumper.represent_dict)


def dump(data: Any) -> str:
    """``data`` as block YAML, keys sorted; mappings from :func:`parse` included."""
    text: str = yaml.dump(data, Dumper=_Dumper, sort_keys=True, allow_unicode=True,
                          default_flow_style=False)
    return text


def check_depth(text: str, loader: type = _BaseLoader) -> bool:
    """Refuse a document nested deeper than MAX_DEPTH, from the event stream (no recursion).

    Returns whether the text holds an alias (``*name``): without one nothing can expand, and
    :func:`check_expansion`, a walk of every node, can be skipped (half the parse of a
    manifest of a million keys).
    """
    events = loader(text)
    depth = 0
    aliases = False
    collection_start, collection_end, alias = (yaml.CollectionStartEvent,
                                               yaml.CollectionEndEvent, yaml.AliasEvent)
    try:
        while events.check_event():
            event = events.get_event()
            if isinstance(event, collection_start):
                depth += 1
                if depth > MAX_DEPTH:
                    raise LimitError(None, None, f"nested deeper than {MAX_DEPTH} levels",
                                     event.start_mark)  # type: ignore[arg-type]
            elif isinstance(event, collection_end):
                depth -= 1
            elif isinstance(event, alias):
                aliases = True
    finally:
        events.dispose()
    return aliases


def check_expansion(root: yaml.Node) -> None:
    """Refuse a node graph that aliases expand by more than ALIAS_EXPANSION_LIMIT nodes or
    ALIAS_TEXT_LIMIT characters of scalar text.

    The composed graph shares aliased nodes; its expanded size is counted bottom-up with each
    node's size computed once, so a billion-laughs graph is measured in microseconds. Text
    counts too: a 1 MB string aliased 9,000 times is few nodes but 9 GB for whatever writes
    the document out (the parse cache, JSON or YAML output).
    """
    size: dict[int, tuple[int, int]] = {}  # id -> (nodes, characters) once expanded
    distinct = distinct_text = 0
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    open_nodes: set[int] = set()
    while stack:
        node, done = stack.pop()
        ident = id(node)
        children = _children(node)
        if done:
            open_nodes.discard(ident)
            text = len(node.value) if isinstance(node, yaml.ScalarNode) else 0
            size[ident] = (1 + sum(size[id(c)][0] for c in children),
                           text + sum(size[id(c)][1] for c in children))
            continue
        if ident in size:
            continue
        if ident in open_nodes:
            raise LimitError(None, None, "an alias refers to itself (a recursive document)",
                             node.start_mark)
        distinct += 1
        if isinstance(node, yaml.ScalarNode):
            distinct_text += len(node.value)
        open_nodes.add(ident)
        stack.append((node, True))
        for child in children:
            if id(child) in open_nodes:
                raise LimitError(None, None, "an alias refers to itself (a recursive document)",
                                 child.start_mark)
            if id(child) not in size:
                stack.append((child, False))
    nodes, text = size[id(root)]
    if nodes - distinct > ALIAS_EXPANSION_LIMIT:
        raise LimitError(None, None, f"aliases (*name) expand the document by more than "
                         f"{ALIAS_EXPANSION_LIMIT} nodes; write the values out", root.start_mark)
    if text - distinct_text > ALIAS_TEXT_LIMIT:
        raise LimitError(None, None, f"aliases (*name) expand the document by more than "
                         f"{format_size(ALIAS_TEXT_LIMIT)} of text; write the values out",
                         root.start_mark)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def parse(text: str) -> Any:
    """One YAML document from ``text`` through the limits; YAMLError if it is refused."""
    aliases = check_depth(text)
    loader = _LineLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if aliases:
            check_expansion(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def load_file(path: Path, *, display: str | None = None,
              environ: Mapping[str, str] | None = None) -> Any:
    """Parse one YAML document from ``path``; every failure is a ``FILE:LINE`` ConfigError.
    The size limit is read from ``environ`` (default ``os.environ``)."""
    name = display or str(path)
    return load_data(read_config(path, name, environ), display=name)


def load_data(data: bytes, *, display: str) -> Any:
    """Parse one YAML document from the bytes of the file shown as ``display``; every failure
    is a ``FILE:LINE`` ConfigError."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text", file=display) from None
    try:
        return parse(text)
    except RefusedValue as exc:
        assert exc.problem_mark is not None
        problem = f"{exc.key!r}: {exc.problem}" if exc.key else exc.problem
        raise ConfigError(str(problem), file=display, line=exc.problem_mark.line + 1) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"invalid YAML: {problem}", file=display, line=line) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", file=display) from None
    except (ValueError, TypeError, OverflowError, KeyError) as exc:
        # A well-formed scalar the constructor cannot build: !!float abc, !!bool maybe.
        raise ConfigError(f"invalid YAML value: {type(exc).__name__}", file=display) from None

