"""Drift against AWS Secrets Manager (moto_server): environment drift with version-id pins and
staging labels, and a Vault -> AWS mirror compared without values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3

from tests.drift.conftest import mirrored
from tests.factory import write
from tests.servers import BaoServer, MotoServer
from vaultline.drift import check_environment, compare_mirror, parse_mirror
from vaultline.project.model import Project
from vaultline.resolve.session import Session


def client(moto_server: MotoServer) -> Any:
    return boto3.client("secretsmanager", endpoint_url=moto_server.endpoint_url,
                        region_name="us-east-1")


def aws_project(root: Path, moto_server: MotoServer, app: str, secrets_yaml: str = "",
                vault_url: str | None = None) -> Path:
    vault = f'vault: {{type: vault, url: "{vault_url}", mount: kv, retries: 0}}' if vault_url else ""
    return write(root, {
        "vaultline.yaml": f"""
            version: 1
            app: {app}
            environments: [dev, prod]
            providers:
              aws: {{type: aws-secretsmanager, region: us-east-1, endpoint_url: "{moto_server.endpoint_url}"}}
              {vault}
        """,
        "env/prod/secrets.yaml": secrets_yaml or "{}\n",
    })


def test_environment_drift_in_aws(moto_server: MotoServer, tmp_path: Path, app: str) -> None:
    sm = client(moto_server)
    first = sm.create_secret(Name=f"{app}/prod/db", SecretString='{"password": "canary-aws-1"}')
    sm.put_secret_value(SecretId=f"{app}/prod/db", SecretString='{"password": "canary-aws-2"}')
    sm.create_secret(Name=f"{app}/prod/openAi/apiKey", SecretString="canary-aws-3")
    sm.create_secret(Name=f"{app}/prod/leftOver", SecretString="canary-aws-4")
    sm.create_secret(Name=f"{app}/dev/other", SecretString="canary-aws-5")
    root = aws_project(tmp_path, moto_server, app, f"""
        Db:Password: aws:{app}/prod/db#password@{first["VersionId"]}
        Db:Previous: aws:{app}/prod/db#password@AWSPREVIOUS
        OpenAi:ApiKey: aws
        Missing:Key: aws
    """)
    with Session(Project.load(root), "prod", environ={}) as session:
        report = check_environment(session)
    assert {(i.kind, i.key, i.path) for i in report.items} == {
        ("stale", "Db:Password", f"{app}/prod/db"),  # pinned to a version id no longer current
        ("missing", "Missing:Key", f"{app}/prod/missing/key"),
        ("orphaned", None, f"{app}/prod/leftOver"),
    }
    assert "canary-aws" not in json.dumps(report.to_dict())


def test_vault_to_aws_mirror(openbao: BaoServer, moto_server: MotoServer, tmp_path: Path,
                             app: str) -> None:
    environ = mirrored(openbao, tmp_path, app, with_store=False)
    sm = client(moto_server)
    sm.create_secret(Name=f"{app}/copy/same", SecretString="canary-same-1")
    sm.create_secret(Name=f"{app}/copy/json", SecretString='{"user":"app","password":"canary-json-6"}')
    sm.create_secret(Name=f"{app}/copy/db/password", SecretString="canary-dst-3-changed")
    sm.create_secret(Name=f"{app}/copy/stray", SecretString="canary-stray")
    aws_project(tmp_path, moto_server, app, vault_url=openbao.url)
    with Session(Project.load(tmp_path), "prod", environ=environ) as session:
        report = compare_mirror(session, *parse_mirror(f"vault:mirror=aws:{app}/copy"))
    assert {(i.kind, i.path) for i in report.items} == {
        ("missing", "only-mirror"), ("extra", "stray"), ("different", "db/password")}
    assert "canary" not in json.dumps(report.to_dict())
