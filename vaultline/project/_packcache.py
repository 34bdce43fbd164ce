"""A parse cache for environment-pack files, kept in the project's store directory.

PyYAML builds Python objects in Python even with the C parser, which dominates resolving a
large pack (10,000 keys: most of the time). Packs hold no secret values — they are committed
files — so their flattened form is cached as JSON, keyed by the SHA-256 of the file's bytes:
any edit, however small, misses the cache. Only rows that JSON carries back exactly are cached
(``{80: http}`` would come back with the key ``"80"``; a date as a string): a cached resolve
must give what a fresh parse gives.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from vaultline._files import private_dir, write_private
from vaultline._limits import read_bounded
from vaultline.errors import ConfigError

FORMAT = 1
Rows = list[tuple[str, Any, int | None]]


def cached_rows(path: Path, cache_dir: Path | None, parse: Callable[[], Rows],
                display: str | None = None, *, environ: Mapping[str, str] | None = None) -> Rows:
    """The flattened ``(key, value, line)`` rows of ``path``, parsed at most once per content
    (its size limit read from ``environ``, default ``os.environ``)."""
    if cache_dir is None or not cache_dir.parent.is_dir():
        return parse()
    name = display or str(path)
    try:
        data = read_bounded(path, what="the file",
                            error=lambda reason: ConfigError(reason, file=name), environ=environ)
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=name) from None
    digest = hashlib.sha256(data).hexdigest()
    slot = cache_dir / (hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:24] + ".json")
    try:
        cached = json.loads(slot.read_bytes())
        if cached.get("v") == FORMAT and cached.get("digest") == digest:
            rows: Rows = cached["rows"]  # [key, value, line] lists, used as they are: no copy
            if all(len(row) == 3 for row in rows):
                return rows
    except (OSError, ValueError, TypeError, KeyError):
        pass  # missing or unreadable: parse and rewrite it
    rows = parse()
    try:
        payload = json.dumps({"v": FORMAT, "digest": digest, "rows": rows}).encode()
    except (TypeError, ValueError):
        return rows  # values JSON cannot carry (YAML dates...) are simply not cached
    if not _round_trips(rows, json.loads(payload)["rows"]):
        return rows
    try:
        private_dir(cache_dir)
        write_private(slot, payload)  # atomic: concurrent readers see the old or the new file
    except OSError:
        pass  # a read-only store directory only costs speed
    return rows


def _round_trips(original: Any, loaded: Any) -> bool:
    """Whether ``loaded`` (from JSON) is ``original`` with tuples as lists, types included:
    ``==`` alone would let ``1 == 1.0 == True`` and miss nothing else JSON changes."""
    if isinstance(original, tuple | list):
        return (isinstance(loaded, list) and len(original) == len(loaded)
                and all(_round_trips(a, b) for a, b in zip(original, loaded, strict=True)))
    if isinstance(original, dict):
        return (isinstance(loaded, dict) and len(original) == len(loaded)
                and all(type(k) is str and k in loaded and _round_trips(v, loaded[k])
                        for k, v in original.items()))
    return type(original) is type(loaded) and (original == loaded or original != original)
