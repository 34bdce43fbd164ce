"""Break-glass overrides: policy, two-person rule, expiry on a fake clock, revocation,
malformed records, env-var overrides, audit — through the library's Session."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.factory import FakeClock, make_project
from vaultline.errors import AuditError, OverrideError
from vaultline.project.model import Project
from vaultline.resolve.session import Session
from vaultline.store import EmbeddedStore

START = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


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
              Feature:Flag: {required: false}
        """,
        "env/prod/secrets.yaml": "ConnectionStrings:Primary: local\n",
        "env/dev/secrets.yaml": "ConnectionStrings:Primary: local\n",
        # A non-secret key that differs from the secret only in case: same env var name.
        "env/dev/values.yaml": "ConnectionStrings:primary: harmless\n",
    }, environ=master_key)
    store = EmbeddedStore.open(tmp_path / ".vaultline")
    store.put("nexus-engine/prod/ConnectionStrings/Primary", b"postgres://primary")
    store.put("nexus-engine/dev/ConnectionStrings/Primary", b"postgres://dev")
    store.close()
    return tmp_path


def session(root: Path, env: str, clock: FakeClock | None = None,
            environ: dict[str, str] | None = None, actor: str = "alice@host") -> Session:
    return Session(Project.load(root), env, clock=clock or FakeClock(START),
                   environ={**os.environ, **(environ or {})}, actor=actor)


def audit_lines(root: Path, *, intents: bool = False) -> list[dict[str, Any]]:
    """The audit events; a change's intent line (written before it) only when asked for."""
    log = root / ".vaultline" / "audit.log"
    found = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return [e for e in found if intents or e["outcome"] != "intent"]


GOOD = {"reason": "failover", "ticket": "INC-1"}
H = timedelta(hours=1)


@pytest.mark.parametrize(
    ("env", "how", "ttl", "fields", "message"),
    [
        ("prod", "request", 5 * H, GOOD, "--ttl 5h is above prod's max_override_ttl of 4h"),
        ("prod", "request", H, {**GOOD, "ticket": ""}, "prod is protected: an override needs --ticket"),
        ("prod", "request", H, {}, "needs --reason, --ticket"),
        ("prod", "set", H, {**GOOD, "approved_by": "bob"}, "prod is protected: an override needs a second person"),
        ("dev", "set", timedelta(0), {}, "--ttl must be positive"),
        ("dev", "set", 25 * H, {}, "--ttl 1d1h is above dev's default maximum of 1d"),
        ("dev", "set", timedelta(days=36500), {}, "above dev's default maximum"),
        ("dev", "set", 9999 * H, {}, "above dev's default maximum"),
        ("dev", "set", 24 * H, {}, None),
        ("prod", "request", 4 * H, GOOD, None),
    ],
)
def test_policy(root: Path, env: str, how: str, ttl: timedelta, fields: dict[str, str],
                message: str | None) -> None:
    with session(root, env) as s:
        call = s.set_override if how == "set" else s.request_override
        if message is None:
            assert call("Logging:Level", "Debug", ttl=ttl, **fields).id
        else:
            with pytest.raises(OverrideError, match=message):
                call("Logging:Level", "Debug", ttl=ttl, **fields)
            assert s.overrides.entries(env) == []


@pytest.mark.parametrize(("key", "message"), [
    ("Nope:Key", "Nope:Key is not a key of dev; an override replaces a value"),
    ("LD_PRELOAD", "LD_PRELOAD is not a key of dev"),
    ("PATH", "PATH is not a key of dev"),
    ("Feature:Flag", "Feature:Flag is not a key of dev"),  # in the schema, but with no value
    ("logging:level", "did you mean Logging:Level"),
    ("CONNECTIONSTRINGS:PRIMARY", "did you mean"),
    ("ConnectionStrings:primary", "same environment variable CONNECTIONSTRINGS__PRIMARY"),
])
def test_an_override_names_a_key_the_environment_has_exactly(root: Path, key: str,
                                                             message: str) -> None:
    with session(root, "dev") as s:
        with pytest.raises(OverrideError, match=message):
            s.set_override(key, "/tmp/evil.so", ttl=H)
        assert s.overrides.entries("dev") == []
    denied = [e for e in audit_lines(root) if e["action"] == "override.set"]
    assert [e["outcome"] for e in denied] == ["denied"]


