"""The server fixtures themselves: they come up, answer, and expose what other tests need."""

from __future__ import annotations

import boto3

from tests.servers import BaoServer, MotoServer


def test_openbao_dev_server_has_a_kv2_mount(openbao: BaoServer) -> None:
    openbao.api("POST", "kv/data/fixture/check", {"data": {"a": "1"}})
    payload = openbao.api("GET", "kv/data/fixture/check")
    assert payload["data"]["data"] == {"a": "1"}
    assert openbao.api("GET", "auth/token/lookup-self")["data"]["policies"] == ["root"]


def test_moto_server_answers_boto3(moto_server: MotoServer) -> None:
    client = boto3.client("secretsmanager", endpoint_url=moto_server.endpoint_url, region_name="us-east-1")
    client.create_secret(Name="fixture/check", SecretString="x")
    assert client.get_secret_value(SecretId="fixture/check", VersionStage="AWSCURRENT")["SecretString"] == "x"
