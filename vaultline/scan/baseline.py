"""The baseline file: findings already known, and other scanners' baselines read on request.

Format version 2 (JSON)::

    {"version": 2, "tool": "vaultline",
     "findings": [
        {"fingerprint": "...", "path": "app/settings.py", "rule_id": "..."},
        ...]}

A finding is known when an entry lists its fingerprint (rule, path, secret hash) with its
path and rule: the path and rule a reader of the file sees are the ones it accepts. There are no
line numbers and no timestamp, and entries are sorted by (path, rule, fingerprint): moving
code inside a file or regenerating the baseline gives no diff, and two branches that each
accept a finding merge without conflict. Version 1 files (rule + secret, with lines and a
``generated_at``) are still read; ``--update-baseline`` rewrites them as version 2.

Teams switching scanners bring their triage with them (``--import-baseline``):

- a gitleaks ``.gitleaksignore``: one fingerprint a line, ``[commit:]file:rule:line``; a
  finding at that file and line (and commit, when given) is known, whatever the rule is
  called here;
- a detect-secrets ``.secrets.baseline``: ``results`` by file with each secret's SHA-1
  (``hashed_secret``); a finding in that file with that secret is known.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vaultline._files import write_output
from vaultline._limits import parse_json, read_bounded
from vaultline.errors import ScanError
from vaultline.scan.finding import Finding

VERSION = 2
_READABLE = (1, 2)


def _legacy_fingerprint(rule_id: str, secret: str) -> str:
    """Version 1: rule + secret hash, before the path was part of a finding's identity."""
    secret_hash = hashlib.sha256(secret.encode()).hexdigest()
    return hashlib.sha256(f"{rule_id}:{secret_hash}".encode()).hexdigest()[:32]


@dataclass
class Baseline:
    """What is already known, from our baseline and any imported ones."""

    # (fingerprint, path, rule id), as each entry of a version 2 file lists them
    entries: set[tuple[str, str, str]] = field(default_factory=set)
    legacy: set[str] = field(default_factory=set)
    # gitleaks: (path, line, commit or "")
    locations: set[tuple[str, int, str]] = field(default_factory=set)
    # detect-secrets: (path, sha1 of the secret)
    hashed: set[tuple[str, str]] = field(default_factory=set)

    def __len__(self) -> int:
        return len(self.entries) + len(self.legacy) + len(self.locations) + len(self.hashed)

    def knows(self, f: Finding) -> bool:
        if (f.fingerprint, f.path, f.rule_id) in self.entries:
            return True
        if self.legacy and _legacy_fingerprint(f.rule_id, f.secret) in self.legacy:
            return True
        if self.locations and (
            (f.path, f.line, "") in self.locations or (f.path, f.line, f.commit or "") in self.locations
        ):
            return True
        if self.hashed:
            sha1 = hashlib.sha1(f.secret.encode(), usedforsecurity=False).hexdigest()
            return (f.path, sha1) in self.hashed
        return False

    def update(self, other: Baseline) -> None:
        self.entries |= other.entries
        self.legacy |= other.legacy
        self.locations |= other.locations
        self.hashed |= other.hashed


def load(path: Path) -> Baseline:
    """Our baseline; an absent file is an empty baseline."""
    try:
        document = parse_json(read_bounded(path, what="the baseline", error=lambda reason:
                                           ScanError(f"{path}: {reason}")))
    except FileNotFoundError:
        return Baseline()
    except (OSError, ValueError) as exc:
        raise ScanError(f"{path}: cannot read the baseline ({exc}); fix or delete it") from exc
    if not isinstance(document, dict) or not isinstance(document.get("findings"), list):
        raise ScanError(f"{path}: not a vaultline baseline (no findings list)")
    version = document.get("version")
    if version not in _READABLE:
        raise ScanError(
            f"{path}: baseline format version {version!r} is not supported "
            f"(this vaultline reads versions 1 and {VERSION}); regenerate it with --update-baseline"
        )
    for number, item in enumerate(document["findings"], 1):
        if not isinstance(item, dict):
            raise ScanError(f"{path}: finding {number} is not an object; fix the baseline or "
                            "regenerate it with --update-baseline")
    if version != VERSION:
        return Baseline(legacy={str(item["fingerprint"]) for item in document["findings"]
                                if "fingerprint" in item})
    entries: set[tuple[str, str, str]] = set()
    for number, item in enumerate(document["findings"], 1):
        print_, shown, rule_id = item.get("fingerprint"), item.get("path"), item.get("rule_id")
        if not (isinstance(print_, str) and isinstance(shown, str) and isinstance(rule_id, str)):
            raise ScanError(f"{path}: finding {number} needs a fingerprint, a path and a rule_id; "
                            "regenerate the baseline with --update-baseline")
        entries.add((print_, shown, rule_id))
    return Baseline(entries=entries)


