"""The PostgreSQL fixture: a real cluster, reachable with its admin DSN, roles made on demand."""

from __future__ import annotations

import psycopg
import pytest

from tests.servers import PostgresServer


def test_admin_connects_and_roles_log_in(postgres: PostgresServer) -> None:
    assert postgres.execute("SELECT current_user") == [("admin",)]
    postgres.create_role("fixture_probe", "probe-pass-1")
    with psycopg.connect(postgres.dsn_for("fixture_probe", "probe-pass-1")) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("fixture_probe",)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(postgres.dsn_for("fixture_probe", "wrong"))
