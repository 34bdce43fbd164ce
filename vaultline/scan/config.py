"""Team rules for ``vaultline scan``: extra rules, disabled rules, path and value allowlists.

Read from ``.vaultline-scan.yaml`` at the top of the scanned tree, or the ``scan:`` section
of the project's ``vaultline.yaml`` (or ``--config FILE``)::

    rules:
      - id: acme-service-token
        description: ACME internal service token
        regex: 'acme_svc_(?P<secret>[A-Za-z0-9]{32})'
        keywords: [acme_svc_]        # literals the prefilter looks for (required)
        entropy: 3.5                 # bits per character below which a match is dropped
        severity: high               # or low
    disable: [generic-secret]
    allowlist:
      paths: ['^third_party/', '\\.snap$']   # regexes on the path
      values: ['^AKIA.*TEST$']               # regexes on the secret

Every mistake is a ``ConfigError`` naming ``FILE:LINE``: an unknown field, a regex that does
not compile, a rule id that clashes with a built-in one, a disabled rule that does not exist.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vaultline.errors import ConfigError
from vaultline.findings import Severity
from vaultline.project import _yaml
from vaultline.project._lines import line_of
from vaultline.scan.detectors import Detector, all_detectors, rule
from vaultline.scan.engine import Scanner
from vaultline.scan.finding import Finding

FILE_NAME = ".vaultline-scan.yaml"
PROJECT_FILE = "vaultline.yaml"
_SECTION_FIELDS = {"rules", "disable", "allowlist"}
_RULE_FIELDS = {"id", "description", "regex", "keywords", "entropy", "severity"}
_ALLOW_FIELDS = {"paths", "values"}
_RULE_ID = re.compile(r"[a-z0-9][a-z0-9-]{1,63}")


@dataclass(frozen=True)
class ScanConfig:
    rules: tuple[Detector, ...] = ()
    disabled: frozenset[str] = frozenset()
    allow_paths: tuple[re.Pattern[str], ...] = ()
    allow_values: tuple[re.Pattern[str], ...] = ()
    source: str | None = field(default=None, compare=False)

    def scanner(self, *, use_hyperscan: bool = True) -> Scanner:
        detectors = [d for d in all_detectors() if d.rule_id not in self.disabled]
        return Scanner([*detectors, *self.rules], use_hyperscan=use_hyperscan)

    def allowed(self, f: Finding) -> bool:
        return self._allowed_path(f.path) or any(v.search(f.secret) for v in self.allow_values)

    def _allowed_path(self, path: str) -> bool:
        # A name with a line break is never covered: Python's '$' matches before a final
        # newline, so '\\.snap$' would cover "prod.snap\\n", which git (and gitleaks' '$')
        # tell apart from "prod.snap".
        if "\n" in path or "\r" in path:
            return False
        return any(p.search(path) for p in self.allow_paths)

    def apply(self, findings: Iterable[Finding]) -> list[Finding]:
        """The findings no allowlist entry covers."""
        return [f for f in findings if not self.allowed(f)]


def find(root: Path, explicit: Path | None = None) -> ScanConfig:
    """``explicit``, else ``.vaultline-scan.yaml`` in ``root``, else the ``scan:`` section of
    ``root``'s ``vaultline.yaml``; no file is an empty configuration."""
    if explicit is not None:
        return load(explicit)
    directory = root if root.is_dir() else root.parent
    own = directory / FILE_NAME
    if own.is_file():
        return load(own)
    project = directory / PROJECT_FILE
    if project.is_file():
        document = _yaml.load_file(project)
        if isinstance(document, dict) and document.get("scan") is not None:
            return parse(document["scan"], str(project), line_of(document, "scan"))
    return ScanConfig()


def load(path: Path) -> ScanConfig:
    document = _yaml.load_file(path)
    if document is None:
        return ScanConfig(source=str(path))
    return parse(document, str(path), 1)


