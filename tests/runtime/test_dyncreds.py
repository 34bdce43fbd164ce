"""Dynamic database credentials: real OpenBao's database engine issuing real PostgreSQL roles.

Lease TTLs are a few seconds, so these tests run on real time (bounded waits, each < 15 s).
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.factory import make_project, master_key_env, write
from tests.faultproxy import FaultProxy
from tests.servers import BaoServer, PostgresServer, bao_dev, http_json
from vaultline.errors import ProviderError
from vaultline.resolve.leases import Lease, LeaseBook
from vaultline.runtime.watch import LEASE_ONLY_INTERVAL, Snapshot, Watch

VAULTLINE = str(Path(sys.executable).with_name("vaultline"))

# The child: logs in with the issued user, records it, waits for the test's go-ahead (a file),
# then logs in again: a second login after the first TTL proves the lease was renewed.
CHILD = """
import os, pathlib, sys, time, psycopg
out = pathlib.Path(sys.argv[1])
def login():
    with psycopg.connect(host="127.0.0.1", port=int(os.environ["PGPORT"]), dbname="postgres",
                         user=os.environ["DB__USER"], password=os.environ["DB__PASSWORD"],
                         connect_timeout=5) as conn:
        return conn.execute("select current_user").fetchone()[0]
user = login()
with open(out, "a") as f:
    f.write(user + "\\n")
go = out.with_suffix(".go")
deadline = time.monotonic() + 12
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.05)
if go.exists():
    assert login() == user
    out.with_suffix(".again").write_text(user)
