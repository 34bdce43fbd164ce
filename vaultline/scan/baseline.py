"""The baseline file: findings already known, identified by fingerprint (rule + secret hash).

Format version 1 (JSON)::

    {"version": 1, "tool": "vaultline", "generated_at": "...",
     "findings": [{"fingerprint": "...", "rule_id": "...", "path": "...", "line": 3}]}

Only ``fingerprint`` decides whether a finding is known; path and line are there for people
reviewing the file. A future format bumps ``version`` and gets an upgrade function here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from vaultline._limits import read_bounded
from vaultline.errors import ScanError
from vaultline.scan.finding import Finding

VERSION = 1


def load(path: Path) -> set[str]:
    """Known fingerprints; an absent file is an empty baseline."""
    try:
        document = json.loads(read_bounded(path, what="the baseline", error=lambda reason:
                                           ScanError(f"{path}: {reason}")))
    except FileNotFoundError:
        return set()
    except (OSError, ValueError) as exc:
        raise ScanError(f"{path}: cannot read the baseline ({exc}); fix or delete it") from exc
    if not isinstance(document, dict) or not isinstance(document.get("findings"), list):
        raise ScanError(f"{path}: not a vaultline baseline (no findings list)")
    version = document.get("version")
    if version != VERSION:
        raise ScanError(
            f"{path}: baseline format version {version!r} is not supported "
            f"(this vaultline reads version {VERSION}); regenerate it with --update-baseline"
        )
    for number, item in enumerate(document["findings"], 1):
        if not isinstance(item, dict):
            raise ScanError(f"{path}: finding {number} is not an object; fix the baseline or "
                            "regenerate it with --update-baseline")
    return {str(item["fingerprint"]) for item in document["findings"] if "fingerprint" in item}


def dump(path: Path, findings: Iterable[Finding]) -> int:
    """Write every finding's fingerprint (one entry per fingerprint); returns the count."""
    entries: dict[str, dict[str, object]] = {}
    for f in findings:
        entries.setdefault(
            f.fingerprint,
            {"fingerprint": f.fingerprint, "rule_id": f.rule_id, "path": f.path, "line": f.line},
        )
    document = {
        "version": VERSION,
        "tool": "vaultline",
        "generated_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "findings": sorted(entries.values(), key=lambda e: (str(e["path"]), str(e["fingerprint"]))),
    }
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(document, indent=2) + "\n", "utf-8")
    os.replace(tmp, path)
    return len(entries)


def split(findings: list[Finding], known: set[str]) -> tuple[list[Finding], list[Finding]]:
    """(new, already in the baseline)."""
    new = [f for f in findings if f.fingerprint not in known]
    old = [f for f in findings if f.fingerprint in known]
    return new, old
