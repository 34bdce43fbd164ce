"""Secrets engines a ``vault`` provider reads, and their options checked at load.

Kept free of hvac so ``vaultline.yaml`` is validated (with its line) without the extra.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: ``engine`` -> the mount it defaults to.
DEFAULT_MOUNTS = {"kv": "kv", "database": "database"}


def engine_problem(options: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(option, message)`` for the first bad engine option of a ``vault`` provider."""
    engine = options.get("engine", "kv")
    if engine not in DEFAULT_MOUNTS:
        return "engine", (f"'engine' must be one of {', '.join(sorted(DEFAULT_MOUNTS))} "
                          f"(kv: KV v2 secrets; database: dynamic credentials), not {engine!r}")
    mount = options.get("mount")
    if mount is not None and (not isinstance(mount, str) or not mount.strip("/")):
        return "mount", f"'mount' must be a mount path such as {DEFAULT_MOUNTS[engine]!r}"
    if engine == "database" and "prefix" in options:
        return "prefix", ("'prefix' applies to KV paths; with engine: database a reference "
                          "names the role (pgdyn:app-dyn#username)")
    return None
