"""``scan --known``: find a project's own resolved secret values in a tree, history or log.

Patterns can only guess; here the values are known. Every secret value an environment
resolves to (the winners and the values they shadow) is turned into the masker's set of
encoded forms (raw, base64 at each alignment, URL-encoded, JSON-escaped) plus each line of
a multi-line value, and matched with the masker's literal automaton (Hyperscan or the trie
regex). A finding names the key and the reference it came from, so it can be rotated; the
value itself is never in a finding, an error, the audit log or on disk (the automaton lives
in memory, and pool workers are forked, so nothing is pickled to a file).

The whole scan is one audit event (``scan.known``) with counts, not one read per value.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vaultline.audit.event import OK, SCAN_KNOWN
from vaultline.project.model import Project
from vaultline.redact._forms import encoded_forms
from vaultline.redact._matchers import Backend, Matcher, make_matcher
from vaultline.resolve.bundle import to_text
from vaultline.scan.finding import Finding
from vaultline.scan.runner import ScanResult, scan_history, scan_paths

RULE_ID = "known-secret"
# Shorter values ("dev", "1234") occur everywhere by chance: they cannot be looked for
# without false positives, and are counted as skipped instead.
MIN_CHARS = 8


@dataclass(frozen=True)
class KnownSecret:
    """Where a value came from: the key and the reference that resolved it."""

    key: str
    reference: str


class KnownScanner:
    """Finds the given values and their encoded forms; ``scan`` has the Scanner's shape."""

    # The runner forks workers for it (they inherit it in memory) or scans in-process.
    fork_only = True

    def __init__(
        self, secrets: Iterable[tuple[KnownSecret, str]], *, backend: Backend = "auto"
    ) -> None:
        self._owners: dict[bytes, list[tuple[KnownSecret, str]]] = {}
        self.values = 0
        self.skipped_short = 0
        for secret, value in secrets:
            forms = self._forms(value)
            if not forms:
                self.skipped_short += 1
                continue
            self.values += 1
            for pattern, form in forms.items():
                owners = self._owners.setdefault(pattern, [])
                if all(owner is not secret for owner, _ in owners):
                    owners.append((secret, form))
        patterns = sorted(self._owners)
        # A file larger than a window is scanned in windows overlapping by at least this much.
        self.longest_match = max(map(len, patterns), default=0)
        self._backend = backend
        self._matcher: Matcher | None = make_matcher(patterns, backend) if patterns else None

    @staticmethod
    def _forms(value: str) -> dict[bytes, str]:
        if len(value) < MIN_CHARS:
            return {}
        raw = value.encode("utf-8", "surrogatepass")
        forms = {f: "encoded" for f in encoded_forms(value) if len(f) >= MIN_CHARS}
        forms[raw] = "raw"
        if "\n" in value:
            for line in value.splitlines():
                line = line.strip()
                if len(line) >= MIN_CHARS:
                    forms.setdefault(line.encode("utf-8", "surrogatepass"), "line")
        return forms

    def __repr__(self) -> str:
        # Counts only: the patterns are the secrets.
        return f"<KnownScanner {self.values} values, {len(self._owners)} patterns>"

    def __getstate__(self) -> dict[str, object]:
        raise TypeError("a KnownScanner holds secret values and is never pickled")

    def scan(self, data: bytes, path: str, *, commit: str | None = None) -> list[Finding]:
        if self._matcher is None:
            return []
        findings: list[Finding] = []
        seen: set[tuple[int, KnownSecret]] = set()
        line_no, counted_to = 1, 0
        for start, end in sorted(self._matcher.scan(data)):
            owners = self._owners.get(data[start:end])
            if not owners:
                continue
            line_no += data.count(b"\n", counted_to, start)
            counted_to = start
            line_start = data.rfind(b"\n", 0, start) + 1
            for secret, form in owners:
                if (line_no, secret) in seen:
                    continue  # one value's several forms on one line: one finding
                seen.add((line_no, secret))
                findings.append(
                    Finding(
                        rule_id=RULE_ID,
                        description=f"value of {secret.key} ({secret.reference})",
                        path=path,
                        line=line_no,
                        column=len(data[line_start:start].decode("utf-8", "replace")) + 1,
                        # The identity of a known finding is its key, never its value.
                        secret=f"{secret.key}@{secret.reference}",
                        commit=commit,
                        tags=("known",) if form == "raw" else ("known", form),
                        offset=start,
                    )
                )
        return findings


def known_secrets(project: Project, env: str) -> list[tuple[KnownSecret, str]]:
    """Every secret value ``env`` resolves to, winners and shadowed, with key and reference.

    Resolution is all-or-nothing (a failing provider raises ``ResolutionError``): a scan
    that silently missed one provider's values would report a clean tree that is not.
    """
    from vaultline.resolve.resolver import Resolver

    with Resolver(project, env) as resolver:
        bundle = resolver.resolve()
    found: list[tuple[KnownSecret, str]] = []
    for resolved in bundle.candidates():
        if not resolved.secret or resolved.value is None:
            continue
        prov = resolved.provenance
        # The concrete location (``local:app/prod/Db/Password``) says what to rotate; a
        # reference can be as short as ``local``.
        reference = f"{prov.source}:{prov.path}" if prov.path else prov.reference or prov.source
        found.append((KnownSecret(resolved.key, reference), to_text(resolved.value)))
    return found


def scan_known(
    project: Project,
    env: str,
    paths: Sequence[Path] = (),
    *,
    history: bool = False,
    since: str | None = None,
    max_bytes: int | None = None,
    jobs: int | None = None,
    progress: bool = False,
) -> ScanResult:
    """Scan ``paths`` (or the git history of the first) for ``env``'s secret values; one
    ``scan.known`` audit event records what was looked for and how much was found."""
    from vaultline.resolve.session import Session

    scanner = KnownScanner(known_secrets(project, env))
    limits = {} if max_bytes is None else {"max_bytes": max_bytes}
    if history:
        root = paths[0] if paths else project.root
        result = scan_history(root, since=since, scanner=scanner, jobs=jobs, progress=progress,
                              **limits)
    else:
        result = scan_paths(list(paths) or [project.root], scanner=scanner, jobs=jobs,
                            progress=progress, **limits)
    result.extra["known_values"] = scanner.values
    result.extra["known_skipped_short"] = scanner.skipped_short
    with Session(project, env) as session:
        session.audit.record(
            SCAN_KNOWN, env=env, outcome=OK,
            detail={"target": "history" if history else "paths", "values": scanner.values,
                    "skipped_short": scanner.skipped_short, "findings": len(result.findings),
                    "found": sorted({f.description for f in result.findings})},
        )
    return result
