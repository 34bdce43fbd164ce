"""Dynamic database credentials against real OpenBao and PostgreSQL: database roles left
behind after ``vaultline run`` exits (normally, by SIGTERM, with a failing child), leases
issued per resolution of a user and its password, and renewals while a child outlives its TTL.

    python bench/hardening.py dyncreds
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))
from _util import master_key, write  # noqa: E402

from tests.servers import BaoServer, PostgresServer, bao_dev, http_json, postgres_cluster  # noqa: E402
from vaultline.store import EmbeddedStore  # noqa: E402

VAULTLINE = str(Path(sys.executable).parent / "vaultline")
RUNS = 6


def _setup(bao: BaoServer, pg: PostgresServer) -> None:
    bao.api("POST", "sys/mounts/database", {"type": "database"})
    bao.api("POST", "database/config/pg", {
        "plugin_name": "postgresql-database-plugin", "allowed_roles": "*",
        "connection_url": f"postgresql://{{{{username}}}}:{{{{password}}}}@{pg.host}:{pg.port}/"
                          "postgres?sslmode=disable",
        "username": pg.admin_user, "password": pg.admin_password})
    _role(bao, ttl=30)  # longer than the runs: a role gone was revoked, not expired


def _role(bao: BaoServer, ttl: int) -> None:
    bao.api("POST", "database/roles/app-dyn", {
        "db_name": "pg", "default_ttl": ttl, "max_ttl": 60,
        "creation_statements": ["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' "
                                "VALID UNTIL '{{expiration}}';"]})


def _leases(bao: BaoServer) -> list[str]:
    status, body = http_json("LIST", f"{bao.url}/v1/sys/leases/lookup/database/creds/app-dyn/",
                             token=bao.token)
    return [] if status == 404 else list(body["data"]["keys"])


def figures() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp, bao_dev(Path(tmp) / "bao", kv_mount=None) as bao, \
            postgres_cluster(Path(tmp) / "pg") as pg:
        _setup(bao, pg)
        root = Path(tmp) / "project"
        environ = {**os.environ, "VAULTLINE_MASTER_KEY": master_key(), "VAULT_TOKEN": bao.token}
        write(root, {
            "vaultline.yaml": f"version: 1\napp: shop\nenvironments: [dev]\nproviders:\n"
                              f"  pgdyn: {{type: vault, engine: database, url: \"{bao.url}\"}}\n",
            "env/dev/secrets.yaml": "Db:User: pgdyn:app-dyn#username\n"
                                    "Db:Password: pgdyn:app-dyn#password\n",
        })
        EmbeddedStore.create(root / ".vaultline", environ=environ)[0].close()  # the audit log
        ways = ["exit 0", "exit 3", "SIGTERM"]
        codes: list[int] = []
        for i in range(RUNS):
            way = ways[i % len(ways)]
            code = "import time; time.sleep(30)" if way == "SIGTERM" else f"raise SystemExit({way[-1]})"
            proc = subprocess.Popen([VAULTLINE, "run", "--env", "dev", "--", sys.executable, "-c",
                                     code], cwd=root, env=environ, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            if way == "SIGTERM":
                deadline = time.monotonic() + 10
                while not _leases(bao) and time.monotonic() < deadline:
                    time.sleep(0.05)
                proc.send_signal(signal.SIGTERM)
            codes.append(proc.wait(timeout=30))
        left = pg.execute("select count(*) from pg_roles where rolname like %s", ("v-%",))[0][0]
        yield f"exit statuses of the {RUNS} runs: {' '.join(map(str, codes))}"
        yield f"database roles left after {RUNS} runs (exit 0, exit 3, SIGTERM): {left}/{RUNS}"
        yield f"leases left after {RUNS} runs: {len(_leases(bao))}/{RUNS}"

        before = len(_leases(bao))
        subprocess.run([VAULTLINE, "resolve", "--env", "dev", "--keep-lease"], cwd=root,
                       env=environ, capture_output=True, check=True)
        yield f"leases issued for one resolution of user + password: {len(_leases(bao)) - before}"
        bao.api("PUT", "sys/leases/revoke-prefix/database/creds/app-dyn")

        # A short TTL from here on: renewals are due every 1.3 s.
        _role(bao, ttl=2)
        started = time.monotonic()
        done = subprocess.run([VAULTLINE, "run", "--env", "dev", "--", sys.executable, "-c",
                               "import time; time.sleep(5)"], cwd=root, env=environ,
                              capture_output=True, check=False)
        renewals = 0
        for path in (root / ".vaultline").rglob("*audit*"):
            if path.is_file():
                renewals += path.read_text(errors="replace").count('"action":"lease.renew"')
        yield (f"renewals while a child ran {time.monotonic() - started:.1f} s on a 2 s TTL "
               f"(exit {done.returncode}): {renewals}")