"""


@pytest.fixture(scope="module")
def bao(tmp_path_factory: pytest.TempPathFactory, postgres: PostgresServer) -> Iterator[BaoServer]:
    """A dev server of our own: a clean ``database`` mount (its default name) on the cluster."""
    with bao_dev(tmp_path_factory.mktemp("bao-db"), kv_mount=None) as server:
        server.api("POST", "sys/mounts/database", {"type": "database"})
        server.api("POST", "database/config/pg", {
            "plugin_name": "postgresql-database-plugin", "allowed_roles": "*",
            "connection_url": f"postgresql://{{{{username}}}}:{{{{password}}}}@{postgres.host}:"
                              f"{postgres.port}/postgres?sslmode=disable",
            "username": postgres.admin_user, "password": postgres.admin_password})
        yield server


def make_role(bao: BaoServer, name: str, ttl: int, max_ttl: int) -> str:
    bao.api("POST", f"database/roles/{name}", {
        "db_name": "pg", "default_ttl": ttl, "max_ttl": max_ttl,
        "creation_statements": ["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' "
                                "VALID UNTIL '{{expiration}}';"]})
    return name


def project(root: Path, bao: BaoServer, role: str) -> tuple[Path, dict[str, str]]:
    environ = master_key_env()
    make_project(root, {
        "vaultline.yaml": f"""
            version: 1
            app: shop
            environments: [dev]
            providers:
              pgdyn: {{type: vault, engine: database, url: "{bao.url}"}}
        """,
        "env/dev/secrets.yaml": f"""
            Db:User: pgdyn:{role}#username
            Db:Password: pgdyn:{role}#password
        """,
    }, environ=environ)
    return root, {**os.environ, **environ, "VAULT_TOKEN": bao.token}


def roles_like(postgres: PostgresServer, role: str) -> list[str]:
    return [r[0] for r in postgres.execute(
        "select rolname from pg_roles where rolname like %s", (f"v-%-{role[:10]}-%",))]


def leases(bao: BaoServer, role: str) -> list[str]:
    status, body = http_json("LIST", f"{bao.url}/v1/sys/leases/lookup/database/creds/{role}/",
                             token=bao.token)
    if status == 404:
        return []
    return [f"database/creds/{role}/{key}" for key in body["data"]["keys"]]


def wait_for(check: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def audit_events(root: Path) -> list[dict[str, Any]]:
    events = []
    for path in sorted((root / ".vaultline").rglob("*")):
        if path.is_file() and "audit" in path.name:
            for line in path.read_text(errors="replace").splitlines():
                with_action = line.startswith("{") and '"action"' in line
                if with_action:
                    events.append(json.loads(line))
    return events


def start_run(root: Path, env: dict[str, str], postgres: PostgresServer, out: Path,
              *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [VAULTLINE, "run", "--env", "dev", *extra, "--", sys.executable, "-c", CHILD, str(out)],
        cwd=root, env={**env, "PGPORT": str(postgres.port)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_run_renews_while_the_child_runs_past_its_ttl_and_revokes_on_exit(
        bao: BaoServer, postgres: PostgresServer, tmp_path: Path) -> None:
    role = make_role(bao, "app-dyn", ttl=3, max_ttl=60)
    root, env = project(tmp_path, bao, role)
    out = tmp_path / "user.txt"
    proc = start_run(root, env, postgres, out)
    try:
        user = wait_for(lambda: out.exists() and out.read_text().strip(), "the child's login")
        logged_in = time.monotonic()
        assert user in roles_like(postgres, role)
        (lease_id,) = leases(bao, role)
        first = bao.api("PUT", "sys/leases/lookup", {"lease_id": lease_id})["data"]
        wait_for(lambda: bao.api("PUT", "sys/leases/lookup",
                                 {"lease_id": lease_id})["data"]["last_renewal"],
                 "a renewal in OpenBao's lease lookup", timeout=5)
        # Past the TTL the lease was issued with: the role still logs in.
        time.sleep(max(0.0, logged_in + 3.2 - time.monotonic()))
        out.with_suffix(".go").write_text("")
        _, stderr = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr.decode()
    assert out.with_suffix(".again").read_text() == user
    assert first["last_renewal"] is None
    assert roles_like(postgres, role) == [] and leases(bao, role) == []
    events = audit_events(root)
    reads = [e for e in events if e["action"] == "read"]
    assert {e["key"] for e in reads} == {"Db:User", "Db:Password"}
    assert {e["detail"]["lease"] for e in reads} == {lease_id}  # both fields: one lease
    actions = [e["action"] for e in events]
    assert "lease.renew" in actions and "lease.revoke" in actions
    assert all(e["detail"]["lease"] == lease_id for e in events if e["action"].startswith("lease"))
    assert b"dies with its lease" in stderr


def test_child_killed_by_signal_still_revokes(bao: BaoServer, postgres: PostgresServer,
                                              tmp_path: Path) -> None:
    role = make_role(bao, "app-sig", ttl=30, max_ttl=60)
    root, env = project(tmp_path, bao, role)
    out = tmp_path / "user.txt"
    proc = start_run(root, env, postgres, out)
    try:
        user = wait_for(lambda: out.exists() and out.read_text().strip(), "the child's login")
        assert roles_like(postgres, role) == [user]
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM
    assert roles_like(postgres, role) == [] and leases(bao, role) == []


def test_near_max_ttl_new_credentials_restart_the_child(bao: BaoServer, postgres: PostgresServer,
                                                        tmp_path: Path) -> None:
    role = make_role(bao, "app-max", ttl=2, max_ttl=5)
    root, env = project(tmp_path, bao, role)
    out = tmp_path / "user.txt"
    proc = start_run(root, env, postgres, out, "--grace", "2s")
    try:
        users = wait_for(lambda: out.exists() and len(set(out.read_text().split())) >= 2 and
                         out.read_text().split(), "a second user after max_ttl", timeout=12)
        first, second = users[0], users[1]
        # The lease the child moved off is revoked; the new one is live.
        wait_for(lambda: roles_like(postgres, role) == [second], "the old role dropped", 3)
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert first != second
    assert roles_like(postgres, role) == [] and leases(bao, role) == []
    events = audit_events(root)
    reloads = [e for e in events if e["action"] == "run.reload"]
    assert reloads and set(reloads[0]["detail"]["keys"]) == {"Db:User", "Db:Password"}
    # The reload names the lease the child moved to and the one it left, never a password.
    issued = list(dict.fromkeys(e["detail"]["lease"] for e in events
                                if e["action"] == "read" and e.get("key") == "Db:Password"))
    detail = reloads[0]["detail"]
    assert detail["leases"] == [issued[1]] and detail["replaced_leases"] == [issued[0]]
    assert set(detail) == {"keys", "on_change", "leases", "replaced_leases"}


def test_resolve_warns_and_revokes_unless_kept(bao: BaoServer, postgres: PostgresServer,
                                               tmp_path: Path) -> None:
    role = make_role(bao, "app-res", ttl=30, max_ttl=60)
    root, env = project(tmp_path, bao, role)
    done = subprocess.run([VAULTLINE, "resolve", "--env", "dev", "--format", "flat-json",
                           "--reveal"], cwd=root, env=env, capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0, done.stderr
    values = json.loads(done.stdout)
    assert values["Db:User"].startswith("v-") and len(values["Db:Password"]) >= 16
    # The lease id is audited; the password is nowhere in the audit log.
    assert values["Db:Password"] not in json.dumps(audit_events(root))
    assert values["Db:Password"] not in done.stderr
    revoked = [e for e in audit_events(root) if e["action"] == "lease.revoke"]
    assert len(revoked) == 1 and revoked[0]["detail"]["lease"].startswith(
        f"database/creds/{role}/")
    assert "dies with its lease" in done.stderr and "--keep-lease" in done.stderr
    assert roles_like(postgres, role) == [] and leases(bao, role) == []
    kept = subprocess.run([VAULTLINE, "resolve", "--env", "dev", "--keep-lease"], cwd=root,
                          env=env, capture_output=True, text=True, timeout=30)
    assert kept.returncode == 0, kept.stderr
    assert len(roles_like(postgres, role)) == 1 and len(leases(bao, role)) == 1
    bao.api("PUT", f"sys/leases/revoke-prefix/database/creds/{role}")
    assert roles_like(postgres, role) == []


def test_engine_options_checked_at_load(tmp_path: Path) -> None:
    write(tmp_path, {
        "vaultline.yaml": """
            version: 1
            app: shop
            environments: [dev]
            providers:
              pgdyn:
                type: vault
                engine: databse
                url: http://127.0.0.1:1
        """,
    })
    done = subprocess.run([VAULTLINE, "resolve", "--env", "dev"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert done.stderr.startswith("vaultline: error: ") and "vaultline.yaml:7" in done.stderr
    assert "'engine' must be one of database, kv" in done.stderr
    assert "Traceback" not in done.stderr


class FakeIssuer:
    """Grants what is asked up to a max_ttl, on the book's clock; records revocations."""

    def __init__(self, clock: list[float], max_ttl: float):
        self.clock, self.max_ttl = clock, max_ttl
        self.renewals: list[int] = []
        self.revoked: list[str] = []

    def renew_lease(self, lease_id: str, increment: int) -> float:
        self.renewals.append(increment)
        return min(float(increment), self.max_ttl - self.clock[0])

    def revoke_lease(self, lease_id: str) -> None:
        self.revoked.append(lease_id)


