"""Real servers for integration tests and benchmarks: OpenBao (dev and Raft) and moto_server.

Session fixtures in ``tests/conftest.py`` wrap these; ``bench/`` scripts import them directly.
Every server binds a free loopback port, is waited on until healthy, and is stopped (its
whole process group) afterwards. A server that does not come up raises ``ServerStartError``
with the tail of its log: tests treat that as a failure, never as a skip.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

START_TIMEOUT = 30.0


class ServerStartError(RuntimeError):
    """A test server did not start; the message carries the end of its log."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def executable(name: str) -> str:
    """A console script of this venv first (tests run without the venv on PATH), then PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise ServerStartError(f"{name!r} is not installed: pip install -e '.[test]'")
    return found


def http_json(
    method: str, url: str, *, token: str | None = None, body: Mapping[str, Any] | None = None,
    timeout: float = 5.0,
) -> tuple[int, Any]:
    """One HTTP call with the standard library: server setup must not depend on the code under test."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if token:
        request.add_header("X-Vault-Token", token)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    return status, (json.loads(raw) if raw.strip() else None)


@dataclass
class ManagedProcess:
    """A child process in its own process group, with its output in a log file."""

    argv: list[str]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        try:
            self.popen = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env={**os.environ, **self.env}, cwd=self.cwd, start_new_session=True,
            )
        finally:
            log.close()

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def kill(self) -> None:
        """Hard stop (SIGKILL): what a crashed node looks like to its clients."""
        self._signal(signal.SIGKILL)

    def stop(self, timeout: float = 10.0) -> None:
        if not self.running:
            return
        self._signal(signal.SIGTERM)
        try:
            assert self.popen is not None
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def _signal(self, sig: signal.Signals) -> None:
        if self.popen is None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)
        with suppress(subprocess.TimeoutExpired):
            self.popen.wait(10)


def wait_until(ready: Any, process: ManagedProcess, what: str, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.running:
            raise ServerStartError(f"{what} exited during startup:\n{process.log_tail()}")
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise ServerStartError(f"{what} did not become ready in {timeout:.0f}s:\n{process.log_tail()}")


# --------------------------------------------------------------------------- OpenBao


@dataclass
class BaoServer:
    """An OpenBao server as tests see it: its URL, a root token and the process behind it."""

    url: str
    token: str
    process: ManagedProcess
    home: Path

    @property
    def env(self) -> dict[str, str]:
        """Environment for the ``bao`` CLI or for vaultline's token auth against this server."""
        return {"BAO_ADDR": self.url, "VAULT_ADDR": self.url, "BAO_TOKEN": self.token,
                "VAULT_TOKEN": self.token}

    def api(self, method: str, path: str, body: Mapping[str, Any] | None = None,
            token: str | None = None) -> Any:
        """Call ``/v1/<path>`` as root (or ``token``); raises on any non-2xx answer."""
        status, payload = http_json(method, f"{self.url}/v1/{path.lstrip('/')}",
                                    token=token or self.token, body=body)
        if status >= 300:
            raise RuntimeError(f"{method} {path}: HTTP {status}: {payload}")
        return payload

    def bao(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [executable("bao"), *args], capture_output=True, text=True, check=check,
            env={**os.environ, "HOME": str(self.home), **self.env},
        )

    def stop(self) -> None:
        self.process.stop()


def _bao_healthy(url: str) -> bool:
    status, _ = http_json("GET", f"{url}/v1/sys/health", timeout=1.0)
    return status == 200


def enable_kv2(server: BaoServer, mount: str = "kv") -> None:
    """Mount KV v2 at ``mount`` and wait until it accepts writes (the mount upgrades async)."""
    server.api("POST", f"sys/mounts/{mount}", {"type": "kv", "options": {"version": "2"}})
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        status, payload = http_json("POST", f"{server.url}/v1/{mount}/data/.ready",
                                    token=server.token, body={"data": {"ok": "1"}})
        if status < 300:
            http_json("DELETE", f"{server.url}/v1/{mount}/metadata/.ready", token=server.token)
            return
        if time.monotonic() > deadline:
            raise ServerStartError(f"KV v2 mount {mount!r} never became writable: {payload}")
        time.sleep(0.05)


def start_bao_dev(workdir: Path, *, root_token: str | None = None, kv_mount: str | None = "kv",
                  attempts: int = 3) -> BaoServer:
    """``bao server -dev`` on a free loopback port, healthy, with a KV v2 mount."""
    token = root_token or f"root-{secrets.token_hex(8)}"
    home = workdir / "home"
    home.mkdir(parents=True, exist_ok=True)
    last: ServerStartError | None = None
    for attempt in range(attempts):  # a free port can be taken between probe and bind
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        process = ManagedProcess(
            [executable("bao"), "server", "-dev", f"-dev-root-token-id={token}",
             f"-dev-listen-address=127.0.0.1:{port}", "-dev-no-store-token", "-log-level=warn"],
            workdir / f"bao-dev-{attempt}.log", env={"HOME": str(home)},
        )
        process.start()
        try:
            wait_until(lambda u=url: _bao_healthy(u), process, f"bao dev server on {url}")
        except ServerStartError as exc:
            process.stop()
            last = exc
            continue
        server = BaoServer(url=url, token=token, process=process, home=home)
        if kv_mount:
            try:
                enable_kv2(server, kv_mount)
            except Exception:
                server.stop()
                raise
        return server
    assert last is not None
    raise last


@contextmanager
def bao_dev(workdir: Path, **kwargs: Any) -> Iterator[BaoServer]:
    server = start_bao_dev(workdir, **kwargs)
    try:
        yield server
    finally:
        server.stop()


# --------------------------------------------------------------------------- moto


FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    # Never read the developer's real profile or credentials files during tests.
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
}


