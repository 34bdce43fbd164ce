"""Secret rotation figures, against a local PostgreSQL and OpenBao started here (counts last):

1. connections attempted and failed while N rotations run, two client threads connecting
   fresh with freshly resolved credentials: vaultline alternating-users (expected 0 failed),
   side by side with vaultline single-user and OpenBao's database engine static role
   (``database/rotate-role``, postgresql-database-plugin), the same clients and spacing;
2. vaultline's own time per rotation (run + retire, the grace wait excluded), target <= 50 ms:
   against PostgreSQL (one login test, three ALTER ROLE round trips included), and for a
   dual API key in the embedded store with an OpenBao KV v2 mirror (no database at all);
   wall time, and the rotating thread's CPU time (vaultline's own work without the waits
   on the servers, which a loaded machine stretches most).

Between rotations the rotator waits a grace (``--grace``, real time) so clients that
resolved the previous credential have used it; a rotation then re-keys the role not in use.

    .venv/bin/python bench/rotation.py [--rotations 20] [--grace 0.3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.servers starts the servers
from _util import load_average, master_key

KEY = "ConnectionStrings:Primary"
CLIENTS = 2


class Clients:
    """Threads that, until stopped, resolve a credential and open a fresh connection."""

    def __init__(self, resolve: Callable[[], str]):
        self.resolve = resolve
        self.attempted = self.failed = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._loop) for _ in range(CLIENTS)]

    def _loop(self) -> None:
        import psycopg

        while not self.stop.is_set():
            try:
                with psycopg.connect(self.resolve(), connect_timeout=5) as conn:
                    conn.execute("SELECT 1")
                ok = True
            except psycopg.OperationalError:
                ok = False
            with self.lock:
                self.attempted += 1
                self.failed += not ok

    def __enter__(self) -> Clients:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()


def vaultline_run(work: Path, pg: object, strategy: str, users: str, rotations: int,
                  grace: float) -> tuple[int, int, list[float], list[float]]:
    from tests.rotate.conftest import pg_project
    from vaultline.project.model import Project
    from vaultline.resolve.session import Session
    from vaultline.rotate import Rotator

    environ = {"VAULTLINE_MASTER_KEY": master_key()}
    root = pg_project(work / strategy, pg, environ, strategy=strategy,  # type: ignore[arg-type]
                      users=users, grace=f"{max(1, int(grace))}s")
    own: list[float] = []
    cpu: list[float] = []
    with Session(Project.load(root), "prod", environ=environ) as session, \
            Rotator(session) as rotator:
        rotator.run(KEY)
        reader = Session(Project.load(root), "prod", environ=environ)
        lock = threading.Lock()

        def resolve() -> str:
            with lock:  # one reader session shared by both client threads
                return str(reader.resolve()[KEY])

        with Clients(resolve) as clients:
            for _ in range(rotations):
                time.sleep(grace)  # clients use the current credential; the old one retires
                start, start_cpu = time.perf_counter(), time.thread_time()
                latest = rotator.latest(KEY)
                if latest is not None and latest.state == "grace":
                    rotator.retire(KEY, force=True)  # the bench's grace is real time above
                rotator.run(KEY, grace=None)
                own.append(time.perf_counter() - start)
                cpu.append(time.thread_time() - start_cpu)
        reader.close()
    return clients.attempted, clients.failed, own, cpu


def own_time_dual(work: Path, rotations: int) -> tuple[list[float], list[float]]:
    """run + retire of a dual API key in the embedded store, mirrored to OpenBao KV v2."""
    from tests.factory import FakeClock, make_project
    from tests.servers import bao_dev
    from vaultline.project.model import Project
    from vaultline.resolve.session import Session
    from vaultline.rotate import Rotator

    with bao_dev(work / "bao-kv") as bao:
        environ = {"VAULTLINE_MASTER_KEY": master_key(), **bao.env}
        root = make_project(work / "dual", {
            "vaultline.yaml": f"""
                version: 1
                app: nexus-engine
                environments: [prod]
                providers:
                  bao: {{type: vault, url: "{bao.url}", mount: kv, prefix: "{{app}}/{{env}}"}}
                rotation:
                  api-key: {{default: {{every: 7d, grace: 1d}}}}
                rotate:
                  Api:Token: {{class: api-key, strategy: dual, mirrors: ['bao:mirror/token']}}
            """,
            "env/prod/secrets.yaml": "Api:Token: local\n",
        }, environ=environ)
        clock = FakeClock()
        times, cpu = [], []
        with Session(Project.load(root), "prod", environ=environ, clock=clock) as session, \
                Rotator(session) as rotator:
            rotator.run("Api:Token")
            for _ in range(rotations):
                clock.advance(days=2)
                start, start_cpu = time.perf_counter(), time.thread_time()
                rotator.retire("Api:Token")
                rotator.run("Api:Token")
                times.append(time.perf_counter() - start)
                cpu.append(time.thread_time() - start_cpu)
    return times, cpu


def _summary(times: list[float]) -> str:
    ordered = sorted(times)
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    return (f"median {statistics.median(ordered) * 1000:.1f} ms, p90 {p90 * 1000:.1f} ms, "
            f"max {ordered[-1] * 1000:.1f} ms")


def openbao_run(work: Path, pg: object, rotations: int, grace: float) -> tuple[int, int]:
    from tests.servers import bao_dev, http_json

    pg.create_role("bao_static", "initial-password-1")  # type: ignore[attr-defined]
    with bao_dev(work / "bao", kv_mount=None) as bao:
        bao.api("POST", "sys/mounts/database", {"type": "database"})
        bao.api("POST", "database/config/pg", {
            "plugin_name": "postgresql-database-plugin", "allowed_roles": "*",
            "connection_url": f"postgresql://{{{{username}}}}:{{{{password}}}}@{pg.host}:"  # type: ignore[attr-defined]
                              f"{pg.port}/postgres",  # type: ignore[attr-defined]
            "username": pg.admin_user, "password": pg.admin_password})  # type: ignore[attr-defined]
        bao.api("POST", "database/static-roles/app", {
            "db_name": "pg", "username": "bao_static", "rotation_period": "24h"})

        def resolve() -> str:
            _, answer = http_json("GET", f"{bao.url}/v1/database/static-creds/app",
                                  token=bao.token)
            data = answer["data"]
            return (f"host={pg.host} port={pg.port} dbname=postgres "  # type: ignore[attr-defined]
                    f"user={data['username']} password={data['password']}")

        with Clients(resolve) as clients:
            for _ in range(rotations):
                time.sleep(grace)
                bao.api("POST", "database/rotate-role/app", {})
    return clients.attempted, clients.failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rotations", type=int, default=20)
    parser.add_argument("--grace", type=float, default=0.3, help="seconds between rotations")
    args = parser.parse_args()
    from tests.servers import postgres_cluster

    print(f"load average: {load_average()}; {args.rotations} rotations per contender, "
          f"{CLIENTS} clients connecting fresh, {args.grace}s between rotations")
    with tempfile.TemporaryDirectory() as tmp, postgres_cluster(Path(tmp) / "pg") as pg:
        work = Path(tmp)
        alt = vaultline_run(work, pg, "alternating-users", "[bench_a, bench_b]",
                            args.rotations, args.grace)
        single = vaultline_run(work, pg, "single-user", "[bench_one]", args.rotations,
                               args.grace)
        bao = openbao_run(work, pg, args.rotations, args.grace)
        dual = own_time_dual(work, args.rotations)
    for name, (attempted, failed) in (("vaultline alternating-users", alt[:2]),
                                      ("vaultline single-user", single[:2]),
                                      ("openbao static role", bao)):
        print(f"{name:30} attempted {attempted:5}  failed {failed:4}")
    print(f"time per rotation, retire + run, no grace wait (target <= 50 ms):\n"
          f"  PostgreSQL alternating-users, clients running: wall {_summary(alt[2])}\n"
          f"      vaultline's own CPU: {_summary(alt[3])}\n"
          f"  dual API key, embedded store + OpenBao mirror: wall {_summary(dual[0])}\n"
          f"      vaultline's own CPU: {_summary(dual[1])}")
    print(json.dumps({"alternating_failed": alt[1], "single_user_failed": single[1],
                      "openbao_static_failed": bao[1]}))
    print(f"failed connections: alternating-users {alt[1]} of {alt[0]}, single-user "
          f"{single[1]} of {single[0]}, openbao static role {bao[1]} of {bao[0]}")


if __name__ == "__main__":
    main()