def load_foreign(path: Path) -> Baseline:
    """A gitleaks ``.gitleaksignore`` or a detect-secrets baseline, told apart by content."""
    try:
        text = read_bounded(path, what="the baseline", error=lambda reason:
                            ScanError(f"{path}: {reason}")).decode("utf-8")
    except UnicodeDecodeError:
        raise ScanError(f"{path}: the baseline to import is not UTF-8 text") from None
    except OSError as exc:
        raise ScanError(f"{path}: cannot read the baseline to import ({exc.strerror})") from None
    if text.lstrip().startswith("{"):
        return _detect_secrets(path, text)
    return _gitleaksignore(path, text)


def _detect_secrets(path: Path, text: str) -> Baseline:
    try:
        document: Any = parse_json(text)
    except ValueError as exc:
        raise ScanError(f"{path}: not a detect-secrets baseline ({exc})") from None
    results = document.get("results") if isinstance(document, dict) else None
    if not isinstance(results, dict):
        raise ScanError(f"{path}: not a detect-secrets baseline (no results mapping)")
    hashed: set[tuple[str, str]] = set()
    for filename, entries in results.items():
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and isinstance(entry.get("hashed_secret"), str):
                hashed.add((str(filename), entry["hashed_secret"]))
    return Baseline(hashed=hashed)


def _gitleaksignore(path: Path, text: str) -> Baseline:
    locations: set[tuple[str, int, str]] = set()
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(":")
        if len(parts) < 3 or not parts[-1].isdigit():
            raise ScanError(
                f"{path}:{number}: not a gitleaks fingerprint ([commit:]file:rule:line): {line[:80]!r}"
            )
        commit = parts[0] if len(parts) >= 4 and _is_sha(parts[0]) else ""
        file_parts = parts[1:-2] if commit else parts[:-2]
        locations.add((":".join(file_parts), int(parts[-1]), commit))
    return Baseline(locations=locations)


def _is_sha(text: str) -> bool:
    return 7 <= len(text) <= 64 and all(c in "0123456789abcdef" for c in text)


def dump(path: Path, findings: Iterable[Finding]) -> int:
    """Write every finding's fingerprint (one entry per fingerprint); returns the count."""
    entries: dict[str, dict[str, str]] = {}
    for f in findings:
        entries.setdefault(
            f.fingerprint, {"fingerprint": f.fingerprint, "path": f.path, "rule_id": f.rule_id}
        )
    ordered = sorted(entries.values(), key=lambda e: (e["path"], e["rule_id"], e["fingerprint"]))
    # One entry a line: accepting a finding adds one line where it sorts, so branches that
    # accept different findings touch different lines and merge without conflict.
    lines = ",\n".join("    " + json.dumps(e, sort_keys=True) for e in ordered)
    text = (f'{{\n  "version": {VERSION},\n  "tool": "vaultline",\n  "findings": [\n'
            + (lines + "\n" if lines else "") + "  ]\n}\n")
    write_output(path, text.encode("utf-8"))
    return len(entries)


def split(findings: list[Finding], known: Baseline) -> tuple[list[Finding], list[Finding]]:
    """(new, already in the baseline)."""
    new = [f for f in findings if not known.knows(f)]
    old = [f for f in findings if known.knows(f)]
    return new, old
