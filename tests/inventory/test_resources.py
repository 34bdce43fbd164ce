"""Per-kind extraction, as a table: (manifest, expected fields of the one record)."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from vaultline.inventory.loader import read_documents
from vaultline.inventory.model import RemoteRef, Resource, StoreRef
from vaultline.inventory.resources import extract


def records(text: str) -> list[Resource]:
    out: list[Resource] = []
    for doc in read_documents(textwrap.dedent(text).lstrip("\n"), "m.yaml"):
        out.extend(extract(doc))
    return out


CASES: list[tuple[str, str, dict[str, Any]]] = [
    (
        "external-secret-v1-data-and-dataFrom",
        """
        apiVersion: external-secrets.io/v1
        kind: ExternalSecret
        metadata: {name: api, namespace: payments}
        spec:
          secretStoreRef: {name: vault-backend, kind: ClusterSecretStore}
          target: {name: api-env, creationPolicy: Merge}
          data:
            - secretKey: token
              remoteRef: {key: payments/api, property: token}
            - secretKey: other
              remoteRef: {key: shared/other}
              sourceRef:
                storeRef: {name: azure-kv, kind: ClusterSecretStore}
          dataFrom:
            - extract: {key: payments/common}
            - find: {path: payments/, name: {regexp: "^db-"}}
            - sourceRef:
                generatorRef:
                  apiVersion: generators.external-secrets.io/v1alpha1
                  kind: Password
                  name: pw
        """,
        {
            "store_refs": (
                StoreRef("vault-backend", "ClusterSecretStore"),
                StoreRef("azure-kv", "ClusterSecretStore"),
            ),
            "remote_refs": (
                RemoteRef("payments/api", "token", "vault-backend", "get"),
                RemoteRef("shared/other", None, "azure-kv", "get"),
                RemoteRef("payments/common", None, "vault-backend", "extract"),
                RemoteRef("payments/", None, "vault-backend", "find"),
            ),
            "generator_refs": ("Password/pw",),
            "target_name": "api-env",
            "creation_policy": "Merge",
        },
    ),
    (
        "external-secret-v1alpha1-dataFrom-and-default-target",
        """
        apiVersion: external-secrets.io/v1alpha1
        kind: ExternalSecret
        metadata: {name: legacy}
        spec:
          secretStoreRef: {name: old-store}
          dataFrom:
            - key: legacy/all
        """,
        {
            "store_refs": (StoreRef("old-store", "SecretStore"),),
            "remote_refs": (RemoteRef("legacy/all", None, "old-store", "extract"),),
            "target_name": "legacy",
            "creation_policy": "Owner",
        },
    ),
    (
        "cluster-external-secret",
        """
        apiVersion: external-secrets.io/v1beta1
        kind: ClusterExternalSecret
        metadata: {name: registry}
        spec:
          externalSecretName: registry-es
          namespaces: [apps, data]
          externalSecretSpec:
            secretStoreRef: {name: azure-kv, kind: ClusterSecretStore}
            data:
              - secretKey: .dockerconfigjson
                remoteRef: {key: ghcr-token}
        """,
        {"target_name": "registry-es", "target_namespaces": ("apps", "data")},
    ),
    (
        "push-secret",
        """
        apiVersion: external-secrets.io/v1alpha1
        kind: PushSecret
        metadata: {name: mirror, namespace: data}
        spec:
          secretStoreRefs:
            - {name: vault-backend, kind: ClusterSecretStore}
          selector:
            secret: {name: pg-app}
          data:
            - match:
                secretKey: password
                remoteRef: {remoteKey: mirror/pg, property: password}
        """,
        {
            "store_refs": (StoreRef("vault-backend", "ClusterSecretStore"),),
            "remote_refs": (RemoteRef("mirror/pg", "password", None, "push"),),
            "source_secret": "pg-app",
        },
    ),
    (
        "cluster-push-secret",
        """
        apiVersion: external-secrets.io/v1alpha1
        kind: ClusterPushSecret
        metadata: {name: cps}
        spec:
          pushSecretSpec:
            secretStoreRefs: [{name: vault-backend, kind: ClusterSecretStore}]
            selector: {secret: {name: src}}
        """,
        {"source_secret": "src", "store_refs": (StoreRef("vault-backend", "ClusterSecretStore"),)},
    ),
    (
        "vault-store",
        """
        apiVersion: external-secrets.io/v1beta1
        kind: SecretStore
        metadata: {name: vault, namespace: apps}
        spec:
          provider:
            vault: {server: "https://vault:8200", path: kv, version: v2}
        """,
        {"provider": "vault", "provider_detail": "mount=kv kv=v2"},
    ),
    (
        "aws-cluster-store",
        """
        apiVersion: external-secrets.io/v1
        kind: ClusterSecretStore
        metadata: {name: aws}
        spec:
          provider:
            aws: {service: SecretsManager, region: eu-west-1}
        """,
        {"provider": "aws", "provider_detail": "SecretsManager"},
    ),
    (
        "sealed-secret-cluster-wide",
        """
        apiVersion: bitnami.com/v1alpha1
        kind: SealedSecret
        metadata:
          name: s
          namespace: apps
          annotations: {sealedsecrets.bitnami.com/cluster-wide: "true"}
        spec:
          encryptedData: {user: AgBxx, pass: AgByy}
          template: {type: kubernetes.io/basic-auth, metadata: {name: s-target}}
        """,
        {"sealed_keys": ("user", "pass"), "scope": "cluster-wide", "target_name": "s-target",
         "secret_type": "kubernetes.io/basic-auth"},
    ),
    (
        "sealed-secret-strict",
        """
        apiVersion: bitnami.com/v1alpha1
        kind: SealedSecret
        metadata: {name: s}
        spec: {encryptedData: {k: AgB}}
        """,
        {"scope": "strict", "target_name": "s"},
    ),
    (
        "cnpg-cluster",
        """
        apiVersion: postgresql.cnpg.io/v1
        kind: Cluster
        metadata: {name: pg, namespace: data}
        spec:
          instances: 3
          superuserSecret: {name: pg-root}
          managed:
            roles:
              - {name: reporting, login: true, passwordSecret: {name: pg-reporting}}
              - {name: nologin}
        """,
        {"owned_secrets": ("pg-app",), "credential_secrets": ("pg-root", "pg-reporting")},
    ),
    (
        "secret-literal-and-templated-keys",
        """
        apiVersion: v1
        kind: Secret
        metadata: {name: s}
        type: kubernetes.io/basic-auth
        data: {username: YWRtaW4=, empty: ""}
        stringData: {password: "${DB_PASSWORD}", port: 5432}
        """,
        {"literal_keys": ("username", "port"), "templated_keys": ("password",),
         "secret_type": "kubernetes.io/basic-auth"},
    ),
]


@pytest.mark.parametrize(("manifest", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_extract(manifest: str, expected: dict[str, Any]) -> None:
    (record,) = records(manifest)
    for name, value in expected.items():
        assert getattr(record, name) == value, name


def test_list_items_get_their_own_lines() -> None:
    found = records(
        """
        apiVersion: v1
        kind: List
        items:
          - apiVersion: v1
            kind: Secret
            metadata: {name: a}
          - apiVersion: v1
            kind: ConfigMap
            metadata: {name: ignored}
          - apiVersion: bitnami.com/v1alpha1
            kind: SealedSecret
            metadata: {name: b}
        """
    )
    assert [(r.kind, r.name, r.line) for r in found] == [("Secret", "a", 4), ("SealedSecret", "b", 10)]


def test_kustomize_secret_generator() -> None:
    found = records(
        """
        apiVersion: kustomize.config.k8s.io/v1beta1
        kind: Kustomization
        namespace: apps
        secretGenerator:
          - name: creds
            literals: [USER=admin, PASSWORD=s3cr3t-literal]
          - name: tls
            files: [tls.crt, tls.key]
        """
    )
    assert [(r.kind, r.name, r.namespace, r.line) for r in found] == [
        ("SecretGenerator", "creds", "apps", 5),
        ("SecretGenerator", "tls", "apps", 7),
    ]
    assert found[0].literal_keys == ("USER", "PASSWORD")
    assert found[1].source_files == ("tls.crt", "tls.key")


@pytest.mark.parametrize(
    "manifest",
    [
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n",
        "apiVersion: cluster.x-k8s.io/v1beta1\nkind: Cluster\nmetadata: {name: capi}\n",
        "kind: Secret\nmetadata: [not, a, mapping]\ndata: 5\n",
        "- just\n- a list\n",
        "plain scalar\n",
        "kind: {weird: kind}\n",
    ],
)
def test_unrelated_or_malformed_documents_do_not_crash(manifest: str) -> None:
    found = records(manifest)
    assert all(r.kind == "Secret" for r in found)  # the malformed Secret still is one
