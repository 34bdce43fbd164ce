"""Inventory rules: plain functions in a registry, each yielding findings.

Every rule has an id, a name, a severity and a one-line fix; ``--check`` fails on ``error``.
The rules encode the authority model: cluster-managed secrets are generated in-cluster
and may be *mirrored* to Vault, never fetched from an external store; external secrets are
authored in their store and never written back from the cluster.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from vaultline.findings import Severity
from vaultline.inventory.index import ES_KINDS, MIRROR_PROVIDERS, PUSH_KINDS, Index
from vaultline.inventory.model import Finding, Resource
from vaultline.inventory.resources import is_templated

# Directories whose manifests are test data, where a literal Secret is expected.
TEST_DIRS = frozenset(
    {"test", "tests", "testdata", "test-data", "testing", "e2e", "fixtures", "__fixtures__"}
)


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    severity: Severity
    summary: str
    check: Callable[[Index], Iterator[tuple[Resource, str, str]]]

    def findings(self, index: Index) -> Iterator[Finding]:
        for r, message, fix in self.check(index):
            yield Finding(self.id, self.name, self.severity, r.file, r.line, r.ref, message, fix)


RULES: list[Rule] = []

Check = Callable[[Index], Iterator[tuple[Resource, str, str]]]


def rule(rule_id: str, name: str, severity: Severity, summary: str) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        RULES.append(Rule(rule_id, name, severity, summary, check))
        return check

    return register


def _stores(refs: list[str]) -> str:
    return ", ".join(refs)


@rule(
    "INV001",
    "cluster-managed-from-external",
    Severity.ERROR,
    "a cluster-managed (operator- or Helm-generated) secret is fetched from an external store",
)
def cluster_managed_from_external(index: Index) -> Iterator[tuple[Resource, str, str]]:
    for r in index.resources:
        if r.kind not in ES_KINDS:
            continue
        owner = index.cluster_managed_owner(r.target_name, r.namespace)
        external = index.reads_external(r)
        if owner is None or not external:
            continue
        yield (
            r,
            f"writes Secret {r.target_name!r}, which {owner} generates in-cluster, from "
            f"store {_stores([s.name for s in external])}",
            "delete this ExternalSecret; mirror the in-cluster Secret to Vault with a "
            "PushSecret if other consumers need it",
        )


@rule(
    "INV002",
    "push-into-authority",
    Severity.ERROR,
    "a PushSecret writes into an external authority instead of a mirror",
)
def push_into_authority(index: Index) -> Iterator[tuple[Resource, str, str]]:
    for r in index.resources:
        if r.kind not in PUSH_KINDS:
            continue
        readers = [
            es for es in index.es_targets.find(r.source_secret, r.namespace)
            if not is_templated(r.source_secret)
        ]
        read_from = {s.name for es in readers for s in es.store_refs}
        for ref in r.store_refs:
            provider = index.provider(ref, r.namespace)
            if ref.name in read_from:
                yield (
                    r,
                    f"pushes Secret {r.source_secret!r} back into store {ref.name!r}, which "
                    f"{readers[0].ref} reads it from: the cluster would overwrite its authority",
                    "remove the PushSecret (or push to a separate Vault mirror path)",
                )
            elif provider is not None and provider not in MIRROR_PROVIDERS:
                yield (
                    r,
                    f"pushes Secret {r.source_secret or '?'!r} into store {ref.name!r} "
                    f"({provider}), an external authority that the cluster must not write",
                    "push to the Vault mirror store instead; author external secrets in "
                    f"{provider} itself",
                )


def in_test_path(file: str) -> bool:
    return any(part.lower() in TEST_DIRS for part in PurePosixPath(file).parts[:-1])


@rule(
    "INV003",
    "inline-literal-secret",
    Severity.ERROR,
    "a committed Secret or secretGenerator carries literal values outside test paths",
)
def inline_literal_secret(index: Index) -> Iterator[tuple[Resource, str, str]]:
    for r in index.resources:
        if r.kind not in ("Secret", "SecretGenerator") or not r.literal_keys:
            continue
        if r.helm_generated or in_test_path(r.file):
            continue
        keys = ", ".join(r.literal_keys)
        yield (
            r,
            f"has literal values for key(s) {keys} committed to the repository",
            "replace with an ExternalSecret (or a SealedSecret) and rotate the exposed values",
        )


@rule(
    "INV004",
    "undefined-store",
    Severity.ERROR,
    "an ExternalSecret or PushSecret names a store that the repository does not define",
)
def undefined_store(index: Index) -> Iterator[tuple[Resource, str, str]]:
    for r in index.resources:
        if r.kind not in ES_KINDS and r.kind not in PUSH_KINDS:
            continue
        for ref in r.store_refs:
            if is_templated(ref.name) or index.store(ref, r.namespace) is not None:
                continue
            where = f" in namespace {r.namespace!r}" if ref.kind == "SecretStore" else ""
            yield (
                r,
                f"references {ref.kind} {ref.name!r}{where}, which no manifest defines",
                f"define {ref.kind} {ref.name!r} (or fix the storeRef name/kind)",
            )


# The Vault database secrets engine issues credentials under these paths.
_VAULT_DB_PATHS = ("database/creds/", "database/static-creds/")


@rule(
    "INV005",
    "vault-authored-db-credentials",
    Severity.ERROR,
    "database credentials for a CNPG-owned database are authored in an external store",
)
def vault_authored_db_credentials(index: Index) -> Iterator[tuple[Resource, str, str]]:
    for r in index.resources:
        if r.kind not in ES_KINDS:
            continue
        external = index.reads_external(r)
        if not external:
            continue
        consumers = index.cnpg_credentials.find(r.target_name, r.namespace)
        if consumers and not is_templated(r.target_name):
            yield (
                r,
                f"fetches Secret {r.target_name!r}, the credentials CNPG Cluster "
                f"{consumers[0].name!r} sets for its roles, from store "
                f"{_stores([s.name for s in external])}",
                "let CNPG own the password (generate it in-cluster) and mirror it to Vault "
                "with a PushSecret",
            )
            continue
        db_keys = [ref.key for ref in r.remote_refs if ref.key.startswith(_VAULT_DB_PATHS)]
        clusters = [
            c
            for ns, cs in index.cnpg_namespaces.items()
            if ns is None or r.namespace is None or is_templated(r.namespace) or ns == r.namespace
            for c in cs
        ]
        if db_keys and clusters:
            yield (
                r,
                f"reads Vault database credentials {', '.join(db_keys)} in a namespace where "
                f"CNPG Cluster {clusters[0].name!r} owns the database",
                "use the CNPG-generated <cluster>-app Secret or a managed role instead",
            )


@rule(
    "INV006",
    "parse-error",
    Severity.WARNING,
    "a manifest could not be parsed; its metadata was recovered best-effort",
)
def parse_error(index: Index) -> Iterator[tuple[Resource, str, str]]:
    for r in index.resources:
        if r.parse_error:
            yield (
                r,
                f"could not be parsed ({r.parse_error}); kind/name/namespace recovered by "
                "pattern, other fields unknown",
                "fix the YAML, or render the chart (helm template) and scan the output",
            )


@rule(
    "INV007",
    "unreadable-secret",
    Severity.ERROR,
    "a Secret outside test paths could not be parsed, so whether it holds literal values is "
    "unknown",
)
def unreadable_secret(index: Index) -> Iterator[tuple[Resource, str, str]]:
    # The gate fails closed: a Secret with literal values and one broken line (a duplicate key,
    # a .nan) must not pass `--check` as a parse warning.
    for r in index.resources:
        if r.parse_error and r.kind == "Secret" and not in_test_path(r.file):
            yield (
                r,
                "is a Secret that could not be parsed, so its values could not be checked",
                "fix the YAML so that inventory can read it",
            )


def run_rules(index: Index) -> list[Finding]:
    findings = [f for r in RULES for f in r.findings(index)]
    findings.sort(key=lambda f: (f.severity.rank, f.file, f.line, f.rule))
    return findings
