"""Pause the cyclic garbage collector around allocation-heavy work that creates no cycles.

Resolving 10,000 secrets allocates a few hundred thousand small records; each 700 allocations
the collector scans the young generation, and the older ones in turn traverse every object
still alive — the whole pack and bundle — again and again: about a tenth of a large
resolution. The work creates no reference cycles (refcounting frees everything), so nothing
is lost by letting the collector run after it instead; Mercurial's ``util.nogc`` does the
same for its index parsing.

The pause is process-wide, so the library never applies it: an application calling
``vaultline.load`` keeps its collector as it set it. The CLI, which owns its process, pauses
it once, around the one resolution a command makes (``cli/_context.resolve_bundle``).
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def paused(func: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if not gc.isenabled():  # already paused by a caller (or by the application)
            return func(*args, **kwargs)
        gc.disable()
        try:
            return func(*args, **kwargs)
        finally:
            gc.enable()

    return wrapper
