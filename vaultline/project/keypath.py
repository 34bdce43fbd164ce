"""Hierarchical keys: ``ConnectionStrings:Primary`` and the nested mappings they stand for.

Every mapping of keys in vaultline (defaults, environment values, secret references) may be
written flat (``"A:B": v``), nested (``A: {B: v}``) or mixed; :func:`flatten` turns any of them
into one flat dict so the rest of the code deals with one shape.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

SEPARATOR = ":"
_SEGMENT = re.compile(r"[A-Za-z0-9_.\-]+")


def split(key: str) -> list[str]:
    return key.split(SEPARATOR)


def validate(key: str) -> str | None:
    """Return what is wrong with ``key``, or None when it is a valid hierarchical key."""
    if not key:
        return "empty key"
    for segment in split(key):
        if not segment:
            return f"key {key!r} has an empty segment"
        if not _SEGMENT.fullmatch(segment):
            return (
                f"key {key!r}: segment {segment!r} may hold only letters, digits, '_', '-' and '.'"
            )
    return None


def iter_leaves(
    mapping: Mapping[Any, Any], prefix: str = ""
) -> Iterator[tuple[str, Any, Mapping[Any, Any], Any]]:
    """Yield ``(flat_key, value, parent_mapping, raw_key)`` for every leaf of a nested mapping.

    Mappings are descended into; everything else (scalars, lists) is a leaf. The parent and raw
    key are yielded so callers can look up source line numbers recorded on the parent.
    """
    for raw_key, value in mapping.items():
        key = f"{prefix}{SEPARATOR}{raw_key}" if prefix else str(raw_key)
        if isinstance(value, Mapping) and value:
            yield from iter_leaves(value, key)
        else:
            yield key, value, mapping, raw_key


def flatten(mapping: Mapping[Any, Any]) -> dict[str, Any]:
    return {key: value for key, value, _, _ in iter_leaves(mapping)}


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Build the nested form. A key that is both a leaf and a branch keeps the branch."""
    root: dict[str, Any] = {}
    for key in sorted(flat, key=lambda k: k.count(SEPARATOR)):
        node = root
        *parents, leaf = split(key)
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        if not isinstance(node.get(leaf), dict):
            node[leaf] = flat[key]
    return root


_PREFIX = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_prefix(prefix: str) -> str:
    """``prefix`` if it can start an environment variable name; else a ConfigError."""
    if prefix and not _PREFIX.fullmatch(prefix):
        from vaultline.errors import ConfigError

        raise ConfigError(f"prefix {prefix!r} cannot start an environment variable name; use "
                          "letters, digits and '_', not starting with a digit (e.g. APP_)")
    return prefix


_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9_]")


def env_name(key: str, prefix: str = "") -> str:
    """``ConnectionStrings:Primary`` -> ``CONNECTIONSTRINGS__PRIMARY`` (the .NET convention)."""
    # Each separator becomes "__" and any other character no name may hold "_": one pass,
    # as this runs once per key of every env/dotenv output.
    name = _NOT_IN_NAME.sub("_", key.replace(SEPARATOR, "__")).upper()
    return f"{prefix}{name}"


def env_names(keys: Iterable[str], prefix: str = "", *, shell: bool = True) -> list[str]:
    """:func:`env_name` of each key, in order; a ConfigError naming both keys when two give the
    same name (whichever came second would silently overwrite the other: a committed default,
    a secret) and, with ``shell``, naming the key whose name starts with a digit (no shell
    variable may; an exec'd environment can hold it)."""
    from vaultline.errors import ConfigError

    names: list[str] = []
    seen: dict[str, str] = {}
    for key in keys:
        name = env_name(key, prefix)
        other = seen.setdefault(name, key)
        if other != key:
            raise ConfigError(f"{other!r} and {key!r} are both the variable {name}, so one "
                              "would overwrite the other; rename one of them")
        if shell and name[:1].isdigit():
            raise ConfigError(f"{key!r}: its variable name {name} starts with a digit, which no "
                              "shell variable name may; rename the key")
        names.append(name)
    return names