def test_lease_book_renews_at_two_thirds_and_replaces_near_max_ttl() -> None:
    now = [0.0]
    book = LeaseBook(clock=lambda: now[0])
    issuer = FakeIssuer(now, max_ttl=10)
    lease = Lease("l1", 3, True, "pgdyn:database/creds/r", {"username": "u"}, issuer, 0.0, 3)
    book.add("r", lease)
    assert book.next_renewal() == 2 and book.reusable("r") is lease
    now[0] = 1.9
    assert book.renew_due() is False and issuer.renewals == []
    now[0] = 2.0
    assert book.renew_due() is False and issuer.renewals == [3] and lease.expires == 5
    now[0] = 8.0  # 2 s to max_ttl: granted less than asked, the last extension
    assert book.renew_due() is True and lease.final and lease.expires == 10
    assert book.replacement_in() == pytest.approx(10 - 2 / 3 - 8)
    assert book.reusable("r") is lease
    now[0] = 9.5
    assert book.reusable("r") is None  # the next resolution gets new credentials
    book.add("r", Lease("l2", 3, True, "w", {}, issuer, 9.5, 3))
    book.revoke_retired()
    assert issuer.revoked == ["l1"]
    book.revoke_all()
    assert issuer.revoked == ["l1", "l2"] and not book


