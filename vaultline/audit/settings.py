"""The ``audit:`` section of vaultline.yaml: segment size and automatic anchoring.

    audit:
      segment_size: 64MiB          # audit.log is sealed as audit.<n>.log past this size
      anchor:
        to: vault:ops/nexus-engine/audit-anchor
        every: 1000                # publish the chain head every 1000 events
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from vaultline._limits import nul_problem
from vaultline.audit.log import DEFAULT_SEGMENT_SIZE
from vaultline.errors import ConfigError
from vaultline.project._lines import line_of

_SIZE_RE = re.compile(r"^\s*(\d+)\s*(|k|kib|m|mib|g|gib|kb|mb|gb)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "kib": 1024, "kb": 1000, "m": 1024**2, "mib": 1024**2,
          "mb": 1000**2, "g": 1024**3, "gib": 1024**3, "gb": 1000**3}
_MIN_SEGMENT = 4096


class AuditSettings(NamedTuple):
    segment_size: int = DEFAULT_SEGMENT_SIZE
    anchor_to: str | None = None
    anchor_every: int | None = None


def parse_settings(section: Any, file: str = "vaultline.yaml") -> AuditSettings:
    """The section as parsed from ``file``; each error names the line of its setting."""
    if section is None:
        return AuditSettings()
    if not isinstance(section, Mapping):
        raise ConfigError("audit: must be a mapping (segment_size, anchor)", file=file)
    unknown = set(section) - {"segment_size", "anchor"}
    if unknown:
        name = sorted(unknown)[0]
        raise ConfigError(f"audit: unknown setting {name!r}; known: segment_size, anchor",
                          file=file, line=line_of(section, name))
    size = DEFAULT_SEGMENT_SIZE
    if "segment_size" in section:
        raw = section["segment_size"]
        match = _SIZE_RE.match(str(raw)) if not isinstance(raw, bool) else None
        if match is None:
            raise ConfigError(f"audit.segment_size takes a size like 64MiB or 1000000, "
                              f"not {raw!r}", file=file, line=line_of(section, "segment_size"))
        size = int(match.group(1)) * _UNITS[match.group(2).lower()]
        if size < _MIN_SEGMENT:
            raise ConfigError(f"audit.segment_size must be at least {_MIN_SEGMENT} bytes",
                              file=file, line=line_of(section, "segment_size"))
    anchor = section.get("anchor")
    if anchor is None:
        return AuditSettings(size)
    if not isinstance(anchor, Mapping) or not isinstance(anchor.get("to"), str):
        raise ConfigError("audit.anchor needs 'to: PROVIDER:PATH' (and 'every: N')", file=file,
                          line=line_of(section, "anchor"))
    problem = nul_problem(anchor["to"])
    if problem is not None:
        raise ConfigError(f"audit.anchor.to {problem}", file=file, line=line_of(anchor, "to"))
    every = anchor.get("every", 1000)
    if not isinstance(every, int) or isinstance(every, bool) or every < 1:
        raise ConfigError(f"audit.anchor.every takes a number of events (1 or more), "
                          f"not {every!r}", file=file,
                          line=line_of(anchor, "every") or line_of(section, "anchor"))
    return AuditSettings(size, str(anchor["to"]), every)
