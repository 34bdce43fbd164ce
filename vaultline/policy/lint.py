"""Lint Vault/OpenBao HCL policies for grants broader than the holder needs.

Vault picks, for a request path, the most specific matching ``path`` rule (capabilities of the
same path string are merged across a token's policies, and ``deny`` wins there). The rules
below follow from that: a glob grants every path below it, including ones created later; a
``deny`` on a glob does not protect a path that a more specific rule grants; ``sudo`` unlocks
root-protected endpoints.

Whether a policy is a *runtime* policy (held by a running service, which should only read)
is decided, first match wins, by: the ``role`` argument (``--role``), a ``# vaultline:
role=runtime`` marker comment in the file, words in the file name (``app-runtime.hcl``,
``ci-deploy.hcl``), and, for files still unknown, a ``runtime`` segment in the rule's path.
An explicit flag keeps CI deterministic; the marker travels with the file; the heuristics
catch the common naming schemes without configuration.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vaultline.errors import PolicyError

ROLES = ("runtime", "ci", "admin")
DEFAULT_ENVIRONMENTS = frozenset(
    {
        "dev", "development", "test", "testing", "qa", "staging", "stage", "stg", "uat",
        "preprod", "pre-prod", "prod", "production", "prd", "sandbox", "local", "perf", "demo",
    }
)
WRITE_CAPABILITIES = frozenset({"create", "update", "patch", "delete"})
# Second path segment of KV v2 API paths: ``<mount>/data/<key>`` and friends.
KV2_PREFIXES = frozenset({"data", "metadata", "delete", "undelete", "destroy", "subkeys"})
# Mounts that are not key-value stores: their paths never carry ``data/``.
NON_KV_MOUNTS = frozenset(
    {"sys", "auth", "identity", "transit", "pki", "database", "aws", "azure", "gcp", "ssh",
     "totp", "cubbyhole", "kubernetes", "rabbitmq", "consul", "nomad", "ldap"}
)
# Legacy ``policy = "…"`` shorthand, expanded as Vault does.
_LEGACY = {
    "deny": ("deny",),
    "read": ("read", "list"),
    "write": ("create", "read", "update", "delete", "list"),
    "sudo": ("create", "read", "update", "delete", "list", "sudo"),
}
_ROLE_WORDS = {
    "runtime": frozenset(
        {"runtime", "app", "apps", "service", "svc", "workload", "pod", "k8s", "reader"}
    ),
    "ci": frozenset(
        {"ci", "cd", "cicd", "build", "deploy", "deployer", "pipeline", "github", "gitlab",
         "jenkins", "actions", "release"}
    ),
    "admin": frozenset({"admin", "root", "operator", "bootstrap", "terraform"}),
}
_ROLE_MARKER = re.compile(r"^\s*(?:#|//)\s*vaultline:\s*role\s*=\s*(\w+)", re.M)
_PATH_LINE = re.compile(r'^\s*path\s+"((?:[^"\\]|\\.)*)"', re.M)


@dataclass(frozen=True, slots=True)
class PathRule:
    file: str
    line: int
    path: str
    capabilities: tuple[str, ...]

    @property
    def segments(self) -> list[str]:
        return self.path.split("/")

    @property
    def is_glob(self) -> bool:
        return "*" in self.path or "+" in self.segments

    @property
    def grants(self) -> frozenset[str]:
        return frozenset(self.capabilities) - {"deny"}


@dataclass(slots=True)
class Policy:
    file: str
    role: str | None
    role_source: str | None
    rules: list[PathRule] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    name: str
    severity: str
    file: str
    line: int | None
    path: str | None
    message: str
    fix: str

    @property
    def where(self) -> str:
        return self.file if self.line is None else f"{self.file}:{self.line}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule, "name": self.name, "severity": self.severity, "file": self.file,
            "line": self.line, "path": self.path, "message": self.message, "fix": self.fix,
        }


# --------------------------------------------------------------------------- parsing


def parse_policy(text: str, file: str = "<policy>", role: str | None = None) -> Policy:
    """Parse HCL into path rules with their lines; raises PolicyError on invalid HCL."""
    import hcl2
    from hcl2.utils import SerializationOptions

    try:
        tree = hcl2.loads(
            text,
            serialization_options=SerializationOptions(
                with_comments=False, strip_string_quotes=True
            ),
        )
    except Exception as exc:  # python-hcl2 raises lark errors of many classes
        line = getattr(exc, "line", None)
        where = f" at line {line}" if isinstance(line, int) else ""
        raise PolicyError(f"{file}: not valid HCL{where}: {type(exc).__name__}") from None
    lines: dict[str, list[int]] = {}
    for match in _PATH_LINE.finditer(text):
        lines.setdefault(match.group(1), []).append(text.count("\n", 0, match.start(1)) + 1)
    policy = Policy(file, *_role_of(text, file, role))
    for block in tree.get("path", []) if isinstance(tree, dict) else []:
        for path, body in block.items() if isinstance(block, dict) else ():
            line_list = lines.get(path) or [0]
            line = line_list.pop(0) if len(line_list) > 1 else line_list[0]
            policy.rules.append(PathRule(file, line, path, _capabilities(body)))
    return policy


def _capabilities(body: Any) -> tuple[str, ...]:
    if not isinstance(body, dict):
        return ()
    caps = body.get("capabilities")
    if isinstance(caps, list):
        return tuple(str(c).lower() for c in caps)
    legacy = body.get("policy")
    if isinstance(legacy, str):
        return _LEGACY.get(legacy.lower(), (legacy.lower(),))
    return ()


def _role_of(text: str, file: str, role: str | None) -> tuple[str | None, str | None]:
    if role:
        return role, f"--role {role}"
    marker = _ROLE_MARKER.search(text)
    if marker and marker.group(1) in ROLES:
        return marker.group(1), "marker comment"
    words = set(re.split(r"[-_.\s]+", Path(file).stem.lower()))
    for name in ROLES:
        if words & _ROLE_WORDS[name]:
            return name, f"file name {Path(file).name!r}"
    return None, None


# --------------------------------------------------------------------------- matching


def _regex(path: str) -> re.Pattern[str]:
    """Vault path matching: ``+`` is one segment, a trailing ``*`` is any suffix."""
    parts = []
    for i, seg in enumerate(path.split("/")):
        if seg == "+":
            parts.append("[^/]+")
        else:
            star = seg.endswith("*") and i == path.count("/")
            body = re.escape(seg[:-1] if star else seg)
            parts.append(body + (".*" if star else ""))
    return re.compile("/".join(parts))


def covers(broad: PathRule, narrow: PathRule) -> bool:
    """Whether every request path ``narrow`` matches is also matched by ``broad``."""
    if broad.path == narrow.path or not broad.is_glob:
        return False
    sample = "/".join("x" if s == "+" else s for s in narrow.path.split("/"))
    sample = sample[:-1] + "x" if sample.endswith("*") else sample
    return _regex(broad.path).fullmatch(sample) is not None


def _literal_prefix(rule: PathRule) -> list[str]:
    out = []
    for seg in rule.segments:
        if "*" in seg or seg == "+":
            break
        out.append(seg)
    return out


def _after_mount(rule: PathRule) -> list[str]:
    segs = rule.segments[1:]
    return segs[1:] if segs and segs[0] in KV2_PREFIXES else segs


# --------------------------------------------------------------------------- rules

Check = Callable[["Context"], Iterator[Finding]]
RULES: list[tuple[str, str, str, Check]] = []


@dataclass
class Context:
    policies: list[Policy]
    environments: frozenset[str]

    @property
    def all_rules(self) -> list[PathRule]:
        return [r for p in self.policies for r in p.rules]


def rule(rule_id: str, name: str, severity: str) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        RULES.append((rule_id, name, severity, check))
        return check

    return register


def _finding(
    rule_id: str, name: str, severity: str, r: PathRule, message: str, fix: str
) -> Finding:
    return Finding(rule_id, name, severity, r.file, r.line or None, r.path, message, fix)


def _caps(r: PathRule) -> str:
    return ", ".join(r.capabilities) or "no capabilities"


@rule("POL001", "mount-wide-glob", "error")
def mount_wide_glob(ctx: Context) -> Iterator[Finding]:
    for p in ctx.policies:
        for r in p.rules:
            if not r.grants or not r.is_glob:
                continue
            rest = _after_mount(r)
            first = r.segments[0]
            if "*" in first or first == "+" or not rest or "*" in rest[0] or rest[0] == "+":
                scope = "every mount" if ("*" in first or first == "+") else f"mount {first!r}"
                yield _finding(
                    "POL001", "mount-wide-glob", "error", r,
                    f"grants {_caps(r)} on {r.path!r}, which matches every secret in {scope}, "
                    "across all applications and environments",
                    "name the application and environment: e.g. "
                    f"{first}/data/<app>/<env>/*",
                )


@rule("POL002", "cross-environment-glob", "error")
def cross_environment_glob(ctx: Context) -> Iterator[Finding]:
    every = ctx.all_rules
    for p in ctx.policies:
        for r in p.rules:
            if not r.grants or not r.is_glob:
                continue
            prefix = _literal_prefix(r)
            if ctx.environments & set(prefix):
                continue  # already pinned to one environment
            seen = sorted(
                {
                    seg
                    for other in every
                    if other.segments[: len(prefix)] == prefix
                    for seg in other.segments[len(prefix) :]
                    if seg in ctx.environments
                }
            )
            if seen:
                yield _finding(
                    "POL002", "cross-environment-glob", "error", r,
                    f"grants {_caps(r)} on {r.path!r}, which spans the environments "
                    f"{', '.join(seen)} that other rules keep apart",
                    f"one policy per environment: {'/'.join(prefix)}/<env>/...",
                )


@rule("POL003", "glob-covers-narrower-rules", "error")
def glob_covers_narrower(ctx: Context) -> Iterator[Finding]:
    for p in ctx.policies:
        for r in p.rules:
            if not r.grants or not r.is_glob:
                continue
            covered = [
                o for o in p.rules
                if o is not r and "deny" not in o.capabilities and o.grants <= r.grants
                and covers(r, o)
            ]
            if not covered:
                continue
            listed = ", ".join(f"{o.path!r} (line {o.line})" for o in covered)
            prefix = "/".join(_literal_prefix(r))
            yield _finding(
                "POL003", "glob-covers-narrower-rules", "error", r,
                f"grants {_caps(r)} on everything under {prefix}/, which already includes "
                f"{listed}: the narrower rules add nothing, and whoever holds this policy "
                f"reads all of them (and any path added under {prefix}/ later)",
                "delete the wildcard rule and give each scope (e.g. runtime, build) its own "
                "policy with only its paths",
            )


@rule("POL004", "sudo", "error")
def sudo(ctx: Context) -> Iterator[Finding]:
    for r in ctx.all_rules:
        if "sudo" in r.capabilities:
            yield _finding(
                "POL004", "sudo", "error", r,
                f"grants sudo on {r.path!r}: root-protected endpoints (sys/…, token "
                "creation, audit and auth configuration) become reachable",
                "remove sudo; keep it in a break-glass admin policy used with a short-lived token",
            )


@rule("POL005", "write-in-runtime-policy", "error")
def write_in_runtime(ctx: Context) -> Iterator[Finding]:
    for p in ctx.policies:
        for r in p.rules:
            role, source = p.role, p.role_source
            if role is None and "runtime" in r.segments:
                role, source = "runtime", "path segment 'runtime'"
            writes = sorted(WRITE_CAPABILITIES & set(r.capabilities))
            if role == "runtime" and writes:
                yield _finding(
                    "POL005", "write-in-runtime-policy", "error", r,
                    f"grants {', '.join(writes)} on {r.path!r} in a runtime policy (from "
                    f"{source}): a compromised service could overwrite or delete its secrets",
                    'runtime policies read only: capabilities = ["read"]; writes belong to '
                    "CI or rotation policies",
                )


@rule("POL006", "deny-shadowing", "warning")
def deny_shadowing(ctx: Context) -> Iterator[Finding]:
    every = ctx.all_rules
    for deny in every:
        if "deny" not in deny.capabilities:
            continue
        same = [o for o in every if o.path == deny.path and o.grants]
        if same or deny.grants:
            caps = sorted(deny.grants | {c for o in same for c in o.grants})
            yield _finding(
                "POL006", "deny-shadowing", "warning", deny,
                f"denies {deny.path!r}, where {', '.join(caps)} is also granted: deny wins, "
                "so those grants never apply",
                "remove the dead grants, or the deny if access was intended",
            )
        for o in every:
            if o.path != deny.path and o.grants and covers(deny, o):
                yield _finding(
                    "POL006", "deny-shadowing", "warning", deny,
                    f"denies {deny.path!r}, but the more specific rule {o.path!r} "
                    f"({o.file}:{o.line}) grants {_caps(o)}: Vault applies the most specific "
                    "rule, so the deny does not protect that path",
                    f"remove or narrow {o.path!r}, or deny it explicitly by its own path",
                )


@rule("POL007", "kv2-path-without-data", "info")
def kv2_without_data(ctx: Context) -> Iterator[Finding]:
    for r in ctx.all_rules:
        segs = r.segments
        if len(segs) < 2 or segs[0] in NON_KV_MOUNTS or segs[1] in KV2_PREFIXES or not r.grants:
            continue
        if any("*" in s or s == "+" for s in segs[:2]):
            continue  # a glob this wide is POL001's business, and may match data/ too
        yield _finding(
            "POL007", "kv2-path-without-data", "info", r,
            f"{r.path!r} has no data/ segment: if {segs[0]!r} is a KV v2 mount, reads go to "
            f"{segs[0]}/data/{'/'.join(segs[1:])} and this rule matches nothing",
            f"for KV v2 write {segs[0]}/data/{'/'.join(segs[1:])} "
            f"(and {segs[0]}/metadata/... only where listing is needed)",
        )


# --------------------------------------------------------------------------- entry points

_ORDER = {"error": 0, "warning": 1, "info": 2}


def lint_policies(
    policies: Sequence[Policy], environments: Iterable[str] = DEFAULT_ENVIRONMENTS
) -> list[Finding]:
    ctx = Context(list(policies), frozenset(environments))
    findings = [f for _, _, _, check in RULES for f in check(ctx)]
    findings.sort(key=lambda f: (f.file, f.line or 0, _ORDER[f.severity], f.rule))
    return findings


def lint_text(
    text: str,
    file: str = "<policy>",
    role: str | None = None,
    environments: Iterable[str] = DEFAULT_ENVIRONMENTS,
) -> list[Finding]:
    return lint_policies([parse_policy(text, file, role)], environments)


def lint_files(
    paths: Iterable[str | Path],
    role: str | None = None,
    environments: Iterable[str] = DEFAULT_ENVIRONMENTS,
) -> list[Finding]:
    """Lint files together (rules such as deny-shadowing look across them).

    A file that is not valid HCL gives a ``POL000`` finding instead of stopping the run.
    """
    policies: list[Policy] = []
    broken: list[Finding] = []
    for path in paths:
        name = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyError(f"{name}: cannot read: {exc}") from None
        try:
            policies.append(parse_policy(text, name, role))
        except PolicyError as exc:
            broken.append(
                Finding("POL000", "parse-error", "error", name, None, None, str(exc),
                        "fix the HCL syntax (bao policy fmt shows where)")
            )
    return broken + lint_policies(policies, environments)


def failing(findings: Iterable[Finding]) -> bool:
    """Lint fails on errors and warnings; info findings are advice."""
    return any(f.severity != "info" for f in findings)
