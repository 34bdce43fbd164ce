"""Vault/OpenBao HCL policies as data: path rules with their capabilities, file and line.

``parse_policy`` reads HCL (python-hcl2) and also works out whether a policy is a *runtime*
policy (held by a running service, which should only read). First match wins: the ``role``
argument (``--role``), a ``# vaultline: role=runtime`` marker comment in the file, words in
the file name (``app-runtime.hcl``, ``ci-deploy.hcl``); the lint rules add, for files still
unknown, a ``runtime`` segment in the rule's path. An explicit flag keeps CI deterministic;
the marker travels with the file; the heuristics catch the common naming schemes without
configuration.

Path matching follows Vault: ``+`` is one segment, a trailing ``*`` any suffix.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vaultline.errors import PolicyError
from vaultline.findings import Finding as BaseFinding
from vaultline.findings import Severity

ROLES = ("runtime", "ci", "admin")
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
class Finding(BaseFinding):
    rule: str
    name: str
    severity: Severity
    file: str
    line: int | None
    path: str | None
    message: str
    fix: str

    @property
    def where(self) -> str:
        return self.file if self.line is None else f"{self.file}:{self.line}"



# --------------------------------------------------------------------------- parsing


MAX_POLICY_CHARS = 256 * 1024
MAX_POLICY_BLOCKS = 10_000


def parse_policy(text: str, file: str = "<policy>", role: str | None = None) -> Policy:
    """Parse HCL into path rules with their lines; raises PolicyError on invalid HCL."""
    import hcl2
    from hcl2.utils import SerializationOptions

    # python-hcl2 (lark) takes seconds per few thousand rules and hundreds of MB for one long
    # string: a policy people review is far smaller than the 16 MiB any parsed file may be.
    if len(text) > MAX_POLICY_CHARS:
        raise PolicyError(f"{file}: larger than {MAX_POLICY_CHARS // 1024} KiB; a Vault policy "
                          "this large is not one people review: split it")
    if text.count("{") + text.count("[") > MAX_POLICY_BLOCKS:
        raise PolicyError(f"{file}: more than {MAX_POLICY_BLOCKS} blocks and lists ('{{' and "
                          "'['); split the policy")
    try:
        tree = hcl2.loads(
            text,
            serialization_options=SerializationOptions(
                with_comments=False, strip_string_quotes=True
            ),
        )
    except RecursionError:
        # lark recurses once per nesting level; a real policy nests a few levels at most.
        raise PolicyError(f"{file}: nested too deeply to read (lists or blocks within each "
                          "other, hundreds of levels); a Vault policy nests a few") from None
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


@functools.lru_cache(maxsize=4096)
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


def literal_prefix(rule: PathRule) -> list[str]:
    out = []
    for seg in rule.segments:
        if "*" in seg or seg == "+":
            break
        out.append(seg)
    return out


def after_mount(rule: PathRule) -> list[str]:
    segs = rule.segments[1:]
    return segs[1:] if segs and segs[0] in KV2_PREFIXES else segs
