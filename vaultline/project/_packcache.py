"""A parse cache for environment-pack files, kept in the project's store directory.

PyYAML builds Python objects in Python even with the C parser, which dominates resolving a
large pack (10,000 keys: most of the time). Packs hold no secret values — they are committed
files — so their flattened form is cached as JSON, keyed by the SHA-256 of the file's bytes:
any edit, however small, misses the cache. The loader gives only what JSON carries (keys and
timestamps as text, no NaN), and rows are cached only once JSON gives them back exactly (an
``!!omap``'s pairs would come back as lists): a cached resolve must give what a fresh parse
gives.

The project file and the files it includes are cached the same way, as their parsed documents
(mappings with the line of each key, so every later error still names ``FILE:LINE``): with the
cache warm, loading a project does not import PyYAML at all. A document is written only once
the project built from it validated, so nothing the loader refuses (a pasted secret) is copied
here, and the size limit applies to the file on every read; the depth and alias limits were
applied by the parse whose result is cached, which a hit has by definition.

The cache decides which configuration is in effect, so each file carries an HMAC under a key
derived from the master key: someone who can write ``.vaultline/`` but has no master key (the
file-level attacker of the threat model) cannot plant a parse; a file that does not verify is
a miss. Without a master key named in the environment nothing is cached.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from vaultline._files import private_dir, write_private
from vaultline._limits import read_bounded, read_config
from vaultline.errors import VaultlineError
from vaultline.project._lines import LineDict

# What a cache file holds is what the parser gave under its rules; the version changes
# with them (2: aliases may add at most 1 MiB of text; 3: keys and timestamps as written,
# no NaN or infinity), so a file written under other rules is a miss rather than a document
# a fresh parse would refuse or build differently.
FORMAT = 3
Rows = list[tuple[str, Any, int | None]]


def cached_rows(path: Path, cache_dir: Path | None, parse: Callable[[bytes], Rows],
                display: str | None = None, *, environ: Mapping[str, str] | None = None,
                check: Callable[[Rows], object] | None = None) -> Rows:
    """The flattened ``(key, value, line)`` rows of ``path``, parsed at most once per content
    (its size limit read from ``environ``, default ``os.environ``); ``parse`` gets the bytes
    whose digest is the cache key, so an edit while it runs cannot be cached under the old
    content. Freshly parsed rows are
    given to ``check`` before they are cached: what it refuses (raises on) is never written,
    so a secret pasted where a reference belongs is not copied into the cache."""
    data = read_config(path, display or str(path), environ)
    key = _cache_key(cache_dir, environ)
    if cache_dir is None or key is None:
        return parse(data)
    digest, slot = hashlib.sha256(data).hexdigest(), _slot(path, cache_dir)
    try:
        cached = _load(slot, key, environ)
        if cached.get("v") == FORMAT and cached.get("digest") == digest:
            rows: Rows = cached["rows"]  # [key, value, line] lists, used as they are: no copy
            if set(map(len, rows)) <= {3}:  # every row [key, value, line] (C-speed check)
                return rows
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        pass  # missing or unreadable: parse and rewrite it
    rows = parse(data)
    if check is not None:
        check(rows)
    try:
        payload = json.dumps({"v": FORMAT, "digest": digest, "rows": rows}).encode()
    except (TypeError, ValueError):
        return rows  # values JSON cannot carry are simply not cached
    if not _round_trips(rows, json.loads(payload)["rows"]):
        return rows
    _write(cache_dir, slot, payload, key)
    return rows


class CachedDocument:
    """One YAML file's parsed document (:attr:`doc`), from the cache when its exact content
    was parsed before; :meth:`save` caches a freshly parsed one."""

    def __init__(self, path: Path, cache_dir: Path | None, display: str, *,
                 environ: Mapping[str, str] | None = None) -> None:
        self._cache_dir = cache_dir
        self._environ = environ
        data = read_config(path, display, environ)
        self._digest = hashlib.sha256(data).hexdigest()
        self._key = _cache_key(cache_dir, environ)
        self._slot = None if cache_dir is None or self._key is None else _slot(path, cache_dir)
        cached = _REFUSED if self._slot is None else self._cached(self._slot)
        self._fresh = cached is _REFUSED
        if self._fresh:
            from vaultline.project._yaml import load_data

            cached = load_data(data, display=display)  # the bytes hashed, not a second read
        self.doc: Any = cached

    def _cached(self, slot: Path) -> Any:
        """The cached document of this content, or ``_REFUSED`` on a miss."""
        try:
            assert self._key is not None
            cached = _load(slot, self._key, self._environ)
            if cached.get("v") == FORMAT and cached.get("digest") == self._digest:
                return _decode(cached["doc"])
        except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError):
            pass  # missing or unreadable: parse and rewrite it
        return _REFUSED

    def save(self) -> None:
        """Cache the document if it was parsed now and JSON carries it back exactly."""
        if not self._fresh or self._slot is None or self._cache_dir is None or self._key is None:
            return
        encoded = _encode(self.doc)
        if encoded is _REFUSED:
            return  # an !!omap's pairs...: not cached, parsed every time
        try:
            payload = json.dumps({"v": FORMAT, "digest": self._digest, "doc": encoded}).encode()
        except ValueError:
            return  # an integer too long for str()
        if _same(self.doc, _decode(json.loads(payload)["doc"])):
            _write(self._cache_dir, self._slot, payload, self._key)


_REFUSED: Any = object()


def _encode(value: Any) -> Any:
    """``value`` as JSON data (a mapping as ``{"m": [[key, value, line], ...]}``), or
    ``_REFUSED`` when it holds anything but mappings with lines, lists and plain scalars."""
    kind = type(value)
    if kind is LineDict:
        rows = []
        for key, item in value.items():
            line = value.lines.get(key)
            if type(key) not in _SCALARS or type(line) is not int:
                return _REFUSED
            encoded = _encode(item)
            if encoded is _REFUSED:
                return _REFUSED
            rows.append([key, encoded, line])
        return {"m": rows}
    if kind is list:
        items = [_encode(item) for item in value]
        return _REFUSED if any(item is _REFUSED for item in items) else items
    return value if kind in _SCALARS else _REFUSED


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _decode(value: Any) -> Any:
    if type(value) is dict:
        result = LineDict()
        result.lines = {}
        for key, item, line in value["m"]:
            result[key] = _decode(item)
            result.lines[key] = line
        return result
    if type(value) is list:
        return [_decode(item) for item in value]
    return value


def _same(original: Any, loaded: Any) -> bool:
    """Whether ``loaded`` is ``original``, types, order and lines included."""
    if type(original) is not type(loaded):
        return False
    if isinstance(original, LineDict):
        return (list(original) == list(loaded) and original.lines == loaded.lines
                and all(type(k) is type(j) for k, j in zip(original, loaded, strict=True))
                and all(_same(original[k], loaded[k]) for k in original))
    if isinstance(original, list):
        return len(original) == len(loaded) and all(
            _same(a, b) for a, b in zip(original, loaded, strict=True))
    return bool(original == loaded or original != original)


def _slot(path: Path, cache_dir: Path) -> Path:
    """The cache file of ``path``: one per file, whatever its content."""
    return cache_dir / (hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:24] + ".json")


def _cache_key(cache_dir: Path | None, environ: Mapping[str, str] | None) -> bytes | None:
    """The key that authenticates cache files, or None: then nothing is cached (no store
    directory yet, or no master key named in the environment)."""
    if cache_dir is None or not cache_dir.parent.is_dir():
        return None
    from vaultline.store import masterkey

    env = os.environ if environ is None else environ
    # The default key file is named by the store's id, in store.db: not opened here.
    return _derived_key(env.get(masterkey.ENV_KEY) or None,
                        env.get(masterkey.ENV_KEY_FILE) or None)


@functools.lru_cache(maxsize=4)
def _derived_key(key_text: str | None, key_file: str | None) -> bytes | None:
    """From the master key (``VAULTLINE_MASTER_KEY`` or ``VAULTLINE_KEY_FILE``),
    derived once per process rather than once per cached file. The cache decides what
    configuration is in effect: someone who can write ``.vaultline/`` but has no master key
    must not be able to change it there."""
    from vaultline.store import masterkey

    if key_text is None and key_file is None:
        return None
    env = {masterkey.ENV_KEY: key_text} if key_text else {masterkey.ENV_KEY_FILE: str(key_file)}
    try:
        material = masterkey.load("", env).material
    except VaultlineError:
        return None  # the store reports a bad key itself when it is opened
    return hmac.new(material, b"vaultline parse cache", hashlib.sha256).digest()


def _load(slot: Path, key: bytes, environ: Mapping[str, str] | None) -> Any:
    """The JSON of a cache file whose MAC ``key`` verifies; ValueError otherwise. Read like the
    files it stands for: someone who can write the cache directory can put a FIFO or a link
    to /dev/zero there, which must be a miss, not a hang or a read without end."""
    try:
        data = read_bounded(slot, what="the cache file", environ=environ)
    except VaultlineError as exc:
        raise ValueError("not a usable cache file") from exc
    mac, payload = data[:_MAC_BYTES], data[_MAC_BYTES:]
    if not hmac.compare_digest(mac, _mac(key, slot, payload)):
        raise ValueError("cache file not authenticated")
    return json.loads(payload)


def _mac(key: bytes, slot: Path, payload: bytes) -> bytes:
    return hmac.new(key, slot.name.encode() + b"\0" + payload, hashlib.sha256).digest()


_MAC_BYTES = 32


def _write(cache_dir: Path, slot: Path, payload: bytes, key: bytes) -> None:
    try:
        private_dir(cache_dir)
        # atomic: concurrent readers see the old or the new file
        write_private(slot, _mac(key, slot, payload) + payload)
    except OSError:
        pass  # a read-only store directory only costs speed


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
