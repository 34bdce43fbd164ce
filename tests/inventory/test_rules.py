"""Origin classification and the rules, on small repositories written per test."""

from __future__ import annotations

import pytest

from tests.inventory.conftest import Tree

STORES = """
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata: {name: azure-kv}
spec:
  provider:
    azurekv: &kv {vaultUrl: "https://kv.example.net", authType: WorkloadIdentity}
---
apiVersion: external-secrets.io/v1beta1   # mixed apiVersions, as in real repos
kind: ClusterSecretStore
metadata: {name: vault-backend}
spec:
  provider:
    vault: {server: "https://vault:8200", path: secret, version: v2}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: local-k8s, namespace: data}
spec:
  provider:
    kubernetes: {remoteNamespace: shared}
"""

CNPG = """
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata: {name: pg, namespace: data}
spec:
  instances: 3
  managed:
    roles:
      - {name: reporting, login: true, passwordSecret: {name: pg-reporting}}
"""


def es(name: str, store: str, target: str, key: str = "k", ns: str = "data") -> str:
    return f"""
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: {name}, namespace: {ns}}}
spec:
  secretStoreRef: {{name: {store}, kind: ClusterSecretStore}}
  target: {{name: {target}}}
  data:
    - secretKey: value
      remoteRef: {{key: {key}}}
"""


def push(name: str, source: str, store: str, key: str = "mirror/x") -> str:
    return f"""
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {{name: {name}, namespace: data}}
spec:
  secretStoreRefs: [{{name: {store}, kind: ClusterSecretStore}}]
  selector: {{secret: {{name: {source}}}}}
  data:
    - match: {{secretKey: password, remoteRef: {{remoteKey: {key}}}}}
"""


HELM_SECRET = """
apiVersion: v1
kind: Secret
metadata:
  name: minio-root
  namespace: data
data:
  {{- $old := lookup "v1" "Secret" .Release.Namespace "minio-root" }}
  password: {{ randAlphaNum 32 | b64enc | quote }}
"""


def rules_of(inv: object) -> list[tuple[str, str]]:
    return [(f.rule, f.resource) for f in inv.findings]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        # INV001: CNPG-generated <cluster>-app pulled from Azure KV
        ({"s.yaml": STORES, "pg.yaml": CNPG, "es.yaml": es("db", "azure-kv", "pg-app")},
         [("INV001", "ExternalSecret/data/db")]),
        # INV001: Helm-generated secret pulled from Vault
        ({"s.yaml": STORES, "chart/templates/s.yaml": HELM_SECRET,
          "es.yaml": es("m", "vault-backend", "minio-root")},
         [("INV001", "ExternalSecret/data/m")]),
        # copying a cluster-managed secret through a kubernetes store is fine
        ({"s.yaml": STORES, "pg.yaml": CNPG,
          "es.yaml": es("db", "local-k8s", "pg-app").replace("ClusterSecretStore", "SecretStore")},
         []),
        # INV002: push into the external authority
        ({"s.yaml": STORES, "pg.yaml": CNPG, "p.yaml": push("p", "pg-app", "azure-kv")},
         [("INV002", "PushSecret/data/p")]),
        # INV002: pushing back into the store the secret was read from
        ({"s.yaml": STORES, "e.yaml": es("api", "vault-backend", "api-env"),
          "p.yaml": push("p", "api-env", "vault-backend")},
         [("INV002", "PushSecret/data/p")]),
        # mirroring a CNPG secret to Vault is the recommended pattern
        ({"s.yaml": STORES, "pg.yaml": CNPG, "p.yaml": push("p", "pg-app", "vault-backend")}, []),
        # INV004: undefined store
        ({"es.yaml": es("x", "nowhere", "x")}, [("INV004", "ExternalSecret/data/x")]),
        # INV005: managed-role password authored in Vault
        ({"s.yaml": STORES, "pg.yaml": CNPG, "es.yaml": es("r", "vault-backend", "pg-reporting")},
         [("INV005", "ExternalSecret/data/r")]),
        # INV005: Vault database secrets engine credentials next to a CNPG cluster
        ({"s.yaml": STORES, "pg.yaml": CNPG,
          "es.yaml": es("v", "vault-backend", "legacy-db", key="database/creds/app")},
         [("INV005", "ExternalSecret/data/v")]),
    ],
)
def test_rules(scan: Tree, files: dict[str, str], expected: list[tuple[str, str]]) -> None:
    assert rules_of(scan(files)) == expected