@dataclass
class MotoServer:
    endpoint_url: str
    process: ManagedProcess

    @property
    def url(self) -> str:
        return self.endpoint_url

    def reset(self) -> None:
        """Forget every resource (all services) — for tests that need an empty account."""
        http_json("POST", f"{self.endpoint_url}/moto-api/reset")

    def stop(self) -> None:
        self.process.stop()


def _moto_ready(url: str) -> bool:
    status, _ = http_json("GET", f"{url}/moto-api/data.json", timeout=1.0)
    return status == 200


def start_moto(workdir: Path, attempts: int = 3) -> MotoServer:
    last: ServerStartError | None = None
    for attempt in range(attempts):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        process = ManagedProcess([executable("moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                                 workdir / f"moto-{attempt}.log", env=FAKE_AWS_ENV)
        process.start()
        try:
            wait_until(lambda u=url: _moto_ready(u), process, f"moto_server on {url}")
        except ServerStartError as exc:
            process.stop()
            last = exc
            continue
        return MotoServer(endpoint_url=url, process=process)
    assert last is not None
    raise last


@contextmanager
def moto(workdir: Path) -> Iterator[MotoServer]:
    server = start_moto(workdir)
    try:
        yield server
    finally:
        server.stop()


# --------------------------------------------------------------------------- OpenBao Raft cluster


@dataclass
class RaftCluster:
    nodes: list[BaoServer]
    unseal_key: str = field(repr=False)

    @property
    def token(self) -> str:
        return self.nodes[0].token

    @property
    def urls(self) -> list[str]:
        return [n.url for n in self.nodes]

    def any_live(self) -> BaoServer:
        return next(n for n in self.nodes if n.process.running)

    def leader(self) -> BaoServer:
        answer = self.any_live().api("GET", "sys/leader")
        return next(n for n in self.nodes if n.url == answer["leader_address"].rstrip("/"))

    def voters(self) -> int:
        config = self.any_live().api("GET", "sys/storage/raft/configuration")["data"]["config"]
        return sum(1 for s in config["servers"] if s.get("voter"))

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


_RAFT_CONFIG = """
storage "raft" {{
  path = "{data}"
  node_id = "{node_id}"
  performance_multiplier = 1
}}
listener "tcp" {{
  address = "127.0.0.1:{api}"
  cluster_address = "127.0.0.1:{cluster}"
  tls_disable = true
}}
api_addr = "http://127.0.0.1:{api}"
cluster_addr = "https://127.0.0.1:{cluster}"
disable_mlock = true
"""


def _health_status(url: str) -> int:
    return http_json("GET", f"{url}/v1/sys/health", timeout=1.0)[0]


def start_raft_cluster(workdir: Path, size: int = 3, timeout: float = 60.0) -> RaftCluster:
    """``size`` OpenBao nodes with integrated (Raft) storage: init, unseal, join, all voters."""
    nodes: list[BaoServer] = []
    try:
        for i in range(size):
            api, cluster = free_port(), free_port()
            home = workdir / f"node{i}"
            (home / "data").mkdir(parents=True)
            config = home / "config.hcl"
            config.write_text(_RAFT_CONFIG.format(data=home / "data", node_id=f"node{i}", api=api,
                                                  cluster=cluster))
            process = ManagedProcess([executable("bao"), "server", f"-config={config}", "-log-level=warn"],
                                     home / "bao.log", env={"HOME": str(home)})
            process.start()
            url = f"http://127.0.0.1:{api}"
            wait_until(lambda u=url: _health_status(u) in (200, 429, 472, 473, 501, 503), process,
                       f"raft node {i} on {url}")
            nodes.append(BaoServer(url=url, token="", process=process, home=home))

        first = nodes[0]
        status, init = http_json("PUT", f"{first.url}/v1/sys/init", body={"secret_shares": 1,
                                                                          "secret_threshold": 1})
        if status != 200:
            raise ServerStartError(f"bao operator init failed: HTTP {status}: {init}")
        key, token = init["keys_base64"][0], init["root_token"]
        for node in nodes:
            node.token = token
        http_json("PUT", f"{first.url}/v1/sys/unseal", body={"key": key})
        wait_until(lambda: _health_status(first.url) == 200, first.process, "raft leader", timeout)
        # Autopilot waits 10 s of stability before promoting a joined node to voter; a test
        # cluster on loopback is stable at once.
        first.api("POST", "sys/storage/raft/autopilot/configuration", {"server_stabilization_time": "2s"})
        for node in nodes[1:]:
            status, answer = http_json("PUT", f"{node.url}/v1/sys/storage/raft/join",
                                       body={"leader_api_addr": first.url})
            if status != 200 or not answer.get("joined"):
                raise ServerStartError(f"raft join of {node.url} failed: HTTP {status}: {answer}")
            http_json("PUT", f"{node.url}/v1/sys/unseal", body={"key": key})
            wait_until(lambda n=node: _health_status(n.url) == 429, node.process,  # 429: standby
                       f"raft standby {node.url}", timeout)
        result = RaftCluster(nodes, key)
        enable_kv2(first, "kv")
        deadline = time.monotonic() + timeout
        while result.voters() < size:  # autopilot promotes joined nodes after stabilising
            if time.monotonic() > deadline:
                raise ServerStartError(f"only {result.voters()} of {size} raft voters after {timeout:.0f}s")
            time.sleep(0.25)
        return result
    except BaseException:
        for node in nodes:
            node.stop()
        raise


@contextmanager
def raft_cluster(workdir: Path, size: int = 3) -> Iterator[RaftCluster]:
    cluster = start_raft_cluster(workdir, size)
    try:
        yield cluster
    finally:
        cluster.stop()


# --------------------------------------------------------------------------- PostgreSQL


PG_BIN_DIRS = ("/usr/lib/postgresql/15/bin", "/usr/local/bin")


def pg_binary(name: str) -> str:
    """A PostgreSQL server binary (Debian keeps them off PATH, under /usr/lib/postgresql)."""
    for directory in PG_BIN_DIRS:
        candidate = Path(directory) / name
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise ServerStartError(f"{name!r} is not installed: apt-get install postgresql")
    return found


def _as_postgres(argv: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the ``postgres`` user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


@dataclass
class PostgresServer:
    """A throw-away PostgreSQL cluster: a superuser ``admin`` with a password, on loopback.

    ``dsn`` connects as that superuser (what a rotation's admin credential is); ``create_role``
    makes login roles for tests; ``log_path`` is the server log (every statement is logged,
    so tests can prove what never reached the server).
    """

    host: str
    port: int
    admin_user: str
    admin_password: str = field(repr=False)
    dbname: str
    process: ManagedProcess
    data_dir: Path
    home: Path  # removed when the server stops

    @property
    def dsn(self) -> str:
        return self.dsn_for(self.admin_user, self.admin_password)

    def dsn_for(self, user: str, password: str, dbname: str | None = None) -> str:
        return (f"host={self.host} port={self.port} dbname={dbname or self.dbname} "
                f"user={user} password={password} connect_timeout=5")

    @property
    def log_path(self) -> Path:
        return self.process.log_path

    def execute(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one statement as the superuser (autocommit); the rows it returned, if any."""
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            cursor = conn.execute(statement.encode(), params)  # type: ignore[call-overload]
            return list(cursor.fetchall()) if cursor.description else []

    def create_role(self, name: str, password: str | None = None, *, login: bool = True) -> str:
        """A role (dropped first if it exists); returns its name. ``password`` None: none set."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE ROLE {} {} PASSWORD {}").format(
                sql.Identifier(name), sql.SQL("LOGIN" if login else "NOLOGIN"),
                sql.Literal(password)))
        return name

    def stop(self) -> None:
        subprocess.run(_as_postgres([pg_binary("pg_ctl"), "stop", "-D", str(self.data_dir),
                                     "-m", "immediate", "-s"]), capture_output=True, check=False)
        self.process.stop()
        shutil.rmtree(self.home, ignore_errors=True)


def start_postgres(workdir: Path, attempts: int = 3) -> PostgresServer:
    """``initdb`` + ``postgres`` on a free loopback port, fsync off (~1 s); logs in ``workdir``.

    The cluster lives in its own directory under the system temp dir, owned by the
    ``postgres`` user: pytest's temp root is private to root (and re-made so by every run).
    """
    import shlex
    import tempfile

    workdir.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="vaultline-pg-"))
    os.chmod(home, 0o700)
    if os.geteuid() == 0:
        shutil.chown(home, "postgres", "postgres")
    data = home / "data"
    password = secrets.token_urlsafe(18)
    pwfile = home / "pwfile"
    pwfile.write_text(password + "\n")
    os.chmod(pwfile, 0o600)
    if os.geteuid() == 0:
        shutil.chown(pwfile, "postgres")
    init = subprocess.run(
        _as_postgres([pg_binary("initdb"), "-D", str(data), "-U", "admin", "-A", "scram-sha-256",
                      f"--pwfile={pwfile}", "--no-sync", "-E", "UTF8", "--locale=C"]),
        capture_output=True, text=True, check=False)
    pwfile.unlink()
    if init.returncode != 0:
        shutil.rmtree(home, ignore_errors=True)
        raise ServerStartError(f"initdb failed:\n{init.stdout[-2000:]}{init.stderr[-2000:]}")
    last: ServerStartError | None = None
    for attempt in range(attempts):
        port = free_port()
        options = {"listen_addresses": "127.0.0.1", "port": str(port), "fsync": "off",
                   "synchronous_commit": "off", "full_page_writes": "off",
                   "unix_socket_directories": str(home), "log_statement": "all",
                   "max_connections": "100", "password_encryption": "scram-sha-256"}
        argv = [pg_binary("postgres"), "-D", str(data),
                *[arg for name, value in options.items() for arg in ("-c", f"{name}={value}")]]
        log = workdir / f"postgres-{attempt}.log"
        process = ManagedProcess(_as_postgres(argv), log)
        process.start()
        server = PostgresServer("127.0.0.1", port, "admin", password, "postgres", process, data,
                                home)

        def ready(server: PostgresServer = server) -> bool:
            probe = subprocess.run([pg_binary("pg_isready"), "-q", "-h", server.host, "-p",
                                    str(server.port)], capture_output=True, check=False)
            return probe.returncode == 0

        try:
            wait_until(ready, process, f"postgres on port {port} ({shlex.join(argv[:1])})")
        except ServerStartError as exc:
            process.stop()
            last = exc
            continue
        return server
    shutil.rmtree(home, ignore_errors=True)
    assert last is not None
    raise last


@contextmanager
def postgres_cluster(workdir: Path) -> Iterator[PostgresServer]:
    server = start_postgres(workdir)
    try:
        yield server
    finally:
        server.stop()
