"""The aws-secretsmanager provider through real boto3 against moto_server (fixture ``moto_server``)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from tests.factory import make_project
from tests.servers import MotoServer
from vaultline.errors import ConfigError, ProviderError, ProviderUnavailableError
from vaultline.project.model import Project
from vaultline.providers.aws import AwsSecretsManagerProvider
from vaultline.providers.base import ProviderContext
from vaultline.resolve.resolver import Resolver


def provider(server: MotoServer, root: Path, **options: Any) -> AwsSecretsManagerProvider:
    context = ProviderContext(app="nexus-engine", env="prod", root=root, environ={})
    return AwsSecretsManagerProvider(
        "aws", {"region": "us-east-1", "endpoint_url": server.endpoint_url, **options}, context)


@pytest.fixture
def sm(moto_server: MotoServer) -> Any:
    return boto3.client("secretsmanager", endpoint_url=moto_server.endpoint_url, region_name="us-east-1")


@pytest.fixture
def app() -> str:
    return f"app-{secrets.token_hex(4)}"


def test_naming_json_fields_and_resolution(moto_server: MotoServer, sm: Any, tmp_path: Path) -> None:
    app = f"nexus-{secrets.token_hex(3)}"
    sm.create_secret(Name=f"{app}/prod/connectionStrings/primary", SecretString="postgres://p")
    sm.create_secret(Name=f"{app}/prod/ai/openai/apiKey", SecretString="sk-1")
    sm.create_secret(Name=f"{app}/prod/db", SecretString=json.dumps({"user": "app", "password": "pw"}))
    root = make_project(tmp_path, {
        "vaultline.yaml": f"""
            version: 1
            app: {app}
            environments: [prod]
            providers:
              aws: {{type: aws-secretsmanager, region: us-east-1, endpoint_url: "{moto_server.endpoint_url}"}}
        """,
        "env/prod/secrets.yaml": f"""
            ConnectionStrings:Primary: aws
            AI:OpenAI:ApiKey: aws
            Db:Password: aws:{app}/prod/db#password
        """,
    })
    with Resolver(Project.load(root), "prod") as resolver:
        paths = {r.key: r.path for r in resolver.references()}
        bundle = resolver.resolve()
    assert paths["ConnectionStrings:Primary"] == f"{app}/prod/connectionStrings/primary"
    assert paths["AI:OpenAI:ApiKey"] == f"{app}/prod/ai/openai/apiKey"
    assert bundle["ConnectionStrings:Primary"] == "postgres://p"
    assert bundle["AI:OpenAI:ApiKey"] == "sk-1"
    assert bundle["Db:Password"] == "pw"


def test_stages_and_version_ids(moto_server: MotoServer, tmp_path: Path, app: str) -> None:
    aws = provider(moto_server, tmp_path)
    first = aws.put(f"{app}/api", "v1")
    second = aws.put(f"{app}/api", "v2")
    assert first != second
    assert aws.fetch(f"{app}/api").value == "v2"
    assert aws.fetch(f"{app}/api", "AWSCURRENT").version == second
    assert aws.fetch(f"{app}/api", "AWSPREVIOUS").value == "v1"
    assert aws.fetch(f"{app}/api", first).value == "v1"
    # Batch reads (current versions) see the new version after the stage moved.
    assert aws.fetch_many([(f"{app}/api", None)])[(f"{app}/api", None)].value == "v2"  # type: ignore[union-attr]
    with pytest.raises(ProviderError, match="nothing at"):
        aws.fetch(f"{app}/api", "NOSUCHSTAGE")
    with pytest.raises(ConfigError, match="no check-and-set"):
        aws.put(f"{app}/api", "v3", cas=2)


def test_batch_get_fetches_each_distinct_request_once(moto_server: MotoServer, sm: Any,
                                                      tmp_path: Path, app: str) -> None:
    for i in range(45):
        sm.create_secret(Name=f"{app}/s{i}", SecretString=f"value-{i}")
    aws = provider(moto_server, tmp_path, max_workers=4)
    sent = record_requests(aws)
    requests = [(f"{app}/s{i % 45}", None) for i in range(100)] + [(f"{app}/missing", None)]
    results = aws.fetch_many(requests)
    assert len(results) == 46
    assert sent == ["secretsmanager.BatchGetSecretValue"] * 3  # 46 distinct names in batches of 20
    assert all(results[(f"{app}/s{i}", None)].value == f"value-{i}" for i in range(45))  # type: ignore[union-attr]
    missing = results[(f"{app}/missing", None)]
    assert isinstance(missing, ProviderError) and "nothing at" in missing.reason
    assert aws.list_paths(f"{app}/s1") == sorted(f"{app}/s{i}" for i in [1, *range(10, 20)])


def test_without_batch_each_secret_is_one_call(moto_server: MotoServer, sm: Any, tmp_path: Path,
                                               app: str) -> None:
    for i in range(5):
        sm.create_secret(Name=f"{app}/s{i}", SecretString=f"value-{i}")
    aws = provider(moto_server, tmp_path, batch=False)
    sent = record_requests(aws)
    results = aws.fetch_many([(f"{app}/s{i}", None) for i in range(5)])
    assert sent == ["secretsmanager.GetSecretValue"] * 5 and results[(f"{app}/s4", None)].value == "value-4"  # type: ignore[union-attr]


def record_requests(aws: AwsSecretsManagerProvider) -> list[str]:
    """The operation (X-Amz-Target) of every request the client sends from now on: one per
    API call, botocore's own retries being off."""
    return inject_failures(aws, [])


