"""Durations as people write them in config and on the command line: ``90d``, ``2h30m``, ``45s``.

``y`` is 365 days: rotation policies say "rotate annually" (``1y``).
"""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d{1,15})\s*([smhdwy])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 365 * 86400}


def parse_duration(text: str | int | float) -> timedelta:
    """Parse ``"1h30m"``, ``"90d"``, ``"2w"`` or a number of seconds; ValueError if invalid."""
    if isinstance(text, bool):
        raise ValueError(f"not a duration: {text!r}")
    try:
        if isinstance(text, int | float):
            return timedelta(seconds=text)
    except (OverflowError, ValueError):
        raise ValueError(f"duration out of range: {text!r}") from None
    if not isinstance(text, str):
        raise ValueError(f"not a duration: a {type(text).__name__} (use e.g. 30m, 2h, 90d)")
    compact = text.strip().lower().replace(" ", "")
    if not compact or _PART.sub("", compact):
        raise ValueError(f"not a duration: {text!r} (use e.g. 30m, 2h, 90d, 1y, 1h30m)")
    try:
        return timedelta(seconds=sum(int(n) * _UNITS[u] for n, u in _PART.findall(compact)))
    except OverflowError:
        raise ValueError(f"duration out of range: {text!r} (the most is about 2.7 million "
                         "years)") from None


def format_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size or (unit == "s" and not parts):
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return sign + "".join(parts)
