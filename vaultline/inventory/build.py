"""Manifest documents built straight from libyaml's event stream, one pass, no node graph.

``yaml.load`` composes every document into nodes (each with two marks) before it builds a
value: about 700 bytes a scalar, so one Secret of a million short ``data:`` keys (15 MB of
text) took a gigabyte before the first key was read. Here each event from the C parser is
turned into its value as it arrives and dropped; what stays is the data itself and the line
of each item of the top-level lists the inventory points at (``items``, ``secretGenerator``).

What comes out is what SafeLoader would build, held to what a Kubernetes manifest (JSON under
the YAML) can be, with the same limits as every other YAML vaultline reads
(``vaultline.project._yaml``):

- nesting deeper than MAX_DEPTH, aliases that add more than ALIAS_EXPANSION_LIMIT nodes or
  ALIAS_TEXT_LIMIT characters to a document, and an alias inside its own anchor are refused;
- a duplicate key is refused (a key from a ``<<`` merge may be overridden), as is a list or
  mapping as a key; a key is the text written (``1:``, ``true:``, ``null:`` are the keys
  ``1``, ``true``, ``null``: Kubernetes keys are strings);
- ``.nan`` and ``.inf`` are refused with their key: JSON has no form for them; timestamps stay
  the text written; ``!!set``, ``!!omap`` and custom tags on lists and mappings are refused.

Every refusal is a :class:`yaml.MarkedYAMLError` with the line, so the loader reports it as it
reports a syntax error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError

from vaultline._limits import ALIAS_EXPANSION_LIMIT, ALIAS_TEXT_LIMIT, MAX_DEPTH, format_size
from vaultline.project._yaml import LimitError

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TAG = "tag:yaml.org,2002:"
_STR, _MAP, _SEQ, _MERGE = _TAG + "str", _TAG + "map", _TAG + "seq", _TAG + "merge"
_FLOAT, _TIMESTAMP = _TAG + "float", _TAG + "timestamp"
_KEY_AS_WRITTEN = {_TAG + name for name in ("null", "bool", "int", "float", "timestamp")}
# Top-level lists whose items the inventory reports one by one, with their lines.
LISTED_KEYS = frozenset({"items", "secretGenerator"})
_NO_KEY = object()


@dataclass(slots=True)
class Built:
    """One document: its value, the 0-based line it starts at, and the 0-based line of each
    item of its top-level LISTED_KEYS lists."""

    line: int
    data: Any
    item_lines: dict[str, list[int]] = field(default_factory=dict)


class _Open:
    """A list or mapping still being read."""

    __slots__ = ("anchor", "key", "key_mark", "lines", "mark", "merges", "nodes", "text", "value")

    def __init__(self, value: list[Any] | dict[Any, Any], anchor: str | None,
                 mark: Any) -> None:
        self.value = value
        self.anchor = anchor
        self.mark = mark
        self.key: Any = _NO_KEY  # a mapping's key waiting for its value
        self.key_mark: Any | None = None
        self.merges: list[dict[Any, Any]] | None = None
        self.lines: list[int] | None = None
        self.nodes = 1  # once aliases are expanded
        self.text = 0


def build_all(text: str) -> list[Built]:
    """Every document of ``text``; a MarkedYAMLError at the first problem."""
    loader = _Loader(text)
    try:
        return _Builder(loader).run()
    finally:
        loader.dispose()


class _Builder:
    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.stack: list[_Open] = []
        self.anchors: dict[str, tuple[Any, int, int]] = {}  # name -> (value, nodes, text)
        self.added_nodes = 0
        self.added_text = 0
        self.item_lines: dict[str, list[int]] = {}
        self.root: Built | None = None

    def run(self) -> list[Built]:
        docs: list[Built] = []
        get_event = self.loader.get_event
        scalar, alias = yaml.ScalarEvent, yaml.AliasEvent
        seq_start, map_start = yaml.SequenceStartEvent, yaml.MappingStartEvent
        ends = (yaml.SequenceEndEvent, yaml.MappingEndEvent)
        stack = self.stack
        while True:
            event = get_event()
            kind = type(event)
            if kind in ends:
                self.close()
                continue
            lines = stack[-1].lines if stack else None
            if lines is not None and kind in (scalar, alias, map_start, seq_start):
                lines.append(event.start_mark.line)
            if kind is scalar:
                self.scalar(event)
            elif kind is map_start or kind is seq_start:
                self.open(event, kind is map_start)
            elif kind is alias:
                self.alias(event)
            elif kind is yaml.DocumentStartEvent:
                self.anchors = {}
                self.added_nodes = self.added_text = 0
                self.item_lines = {}
                self.root = None
            elif kind is yaml.DocumentEndEvent:
                assert self.root is not None
                docs.append(self.root)
            elif event is None or kind is yaml.StreamEndEvent:
                return docs

    # -- values ---------------------------------------------------------------------------

    def scalar(self, event: Any) -> None:
        value: Any = event.value
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.loader.resolve(yaml.ScalarNode, value, event.implicit)
        top = self.stack[-1] if self.stack else None
        if top is not None and type(top.value) is dict and top.key is _NO_KEY:
            # A key: the text written, for the types a key's text would be read as.
            if tag != _STR and tag != _MERGE and tag not in _KEY_AS_WRITTEN:
                value = self.construct(tag, event)
        elif tag != _STR:
            value = self.construct(tag, event)
        self.anchor(event.anchor, value, 1, len(event.value), event.start_mark)
        self.add(value, 1, len(event.value), event.start_mark, tag == _MERGE)

    def construct(self, tag: str, event: Any) -> Any:
        if tag == _TIMESTAMP:
            return event.value
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        try:
            value = self.loader.construct_object(node)
        except (ValueError, TypeError, OverflowError) as exc:
            # A well-formed scalar that cannot be built (!!int abc).
            raise ConstructorError(None, None, f"invalid value ({type(exc).__name__})",
                                   event.start_mark) from None
        if tag == _FLOAT and not math.isfinite(value):
            raise ConstructorError(
                None, None, f"{self.where()}{event.value} is not a number a Kubernetes manifest "
                f"(JSON) can hold; quote it ('{event.value}') if the text is meant",
                event.start_mark)
        return value

    def open(self, event: Any, mapping: bool) -> None:
        if len(self.stack) >= MAX_DEPTH:
            raise LimitError(None, None, f"nested deeper than {MAX_DEPTH} levels",
                             event.start_mark)
        tag = event.tag
        if tag not in (None, "!", _MAP if mapping else _SEQ):
            raise ConstructorError(None, None, f"could not determine a constructor for the tag "
                                   f"{tag!r}", event.start_mark)
        top = self.stack[-1] if self.stack else None
        if top is not None and type(top.value) is dict and top.key is _NO_KEY:
            raise ConstructorError(None, None, "a mapping key must be a plain value, not a list "
                                   "or mapping", event.start_mark)
        if event.anchor is not None:
            self.check_new_anchor(event.anchor, event.start_mark)
        frame = _Open({} if mapping else [], event.anchor, event.start_mark)
        if (not mapping and len(self.stack) == 1 and top is not None
                and top.key in LISTED_KEYS):
            frame.lines = []
        self.stack.append(frame)

    def close(self) -> None:
        frame = self.stack.pop()
        value = frame.value
        if frame.merges:
            # Merged keys first, the first mapping merged that has a key winning; the mapping's
            # own keys override them all (as SafeLoader's flatten_mapping orders them).
            merged: dict[Any, Any] = {}
            for mapping in frame.merges:
                for key, item in mapping.items():
                    merged.setdefault(key, item)
            merged.update(value)
            value = merged
        if frame.anchor is not None:
            self.anchors[frame.anchor] = (value, frame.nodes, frame.text)
        self.add(value, frame.nodes, frame.text, frame.mark, False, frame.lines)

    def alias(self, event: Any) -> None:
        name = event.anchor
        if any(frame.anchor == name for frame in self.stack):
            raise LimitError(None, None, "an alias refers to itself (a recursive document)",
                             event.start_mark)
        if name not in self.anchors:
            raise ComposerError(None, None, f"found undefined alias {name!r}", event.start_mark)
        value, nodes, text = self.anchors[name]
        self.added_nodes += nodes
        self.added_text += text
        if self.added_nodes > ALIAS_EXPANSION_LIMIT:
            raise LimitError(None, None, f"aliases (*name) expand the document by more than "
                             f"{ALIAS_EXPANSION_LIMIT} nodes; write the values out",
                             event.start_mark)
        if self.added_text > ALIAS_TEXT_LIMIT:
            raise LimitError(None, None, f"aliases (*name) expand the document by more than "
                             f"{format_size(ALIAS_TEXT_LIMIT)} of text; write the values out",
                             event.start_mark)
        self.add(value, nodes, text, event.start_mark, False)

    def anchor(self, name: str | None, value: Any, nodes: int, text: int,
               mark: Any) -> None:
        if name is not None:
            self.check_new_anchor(name, mark)
            self.anchors[name] = (value, nodes, text)

    def check_new_anchor(self, name: str, mark: Any) -> None:
        if name in self.anchors or any(frame.anchor == name for frame in self.stack):
            raise ComposerError(None, None, f"found duplicate anchor {name!r}", mark)

    # -- placing a value in its parent ----------------------------------------------------

    def add(self, value: Any, nodes: int, text: int, mark: Any, merge: bool,
            lines: list[int] | None = None) -> None:
        if not self.stack:
            self.root = Built(mark.line, value, self.item_lines)
            return
        top = self.stack[-1]
        top.nodes += nodes
        top.text += text
        container = top.value
        if type(container) is list:
            container.append(value)
            return
        if top.key is _NO_KEY:
            if isinstance(value, (list, dict)):
                raise ConstructorError(None, None, "a mapping key must be a plain value, not a "
                                       "list or mapping", mark)
            top.key = _MERGE if merge else value
            top.key_mark = mark
            return
        key, top.key = top.key, _NO_KEY
        if key is _MERGE:
            self.merge(top, value, mark)
        elif key in container:
            raise ConstructorError(None, None, f"duplicate key {key!r}", top.key_mark)
        else:
            container[key] = value
            if lines is not None and len(self.stack) == 1:
                self.item_lines[key] = lines

    def merge(self, top: _Open, value: Any, mark: Any) -> None:
        mappings = value if isinstance(value, list) else [value]
        if not all(isinstance(m, dict) for m in mappings):
            raise ConstructorError(None, None, "expected a mapping or list of mappings for "
                                   "merging (<<)", mark)
        if top.merges is None:
            top.merges = []
        top.merges.extend(mappings)

    def where(self) -> str:
        """``key:key: `` of the value being read, for a message."""
        keys = [str(frame.key) for frame in self.stack
                if type(frame.value) is dict and frame.key is not _NO_KEY]
        return ":".join(keys) + ": " if keys else ""
