"""Cross-resource lookups shared by classification and the rules.

Names are matched within a namespace; a resource without a namespace (Helm and kustomize
usually set it at apply time) matches any namespace, which errs towards reporting.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from vaultline.inventory.model import Resource, StoreRef
from vaultline.inventory.resources import is_templated

ES_KINDS = frozenset({"ExternalSecret", "ClusterExternalSecret"})
PUSH_KINDS = frozenset({"PushSecret", "ClusterPushSecret"})

# Providers that are not an external key-value authority: a ``kubernetes`` store copies
# secrets between namespaces or clusters; ``fake`` is for tests.
IN_CLUSTER_PROVIDERS = frozenset({"kubernetes", "fake"})
# Where cluster-managed secrets may be mirrored (Vault mirrors, never drives).
MIRROR_PROVIDERS = frozenset({"vault"}) | IN_CLUSTER_PROVIDERS


def _namespace(namespace: str | None) -> str | None:
    """A templated namespace (``{{ .Release.Namespace }}``) is unknown until render time."""
    return None if is_templated(namespace) else namespace


class _ByName:
    """``name -> [(namespace, resource)]`` with the namespace wildcard rule."""

    def __init__(self) -> None:
        self._items: dict[str, list[tuple[str | None, Resource]]] = {}

    def add(self, name: str | None, namespace: str | None, resource: Resource) -> None:
        if name:
            self._items.setdefault(name, []).append((_namespace(namespace), resource))

    def find(self, name: str | None, namespace: str | None) -> list[Resource]:
        if not name:
            return []
        namespace = _namespace(namespace)
        return [
            r
            for ns, r in self._items.get(name, ())
            if ns is None or namespace is None or ns == namespace
        ]


@dataclass
class Index:
    resources: list[Resource]
    namespaced_stores: _ByName = field(default_factory=_ByName)
    cluster_stores: dict[str, Resource] = field(default_factory=dict)
    cnpg_owned: _ByName = field(default_factory=_ByName)
    cnpg_credentials: _ByName = field(default_factory=_ByName)
    cnpg_namespaces: dict[str | None, list[Resource]] = field(default_factory=dict)
    helm_generated: _ByName = field(default_factory=_ByName)
    es_targets: _ByName = field(default_factory=_ByName)
    pushed: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def build(cls, resources: Iterable[Resource]) -> Index:
        index = cls(list(resources))
        for r in index.resources:
            if r.kind == "SecretStore":
                index.namespaced_stores.add(r.name, r.namespace, r)
            elif r.kind == "ClusterSecretStore" and r.name:
                index.cluster_stores[r.name] = r
            elif r.kind == "Cluster":
                for name in r.owned_secrets:
                    index.cnpg_owned.add(name, r.namespace, r)
                for name in r.credential_secrets:
                    index.cnpg_credentials.add(name, r.namespace, r)
                index.cnpg_namespaces.setdefault(_namespace(r.namespace), []).append(r)
            elif r.kind == "Secret" and r.helm_generated:
                index.helm_generated.add(r.name, r.namespace, r)
            elif r.kind in ES_KINDS:
                index.es_targets.add(r.target_name, r.namespace, r)
            elif r.kind in PUSH_KINDS:
                for ref in r.remote_refs:
                    for store in r.store_refs:
                        index.pushed.add((store.name, ref.key))
        return index

    def store(self, ref: StoreRef, namespace: str | None) -> Resource | None:
        """The store a reference names, or ``None`` if the repository does not define it."""
        if ref.kind == "ClusterSecretStore":
            return self.cluster_stores.get(ref.name)
        found = self.namespaced_stores.find(ref.name, namespace)
        return found[0] if found else None

    def provider(self, ref: StoreRef, namespace: str | None) -> str | None:
        store = self.store(ref, namespace)
        return store.provider if store else None

    def reads_external(self, r: Resource) -> list[StoreRef]:
        """Stores an ExternalSecret reads from that are (or may be) external authorities.

        A store the repository does not define counts: its provider is unknown, and the
        safer reading is that it is external.
        """
        return [
            ref
            for ref in r.store_refs
            if self.provider(ref, r.namespace) not in IN_CLUSTER_PROVIDERS
        ]

    def cluster_managed_owner(self, name: str | None, namespace: str | None) -> str | None:
        """Who generates secret ``name`` in-cluster: ``cnpg:<cluster>``, ``helm``, or None."""
        if not name or is_templated(name):
            return None
        owners = self.cnpg_owned.find(name, namespace)
        if owners:
            return f"CNPG Cluster {owners[0].name}"
        if self.helm_generated.find(name, namespace):
            return "Helm (randAlphaNum/lookup)"
        return None
