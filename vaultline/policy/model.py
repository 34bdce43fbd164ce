"""Vault/OpenBao HCL policies as data: path rules with their capabilities, file and line.

``parse_policy`` reads HCL (python-hcl2) and also works out whether a policy is a *runtime*
policy (held by a running service, which should only read). First match wins: the ``role``
argument (``--role``), a ``# vaultline: role=runtime`` marker comment in the file, words in
the file name (``app-runtime.hcl``, ``ci-deploy.hcl``); the lint rules add, for files still
unknown, a ``runtime`` segment in the rule's path. An explicit flag keeps CI deterministic;
the marker travels with the file; the heuristics catch the common naming schemes without
configuration.

Paths are read as Vault reads them, not as python-hcl2 does: Vault's HCL decodes Go's string
escapes (``"secret/\\x2a"`` is ``secret/*``, which python-hcl2 leaves as text), and of a block
with several labels (``path "secret/*" "x" {…}``) it keeps the first label and the body, where
python-hcl2 nests the body one level per extra label. Path matching follows Vault: ``+`` is
one segment, a trailing ``*`` any suffix.
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
# Go's escapes in a quoted string, as Vault's HCL decodes them.
_GO_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|[0-7]{3}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)", re.S)
_GO_SIMPLE = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
              "\\": "\\", '"': '"'}


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
        syntax = hcl2.parses_to_tree(text)
        tree = hcl2.serialize(
            hcl2.transform(syntax),
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
    policy = Policy(file, *_role_of(text, file, role))
    blocks = tree.get("path", []) if isinstance(tree, dict) else []
    labels = _path_labels(syntax)
    if not isinstance(blocks, list) or len(blocks) != len(labels):
        raise PolicyError(f"{file}: 'path' is used other than as path \"PATH\" {{ … }} blocks; "
                          "Vault reads the rules from those")
    for block, (path, line) in zip(blocks, labels, strict=True):
        for body in block.values() if isinstance(block, dict) else ():
            # python-hcl2 nests the body under each further label; Vault ignores those labels.
            while isinstance(body, dict) and "__is_block__" not in body and len(body) == 1:
                body = next(iter(body.values()))
            policy.rules.append(PathRule(file, line, path, _capabilities(body)))
    return policy


def _path_labels(syntax: Any) -> list[tuple[str, int]]:
    """``(first label as Vault reads it, its line)`` of each top-level ``path`` block, in order."""
    from lark import Token, Tree

    out: list[tuple[str, int]] = []
    for body in syntax.children[:1]:
        for block in body.children:
            if not (isinstance(block, Tree) and block.data == "block" and len(block.children) > 1):
                continue
            name, label = block.children[0], block.children[1]
            if not (isinstance(name, Tree) and [str(t) for t in name.scan_values(
                    lambda v: isinstance(v, Token))] == ["path"] and isinstance(label, Tree)):
                continue
            tokens = list(label.scan_values(lambda v: isinstance(v, Token)))
            if label.data == "string":
                raw = "".join(str(t) for t in tokens[1:-1])  # between the quotes
                out.append((_as_vault_reads(raw), tokens[0].line or 0))
            elif tokens:
                out.append((str(tokens[0]), tokens[0].line or 0))
    return out


def _as_vault_reads(raw: str) -> str:
    """A quoted string's text between its quotes, escapes decoded as Go (and Vault) does."""
    def decode(match: re.Match[str]) -> str:
        escape = match.group(1)
        if len(escape) > 1:
            code = int(escape[1:], 16) if escape[0] in "xuU" else int(escape, 8)
            return chr(code) if code <= 0x10FFFF else match.group(0)  # Go refuses it too
        return _GO_SIMPLE.get(escape, match.group(0))

    return _GO_ESCAPE.sub(decode, raw)


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
