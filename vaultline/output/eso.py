"""External Secrets Operator manifests for an environment: references only, never values.

``vaultline secret refs --env prod --format external-secret`` writes one ``ExternalSecret`` per
provider, each reading through a SecretStore named like the provider, into a Kubernetes Secret
whose keys are the .NET-style variable names (``CONNECTIONSTRINGS__PRIMARY``), so a Deployment
can ``envFrom`` it. Keys whose provider ESO cannot read (the embedded store, env, files) are
returned separately for the caller to report.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from vaultline.output.formats import k8s_namespace
from vaultline.project import keypath
from vaultline.resolve.resolver import Resolver

API_VERSION = "external-secrets.io/v1"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _version(provider_type: str, version: str) -> str:
    # ESO's AWS provider names version ids "uuid/<id>" and takes stage labels as they are.
    if provider_type == "aws-secretsmanager" and _UUID.fullmatch(version):
        return f"uuid/{version}"
    return version


def external_secrets(resolver: Resolver, *, store_kind: str = "SecretStore",
                     refresh: str = "1h", namespace: str | None = None,
                     ) -> tuple[list[dict[str, Any]], list[str]]:
    """``(manifests, keys no ESO store can read)`` for the resolver's environment."""
    project, env = resolver.project, resolver.env
    by_provider: dict[str, list[dict[str, Any]]] = defaultdict(list)
    unsupported: list[str] = []
    rows = resolver.references()
    # The target Secret is read with envFrom: each key one variable name, of one key only.
    keys = [row.key for row in rows]
    names = dict(zip(keys, keypath.env_names(keys), strict=True))
    for row in rows:
        provider = resolver.provider(row.provider)
        remote = provider.remote_key(row.path)
        if remote is None:
            unsupported.append(row.key)
            continue
        ref: dict[str, Any] = {"key": remote}
        if row.reference.field is not None:
            ref["property"] = row.reference.field
        if row.reference.version is not None:
            ref["version"] = _version(provider.type, row.reference.version)
        by_provider[row.provider].append({"secretKey": names[row.key],
                                          "remoteRef": ref})
    manifests = []
    for name, data in sorted(by_provider.items()):
        target = f"{project.app}-{env}" if len(by_provider) == 1 else f"{project.app}-{env}-{name}"
        metadata: dict[str, Any] = {"name": target}
        if namespace:
            metadata["namespace"] = k8s_namespace(namespace)
        metadata["labels"] = {"app.kubernetes.io/name": project.app, "vaultline.io/env": env}
        manifests.append({
            "apiVersion": API_VERSION,
            "kind": "ExternalSecret",
            "metadata": metadata,
            "spec": {
                "refreshInterval": refresh,
                "secretStoreRef": {"name": name, "kind": store_kind},
                "target": {"name": target, "creationPolicy": "Owner"},
                "data": data,
            },
        })
    return manifests, unsupported