@pytest.mark.parametrize("field", ["reason", "ticket", "approved_by"])
def test_a_failed_set_leaves_nothing_behind(root: Path, field: str) -> None:
    value = "postgres://app:pw-canary@replica/app"
    with session(root, "dev") as s:
        with pytest.raises(OverrideError, match="contains the override's value"):
            s.set_override("ConnectionStrings:Primary", value, ttl=H,
                           **{field: f"switch to {value}"})
        assert s.overrides.entries("dev") == []
        assert s.resolve()["ConnectionStrings:Primary"] == "postgres://dev"
    text = (root / ".vaultline" / "audit.log").read_text()
    assert value not in text and "pw-canary" not in text
    assert [(e["action"], e["outcome"]) for e in audit_lines(root)
            if e["action"].startswith("override")] == [("override.set", "denied")]


def test_an_override_whose_audit_line_fails_is_not_stored(root: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    with session(root, "dev") as s:
        def broken(action: str, **kwargs: object) -> None:
            raise AuditError("disk full")

        monkeypatch.setattr(s.audit, "record", broken)
        with pytest.raises(AuditError):
            s.set_override("Logging:Level", "Trace", ttl=H)
        monkeypatch.undo()
        assert s.overrides.entries("dev") == []
        assert s.resolve()["Logging:Level"] == "Information"


def test_an_override_is_stored_after_its_intent_and_removed_if_the_outcome_fails(
        root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A process killed between the store and the audit leaves the intent line: a stored
    override is never unaudited."""
    with session(root, "dev") as s:
        write = s.overrides.write
        seen: list[list[tuple[str, str]]] = []

        def watched(override: Any, *, cas: int | None) -> int:
            seen.append([(e["action"], e["outcome"]) for e in audit_lines(root, intents=True)])
            return write(override, cas=cas)

        monkeypatch.setattr(s.overrides, "write", watched)
        s.set_override("Logging:Level", "Trace", ttl=H)
        assert seen == [[("override.set", "intent")]]
        record = s.audit.record

        def outcome_fails(action: str, **kwargs: Any) -> Any:
            if kwargs.get("outcome", "ok") == "ok":
                raise AuditError("disk full")
            return record(action, **kwargs)

        monkeypatch.setattr(s.audit, "record", outcome_fails)
        with pytest.raises(AuditError):
            s.set_override("ConnectionStrings:Primary", "postgres://other", ttl=H)
        monkeypatch.undo()
        assert [o.value for o in s.overrides.entries("dev")] == ["Trace"]


def test_two_person_rule(root: Path) -> None:
    clock = FakeClock(START)
    with session(root, "prod", clock, actor="alice@host") as alice:
        asked = alice.request_override("ConnectionStrings:Primary", "postgres://replica",
                                       ttl=2 * H, **GOOD)
        assert asked.state == "pending"
        assert alice.resolve()["ConnectionStrings:Primary"] == "postgres://primary"
        with pytest.raises(OverrideError, match="a different identity must approve it"):
            alice.approve_override(asked.id)
    with session(root, "prod", clock, actor="bob@host") as bob:
        approved = bob.approve_override(asked.id)
        assert (approved.state, approved.approved_by) == ("active", "bob@host")
        bundle = bob.resolve()
        assert bundle["ConnectionStrings:Primary"] == "postgres://replica"
        assert bundle.resolved("ConnectionStrings:Primary").provenance.override_id == asked.id
        with pytest.raises(OverrideError, match="is active, not pending"):
            bob.approve_override(asked.id)
    events = [(e["action"], e["actor"], e["outcome"]) for e in audit_lines(root)
              if e["action"] in ("override.request", "override.approve")]
    assert events == [("override.request", "alice@host", "ok"),
                      ("override.approve", "alice@host", "denied"),
                      ("override.approve", "bob@host", "ok"),
                      ("override.approve", "bob@host", "denied")]


def test_a_request_cannot_be_approved_after_it_lapsed(root: Path) -> None:
    clock = FakeClock(START)
    with session(root, "prod", clock, actor="alice@host") as alice:
        asked = alice.request_override("Logging:Level", "Debug", ttl=H, **GOOD)
    clock.advance(hours=1, seconds=1)
    with session(root, "prod", clock, actor="bob@host") as bob:
        with pytest.raises(OverrideError, match=r"expired at .* before it was approved"):
            bob.approve_override(asked.id)
        assert bob.resolve()["Logging:Level"] == "Warning"  # env/prod/values.yaml


def test_applies_until_expiry_then_is_ignored_and_destroyed(root: Path) -> None:
    clock = FakeClock(START)
    with session(root, "prod", clock, actor="alice@host") as s:
        made = s.request_override("ConnectionStrings:Primary", "postgres://replica",
                                  ttl=2 * H, **GOOD)
    with session(root, "prod", clock, actor="bob@host") as s:
        s.approve_override(made.id)
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
        actions = [e["action"] for e in audit_lines(root)]
        assert actions.count("override.apply") == 1
        assert actions.count("override.expire") == 1
        assert s.audit.verify().ok


def test_revoke(root: Path) -> None:
    with session(root, "dev") as s:
        made = s.set_override("Logging:Level", "Trace", ttl=H)
        assert s.resolve()["Logging:Level"] == "Trace"
        s.revoke_override(made.id)
        assert s.resolve()["Logging:Level"] == "Information"
        with pytest.raises(OverrideError, match="already revoked"):
            s.revoke_override(made.id)
        with pytest.raises(OverrideError, match="no override 'nope'"):
            s.revoke_override("nope")
    assert [e["outcome"] for e in audit_lines(root)
            if e["action"] == "override.revoke"] == ["ok", "denied", "denied"]


def test_one_override_applies_to_a_key_at_a_time(root: Path) -> None:
    # Two at once: which value wins would be what neither person meant.
    clock = FakeClock(START)
    with session(root, "dev", clock) as s:
        first = s.set_override("Logging:Level", "Trace", ttl=H)
        with pytest.raises(OverrideError, match=f"already has override {first.id} in dev"):
            s.set_override("Logging:Level", "Debug", ttl=H)
        assert s.resolve()["Logging:Level"] == "Trace"
        s.set_override("ConnectionStrings:Primary", "postgres://other", ttl=H)  # another key
        s.revoke_override(first.id)
        assert s.set_override("Logging:Level", "Debug", ttl=H).state == "active"
        assert s.resolve()["Logging:Level"] == "Debug"
    with session(root, "prod", clock, actor="alice@host") as alice:
        one = alice.request_override("Logging:Level", "Debug", ttl=H, **GOOD)
        two = alice.request_override("Logging:Level", "Trace", ttl=H, **GOOD)  # pending: fine
    with session(root, "prod", clock, actor="bob@host") as bob:
        bob.approve_override(one.id)
        with pytest.raises(OverrideError, match=f"already has override {one.id} in prod"):
            bob.approve_override(two.id)
        assert bob.resolve()["Logging:Level"] == "Debug"
    assert [e["outcome"] for e in audit_lines(root) if e["action"] == "override.set"] == [
        "ok", "denied", "ok", "ok"]


@pytest.mark.parametrize("raw", [
    b"{not json", b"[]", b'{"id": "bad0"}',
    json.dumps({"id": "bad0", "env": "dev", "key": "Logging:Level", "value": "x", "secret": False,
                "created": "2026-11-24T12:00:00+00:00", "expires": 99, "actor": "m"}).encode(),
    json.dumps({"id": "bad0", "env": "dev", "key": "Logging:Level", "value": "x", "secret": False,
                "created": "2026-11-24T12:00:00+00:00", "expires": "soon", "actor": "m"}).encode(),
    json.dumps({"id": "bad0", "env": "dev", "key": "Logging:Level", "value": "x", "secret": False,
                "created": "2026-11-24T12:00:00+00:00", "expires": "9999-12-31T00:00:00+00:00",
                "actor": "m", "state": "forever"}).encode(),
])
def test_a_malformed_record_is_reported_not_fatal(root: Path, raw: bytes) -> None:
    with session(root, "dev") as s:
        good = s.set_override("Logging:Level", "Trace", ttl=H)
        s.require_store().records("overrides").put("dev/bad0", raw)
        bundle = s.resolve()
        assert bundle["Logging:Level"] == "Trace"  # the good override still applies
        assert any("override record dev/bad0 is unreadable" in w for w in bundle.warnings)
        assert s.revoke_override("bad0") is None
        assert s.resolve().warnings == []
        assert [o.id for o in s.overrides.entries("dev")] == [good.id]


def test_a_record_tampered_without_the_key_is_reported_and_revocable(root: Path) -> None:
    """Its ciphertext edited in store.db by someone without the master key: it fails
    authentication, which warns naming it, and ``revoke`` removes it (audited)."""
    with session(root, "dev") as s:
        bad = s.set_override("Logging:Level", "Trace", ttl=H)
        store = s.require_store()
    with closing(sqlite3.connect(store.directory / "store.db")) as db, db:
        db.execute("UPDATE records SET ciphertext = zeroblob(40) WHERE kind = 'overrides'")
    with session(root, "dev") as s:
        bundle = s.resolve()
        assert bundle["Logging:Level"] == "Information"  # the tampered override never applies
        [warning] = [w for w in bundle.warnings if "override record" in w]
        assert warning.startswith(f"override record dev/{bad.id} is unreadable (stored "
                                  "ciphertext failed authentication")
        assert f"'vaultline override revoke {bad.id} --env dev' removes it" in warning
        assert s.revoke_override(bad.id) is None
        assert s.resolve().warnings == []
    revoked = [e for e in audit_lines(root) if e["action"] == "override.revoke"]
    assert [(e["outcome"], e["detail"]["malformed"]) for e in revoked] == [("ok", True)]


def test_env_var_overrides_only_where_allowed_and_never_secrets(root: Path) -> None:
    environ = {"NEXUS_LOGGING__LEVEL": "Debug", "NEXUS_CONNECTIONSTRINGS__PRIMARY": "evil"}
    with session(root, "dev", environ=environ) as s:
        bundle = s.resolve()
        assert bundle["Logging:Level"] == "Debug"
        assert bundle.resolved("Logging:Level").provenance.source == "env NEXUS_LOGGING__LEVEL"
        assert bundle["ConnectionStrings:Primary"] == "postgres://dev"
        # The case-variant non-secret key shares the secret's variable: not overridable either.
        assert bundle["ConnectionStrings:primary"] == "harmless"
        assert [w for w in bundle.warnings if "NEXUS_CONNECTIONSTRINGS__PRIMARY ignored" in w]
    with session(root, "prod", environ=environ) as s:  # prod does not allow them
        level = s.resolve().resolved("Logging:Level")
        assert (level.value, level.provenance.layer.value) == ("Warning", "env-pack")


def test_a_secret_shadowed_by_an_override_is_still_audited_as_read(root: Path) -> None:
    with session(root, "dev") as s:
        s.set_override("ConnectionStrings:Primary", "postgres://replica", ttl=H)
        s.resolve()
    lines = audit_lines(root)
    reads = [(e["action"], e["key"], e["reference"]) for e in lines if e["action"] == "read"]
    assert reads == [("read", "ConnectionStrings:Primary",
                      "local:nexus-engine/dev/ConnectionStrings/Primary")]
    assert [e["action"] for e in lines].count("override.apply") == 1
    assert [e["action"] for e in lines].count("override.set") == 1


def test_a_ttl_that_ends_past_the_last_date_is_refused(tmp_path: Path,
                                                        master_key: dict[str, str]) -> None:
    make_project(tmp_path, {"vaultline.yaml": """
        app: nexus-engine
        environments:
          dev: {max_override_ttl: 2000000y}
        defaults:
          Logging:Level: Information
    """}, environ=master_key)
    with session(tmp_path, "dev") as s:
        with pytest.raises(OverrideError, match="ends after the last date a clock can show"):
            s.set_override("Logging:Level", "Debug", ttl=timedelta(days=365 * 999_999))
        assert s.overrides.entries("dev") == []
    assert [(e["action"], e["outcome"]) for e in audit_lines(tmp_path)] == [
        ("override.set", "denied")]


@pytest.mark.parametrize("field", ["reason", "ticket", "approved_by"])
def test_an_override_note_is_bounded(root: Path, field: str) -> None:
    with session(root, "dev") as s:
        assert s.set_override("Logging:Level", "Debug", ttl=H, **{field: "n" * 1000}).id
        with pytest.raises(OverrideError, match="1001 characters long, above the 1000"):
            s.set_override("Logging:Level", "Debug", ttl=H, **{field: "n" * 1001})
    assert "n" * 1001 not in (root / ".vaultline" / "audit.log").read_text()


def test_a_clock_moved_back_neither_approves_a_lapsed_request_nor_stretches_an_override(
        root: Path) -> None:
    clock = FakeClock(START)
    with session(root, "prod", clock, actor="alice@host") as alice:
        asked = alice.request_override("Logging:Level", "Debug", ttl=H, **GOOD)
    clock.advance(hours=-3)  # the request lapsed at START + 1h; the clock now shows before it
    with session(root, "prod", clock, actor="bob@host") as bob:
        with pytest.raises(OverrideError, match="the clock was moved back"):
            bob.approve_override(asked.id)
        assert bob.overrides.get("prod", asked.id).state == "pending"
    clock.advance(hours=3)
    with session(root, "dev", clock) as s:
        s.set_override("Logging:Level", "Trace", ttl=H)
        assert s.resolve()["Logging:Level"] == "Trace"
        clock.advance(days=-30)  # another month of "before the expiry"
        assert s.resolve()["Logging:Level"] == "Information"


@pytest.mark.parametrize(("uid_map", "inside"), [
    ("         0          0 4294967295\n", False),  # the initial namespace
    ("         0       1000          1\n", True),   # unshare -r: anyone is root
    ("      1000       1000          1\n", True),   # the own id, and a host name of its own
    ("", True),                                     # unshare -U, before a map is written
    (None, False),                                  # no user namespaces (or not Linux)
])
def test_in_user_namespace(tmp_path: Path, uid_map: str | None, inside: bool) -> None:
    from vaultline.audit import in_user_namespace

    path = tmp_path / "uid_map"
    if uid_map is not None:
        path.write_text(uid_map)
    assert in_user_namespace(path) is inside


def test_no_request_or_approval_under_an_account_a_user_namespace_chose(
        root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``unshare -U vaultline override approve ID`` runs as ``nobody@host``: its requester
    would approve their own request under a second name."""
    import vaultline.audit

    clock = FakeClock(START)
    with session(root, "prod", clock, actor="alice@host") as alice:
        asked = alice.request_override("Logging:Level", "Debug", ttl=H, **GOOD)
    monkeypatch.setattr(vaultline.audit, "in_user_namespace", lambda: True, raising=False)
    with Session(Project.load(root), "prod", clock=clock) as unshared:
        with pytest.raises(OverrideError, match="runs in a user namespace"):
            unshared.approve_override(asked.id)
        with pytest.raises(OverrideError, match="runs in a user namespace"):
            unshared.request_override("Logging:Level", "Debug", ttl=H, **GOOD)
        assert unshared.overrides.get("prod", asked.id).state == "pending"
    with session(root, "prod", clock, actor="bob@host") as bob:  # a Python caller's own word
        assert bob.approve_override(asked.id).state == "active"
    assert [(e["action"], e["outcome"]) for e in audit_lines(root)
            if e["action"].startswith("override.")] == [
        ("override.request", "ok"), ("override.approve", "denied"),
        ("override.request", "denied"), ("override.approve", "ok")]


def test_a_store_put_back_from_before_a_revoke_does_not_bring_the_override_back(
        root: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Only file write access: copy store.db (and its -wal, -shm) aside, wait for the
    revoke, put the copy back."""
    store_dir, backup = root / ".vaultline", tmp_path_factory.mktemp("backup")
    with session(root, "dev") as s:
        made = s.set_override("ConnectionStrings:Primary", "postgres://replica", ttl=H)
    for path in store_dir.glob("store.db*"):
        shutil.copy2(path, backup / path.name)
    with session(root, "dev") as s:
        s.revoke_override(made.id)
    for path in store_dir.glob("store.db*"):
        path.unlink()
    for path in backup.iterdir():
        shutil.copy2(path, store_dir / path.name)
    with session(root, "dev") as s:
        assert s.overrides.get("dev", made.id).state == "active"  # the old record is back
        bundle = s.resolve()
        assert bundle["ConnectionStrings:Primary"] == "postgres://dev"
        assert any(f"override {made.id} for ConnectionStrings:Primary was ended" in w
                   for w in bundle.warnings)
        assert not s.audit.verify().ok
    assert "override.apply" not in [e["action"] for e in audit_lines(root)]
