"""``policy generate --provider aws|azure``, the AWS policy proven against moto_server with IAM
enforcement on: a user holding only the generated policy resolves the environment and is denied
a sibling under the same prefix and another app's secret; control policies are denied too.

This runs its own moto_server (``moto_iam_server.py``), which extends moto's access check to
evaluate Secrets Manager calls against each secret's ARN with IAM's ``*``/``?`` wildcards — stock
moto 5.2 checks ``Resource: "*"`` only — so the shared moto_server is left without enforcement.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest

from tests.factory import write
from tests.servers import FAKE_AWS_ENV, ManagedProcess, free_port, http_json, wait_until
from vaultline.errors import ConfigError, ResolutionError
from vaultline.policy.cloud import aws_policy, azure_role_assignments
from vaultline.project.model import Project
from vaultline.resolve.resolver import Resolver

SERVER = Path(__file__).with_name("moto_iam_server.py")
VAULTLINE = str(Path(sys.executable).with_name("vaultline"))
ACCOUNT = "123456789012"  # moto's default account
OURS = {"nexus-engine/prod/connectionStrings/primary": "postgres://p-s3cret",
        "nexus-engine/prod/ai/openai/apiKey": "sk-s3cret"}
SIBLING = "nexus-engine/prod/connectionStrings/primary-old"  # same prefix, not referenced
OTHER_APP = "billing/prod/connectionStrings/primary"


@pytest.fixture(scope="module")
def iam_moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = ManagedProcess([sys.executable, str(SERVER), "-H", "127.0.0.1", "-p", str(port)],
                             tmp_path_factory.mktemp("moto-iam") / "moto.log", env=FAKE_AWS_ENV)
    process.start()
    try:
        wait_until(lambda: http_json("GET", f"{url}/moto-api/data.json", timeout=1.0)[0] == 200,
                   process, f"moto_server (IAM enforcement) on {url}")
        yield url
    finally:
        process.stop()


def _client(url: str, service: str, keys: dict[str, str] | None = None) -> Any:
    keys = keys or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    session = boto3.session.Session(region_name="us-east-1",
                                    aws_access_key_id=keys["aws_access_key_id"],
                                    aws_secret_access_key=keys["aws_secret_access_key"])
    return session.client(service, endpoint_url=url)  # type: ignore[call-overload]


def _project(tmp_path: Path, url: str) -> Project:
    write(tmp_path, {
        "vaultline.yaml": f"""
            app: nexus-engine
            environments: [prod]
            providers:
              aws: {{type: aws-secretsmanager, region: us-east-1, endpoint_url: "{url}",
                     account_id: "{ACCOUNT}"}}
        """,
        "env/prod/secrets.yaml": "ConnectionStrings:Primary: aws\nAI:OpenAI:ApiKey: aws\n",
    })
    return Project.load(tmp_path)


def _enforce_iam(url: str) -> None:
    request = urllib.request.Request(f"{url}/moto-api/reset-auth", data=b"0", method="POST",
                                     headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def _user(iam: Any, name: str, policy: dict[str, Any]) -> dict[str, str]:
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="only-this", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


def _denied(url: str, creds: dict[str, str], secret_id: str) -> bool:
    client = _client(url, "secretsmanager", {"aws_access_key_id": creds["AWS_ACCESS_KEY_ID"],
                                             "aws_secret_access_key": creds["AWS_SECRET_ACCESS_KEY"]})
    try:
        client.get_secret_value(SecretId=secret_id)
    except botocore.exceptions.ClientError as exc:
        # moto answers a JSON-protocol client with an XML error body: the status is what counts.
        return bool(exc.response["ResponseMetadata"]["HTTPStatusCode"] == 403
                    and "not authorized" in str(exc))
    return False


def test_generated_policy_is_exactly_enough(iam_moto: str, tmp_path: Path) -> None:
    sm, iam = _client(iam_moto, "secretsmanager"), _client(iam_moto, "iam")
    for name, value in {**OURS, SIBLING: "old-s3cret", OTHER_APP: "billing-s3cret"}.items():
        sm.create_secret(Name=name, SecretString=value)
    project = _project(tmp_path, iam_moto)
    policy = aws_policy(project, "prod")
    read = policy["Statement"][0]
    assert read["Action"] == ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
    assert read["Resource"] == sorted(
        f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:{n}-??????" for n in OURS)
    app = _user(iam, "app", policy)
    # Controls: the name without the ARN's random suffix, and the sibling's prefix.
    bare = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
        "Resource": [f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:{n}" for n in OURS]}]}
    control = _user(iam, "control", bare)
    # From here on every request is authorized against the caller's policies.
    _enforce_iam(iam_moto)
    environ = {**FAKE_AWS_ENV, **app}
    environ.pop("AWS_SESSION_TOKEN")
    with Resolver(project, "prod", environ=environ) as resolver:
        bundle = resolver.resolve()
    assert bundle["ConnectionStrings:Primary"] == "postgres://p-s3cret"
    assert bundle["AI:OpenAI:ApiKey"] == "sk-s3cret"
    assert _denied(iam_moto, app, SIBLING) and _denied(iam_moto, app, OTHER_APP)
    assert not _denied(iam_moto, app, next(iter(OURS)))
    # A batch read returns only what GetSecretValue allows, secret by secret.
    batch = _client(iam_moto, "secretsmanager", {
        "aws_access_key_id": app["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": app["AWS_SECRET_ACCESS_KEY"]}).batch_get_secret_value(
        SecretIdList=[next(iter(OURS)), SIBLING, OTHER_APP])
    assert [v["Name"] for v in batch["SecretValues"]] == [next(iter(OURS))]
    assert {e["SecretId"]: e["ErrorCode"] for e in batch["Errors"]} == {
        SIBLING: "AccessDeniedException", OTHER_APP: "AccessDeniedException"}
    control_env = {**FAKE_AWS_ENV, **control}
    control_env.pop("AWS_SESSION_TOKEN")
    with Resolver(project, "prod", environ=control_env) as resolver, \
            pytest.raises(ResolutionError, match="access denied"):
        resolver.resolve()
    assert _denied(iam_moto, control, next(iter(OURS)))


def test_kms_key_and_the_cli(tmp_path: Path) -> None:
    write(tmp_path, {
        "vaultline.yaml": """
            app: nexus-engine
            environments: [prod]
            providers:
              aws: {type: aws-secretsmanager, region: eu-west-1, kms_key: 1234abcd-12ab-34cd-56ef-1234567890ab}
              cn: {type: aws-secretsmanager, region: cn-north-1, kms_key: alias/secrets}
        """,
        "env/prod/secrets.yaml": "A:B: aws\nC:D: aws:shared/prod/d#field@AWSPREVIOUS\nE: cn\n",
    })
    project = Project.load(tmp_path)
    doc = aws_policy(project, "prod", "aws", account_id="111122223333")
    assert doc["Statement"][0]["Resource"] == [
        "arn:aws:secretsmanager:eu-west-1:111122223333:secret:nexus-engine/prod/a/b-??????",
        "arn:aws:secretsmanager:eu-west-1:111122223333:secret:shared/prod/d-??????"]
    kms = doc["Statement"][-1]
    assert kms["Action"] == "kms:Decrypt" and kms["Resource"] == (
        "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")
    assert kms["Condition"] == {"StringEquals": {
        "kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}}
    cn = aws_policy(project, "prod", "cn")
    assert cn["Statement"][0]["Resource"][0].startswith("arn:aws-cn:secretsmanager:cn-north-1:*:")
    assert cn["Statement"][-1]["Condition"]["ForAnyValue:StringEquals"] == {
        "kms:ResourceAliases": ["alias/secrets"]}
    with pytest.raises(ConfigError, match="several aws-secretsmanager providers"):
        aws_policy(project, "prod")
    result = subprocess.run([VAULTLINE, "policy", "generate", "--env", "prod", "--provider",
                             "aws"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Version"] == "2012-10-17"
    ci = subprocess.run([VAULTLINE, "policy", "generate", "--env", "prod", "--provider", "aws",
                         "--role", "ci"], cwd=tmp_path, capture_output=True, text=True,
                        timeout=60)
    assert ci.returncode == 2 and "runtime role" in ci.stderr


def test_azure_assignments_are_scoped_per_secret(tmp_path: Path) -> None:
    write(tmp_path, {
        "vaultline.yaml": """
            app: nexus-engine
            environments: [prod]
            providers:
              akv: {type: azure-keyvault, vault_url: "https://nexus-kv.vault.azure.net",
                    subscription_id: 1b2c3d4e-0000-4000-8000-000000000001, resource_group: rg-secrets}
        """,
        "env/prod/secrets.yaml": "ConnectionStrings:Primary: akv\nJwt:Key: akv:jwt-signing\n",
    })
    doc = azure_role_assignments(Project.load(tmp_path), "prod", assignee="obj-1")
    vault = ("/subscriptions/1b2c3d4e-0000-4000-8000-000000000001/resourceGroups/rg-secrets/providers/Microsoft.KeyVault/"
             "vaults/nexus-kv")
    assert doc["roleDefinitionName"] == "Key Vault Secrets User"
    assert doc["roleDefinitionId"].endswith("/4633458b-17de-408a-b874-0445c86b69e6")
    assert doc["assignments"] == [
        {"principalId": "obj-1", "scope": f"{vault}/secrets/jwt-signing"},
        {"principalId": "obj-1",
         "scope": f"{vault}/secrets/nexus-engine--prod--connectionstrings--primary"}]
    result = subprocess.run([VAULTLINE, "policy", "generate", "--env", "prod", "--provider",
                             "azure", "--subscription", "1b2c3d4e-0000-4000-8000-000000000002"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "/subscriptions/1b2c3d4e-0000-4000-8000-000000000002/" in json.loads(result.stdout)["assignments"][0]["scope"]


@pytest.mark.parametrize(("settings", "secrets_yaml", "message"), [
    # A scope is a path: '..' or '/' in one of its parts named the vault or the resource group,
    # and the role then reached every secret under it.
    ("", "A: 'akv:x/../..'\n", "secrets.yaml:1: 'A': Azure Key Vault secret name"),
    ("", "A: 'akv:x/..'\n", "'A': Azure Key Vault secret name"),
    ("subscription_id: '1b2c3d4e-0000-4000-8000-000000000001/resourceGroups/other'", "A: akv\n", "subscription"),
    ("resource_group: 'rg/..'", "A: akv\n", "resource group"),
    ("resource_group: 'rg.'", "A: akv\n", "resource group"),
], ids=["secret-up-two", "secret-up-one", "subscription", "group-up", "group-dot"])
def test_azure_scopes_name_exactly_one_secret(tmp_path: Path, settings: str, secrets_yaml: str,
                                              message: str) -> None:
    given = {"subscription_id": "1b2c3d4e-0000-4000-8000-000000000001", "resource_group": "rg-secrets"}
    key, _, value = settings.partition(": ")
    if key:
        given[key] = value.strip("'")
    write(tmp_path, {
        "vaultline.yaml": f"""
            app: nexus-engine
            environments: [prod]
            providers:
              akv: {{type: azure-keyvault, vault_url: "https://nexus-kv.vault.azure.net",
                    subscription_id: "{given['subscription_id']}",
                    resource_group: "{given['resource_group']}"}}
        """,
        "env/prod/secrets.yaml": secrets_yaml,
    })
    with pytest.raises(ConfigError, match=message):
        azure_role_assignments(Project.load(tmp_path), "prod", assignee="obj-1")


ARN = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret"


@pytest.mark.parametrize(("options", "secrets_yaml", "message"), [
    # a full ARN is used as given: a glob in it reached every secret of the account
    ("", f"A: 'aws:{ARN}:*'\n", "secret ARN .* has a '\\*'"),
    ("", f"A: 'aws:{ARN}:nexus-engine/prod/??'\n", "secret ARN"),
    ("", "A: 'aws:nexus-engine/prod/?b'\n", "secret name"),
    ("", "A: 'aws:${aws:username}/db'\n", "policy variable"),
    ("region: '*'", "A: aws\n", "region"),
    ("account_id: '*'", "A: aws\n", "account_id"),
    ("kms_key: '*'", "A: aws\n", "kms_key"),
])
def test_iam_wildcards_from_the_project_are_refused(tmp_path: Path, options: str,
                                                    secrets_yaml: str, message: str) -> None:
    settings = ", ".join(o for o in ("region: us-east-1" if "region" not in options else "",
                                     options) if o)
    write(tmp_path, {
        "vaultline.yaml": f"""
            app: nexus-engine
            environments: [prod]
            providers:
              aws: {{type: aws-secretsmanager, {settings}}}
        """,
        "env/prod/secrets.yaml": secrets_yaml,
    })
    with pytest.raises(ConfigError, match=message):
        aws_policy(Project.load(tmp_path), "prod")
