"""Resolving an environment of 1,000 remote secrets, against the loop today's
tools run (dynaconf, teller: one sequential hvac ``read_secret_version`` per secret).

OpenBao: 1,000 KV v2 secrets on a ``bao server -dev`` started here (tests/servers.py, the same
code as the test fixture); ``vaultline.load`` of an environment referencing all of them vs a
sequential hvac loop. AWS: the same against moto_server (sequential boto3 ``get_secret_value``
vs vaultline, which batches with BatchGetSecretValue). HTTP requests are counted where every
client here sends its request line (``http.client.HTTPConnection.putrequest``).
Target: ratio <= 0.3, printed last.

    .venv/bin/python bench/resolve_remote.py [--secrets 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))
from _util import best_of, load_average, master_key, write  # noqa: E402


@contextmanager
def counting_requests() -> Iterator[list[int]]:
    """Count every HTTP request line sent, whatever the client: requests (hvac), botocore and
    urllib3 all end in ``http.client.HTTPConnection.putrequest``, as does vaultline's own pool."""
    import http.client

    count = [0]
    real = http.client.HTTPConnection.putrequest

    def putrequest(self: Any, *args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        return real(self, *args, **kwargs)

    http.client.HTTPConnection.putrequest = putrequest  # type: ignore[method-assign]
    try:
        yield count
    finally:
        http.client.HTTPConnection.putrequest = real  # type: ignore[method-assign]


def requests_of(fn: Callable[[], Any]) -> int:
    with counting_requests() as count:
        fn()
    return count[0]


def project(root: Path, provider: str, refs: list[str], environ: dict[str, str]) -> None:
    from vaultline.store import EmbeddedStore

    secrets = "".join(f"Service{i}:Secret: {ref}\n" for i, ref in enumerate(refs))
    write(root, {"vaultline.yaml": f"version: 1\napp: bench\nenvironments: [prod]\nproviders:\n{provider}",
                 "env/prod/secrets.yaml": secrets})
    EmbeddedStore.create(root / ".vaultline", environ=environ)[0].close()


def bench_vault(args: argparse.Namespace, tmp: Path) -> float:
    import hvac

    import vaultline
    from tests.servers import bao_dev

    n = args.secrets
    with bao_dev(tmp / "bao") as server:
        client = hvac.Client(url=server.url, token=server.token)
        for i in range(n):
            client.secrets.kv.v2.create_or_update_secret(f"bench/prod/s{i}", {"password": f"pw-{i}"},
                                                         mount_point="kv")
        environ = {**os.environ, "VAULTLINE_MASTER_KEY": master_key(), "VAULT_TOKEN": server.token}
        root = tmp / "vault-project"
        project(root, f'  vault: {{type: vault, url: "{server.url}", mount: kv}}\n',
                [f"vault:s{i}#password" for i in range(n)], environ)

        def resolve() -> None:
            bundle = vaultline.load("prod", root, environ=environ)
            assert bundle[f"Service{n - 1}:Secret"] == f"pw-{n - 1}"

        def sequential() -> None:
            reader = hvac.Client(url=server.url, token=server.token)
            for i in range(n):
                reader.secrets.kv.v2.read_secret_version(f"bench/prod/s{i}", mount_point="kv",
                                                         raise_on_deleted_version=True)
            reader.adapter.close()

        resolve()  # warm imports and the server's caches for both sides
        sequential()
        ours, ours_median = best_of(resolve, args.repeat)
        theirs, theirs_median = best_of(sequential, args.repeat)
        ours_requests, theirs_requests = requests_of(resolve), requests_of(sequential)
    print(f"OpenBao KV v2, {n} secrets (bao dev server on this machine)")
    print(f"  sequential hvac read_secret_version: best {theirs:.3f}s median {theirs_median:.3f}s "
          f"({theirs_requests} HTTP requests)")
    print(f"  vaultline.load (resolve + audit):   best {ours:.3f}s median {ours_median:.3f}s "
          f"({ours_requests} HTTP requests)")
    return ours / theirs


def bench_aws(args: argparse.Namespace, tmp: Path) -> float:
    import boto3

    import vaultline
    from tests.servers import FAKE_AWS_ENV, moto

    n = args.aws_secrets
    os.environ.update(FAKE_AWS_ENV)
    with moto(tmp / "moto") as server:
        sm = boto3.client("secretsmanager", endpoint_url=server.endpoint_url, region_name="us-east-1")
        for i in range(n):
            sm.create_secret(Name=f"bench/prod/s{i}", SecretString=f"pw-{i}")
        environ = {**os.environ, "VAULTLINE_MASTER_KEY": master_key()}
        root = tmp / "aws-project"
        project(root, f'  aws: {{type: aws-secretsmanager, region: us-east-1, '
                      f'endpoint_url: "{server.endpoint_url}"}}\n',
                [f"aws:bench/prod/s{i}" for i in range(n)], environ)

        def resolve() -> None:
            bundle = vaultline.load("prod", root, environ=environ)
            assert bundle[f"Service{n - 1}:Secret"] == f"pw-{n - 1}"

        def sequential() -> None:
            reader = boto3.client("secretsmanager", endpoint_url=server.endpoint_url, region_name="us-east-1")
            for i in range(n):
                reader.get_secret_value(SecretId=f"bench/prod/s{i}", VersionStage="AWSCURRENT")

        resolve()
        sequential()
        ours, ours_median = best_of(resolve, max(1, args.repeat // 2))
        theirs, theirs_median = best_of(sequential, max(1, args.repeat // 2))
        ours_requests, theirs_requests = requests_of(resolve), requests_of(sequential)
    print(f"AWS Secrets Manager, {n} secrets (moto_server on this machine)")
    print(f"  sequential boto3 get_secret_value:  best {theirs:.3f}s median {theirs_median:.3f}s "
          f"({theirs_requests} HTTP requests)")
    print(f"  vaultline.load (batch get + audit): best {ours:.3f}s median {ours_median:.3f}s "
          f"({ours_requests} HTTP requests)")
    return ours / theirs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--secrets", type=int, default=1000)
    parser.add_argument("--aws-secrets", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"load average before: {load_average()}")
    with tempfile.TemporaryDirectory() as tmp:
        aws_ratio = bench_aws(args, Path(tmp))
        ratio = bench_vault(args, Path(tmp))
    print(f"load average after: {load_average()}")
    print(f"ratio vaultline/sequential-boto3: {aws_ratio:.2f}")
    print(f"ratio vaultline/sequential-hvac: {ratio:.2f}")


if __name__ == "__main__":
    main()