def inject_failures(aws: AwsSecretsManagerProvider, statuses: list[int]) -> list[str]:
    """Answer the next requests with these HTTP statuses before any reaches moto."""
    seen: list[str] = []
    bodies = {429: ("ThrottlingException", "Rate exceeded"),
              503: ("ServiceUnavailable", "Service unavailable"),
              400: ("ValidationException", "bad request")}

    def before_send(request: Any, **_: Any) -> AWSResponse | None:
        seen.append(request.headers.get("X-Amz-Target", b"").decode())
        if not statuses:
            return None
        status = statuses.pop(0)
        code, message = bodies[status]
        body = json.dumps({"__type": code, "message": message}).encode()
        return AWSResponse(request.url, status, {"Content-Type": "application/x-amz-json-1.1"},
                           _Raw(body))

    aws.client.meta.events.register("before-send.secrets-manager", before_send)
    return seen


class _Raw:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


def test_throttling_and_5xx_are_retried(moto_server: MotoServer, sm: Any, tmp_path: Path, app: str) -> None:
    sm.create_secret(Name=f"{app}/k", SecretString="ok")
    aws = provider(moto_server, tmp_path, retries=3, backoff=0.01)
    seen = inject_failures(aws, [429, 503, 429])
    assert aws.fetch(f"{app}/k").value == "ok"
    assert len(seen) == 4  # the first attempt and three retries


def test_retries_run_out_with_a_clear_error(moto_server: MotoServer, tmp_path: Path, app: str) -> None:
    aws = provider(moto_server, tmp_path, retries=2, backoff=0.01)
    inject_failures(aws, [503, 503, 503, 503])
    with pytest.raises(ProviderUnavailableError, match=r"ServiceUnavailable.*after 3 attempts"):
        aws.fetch(f"{app}/k")


def test_client_errors_are_not_retried(moto_server: MotoServer, tmp_path: Path, app: str) -> None:
    aws = provider(moto_server, tmp_path, retries=3, backoff=0.01)
    seen = inject_failures(aws, [400])
    with pytest.raises(ProviderError, match="ValidationException"):
        aws.fetch(f"{app}/k", "AWSPREVIOUS")
    assert len(seen) == 1
    seen = inject_failures(aws, [])
    with pytest.raises(ProviderError, match="nothing at"):
        aws.fetch(f"{app}/absent", "AWSPREVIOUS")
    assert len(seen) == 1  # 404 is final


def test_unreachable_endpoint(moto_server: MotoServer, tmp_path: Path) -> None:  # for its credentials env
    from tests.servers import free_port

    context = ProviderContext(app="a", env="e", root=tmp_path, environ={})
    aws = AwsSecretsManagerProvider("aws", {"region": "us-east-1", "retries": 1, "backoff": 0.01,
                                            "endpoint_url": f"http://127.0.0.1:{free_port()}"}, context)
    results = aws.fetch_many([("a", None), ("b", "AWSPREVIOUS")])
    assert all(isinstance(r, ProviderUnavailableError) for r in results.values())
    assert "cannot reach" in str(results[("a", None)])


def test_check_and_identity(moto_server: MotoServer, tmp_path: Path) -> None:
    aws = provider(moto_server, tmp_path)
    assert aws.identity.startswith("aws:arn:aws:sts::") or aws.identity.startswith("aws:arn:aws:iam::")
    assert "reachable" in aws.check()
    assert "testing" not in repr(aws)
