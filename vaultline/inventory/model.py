"""What an inventory is made of: resources, findings and the inventory itself.

A :class:`Resource` is one secret-relevant Kubernetes object found in a file. It names stores,
remote keys and secret keys, never a value: the inventory is meant to be committed and pasted
into issues, so it must be safe to publish.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from vaultline.findings import Finding as BaseFinding
from vaultline.findings import Severity

SCHEMA_VERSION = 1

# Origins, after the platform's authority classification table. ``templated`` and ``local-file`` are ours:
# a Helm value injected at render time and a kustomize generator reading files are neither
# generated in-cluster nor literal in the manifest.
ORIGINS = (
    "external",
    "cluster-operator",
    "helm-generated",
    "service-generated",
    "sealed",
    "inline-literal",
    "templated",
    "local-file",
    "unknown",
)

SEVERITIES = (Severity.ERROR, Severity.WARNING, Severity.INFO)


@dataclass(frozen=True, slots=True)
class StoreRef:
    """A reference to a SecretStore or ClusterSecretStore (``kind`` defaults as in ESO)."""

    name: str
    kind: str = "SecretStore"


@dataclass(frozen=True, slots=True)
class RemoteRef:
    """A key in an external store: read (get/extract/find) or written (push)."""

    key: str
    property: str | None = None
    store: str | None = None
    mode: str = "get"


@dataclass(slots=True)
class Resource:
    """One secret-relevant resource; kind-specific fields stay empty for other kinds."""

    file: str
    line: int
    kind: str | None
    api_version: str | None = None
    name: str | None = None
    namespace: str | None = None
    origin: str | None = None
    parse_error: str | None = None
    templated: bool = False
    helm_generated: bool = False
    # ExternalSecret / ClusterExternalSecret / PushSecret / ClusterPushSecret
    store_refs: tuple[StoreRef, ...] = ()
    remote_refs: tuple[RemoteRef, ...] = ()
    generator_refs: tuple[str, ...] = ()
    target_name: str | None = None
    creation_policy: str | None = None
    source_secret: str | None = None
    target_namespaces: tuple[str, ...] = ()
    # Secret / kustomize secretGenerator: key names only
    secret_type: str | None = None
    literal_keys: tuple[str, ...] = ()
    templated_keys: tuple[str, ...] = ()
    source_files: tuple[str, ...] = ()
    # SealedSecret
    sealed_keys: tuple[str, ...] = ()
    scope: str | None = None
    # SecretStore / ClusterSecretStore
    provider: str | None = None
    provider_detail: str | None = None
    # CNPG Cluster: secrets it generates, and secrets it reads credentials from
    owned_secrets: tuple[str, ...] = ()
    credential_secrets: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        """``Kind/namespace/name`` for messages."""
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind or '?'}/{ns}{self.name or '?'}"

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def has_literal_data(self) -> bool:
        return bool(self.literal_keys)

    def to_dict(self) -> dict[str, Any]:
        """Common fields always; kind-specific fields only when set (the JSON stays readable)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _ALWAYS:
                out[f.name] = value
            elif value in (None, (), False):
                continue
            elif f.name in ("store_refs", "remote_refs"):
                out[f.name] = [_ref_dict(v) for v in value]
            elif isinstance(value, tuple):
                out[f.name] = list(value)
            else:
                out[f.name] = value
        out["has_literal_data"] = self.has_literal_data
        return out


_ALWAYS = frozenset(
    {"file", "line", "kind", "api_version", "name", "namespace", "origin", "parse_error"}
)


def _ref_dict(ref: StoreRef | RemoteRef) -> dict[str, Any]:
    return {f.name: getattr(ref, f.name) for f in fields(ref) if getattr(ref, f.name) is not None}


@dataclass(frozen=True, slots=True)
class Finding(BaseFinding):
    """A rule violation at one resource: what is wrong and the one-line fix."""

    rule: str
    name: str
    severity: Severity
    file: str
    line: int
    resource: str
    message: str
    fix: str


@dataclass(frozen=True, slots=True)
class ParseFailure:
    """A YAML document that did not parse and had no recognisable ``kind``."""

    file: str
    line: int
    error: str

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "error": self.error}


@dataclass(slots=True)
class Inventory:
    root: str
    files_scanned: int = 0
    resources: list[Resource] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    parse_failures: list[ParseFailure] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    def summary(self) -> dict[str, dict[str, int]]:
        """Counts of classified secrets: ``{namespace: {origin: n}}`` (``-`` for no namespace)."""
        table: dict[str, dict[str, int]] = {}
        for r in self.resources:
            if r.origin is None:
                continue
            row = table.setdefault(r.namespace or "-", {})
            row[r.origin] = row.get(r.origin, 0) + 1
        return dict(sorted(table.items()))

    def to_dict(self) -> dict[str, Any]:
        severities = {s.value: 0 for s in SEVERITIES}
        for f in self.findings:
            severities[f.severity] += 1
        return {
            "schema_version": SCHEMA_VERSION,
            "root": self.root,
            "files_scanned": self.files_scanned,
            "counts": {
                "resources": len(self.resources),
                "findings": severities,
                "parse_errors": sum(1 for r in self.resources if r.parse_error)
                + len(self.parse_failures),
            },
            "summary": self.summary(),
            "resources": [r.to_dict() for r in self.resources],
            "findings": [f.to_dict() for f in self.findings],
            "parse_failures": [p.to_dict() for p in self.parse_failures],
        }
