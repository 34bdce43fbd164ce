"""PostgreSQL roles as a rotation target: re-key a role, test it, end the replaced one.

The new password reaches the server only as a SCRAM-SHA-256 verifier computed here, by
libpq (``PQencryptPasswordConn``): ``ALTER ROLE`` statements land in server logs, and a
verifier there does not reveal the password. A credential is a JSON map with ``username``,
``password``, ``host``, ``port``, ``dbname`` and ``url``, so packs pick ``#password`` or ``#url``.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from vaultline._limits import parse_json
from vaultline.errors import MissingExtraError, RotationError

if TYPE_CHECKING:
    import psycopg

CONNECT_TIMEOUT = 10


def credential(username: str, password: str, host: str, port: int, dbname: str) -> str:
    """The JSON map stored for a database credential."""
    quote = urllib.parse.quote
    url = f"postgresql://{quote(username, safe='')}:{quote(password, safe='')}@{host}:{port}/" \
          f"{quote(dbname, safe='')}"
    return json.dumps({"username": username, "password": password, "host": host, "port": port,
                       "dbname": dbname, "url": url}, separators=(",", ":"))


def parse_credential(text: str, what: str) -> dict[str, Any]:
    """A stored credential as a map; a ``url`` alone is split into its fields."""
    try:
        data = parse_json(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise RotationError(f"{what} is not a JSON credential map (username, password, host, "
                            "port, dbname or url)")
    if "url" in data and "username" not in data:
        parts = urllib.parse.urlsplit(str(data["url"]))
        data.update(username=urllib.parse.unquote(parts.username or ""),
                    password=urllib.parse.unquote(parts.password or ""),
                    host=parts.hostname, port=parts.port or 5432,
                    dbname=parts.path.lstrip("/") or "postgres")
    missing = [f for f in ("username", "password", "host") if not data.get(f)]
    if missing:
        raise RotationError(f"{what} lacks {', '.join(missing)}")
    data.setdefault("port", 5432)
    data.setdefault("dbname", "postgres")
    return data


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise MissingExtraError("PostgreSQL rotation", "postgres") from None
    return psycopg


def _connect(cred: Mapping[str, Any]) -> psycopg.Connection[Any]:
    driver = _psycopg()
    try:
        conn: psycopg.Connection[Any] = driver.connect(
            host=cred["host"], port=int(cred["port"]), dbname=cred["dbname"],
            user=cred["username"], password=cred["password"], connect_timeout=CONNECT_TIMEOUT,
            autocommit=True)
    except driver.Error as exc:
        # libpq's message names host and user, never the password.
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise RotationError(f"cannot log in to {cred['host']}:{cred['port']} as "
                            f"{cred['username']!r}: {reason}") from None
    return conn


def can_log_in(cred: Mapping[str, Any]) -> str | None:
    """None if the credential logs in (and runs a query); otherwise why not."""
    try:
        with _connect(cred) as conn:
            conn.execute("SELECT 1")
    except RotationError as exc:
        return str(exc)
    return None


class Admin:
    """A superuser (or CREATEROLE) session that re-keys and retires roles.

    One connection serves every statement of a rotation; ``close`` ends it.
    """

    def __init__(self, cred: Mapping[str, Any]):
        self.cred = cred
        self._conn: psycopg.Connection[Any] | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @contextmanager
    def _session(self) -> Iterator[psycopg.Connection[Any]]:
        if self._conn is None or self._conn.closed:
            self._conn = _connect(self.cred)
        errors = _psycopg().errors
        try:
            yield self._conn
        except errors.UndefinedObject:
            raise
        except _psycopg().Error as exc:
            self.close()
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise RotationError(f"PostgreSQL at {self.cred['host']}:{self.cred['port']} refused "
                                f"a statement: {reason}") from None

    def _alter(self, role: str, clause: str, *literals: Any) -> None:
        from psycopg import sql
        from psycopg.errors import UndefinedObject

        statement = sql.SQL("ALTER ROLE {} " + clause).format(sql.Identifier(role),
                                                              *map(sql.Literal, literals))
        try:
            with self._session() as conn:
                conn.execute(statement)
        except UndefinedObject:
            raise RotationError(f"role {role!r} does not exist on {self.cred['host']}; create it "
                                "with the same grants as its partner first") from None

    def set_password(self, role: str, password: str) -> None:
        """``ALTER ROLE … LOGIN PASSWORD '<SCRAM verifier>' VALID UNTIL 'infinity'``."""
        with self._session() as conn:
            verifier = conn.pgconn.encrypt_password(password.encode(), role.encode(),
                                                    b"scram-sha-256").decode()
        self._alter(role, "LOGIN PASSWORD {} VALID UNTIL 'infinity'", verifier)

    def expire_at(self, role: str, when: datetime) -> None:
        """The replaced role stops logging in by itself at ``when`` (the grace's end)."""
        self._alter(role, "VALID UNTIL {}", when.isoformat())

    def retire(self, role: str) -> None:
        """The role's password is removed: it cannot log in until it is re-keyed."""
        self._alter(role, "PASSWORD NULL")

    def end_sessions(self, role: str) -> int:
        """``pg_terminate_backend`` every open session of ``role``; how many were ended."""
        with self._session() as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s "
                "AND pid <> pg_backend_pid()", (role,)).fetchall()
        return sum(1 for (ended,) in rows if ended)