@pytest.mark.parametrize(
    ("path", "flagged"),
    [("apps/secret.yaml", True), ("tests/fixtures/secret.yaml", False),
     ("charts/x/e2e/secret.yaml", False), ("testimony/secret.yaml", True)],
)
def test_inline_literal_only_outside_test_paths(scan: Tree, path: str, flagged: bool) -> None:
    inv = scan({path: "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: v}\n"})
    assert (rules_of(inv) == [("INV003", "Secret/s")]) is flagged


def test_templated_store_names_are_not_reported_undefined(scan: Tree) -> None:
    text = es("x", "{{ .Values.store }}", "x").replace("{{ .Values.store }}", '"{{ .Values.store }}"')
    assert rules_of(scan({"chart/templates/es.yaml": text})) == []


def test_parse_error_record_and_warning(scan: Tree) -> None:
    inv = scan(
        {
            "chart/templates/es.yaml": (
                "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\n"
                "metadata:\n  name: {{ .Values.name }}\n  namespace: apps\n"
                "spec:\n  {{ if .Values.x }}broken: [\n"
            ),
            "notes/broken.yaml": "a: [\n",
        }
    )
    (record,) = inv.resources
    assert (record.kind, record.name, record.namespace) == (
        "ExternalSecret", "{{ .Values.name }}", "apps"
    )
    assert record.parse_error
    assert [(f.rule, f.severity) for f in inv.findings] == [("INV006", "warning")]
    assert [(p.file, p.line) for p in inv.parse_failures] == [("notes/broken.yaml", 1)]


@pytest.mark.parametrize(
    ("files", "name", "origin"),
    [
        ({"s.yaml": STORES, "e.yaml": es("e", "azure-kv", "t")}, "e", "external"),
        ({"s.yaml": STORES, "e.yaml": es("e", "missing", "t")}, "e", "external"),
        ({"pg.yaml": CNPG}, "pg", "cluster-operator"),
        ({"chart/templates/s.yaml": HELM_SECRET}, "minio-root", "helm-generated"),
        ({"s.yaml": STORES, "p.yaml": push("kc", "keycloak-client", "vault-backend", "kc/client"),
          "e.yaml": es("e", "vault-backend", "t", key="kc/client")}, "e", "service-generated"),
        ({"s.yaml": STORES, "p.yaml": push("kc", "keycloak-client", "vault-backend")},
         "kc", "service-generated"),
        ({"s.yaml": STORES, "pg.yaml": CNPG, "p.yaml": push("m", "pg-app", "vault-backend")},
         "m", "cluster-operator"),
        ({"x.yaml": "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: z}\n"},
         "z", "sealed"),
        ({"x.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: z}\nstringData: {a: b}\n"},
         "z", "inline-literal"),
        ({"x.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: z}\n"
                    "stringData: {a: '{{ .Values.a }}'}\n"}, "z", "templated"),
        ({"x.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: z}\n"
                    "type: kubernetes.io/service-account-token\n"}, "z", "cluster-operator"),
        ({"kustomization.yaml": "secretGenerator:\n  - {name: z, envs: [.env.secret]}\n"},
         "z", "local-file"),
        ({"s.yaml": STORES}, "azure-kv", None),
    ],
)
def test_origin(scan: Tree, files: dict[str, str], name: str, origin: str | None) -> None:
    (record,) = [r for r in scan(files).resources if r.name == name]
    assert record.origin == origin
