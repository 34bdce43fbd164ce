"""Break-glass overrides: policy, expiry on a fake clock, revocation, env-var overrides, audit."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.factory import FakeClock, make_project
from vaultline.errors import OverrideError
from vaultline.project import Project
from vaultline.session import Session
from vaultline.store import EmbeddedStore


@pytest.fixture
def root(tmp_path: Path, master_key: dict[str, str]) -> Path:
    make_project(tmp_path, {
        "vaultline.yaml": """
            app: nexus-engine
            environments:
              dev: {allow_env_overrides: true, env_override_prefix: NEXUS_}
              prod: {protected: true, max_override_ttl: 4h}
            defaults:
              Logging:Level: Information
            schema:
              ConnectionStrings:Primary: {secret: true}
        """,
        "env/prod/secrets.yaml": "ConnectionStrings:Primary: local\n",
        "env/dev/secrets.yaml": "ConnectionStrings:Primary: local\n",
    }, environ=master_key)
    store = EmbeddedStore.open(tmp_path / ".vaultline")
    store.put("nexus-engine/prod/ConnectionStrings/Primary", b"postgres://primary")
    store.put("nexus-engine/dev/ConnectionStrings/Primary", b"postgres://dev")
    store.close()
    return tmp_path


def session(root: Path, env: str, clock: FakeClock, environ: dict[str, str] | None = None) -> Session:
    import os

    return Session(Project.load(root), env, clock=clock, environ={**os.environ, **(environ or {})})


GOOD = {"reason": "failover", "approved_by": "alice", "ticket": "INC-1"}


@pytest.mark.parametrize(
    ("env", "ttl", "fields", "message"),
    [
        ("prod", timedelta(hours=5), GOOD, "--ttl 5h is above prod's max_override_ttl of 4h"),
        ("prod", timedelta(hours=1), {**GOOD, "ticket": ""}, "prod is protected: an override needs --ticket"),
        ("prod", timedelta(hours=1), {}, "needs --reason, --approved-by, --ticket"),
        ("dev", timedelta(0), {}, "--ttl must be positive"),
        ("dev", timedelta(hours=1), {}, None),
        ("prod", timedelta(hours=4), GOOD, None),
    ],
)
def test_policy(root: Path, env: str, ttl: timedelta, fields: dict[str, str], message: str | None) -> None:
    with session(root, env, FakeClock(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))) as s:
        if message is None:
            assert s.overrides.set(env, "Logging:Level", "Debug", ttl=ttl, actor="t", **fields).id
        else:
            with pytest.raises(OverrideError, match=message):
                s.overrides.set(env, "Logging:Level", "Debug", ttl=ttl, actor="t", **fields)


def test_applies_until_expiry_then_is_ignored_and_destroyed(root: Path) -> None:
    clock = FakeClock(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
    with session(root, "prod", clock) as s:
        made = s.overrides.set("prod", "ConnectionStrings:Primary", "postgres://replica",
                               ttl=timedelta(hours=2), actor="alice@host", **GOOD)
        bundle = s.resolve()
        assert bundle["ConnectionStrings:Primary"] == "postgres://replica"
        explanation = bundle.explain("ConnectionStrings:Primary")
        assert explanation.winner.provenance.source == f"override {made.id}"
        assert explanation.winner.secret  # an override of a secret stays masked
        assert [c.value for c in explanation.shadowed] == ["postgres://primary"]

        clock.advance(hours=2, seconds=1)
        bundle = s.resolve()
        assert bundle["ConnectionStrings:Primary"] == "postgres://primary"
        assert bundle.warnings == [f"override {made.id} for ConnectionStrings:Primary expired at "
                                   f"{made.expires}; ignored"]
        assert s.overrides.get("prod", made.id).state == "expired"
        assert s.overrides.get("prod", made.id).value is None
        assert s.resolve().warnings == []  # warned once, when it expired
        raw = b"".join(p.read_bytes() for p in (root / ".vaultline").rglob("*") if p.is_file())
        assert b"postgres://replica" not in raw
        actions = [json.loads(line)["action"] for line in
                   (root / ".vaultline" / "audit.log").read_text().splitlines()]
        assert actions.count("override.apply") == 1
        assert actions.count("override.expire") == 1
        assert s.audit.verify().ok


def test_revoke(root: Path) -> None:
    clock = FakeClock(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
    with session(root, "dev", clock) as s:
        made = s.overrides.set("dev", "Logging:Level", "Trace", ttl=timedelta(hours=1), actor="t")
        assert s.resolve()["Logging:Level"] == "Trace"
        s.overrides.revoke("dev", made.id)
        assert s.resolve()["Logging:Level"] == "Information"
        with pytest.raises(OverrideError, match="already revoked"):
            s.overrides.revoke("dev", made.id)
        with pytest.raises(OverrideError, match="no override 'nope'"):
            s.overrides.revoke("dev", "nope")


def test_env_var_overrides_only_where_allowed_and_never_secrets(root: Path) -> None:
    environ = {"NEXUS_LOGGING__LEVEL": "Debug", "NEXUS_CONNECTIONSTRINGS__PRIMARY": "evil"}
    with session(root, "dev", FakeClock(datetime(2026, 11, 24, 12, 0, tzinfo=UTC)), environ) as s:
        bundle = s.resolve()
        assert bundle["Logging:Level"] == "Debug"
        assert bundle.resolved("Logging:Level").provenance.source == "env NEXUS_LOGGING__LEVEL"
        assert bundle["ConnectionStrings:Primary"] == "postgres://dev"
        assert any("NEXUS_CONNECTIONSTRINGS__PRIMARY ignored" in w for w in bundle.warnings)
    with session(root, "prod", FakeClock(datetime(2026, 11, 24, 12, 0, tzinfo=UTC)), environ) as s:  # prod does not allow them
        assert s.resolve().resolved("Logging:Level").provenance.source.endswith("env/prod/values.yaml:1")


def test_a_secret_shadowed_by_an_override_is_still_audited_as_read(root: Path) -> None:
    with session(root, "prod", FakeClock(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))) as s:
        s.overrides.set("prod", "ConnectionStrings:Primary", "postgres://replica",
                        ttl=timedelta(hours=1), actor="alice", **GOOD)
        s.resolve()
    lines = [json.loads(line) for line in (root / ".vaultline" / "audit.log").read_text().splitlines()]
    reads = [(e["action"], e["key"], e["reference"]) for e in lines if e["action"] == "read"]
    assert reads == [("read", "ConnectionStrings:Primary",
                      "local:nexus-engine/prod/ConnectionStrings/Primary")]
    assert [e["action"] for e in lines].count("override.apply") == 1
