"""ExternalSecret manifests from an environment's references (no server is contacted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.factory import write
from vaultline.output.eso import external_secrets
from vaultline.project.model import Project
from vaultline.resolve.resolver import Resolver

VAULTLINE = str(Path(sys.executable).with_name("vaultline"))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write(tmp_path, {
        "vaultline.yaml": """
            app: nexus-engine
            environments: [prod]
            providers:
              vault: {type: vault, url: "http://127.0.0.1:1", mount: kv, prefix: "{app}/{env}"}
              aws: {type: aws-secretsmanager, region: eu-west-1}
        """,
        "env/prod/secrets.yaml": """
            ConnectionStrings:Primary: vault:db.primary#password
            Legacy:Token: vault:legacy/token@3
            AI:OpenAI:ApiKey: aws
            Old:Key: aws:nexus/old@0b6bd0f8-6f2c-4c3a-9d1f-0d2b1a0f1e55
            Local:Only: local
        """,
    })


def test_one_external_secret_per_provider(root: Path) -> None:
    with Resolver(Project.load(root), "prod") as resolver:
        manifests, unsupported = external_secrets(resolver)
    assert unsupported == ["Local:Only"]
    by_store = {m["spec"]["secretStoreRef"]["name"]: m for m in manifests}
    assert set(by_store) == {"aws", "vault"}
    vault = by_store["vault"]
    assert vault["apiVersion"] == "external-secrets.io/v1" and vault["kind"] == "ExternalSecret"
    assert vault["spec"]["target"]["name"] == "nexus-engine-prod-vault"
    assert vault["spec"]["data"] == [
        {"secretKey": "CONNECTIONSTRINGS__PRIMARY",
         "remoteRef": {"key": "nexus-engine/prod/db.primary", "property": "password"}},
        {"secretKey": "LEGACY__TOKEN",
         "remoteRef": {"key": "nexus-engine/prod/legacy/token", "version": "3"}},
    ]
    assert by_store["aws"]["spec"]["data"] == [
        {"secretKey": "AI__OPENAI__APIKEY", "remoteRef": {"key": "nexus-engine/prod/ai/openai/apiKey"}},
        {"secretKey": "OLD__KEY", "remoteRef": {"key": "nexus/old",
                                                "version": "uuid/0b6bd0f8-6f2c-4c3a-9d1f-0d2b1a0f1e55"}},
    ]


def test_cli(root: Path) -> None:
    result = subprocess.run([VAULTLINE, "secret", "refs", "--env", "prod", "--format", "external-secret",
                             "--store-kind", "ClusterSecretStore"], cwd=root, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    docs = list(yaml.safe_load_all(result.stdout))
    assert [d["spec"]["secretStoreRef"] for d in docs] == [
        {"name": "aws", "kind": "ClusterSecretStore"}, {"name": "vault", "kind": "ClusterSecretStore"}]
    assert "Local:Only" in result.stderr and "warning" in result.stderr


def test_namespace_goes_into_every_manifest(root: Path) -> None:
    result = subprocess.run([VAULTLINE, "secret", "refs", "--env", "prod", "--format", "external-secret",
                             "--namespace", "shop"], cwd=root, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    docs = list(yaml.safe_load_all(result.stdout))
    assert len(docs) == 2 and {d["metadata"]["namespace"] for d in docs} == {"shop"}
    bad = subprocess.run([VAULTLINE, "secret", "refs", "--env", "prod", "--format", "external-secret",
                          "--namespace", "Shop_1"], cwd=root, capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode == 2 and "not a Kubernetes namespace" in bad.stderr


@pytest.mark.parametrize(("secrets", "says"), [
    ("Local:Only: local\n", "1 secret key(s) live in providers local to this machine"),
    ("{}\n", "it references no secrets"),
])
def test_nothing_to_write_says_so_and_exits_1(root: Path, secrets: str, says: str) -> None:
    (root / "env/prod/secrets.yaml").write_text(secrets)
    result = subprocess.run([VAULTLINE, "secret", "refs", "--env", "prod", "--format", "external-secret"],
                            cwd=root, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("vaultline: error: no ExternalSecret to write for "
                                    "environment 'prod'")
    assert says in result.stderr


@pytest.mark.parametrize(("planted", "says"), [
    ("Legacy__Token: vault:planted/token\n",
     "'Legacy:Token' and 'Legacy__Token' are both the variable LEGACY__TOKEN, so one would "
     "overwrite the other; rename one of them"),
    ("1Password:Token: vault:op\n",
     "'1Password:Token': its variable name 1PASSWORD__TOKEN starts with a digit, which no shell "
     "variable name may; rename the key"),
])
def test_a_secret_key_no_envfrom_could_read_is_refused(root: Path, planted: str,
                                                       says: str) -> None:
    # Two entries with one secretKey would fill the Secret with whichever ESO reads last.
    secrets = root / "env/prod/secrets.yaml"
    secrets.write_text(secrets.read_text() + planted)
    result = subprocess.run([VAULTLINE, "secret", "refs", "--env", "prod", "--format",
                             "external-secret"], cwd=root, capture_output=True, text=True,
                            timeout=60)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"vaultline: error: {says}\n"
