"""A parse cache for environment-pack files, kept in the project's store directory.

PyYAML builds Python objects in Python even with the C parser, which dominates resolving a
large pack (10,000 keys: most of the time). Packs hold no secret values — they are committed
files — so their flattened form is cached as JSON, keyed by the SHA-256 of the file's bytes:
any edit, however small, misses the cache.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vaultline._files import private_dir, write_private

FORMAT = 1
Rows = list[tuple[str, Any, int | None]]


def cached_rows(path: Path, cache_dir: Path | None, parse: Callable[[], Rows]) -> Rows:
    """The flattened ``(key, value, line)`` rows of ``path``, parsed at most once per content."""
    if cache_dir is None or not cache_dir.parent.is_dir():
        return parse()
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    slot = cache_dir / (hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:24] + ".json")
    try:
        cached = json.loads(slot.read_bytes())
        if cached.get("v") == FORMAT and cached.get("digest") == digest:
            return [(k, v, line) for k, v, line in cached["rows"]]
    except (OSError, ValueError, TypeError, KeyError):
        pass  # missing or unreadable: parse and rewrite it
    rows = parse()
    try:
        payload = json.dumps({"v": FORMAT, "digest": digest, "rows": rows}).encode()
    except (TypeError, ValueError):
        return rows  # values JSON cannot carry (YAML dates...) are simply not cached
    try:
        private_dir(cache_dir)
        write_private(slot, payload)  # atomic: concurrent readers see the old or the new file
    except OSError:
        pass  # a read-only store directory only costs speed
    return rows