def parse(section: Any, file: str, line: int | None) -> ScanConfig:
    if not isinstance(section, dict):
        raise ConfigError("the scan configuration must be a mapping (rules, disable, allowlist)",
                          file=file, line=line)
    _known_fields(section, _SECTION_FIELDS, "scan configuration", file, line)
    rules = tuple(_rules(section.get("rules") or [], file, line_of(section, "rules") or line))
    builtin = {d.rule_id for d in all_detectors()} | {r.rule_id for r in rules}
    disable_line = line_of(section, "disable") or line
    disabled = _strings(section.get("disable") or [], "disable", file, disable_line)
    for rule_id in disabled:
        if rule_id not in builtin:
            close = difflib.get_close_matches(rule_id, builtin, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"disable: no rule {rule_id!r}{hint}", file=file, line=disable_line)
    allow = section.get("allowlist") or {}
    allow_line = line_of(section, "allowlist") or line
    if not isinstance(allow, dict):
        raise ConfigError("allowlist must be a mapping with paths and/or values",
                          file=file, line=allow_line)
    _known_fields(allow, _ALLOW_FIELDS, "allowlist", file, allow_line)
    patterns = {}
    for name in ("paths", "values"):
        where = line_of(allow, name) or allow_line
        patterns[name] = tuple(
            _regex(p, f"allowlist {name}", file, where)
            for p in _strings(allow.get(name) or [], f"allowlist {name}", file, where)
        )
    return ScanConfig(rules, frozenset(disabled), patterns["paths"], patterns["values"], file)


def _rules(items: Any, file: str, line: int | None) -> Iterable[Detector]:
    if not isinstance(items, list):
        raise ConfigError("rules must be a list of rules (id, regex, keywords, ...)",
                          file=file, line=line)
    builtin = {d.rule_id for d in all_detectors()}
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, dict):
            raise ConfigError("each rule is a mapping with id, regex and keywords",
                              file=file, line=line)
        at = line_of(item, "id") or line
        _known_fields(item, _RULE_FIELDS, "rule", file, at)
        rule_id = item.get("id")
        if not isinstance(rule_id, str) or not _RULE_ID.fullmatch(rule_id):
            raise ConfigError("rule id must be lower-case letters, digits and '-' "
                              "(such as acme-service-token)", file=file, line=at)
        if rule_id in builtin or rule_id in seen:
            raise ConfigError(f"rule id {rule_id!r} is already taken; choose another",
                              file=file, line=at)
        seen.add(rule_id)
        regex_line = line_of(item, "regex") or at
        source = item.get("regex")
        if not isinstance(source, str) or not source:
            raise ConfigError(f"rule {rule_id!r}: regex is required", file=file, line=regex_line)
        compiled = _regex(source, f"rule {rule_id!r}", file, regex_line)
        if compiled.groups and "secret" not in compiled.groupindex and compiled.groups > 1:
            raise ConfigError(f"rule {rule_id!r}: with several groups, name the secret's "
                              "(?P<secret>...)", file=file, line=regex_line)
        keywords_line = line_of(item, "keywords") or at
        keywords = _strings(item.get("keywords"), f"rule {rule_id!r}: keywords", file,
                            keywords_line)
        if not keywords:
            raise ConfigError(f"rule {rule_id!r}: keywords are required (literal text every "
                              "match contains, such as its prefix)", file=file, line=keywords_line)
        entropy = item.get("entropy", 0.0)
        if isinstance(entropy, bool) or not isinstance(entropy, int | float) or not 0 <= entropy <= 8:
            raise ConfigError(f"rule {rule_id!r}: entropy is bits per character, 0 to 8",
                              file=file, line=line_of(item, "entropy") or at)
        severity = item.get("severity", "high")
        if severity not in ("high", "low"):
            raise ConfigError(f"rule {rule_id!r}: severity is high or low",
                              file=file, line=line_of(item, "severity") or at)
        description = item.get("description") or f"{rule_id} (team rule)"
        yield rule(rule_id, str(description), source, keywords=keywords,
                   min_entropy=float(entropy), severity=Severity(severity), source=file)


def _known_fields(mapping: dict[Any, Any], known: set[str], what: str, file: str,
                  line: int | None) -> None:
    for key in mapping:
        if key not in known:
            raise ConfigError(f"{what}: unknown field {key!r}; known: {', '.join(sorted(known))}",
                              file=file, line=line_of(mapping, key) or line)


def _strings(value: Any, what: str, file: str, line: int | None) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{what} must be a list of strings", file=file, line=line)
    return list(value)


def _regex(source: str, what: str, file: str, line: int | None) -> re.Pattern[str]:
    try:
        compiled = re.compile(source)
        re.compile(source.encode())
    except re.error as exc:
        raise ConfigError(f"{what}: invalid regex ({exc})", file=file, line=line) from None
    return compiled