def test_a_failed_renewal_schedules_new_credentials_before_expiry() -> None:
    class Down(FakeIssuer):
        def renew_lease(self, lease_id: str, increment: int) -> float:
            raise ProviderError("cannot reach the server")

    now = [2.0]
    warnings: list[str] = []
    book = LeaseBook(clock=lambda: now[0])
    book.warn = warnings.append
    book.add("r", Lease("l1", 3, True, "pgdyn:database/creds/r", {}, Down(now, 10), 0.0, 3))
    assert book.renew_due() is True
    assert book.replacement_in() == pytest.approx(3 - 1 - 2)
    assert "renewing the lease failed" in warnings[0]


def test_new_credentials_that_fail_to_come_are_tried_again_before_the_lease_ends() -> None:
    """`run` without --watch re-resolves only for leases (a day's interval): a failed
    replacement is retried within seconds, not after twice that interval."""
    now = [2.0]
    book = LeaseBook(clock=lambda: now[0])
    lease = Lease("l1", 30, True, "pgdyn:database/creds/r", {}, FakeIssuer(now, 60), 0.0, 30)
    book.add("r", lease)
    down = ProviderError("cannot reach the server", key="Db:Password")

    def resolve() -> Snapshot:
        raise down

    watch = Watch(Snapshot({}, {}, [], {}), resolve, interval=LEASE_ONLY_INTERVAL,
                  warn=lambda _message: None, audit=lambda _keys: None, leases=book)
    assert watch.tick() == (None, LEASE_ONLY_INTERVAL * 2)  # no lease is ending
    lease.final = True  # say a renewal failed; new credentials are due at 20 s of its 30
    assert watch.tick()[1] == pytest.approx(18.05)  # tried when they are due, at the latest
    now[0] = 20.0
    assert [watch.tick()[1] for _ in range(6)] == [4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


RECORD_USER = """
import os, pathlib, sys, time
with open(sys.argv[1], "a") as f:
    f.write(os.environ["DB__USER"] + "\\n")
time.sleep(30)
"""
RUN = "import sys; from vaultline.cli import main; sys.exit(main())"


def test_run_gets_new_credentials_once_openbao_is_back_after_a_failed_renewal(
        bao: BaoServer, postgres: PostgresServer, tmp_path: Path) -> None:
    role = make_role(bao, "app-back", ttl=3, max_ttl=120)
    out = tmp_path / "users.txt"
    with FaultProxy(bao.url) as proxy:
        root, env = project(tmp_path, dataclasses.replace(bao, url=proxy.url), role)
        proc = subprocess.Popen(
            [sys.executable, "-c", RUN, "run", "--env", "dev", "--grace", "1s", "--",
             sys.executable, "-c", RECORD_USER, str(out)],
            cwd=root, env={**env, "PYTHONPATH": str(Path(__file__).parents[2])},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            first = wait_for(lambda: out.exists() and out.read_text().split(), "the child")[0]
            proxy.fault("reset")  # OpenBao unreachable when the lease is to be renewed
            time.sleep(4)  # past the lease's TTL: renewal and replacement have both failed
            proxy.fault("pass")
            users = wait_for(lambda: len(out.read_text().split()) >= 2 and out.read_text().split(),
                             "new credentials once OpenBao is back", timeout=10)
            proc.send_signal(signal.SIGTERM)
            _, stderr = proc.communicate(timeout=10)
        finally:
            proc.kill()
    assert users[1] != first
    text = stderr.decode()
    assert "renewing the lease failed" in text and "re-resolving works again" in text
    assert roles_like(postgres, role) == [] and leases(bao, role) == []


def test_unknown_role_or_a_version_is_one_clear_error(bao: BaoServer, tmp_path: Path) -> None:
    root, env = project(tmp_path, bao, "no-such-role")
    done = subprocess.run([VAULTLINE, "run", "--env", "dev", "--", "true"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("vaultline: error: ")
    assert "database/creds/no-such-role" in done.stderr and bao.token not in done.stderr
    assert "unknown role: no-such-role" in done.stderr and "vaultline secret put" not in done.stderr
    write(root, {"env/dev/secrets.yaml": "Db:User: pgdyn:app-dyn#username@3\n"})
    done = subprocess.run([VAULTLINE, "resolve", "--env", "dev"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 1 and "dynamic credentials have no versions" in done.stderr
    done = subprocess.run([VAULTLINE, "secret", "put", "pgdyn:app-dyn"], cwd=root, env=env, input="x",
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 1 and "issued by the server, not written" in done.stderr


def test_sigterm_before_the_child_starts_still_revokes(tmp_path: Path) -> None:
    """A process stopped between issuing a lease and starting its child exits through the
    exit hook (status 128 + 15), which revokes the lease."""
    revoked = tmp_path / "revoked"
    script = f"""
import os, pathlib, signal
from vaultline.resolve.leases import LEASES, Lease
class Issuer:
    def renew_lease(self, lease_id, increment): return float(increment)
    def revoke_lease(self, lease_id): pathlib.Path({str(revoked)!r}).write_text(lease_id)
LEASES.add("r", Lease("l-1", 30, True, "pgdyn:database/creds/r", {{}}, Issuer(), 0.0, 30))
os.kill(os.getpid(), signal.SIGTERM)
signal.pause()
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    assert revoked.read_text() == "l-1"


def test_signal_mode_without_files_is_refused_and_the_lease_revoked(
        bao: BaoServer, postgres: PostgresServer, tmp_path: Path) -> None:
    role = make_role(bao, "app-hup", ttl=30, max_ttl=60)
    root, env = project(tmp_path, bao, role)
    done = subprocess.run([VAULTLINE, "run", "--env", "dev", "--on-change", "signal:HUP", "--",
                           "true"], cwd=root, env=env, capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 2 and "add --files DIR" in done.stderr
    assert roles_like(postgres, role) == [] and leases(bao, role) == []


HUP_CHILD = """
import os, pathlib, signal, sys, time, psycopg
out = pathlib.Path(sys.argv[1])
hup = []
signal.signal(signal.SIGHUP, lambda *_: hup.append(1))
def login():
    user = pathlib.Path(os.environ["DB__USER_FILE"]).read_text()
    password = pathlib.Path(os.environ["DB__PASSWORD_FILE"]).read_text()
    with psycopg.connect(host="127.0.0.1", port=int(os.environ["PGPORT"]), dbname="postgres",
                         user=user, password=password, connect_timeout=5) as conn:
        return conn.execute("select current_user").fetchone()[0]
with open(out, "a") as f:
    f.write(login() + "\\n")
deadline = time.monotonic() + 12
while time.monotonic() < deadline:
    if hup:
        hup.clear()
        with open(out, "a") as f:
            f.write(login() + "\\n")
    time.sleep(0.05)
"""


def test_signal_mode_rewrites_the_files_with_new_credentials(
        bao: BaoServer, postgres: PostgresServer, tmp_path: Path) -> None:
    role = make_role(bao, "app-files", ttl=2, max_ttl=5)
    root, env = project(tmp_path, bao, role)
    out = tmp_path / "user.txt"
    proc = subprocess.Popen(
        [VAULTLINE, "run", "--env", "dev", "--files", str(tmp_path / "secrets"),
         "--on-change", "signal:HUP", "--", sys.executable, "-c", HUP_CHILD, str(out)],
        cwd=root, env={**env, "PGPORT": str(postgres.port)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        users = wait_for(lambda: out.exists() and len(set(out.read_text().split())) >= 2 and
                         out.read_text().split(), "a login with the rewritten files", timeout=12)
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert users[0] != users[1]  # the same child, logged in as the new user after SIGHUP
    assert roles_like(postgres, role) == [] and leases(bao, role) == []
