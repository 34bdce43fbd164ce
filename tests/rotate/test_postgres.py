"""PostgreSQL credentials against a real server: alternating roles, retire, verify, emergency."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from tests.factory import FakeClock
from tests.rotate.conftest import OpenRotator, pg_project
from tests.servers import PostgresServer
from vaultline.errors import ConfigError
from vaultline.rotate import RotationError, State, Step
from vaultline.rotate.postgres import can_log_in, parse_credential

KEY = "ConnectionStrings:Primary"
PATH = "nexus-engine/prod/ConnectionStrings/Primary"


def _cred(rotator_store: object, version: int | None = None) -> dict[str, object]:
    text = rotator_store.get(PATH, version).text()  # type: ignore[attr-defined]
    return parse_credential(text, PATH)


def _logs_in(postgres: PostgresServer, cred: dict[str, object]) -> bool:
    try:
        with psycopg.connect(postgres.dsn_for(str(cred["username"]), str(cred["password"]))):
            return True
    except psycopg.OperationalError:
        return False


def test_alternating_users_keep_the_replaced_role_for_the_grace_then_retire_it(
        tmp_path: Path, postgres: PostgresServer, master_key: dict[str, str],
        open_rotator: OpenRotator, real_now_clock: FakeClock) -> None:
    root = pg_project(tmp_path, postgres, master_key, users="[alt_a, alt_b]")
    rotator = open_rotator(root, clock=real_now_clock)
    first = rotator.run(KEY)
    cred_a = _cred(rotator.store)
    assert (first.new_user, first.old_user, cred_a["username"]) == ("alt_a", None, "alt_a")
    assert _logs_in(postgres, cred_a)
    real_now_clock.advance(hours=2)
    rotator.retire(KEY)
    second = rotator.run(KEY)
    cred_b = _cred(rotator.store)
    assert (second.new_user, second.old_user) == ("alt_b", "alt_a")
    assert _logs_in(postgres, cred_b) and _logs_in(postgres, cred_a)  # both during the grace
    valid_until = postgres.execute("SELECT rolvaliduntil FROM pg_roles WHERE rolname = 'alt_a'")
    assert valid_until[0][0] is not None  # the replaced role expires by itself
    with pytest.raises(RotationError, match="grace"):
        rotator.run(KEY)  # would re-key alt_a, still in use
    real_now_clock.advance(hours=2)
    assert rotator.retire(KEY).state == State.DONE
    assert not _logs_in(postgres, cred_a)  # the old password fails after retire
    assert _logs_in(postgres, cred_b)
    assert json.loads(rotator.store.get(PATH).text())["url"].startswith("postgresql://alt_b:")


def test_no_cleartext_password_reaches_the_server_log(
        tmp_path: Path, postgres: PostgresServer, master_key: dict[str, str],
        open_rotator: OpenRotator, real_now_clock: FakeClock) -> None:
    root = pg_project(tmp_path, postgres, master_key, users="[log_a, log_b]")
    rotator = open_rotator(root, clock=real_now_clock)
    rotator.run(KEY)
    password = str(_cred(rotator.store)["password"])
    log = postgres.log_path.read_text(errors="replace")
    assert 'ALTER ROLE "log_a" LOGIN PASSWORD \'SCRAM-SHA-256$' in log  # statements are logged
    assert password not in log


def test_verify_catches_a_password_changed_behind_vaultlines_back(
        tmp_path: Path, postgres: PostgresServer, master_key: dict[str, str],
        open_rotator: OpenRotator, real_now_clock: FakeClock) -> None:
    root = pg_project(tmp_path, postgres, master_key, users="[ver_a, ver_b]")
    rotator = open_rotator(root, clock=real_now_clock)
    rotator.run(KEY)
    assert [v.ok for v in rotator.verify(KEY)] == [True]
    postgres.execute("ALTER ROLE ver_a PASSWORD 'changed-by-someone-else'")
    [result] = rotator.verify(KEY)
    assert not result.ok and "password authentication failed" in (result.problem or "")


def test_emergency_rotation_ends_the_old_sessions_and_needs_a_ticket_and_approver(
        tmp_path: Path, postgres: PostgresServer, master_key: dict[str, str],
        open_rotator: OpenRotator, real_now_clock: FakeClock) -> None:
    root = pg_project(tmp_path, postgres, master_key, users="[em_a, em_b]")
    rotator = open_rotator(root, clock=real_now_clock)
    rotator.run(KEY)
    old = _cred(rotator.store)
    session = psycopg.connect(postgres.dsn_for(str(old["username"]), str(old["password"])),
                              autocommit=True)
    with pytest.raises(ConfigError, match="--ticket"):
        rotator.run(KEY, emergency=True)
    with pytest.raises(ConfigError, match="--approved-by"):
        rotator.run(KEY, emergency=True, ticket="INC-1")
    with pytest.raises(ConfigError, match="someone other"):
        rotator.run(KEY, emergency=True, ticket="INC-1", approved_by=rotator.session.audit.actor)
    rotation = rotator.run(KEY, emergency=True, ticket="INC-1", approved_by="oncall-lead")
    assert rotation.state == State.DONE and Step.RETIRE in rotation.steps
    with pytest.raises(psycopg.OperationalError):
        session.execute("SELECT 1")  # the old session was terminated
    assert not _logs_in(postgres, old)
    assert _logs_in(postgres, _cred(rotator.store))
    events = list(rotator.session.audit.show(key=KEY, action="rotate"))
    emergency = [e for e in events if (e.detail or {}).get("step") == "emergency"]
    assert emergency and emergency[0].detail and emergency[0].detail["ticket"] == "INC-1"
    retired = [e for e in events if (e.detail or {}).get("step") == "retire"]
    assert retired[-1].detail and retired[-1].detail["sessions_ended"] >= 1


def test_a_failing_test_step_changes_nothing(
        tmp_path: Path, postgres: PostgresServer, master_key: dict[str, str],
        open_rotator: OpenRotator, real_now_clock: FakeClock) -> None:
    root = pg_project(tmp_path, postgres, master_key, users="[ft_a, ft_b]")
    rotator = open_rotator(root, clock=real_now_clock)
    rotator.run(KEY)
    before = rotator.store.get(PATH)
    real_now_clock.advance(hours=2)
    postgres.execute("REVOKE CONNECT ON DATABASE postgres FROM PUBLIC")  # new logins refused
    try:
        with pytest.raises(RotationError, match="at test, before publish; nothing was changed"):
            rotator.run(KEY)
    finally:
        postgres.execute("GRANT CONNECT ON DATABASE postgres TO PUBLIC")
    after = rotator.store.get(PATH)
    assert after.version == before.version
    assert can_log_in(parse_credential(after.text(), PATH)) is None
    assert rotator.latest(KEY).state == State.ABORTED  # type: ignore[union-attr]

