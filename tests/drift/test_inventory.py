"""``check_inventory``: ExternalSecret/PushSecret remote keys of a manifests tree against OpenBao."""

from __future__ import annotations

from pathlib import Path

from tests.factory import write
from tests.servers import BaoServer
from vaultline.drift import check_inventory
from vaultline.project.model import Project
from vaultline.resolve.session import Session

MANIFESTS = {
    "deploy/stores.yaml": """
        apiVersion: external-secrets.io/v1beta1
        kind: ClusterSecretStore
        metadata: {name: vault-backend}
        spec:
          provider:
            vault:
              server: http://vault.vault:8200
              path: kv
              version: v2
              auth: {kubernetes: {mountPath: kubernetes, role: eso}}
        ---
        apiVersion: external-secrets.io/v1beta1
        kind: SecretStore
        metadata: {name: azure, namespace: shop}
        spec:
          provider:
            azurekv: {vaultUrl: "https://shop.vault.azure.net"}
    """,
    "deploy/shop/externalsecret.yaml": """
        apiVersion: external-secrets.io/v1
        kind: ExternalSecret
        metadata: {name: shop-db, namespace: shop}
        spec:
          refreshInterval: 1h
          secretStoreRef: {name: vault-backend, kind: ClusterSecretStore}
          target: {name: shop-db}
          data:
            - secretKey: password
              remoteRef: {key: APP/prod/db, property: password}
            - secretKey: user
              remoteRef: {key: APP/prod/db, property: username}
            - secretKey: token
              remoteRef: {key: APP/prod/absent}
          dataFrom:
            - extract: {key: APP/prod/api}
            - find: {path: APP/prod, name: {regexp: ".*"}}
        ---
        apiVersion: external-secrets.io/v1beta1
        kind: ExternalSecret
        metadata: {name: shop-templated, namespace: shop}
        spec:
          secretStoreRef: {name: vault-backend, kind: ClusterSecretStore}
          data:
            - secretKey: k
              remoteRef: {key: "{{ .Values.vaultKey }}"}
        ---
        apiVersion: external-secrets.io/v1beta1
        kind: ExternalSecret
        metadata: {name: shop-azure, namespace: shop}
        spec:
          secretStoreRef: {name: azure}
          data:
            - secretKey: k
              remoteRef: {key: shop-api-key}
    """,
    "deploy/shop/pushsecret.yaml": """
        apiVersion: external-secrets.io/v1alpha1
        kind: PushSecret
        metadata: {name: keycloak-client, namespace: shop}
        spec:
          secretStoreRefs:
            - {name: vault-backend, kind: ClusterSecretStore}
          selector:
            secret: {name: keycloak-client}
          data:
            - match:
                secretKey: client-secret
                remoteRef: {remoteKey: APP/prod/keycloak/client}
    """,
}


def test_remote_keys_against_openbao(openbao: BaoServer, tmp_path: Path, app: str) -> None:
    openbao.api("POST", f"kv/data/{app}/prod/db", {"data": {"password": "canary-inv-1"}})
    openbao.api("POST", f"kv/data/{app}/prod/api", {"data": {"k": "canary-inv-2"}})
    write(tmp_path, {name: text.replace("APP", app) for name, text in MANIFESTS.items()})
    write(tmp_path, {"vaultline.yaml": f"""
        version: 1
        app: {app}
        environments: [prod]
        providers:
          vault: {{type: vault, url: "{openbao.url}", mount: other, prefix: "ignored/{{env}}"}}
    """})
    with Session(Project.load(tmp_path), None, environ={"VAULT_TOKEN": openbao.token}) as session:
        report = check_inventory(session, tmp_path / "deploy")
    found = {(i.kind, i.path, i.reference) for i in report.items}
    assert found == {
        ("missing", f"kv/data/{app}/prod/db",
         f"ExternalSecret/shop/shop-db get {app}/prod/db#username"),
        ("missing", f"kv/data/{app}/prod/absent",
         f"ExternalSecret/shop/shop-db get {app}/prod/absent"),
        ("missing", f"kv/data/{app}/prod/keycloak/client",
         f"PushSecret/shop/keycloak-client push {app}/prod/keycloak/client"),
    }
    assert {(i.where or "").removeprefix(str(tmp_path)) for i in report.items} == {
        "/deploy/shop/externalsecret.yaml:1", "/deploy/shop/pushsecret.yaml:1"}
    pushed = next(i for i in report.items if "PushSecret" in (i.reference or ""))
    assert pushed.reason.endswith("(not pushed yet)")
    notes = "\n".join(report.notes)
    assert "templated" in notes and "(find)" in notes and "azure-keyvault" in notes
    assert report.checked == {"remote_keys": 5, "resources": 4}
    assert "canary-inv" not in str(report.to_dict())
