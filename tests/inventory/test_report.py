from __future__ import annotations

import json
import re

from tests.inventory.conftest import Tree
from vaultline.inventory import SCHEMA_VERSION
from vaultline.inventory.report import to_json, to_markdown

VALUE = "pa55-word-that-must-not-leak"

REPO = {
    "apps/secret.yaml": f"apiVersion: v1\nkind: Secret\nmetadata: {{name: s, namespace: apps}}\n"
    f"stringData: {{password: {VALUE}}}\ndata: {{token: {VALUE}}}\n",
    "apps/sealed.yaml": "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\n"
    f"metadata: {{name: z, namespace: apps}}\nspec: {{encryptedData: {{k: {VALUE}}}}}\n",
    "data/pg.yaml": "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\n"
    "metadata: {name: pg, namespace: data}\n",
    "kustomization.yaml": f"secretGenerator:\n  - name: g\n    literals: [K={VALUE}]\n",
}


def test_values_never_appear_in_any_output(scan: Tree) -> None:
    inv = scan(REPO)
    assert VALUE not in to_json(inv)
    assert VALUE not in to_markdown(inv)


def test_json_has_schema_version_and_counts(scan: Tree) -> None:
    data = json.loads(to_json(scan(REPO)))
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["counts"]["resources"] == 4
    assert data["counts"]["findings"] == {"error": 2, "warning": 0, "info": 0}
    assert data["summary"] == {
        "-": {"inline-literal": 1},
        "apps": {"inline-literal": 1, "sealed": 1},
        "data": {"cluster-operator": 1},
    }
    secret = next(r for r in data["resources"] if r["kind"] == "Secret")
    assert secret["literal_keys"] == ["token", "password"] and secret["has_literal_data"]


def test_markdown_summary_findings_and_embedded_json(scan: Tree) -> None:
    inv = scan(REPO)
    text = to_markdown(inv)
    assert "| apps | 0 | 1 | 1 | 2 |" in text
    assert "| - | 0 | 0 | 1 | 1 |" in text
    assert "| namespace | cluster-operator | sealed | inline-literal | total |" in text
    assert "| data | 1 | 0 | 0 | 1 |" in text
    assert "`apps/secret.yaml:1`" in text and "INV003 inline-literal-secret" in text
    embedded = re.search(r"```json\n(.*?)\n```", text, re.S)
    assert embedded is not None
    assert json.loads(embedded.group(1)) == inv.to_dict()


def test_empty_tree(scan: Tree) -> None:
    text = to_markdown(scan({"README.yaml": "just: values\n"}))
    assert "No secret resources found." in text and "No findings." in text
