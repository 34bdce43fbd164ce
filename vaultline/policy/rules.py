"""The policy lint rules: one function each, registered with ``@rule`` in ``RULES``.

Vault picks, for a request path, the most specific matching ``path`` rule (capabilities of the
same path string are merged across a token's policies, and ``deny`` wins there). The rules
follow from that: a glob grants every path below it, including ones created later; a
``deny`` on a glob does not protect a path that a more specific rule grants; ``sudo`` unlocks
root-protected endpoints.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from vaultline.findings import Severity
from vaultline.policy.model import (
    KV2_PREFIXES,
    NON_KV_MOUNTS,
    WRITE_CAPABILITIES,
    Finding,
    PathRule,
    Policy,
    after_mount,
    covers,
    literal_prefix,
)


class _ByPrefix:
    """Rules sorted by a string key, so "every rule whose key starts with X" is a bisect.

    The pairwise rules (a glob against every narrower rule) look only at candidates sharing
    the glob's literal head; linting stays near-linear in the number of rules.
    """

    def __init__(self, rules: Iterable[PathRule], key: Callable[[PathRule], str]) -> None:
        pairs = sorted(((key(r), i, r) for i, r in enumerate(rules)), key=lambda t: t[:2])
        self._keys = [k for k, _, _ in pairs]
        self._rules = [r for _, _, r in pairs]
        self._order = [i for _, i, _ in pairs]

    def starting_with(self, head: str) -> list[PathRule]:
        """The matching rules, in the order they were given (findings list them that way)."""
        lo = bisect.bisect_left(self._keys, head)
        hi = bisect.bisect_left(self._keys, head + "\U0010ffff", lo)
        picked = sorted(range(lo, hi), key=self._order.__getitem__)
        return [self._rules[i] for i in picked]


def _sample(r: PathRule) -> str:
    """A request path ``r`` matches (what covers() tests against the broad rule)."""
    sample = "/".join("x" if s == "+" else s for s in r.segments)
    return sample[:-1] + "x" if sample.endswith("*") else sample


def _glob_head(r: PathRule) -> str:
    """The literal text every path matched by glob ``r`` starts with."""
    segs = r.segments
    for i, seg in enumerate(segs):
        if seg == "+":
            return "/".join(segs[:i]) + ("/" if i else "")
    return r.path[:-1] if r.path.endswith("*") else r.path


def _segment_key(r: PathRule) -> str:
    return "/".join(r.segments) + "/"


Check = Callable[["Context"], Iterator[Finding]]
RULES: list[tuple[str, str, Severity, Check]] = []


@dataclass
class Context:
    policies: list[Policy]
    environments: frozenset[str]

    @property
    def all_rules(self) -> list[PathRule]:
        return [r for p in self.policies for r in p.rules]


def rule(rule_id: str, name: str, severity: Severity) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        RULES.append((rule_id, name, severity, check))
        return check

    return register


def _finding(
    rule_id: str, name: str, severity: Severity, r: PathRule, message: str, fix: str
) -> Finding:
    return Finding(rule_id, name, severity, r.file, r.line or None, r.path, message, fix)


def _caps(r: PathRule) -> str:
    return ", ".join(r.capabilities) or "no capabilities"


@rule("POL001", "mount-wide-glob", Severity.ERROR)
def mount_wide_glob(ctx: Context) -> Iterator[Finding]:
    for p in ctx.policies:
        for r in p.rules:
            if not r.grants or not r.is_glob:
                continue
            rest = after_mount(r)
            first = r.segments[0]
            if "*" in first or first == "+" or not rest or "*" in rest[0] or rest[0] == "+":
                scope = "every mount" if ("*" in first or first == "+") else f"mount {first!r}"
                yield _finding(
                    "POL001", "mount-wide-glob", Severity.ERROR, r,
                    f"grants {_caps(r)} on {r.path!r}, which matches every secret in {scope}, "
                    "across all applications and environments",
                    "name the application and environment: e.g. "
                    f"{first}/data/<app>/<env>/*",
                )


@rule("POL002", "cross-environment-glob", Severity.ERROR)
def cross_environment_glob(ctx: Context) -> Iterator[Finding]:
    index = _ByPrefix(ctx.all_rules, _segment_key)
    for p in ctx.policies:
        for r in p.rules:
            if not r.grants or not r.is_glob:
                continue
            prefix = literal_prefix(r)
            if ctx.environments & set(prefix):
                continue  # already pinned to one environment
            seen = sorted(
                {
                    seg
                    for other in index.starting_with("/".join(prefix) + "/" if prefix else "")
                    for seg in other.segments[len(prefix) :]
                    if seg in ctx.environments
                }
            )
            if seen:
                yield _finding(
                    "POL002", "cross-environment-glob", Severity.ERROR, r,
                    f"grants {_caps(r)} on {r.path!r}, which spans the environments "
                    f"{', '.join(seen)} that other rules keep apart",
                    f"one policy per environment: {'/'.join(prefix)}/<env>/...",
                )


@rule("POL003", "glob-covers-narrower-rules", Severity.ERROR)
def glob_covers_narrower(ctx: Context) -> Iterator[Finding]:
    for p in ctx.policies:
        index = _ByPrefix(p.rules, _sample)
        for r in p.rules:
            if not r.grants or not r.is_glob:
                continue
            covered = [
                o for o in index.starting_with(_glob_head(r))
                if o is not r and "deny" not in o.capabilities and o.grants <= r.grants
                and covers(r, o)
            ]
            if not covered:
                continue
            listed = ", ".join(f"{o.path!r} (line {o.line})" for o in covered)
            prefix = "/".join(literal_prefix(r))
            yield _finding(
                "POL003", "glob-covers-narrower-rules", Severity.ERROR, r,
                f"grants {_caps(r)} on everything under {prefix}/, which already includes "
                f"{listed}: the narrower rules add nothing, and whoever holds this policy "
                f"reads all of them (and any path added under {prefix}/ later)",
                "delete the wildcard rule and give each scope (e.g. runtime, build) its own "
                "policy with only its paths",
            )


@rule("POL004", "sudo", Severity.ERROR)
def sudo(ctx: Context) -> Iterator[Finding]:
    for r in ctx.all_rules:
        if "sudo" in r.capabilities:
            yield _finding(
                "POL004", "sudo", Severity.ERROR, r,
                f"grants sudo on {r.path!r}: root-protected endpoints (sys/…, token "
                "creation, audit and auth configuration) become reachable",
                "remove sudo; keep it in a break-glass admin policy used with a short-lived token",
            )


@rule("POL005", "write-in-runtime-policy", Severity.ERROR)
def write_in_runtime(ctx: Context) -> Iterator[Finding]:
    for p in ctx.policies:
        for r in p.rules:
            role, source = p.role, p.role_source
            if role is None and "runtime" in r.segments:
                role, source = "runtime", "path segment 'runtime'"
            writes = sorted(WRITE_CAPABILITIES & set(r.capabilities))
            if role == "runtime" and writes:
                yield _finding(
                    "POL005", "write-in-runtime-policy", Severity.ERROR, r,
                    f"grants {', '.join(writes)} on {r.path!r} in a runtime policy (from "
                    f"{source}): a compromised service could overwrite or delete its secrets",
                    'runtime policies read only: capabilities = ["read"]; writes belong to '
                    "CI or rotation policies",
                )


@rule("POL006", "deny-shadowing", Severity.WARNING)
def deny_shadowing(ctx: Context) -> Iterator[Finding]:
    every = ctx.all_rules
    by_path: dict[str, list[PathRule]] = {}
    for o in every:
        by_path.setdefault(o.path, []).append(o)
    index = _ByPrefix(every, _sample)
    for deny in every:
        if "deny" not in deny.capabilities:
            continue
        same = [o for o in by_path[deny.path] if o.grants]
        if same or deny.grants:
            caps = sorted(deny.grants | {c for o in same for c in o.grants})
            yield _finding(
                "POL006", "deny-shadowing", Severity.WARNING, deny,
                f"denies {deny.path!r}, where {', '.join(caps)} is also granted: deny wins, "
                "so those grants never apply",
                "remove the dead grants, or the deny if access was intended",
            )
        for o in index.starting_with(_glob_head(deny)) if deny.is_glob else ():
            if o.path != deny.path and o.grants and covers(deny, o):
                yield _finding(
                    "POL006", "deny-shadowing", Severity.WARNING, deny,
                    f"denies {deny.path!r}, but the more specific rule {o.path!r} "
                    f"({o.file}:{o.line}) grants {_caps(o)}: Vault applies the most specific "
                    "rule, so the deny does not protect that path",
                    f"remove or narrow {o.path!r}, or deny it explicitly by its own path",
                )


@rule("POL007", "kv2-path-without-data", Severity.INFO)
def kv2_without_data(ctx: Context) -> Iterator[Finding]:
    for r in ctx.all_rules:
        segs = r.segments
        if len(segs) < 2 or segs[0] in NON_KV_MOUNTS or segs[1] in KV2_PREFIXES or not r.grants:
            continue
        if any("*" in s or s == "+" for s in segs[:2]):
            continue  # a glob this wide is POL001's business, and may match data/ too
        yield _finding(
            "POL007", "kv2-path-without-data", Severity.INFO, r,
            f"{r.path!r} has no data/ segment: if {segs[0]!r} is a KV v2 mount, reads go to "
            f"{segs[0]}/data/{'/'.join(segs[1:])} and this rule matches nothing",
            f"for KV v2 write {segs[0]}/data/{'/'.join(segs[1:])} "
            f"(and {segs[0]}/metadata/... only where listing is needed)",
        )
