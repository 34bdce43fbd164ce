"""Beyond one machine: a 3-node OpenBao Raft cluster loses its leader during a stream of resolutions.

Every resolution must either return the complete, correct bundle (served by the new leader
after failover) or fail cleanly with a ResolutionError — never a partial or wrong bundle.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factory import make_project
from tests.servers import RaftCluster, raft_cluster
from vaultline.errors import ResolutionError
from vaultline.project.model import Project
from vaultline.resolve.resolver import Resolver

pytestmark = pytest.mark.slow

SECRETS = {f"Service{i}:Password": f"password-{i}" for i in range(25)}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RaftCluster]:
    with raft_cluster(tmp_path_factory.mktemp("raft")) as started:
        yield started


def test_leader_killed_during_a_stream_of_resolutions(cluster: RaftCluster, tmp_path: Path) -> None:
    leader = cluster.leader()
    for i in range(len(SECRETS)):
        leader.api("POST", f"kv/data/raft-app/prod/s{i}", {"data": {"password": f"password-{i}"}})
    urls = ", ".join(f'"{u}"' for u in cluster.urls)
    root = make_project(tmp_path, {
        "vaultline.yaml": f"""
            version: 1
            app: raft-app
            environments: [prod]
            providers:
              vault: {{type: vault, url: [{urls}], retries: 6, backoff: 0.2, timeout: 2,
                       max_workers: 4}}
        """,
        "env/prod/values.yaml": "Logging:Level: Warning\n",
        "env/prod/secrets.yaml": "".join(f"{k}: vault:s{i}#password\n" for i, k in enumerate(SECRETS)),
    })
    project = Project.load(root)
    environ = {"VAULT_TOKEN": cluster.token}
    outcomes: list[str] = []
    killed_at: float | None = None
    deadline = time.monotonic() + 60
    # One resolver (one provider, one token, one connection pool) as a long-running service
    # would hold, resolving again and again while the leader dies under it.
    with Resolver(project, "prod", environ=environ) as resolver:
        while time.monotonic() < deadline:
            if killed_at is None and len(outcomes) == 5:
                leader.process.kill()
                killed_at = time.monotonic()
            try:
                bundle = resolver.resolve()
            except ResolutionError as exc:
                assert "could not be resolved" in str(exc)
                assert "password-" not in str(exc)
                outcomes.append("failed")
                continue
            got = {k: bundle[k] for k in SECRETS}
            assert got == SECRETS, "a resolution returned a partial or wrong bundle"
            assert bundle["Logging:Level"] == "Warning"
            outcomes.append("ok")
            assert killed_at is None or resolver.provider("vault").address != leader.url  # type: ignore[attr-defined]
            if killed_at is not None and outcomes[-3:] == ["ok"] * 3 and elected(cluster, leader.url):
                break
    print("outcomes:", " ".join(outcomes), f"({time.monotonic() - (killed_at or 0):.1f}s after the kill)")
    assert killed_at is not None
    assert elected(cluster, leader.url), "no new leader within the time limit"
    assert outcomes[-3:] == ["ok"] * 3, f"no recovery after the leader was killed: {outcomes}"


def elected(cluster: RaftCluster, old: str) -> bool:
    """Whether the surviving nodes agree on a new leader."""
    try:
        return bool(cluster.leader().url != old)
    except (RuntimeError, StopIteration, OSError, KeyError):
        return False
