"""A file-level attacker edits the store's rows (no master key): what ``audit verify`` says.

Rows of ``versions`` are never deleted by vaultline (a destroyed version keeps its row), so a
``write`` line whose version is no longer in the store means the row was removed: a secret
rolled back to an older (perhaps leaked) value by deleting its newer versions.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from tests.factory import make_project, master_key_env, vaultline


def sql(root: Path, statement: str) -> None:
    with closing(sqlite3.connect(root / ".vaultline" / "store.db")) as db, db:
        db.execute(statement)


@pytest.fixture
def rotated(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A secret written twice: version 1 leaked, version 2 its replacement."""
    environ = master_key_env()
    root = make_project(tmp_path, environ=environ)
    for value in ("old-leaked-password", "new-rotated-password"):
        done = vaultline(root, environ, "secret", "put", "ConnectionStrings:Primary",
                         "--env", "prod", stdin=value)
        assert done.returncode == 0, done.stderr
    assert vaultline(root, environ, "audit", "verify").returncode == 0
    return root, environ


LATEST = "DELETE FROM versions WHERE version = 2"


def test_a_removed_version_is_reported(rotated: tuple[Path, dict[str, str]]) -> None:
    root, environ = rotated
    sql(root, LATEST)
    done = vaultline(root, environ, "audit", "verify")
    assert done.returncode == 1
    assert "nexus-engine/prod/ConnectionStrings/Primary version 2" in done.stdout
    assert "removed from the store" in done.stdout


def test_a_removed_version_written_again_is_reported(
        rotated: tuple[Path, dict[str, str]]) -> None:
    root, environ = rotated
    sql(root, LATEST)
    # The next write takes version 2 again: its row exists, but two lines claim it.
    assert vaultline(root, environ, "secret", "put", "ConnectionStrings:Primary", "--env",
                     "prod", stdin="third-password").returncode == 0
    done = vaultline(root, environ, "audit", "verify")
    assert done.returncode == 1
    assert "version 2 was written twice" in done.stdout


def test_every_version_removed_is_reported(rotated: tuple[Path, dict[str, str]]) -> None:
    root, environ = rotated
    sql(root, "DELETE FROM versions")
    done = vaultline(root, environ, "audit", "verify")
    assert done.returncode == 1
    assert "version 1 (written at line 2) was removed from the store (and 1 more)" in done.stdout


def test_a_destroyed_version_keeps_its_row(rotated: tuple[Path, dict[str, str]]) -> None:
    root, environ = rotated
    done = vaultline(root, environ, "secret", "rm", "ConnectionStrings:Primary", "--env",
                     "prod", "--destroy", "--versions", "1")
    assert done.returncode == 0, done.stderr
    done = vaultline(root, environ, "audit", "verify")
    assert (done.returncode, done.stdout.startswith("ok:")) == (0, True), done.stdout


def test_a_soft_deleted_version_undeleted_around_the_audit_is_reported(
        rotated: tuple[Path, dict[str, str]]) -> None:
    root, environ = rotated
    key = ("ConnectionStrings:Primary", "--env", "prod")
    assert vaultline(root, environ, "secret", "rm", *key).returncode == 0
    assert vaultline(root, environ, "resolve", *key[1:]).returncode == 1  # deleted: not served
    sql(root, "UPDATE versions SET deleted_time = NULL")
    done = vaultline(root, environ, "audit", "verify")
    assert done.returncode == 1
    assert "version 2 was deleted at line" in done.stdout and "live again" in done.stdout


def test_an_audited_undelete_passes(rotated: tuple[Path, dict[str, str]]) -> None:
    root, environ = rotated
    key = ("ConnectionStrings:Primary", "--env", "prod")
    assert vaultline(root, environ, "secret", "rm", *key).returncode == 0
    assert vaultline(root, environ, "secret", "undelete", *key).returncode == 0
    assert vaultline(root, environ, "secret", "rm", *key, "--versions", "1",
                     "--destroy").returncode == 0
    assert vaultline(root, environ, "secret", "undelete", *key, "--versions",
                     "1").returncode == 0  # a destroyed version stays destroyed
    done = vaultline(root, environ, "audit", "verify")
    assert (done.returncode, done.stdout[:3]) == (0, "ok:"), done.stdout


def test_a_destroyed_version_put_back_is_reported(
        rotated: tuple[Path, dict[str, str]]) -> None:
    root, environ = rotated
    # A copy of the row kept from before the destroy (a backup, or a trigger planted earlier).
    with closing(sqlite3.connect(root / ".vaultline" / "store.db")) as db:
        kept = db.execute("SELECT wrapped_key, ciphertext FROM versions WHERE version = 1"
                          ).fetchone()
    assert vaultline(root, environ, "secret", "rm", "ConnectionStrings:Primary", "--env",
                     "prod", "--versions", "1", "--destroy").returncode == 0
    with closing(sqlite3.connect(root / ".vaultline" / "store.db")) as db, db:
        db.execute("UPDATE versions SET destroyed = 0, wrapped_key = ?, ciphertext = ? "
                   "WHERE version = 1", kept)
    done = vaultline(root, environ, "audit", "verify")
    assert done.returncode == 1
    assert "version 1 was destroyed at line" in done.stdout


def test_a_key_ring_rolled_back_past_its_rotation_is_reported(tmp_path: Path) -> None:
    environ = master_key_env()
    root = make_project(tmp_path, environ=environ)
    assert vaultline(root, environ, "keys", "create", "webhooks", "--purpose", "hmac",
                     "--env", "prod").returncode == 0
    assert vaultline(root, environ, "keys", "rotate", "webhooks").returncode == 0
    assert vaultline(root, environ, "audit", "verify").returncode == 0
    # The rotation's record removed: the ring's old primary would sign again.
    sql(root, "DELETE FROM records WHERE kind = 'keys' AND version = 2")
    done = vaultline(root, environ, "audit", "verify")
    assert done.returncode == 1
    assert "key ring webhooks record version 2" in done.stdout
    assert "removed from the store" in done.stdout


PLAIN = {"vaultline.yaml": "version: 1\napp: nexus-engine\nenvironments: [dev, prod]\n"
                           "defaults:\n  Logging:Level: Information\n"}


def _put_back(root: Path, backup: bytes) -> None:
    """store.db replaced by a copy taken earlier (no connection is open between commands)."""
    (root / ".vaultline" / "store.db").write_bytes(backup)


def test_an_override_brought_back_by_a_restored_store_is_reported(tmp_path: Path) -> None:
    """A backup of store.db from before a revoke, put back, holds the override active again:
    resolve ignores it (the revoke line ended it), and the revoke line names the record
    version it wrote, which ``verify`` then finds missing."""
    environ = master_key_env()
    root = make_project(tmp_path, PLAIN, environ=environ)
    made = vaultline(root, environ, "override", "set", "Logging:Level", "--env", "dev",
                     "--ttl", "1h", "--reason", "debugging", stdin="Debug")
    assert made.returncode == 0, made.stderr
    override_id = made.stdout.split()[1].rstrip(":")
    backup = (root / ".vaultline" / "store.db").read_bytes()
    assert vaultline(root, environ, "override", "revoke", override_id,
                     "--env", "dev").returncode == 0
    assert vaultline(root, environ, "audit", "verify").returncode == 0
    _put_back(root, backup)
    resolved = vaultline(root, environ, "resolve", "--env", "dev")
    assert "Debug" not in resolved.stdout  # the record is back, the revoke line refuses it
    assert f"override {override_id} for Logging:Level was ended" in resolved.stderr
    done = vaultline(root, environ, "audit", "verify")
    assert done.returncode == 1, done.stdout
    assert f"override dev/{override_id} record version 2" in done.stdout
    assert "removed from the store" in done.stdout


def test_an_expired_override_brought_back_by_a_restored_store_is_reported(
        tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from vaultline.project.model import Project
    from vaultline.resolve.session import Session

    environ = master_key_env()
    root = make_project(tmp_path, PLAIN, environ=environ)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    now = [start]
    project = Project.load(root, environ=environ)
    with Session(project, "dev", clock=lambda: now[0]) as session:
        made = session.set_override("Logging:Level", "Debug", ttl=timedelta(minutes=5),
                                    reason="debugging")
    backup = (root / ".vaultline" / "store.db").read_bytes()
    now[0] = start + timedelta(minutes=10)
    with Session(project, "dev", clock=lambda: now[0]) as session:
        assert session.resolve()["Logging:Level"] == "Information"  # expired: swept
    assert vaultline(root, environ, "audit", "verify").returncode == 0
    _put_back(root, backup)
    done = vaultline(root, environ, "audit", "verify")
    assert done.returncode == 1, done.stdout
    assert f"override dev/{made.id} record version 2" in done.stdout


ROTATED = """
    version: 1
    app: nexus-engine
    environments: [dev, prod]
    rotation:
      api-key:
        default: {every: 7d, grace: 1s}
    rotate:
      Api:Token: {class: api-key, strategy: replace, generate: "token:32"}
"""
TOKEN = "nexus-engine/prod/Api/Token"


@pytest.fixture
def rotation_done(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A token written once (version 1, leaked) then rotated to completion: the rotation
    published version 2 and its retire deleted version 1."""
    environ = master_key_env()
    root = make_project(tmp_path, {"vaultline.yaml": ROTATED,
                                   "env/prod/secrets.yaml": "Api:Token: local\n"},
                        environ=environ)
    assert vaultline(root, environ, "secret", "put", "Api:Token", "--env", "prod",
                     stdin="old-leaked-token").returncode == 0
    done = vaultline(root, environ, "rotate", "run", "Api:Token", "--env", "prod")
    assert done.returncode == 0 and "last step retire" in done.stdout, done.stderr
    assert vaultline(root, environ, "audit", "verify").returncode == 0
    return root, environ


def test_removing_the_version_a_rotation_published_is_reported(
        rotation_done: tuple[Path, dict[str, str]]) -> None:
    root, environ = rotation_done
    sql(root, f"DELETE FROM versions WHERE path = '{TOKEN}' AND version = 2")
    done = vaultline(root, environ, "audit", "verify")
    assert done.returncode == 1
    assert f"{TOKEN} version 2 (written at line" in done.stdout
    assert "removed from the store" in done.stdout


def test_serving_the_version_a_rotation_retired_again_is_reported(
        rotation_done: tuple[Path, dict[str, str]]) -> None:
    root, environ = rotation_done
    # The attacker rolls the token back: the rotated version gone, the leaked one live.
    sql(root, f"DELETE FROM versions WHERE path = '{TOKEN}' AND version = 2")
    sql(root, f"UPDATE versions SET deleted_time = NULL WHERE path = '{TOKEN}' AND version = 1")
    shown = vaultline(root, environ, "resolve", "--env", "prod", "--reveal", "--format", "dotenv")
    assert "API__TOKEN='old-leaked-token'" in shown.stdout  # what the attack achieves
    done = vaultline(root, environ, "audit", "verify")
    assert done.returncode == 1  # the first of the two changes is named, the other counted
    assert f"{TOKEN} version 2 (written at line 7) was removed from the store (and 1 more)" \
        in done.stdout


def test_the_retired_version_alone_made_live_again_is_reported(
        rotation_done: tuple[Path, dict[str, str]]) -> None:
    root, environ = rotation_done
    sql(root, f"UPDATE versions SET deleted_time = NULL WHERE path = '{TOKEN}' AND version = 1")
    done = vaultline(root, environ, "audit", "verify")
    assert done.returncode == 1 and "version 1 was deleted at line" in done.stdout


def test_a_rotation_mirrored_into_the_store_audits_the_mirror_write(tmp_path: Path) -> None:
    environ = master_key_env()
    config = ROTATED.replace('generate: "token:32"}',
                             'generate: "token:32", mirrors: ["local:mirror/Api/Token"]}')
    root = make_project(tmp_path, {"vaultline.yaml": config,
                                   "env/prod/secrets.yaml": "Api:Token: local\n"},
                        environ=environ)
    assert vaultline(root, environ, "secret", "put", "Api:Token", "--env", "prod",
                     stdin="old-leaked-token").returncode == 0
    assert vaultline(root, environ, "rotate", "run", "Api:Token", "--env", "prod").returncode == 0
    done = vaultline(root, environ, "audit", "verify")
    assert (done.returncode, done.stdout.startswith("ok:")) == (0, True), done.stdout
    shown = json.loads(vaultline(root, environ, "audit", "show", "--action", "write",
                                 "--format", "json").stdout)
    mirrored = [e for e in shown if e["reference"] == "local:mirror/Api/Token"]
    assert [e["outcome"] for e in mirrored] == ["intent", "ok"]
    assert mirrored[1]["detail"]["version"] == "1" and "value_hmac" in mirrored[1]
    sql(root, "DELETE FROM versions WHERE path = 'mirror/Api/Token'")
    done = vaultline(root, environ, "audit", "verify")
    assert done.returncode == 1
    assert "mirror/Api/Token version 1 (written at line" in done.stdout


@pytest.mark.parametrize(("edit", "verdict"), [
    ("upper(value)", "version 2 (written at line 4) was removed from the store"),
    ("'6f1c1b4e-0000-4000-8000-000000000000'",
     "checkpoint: the audit checkpoint in the store does not match its MAC (it or the "
     "store's id was edited")])
def test_editing_the_store_id_does_not_switch_the_row_checks_off(
        rotated: tuple[Path, dict[str, str]], edit: str, verdict: str) -> None:
    """The store id picks the lines verify holds to the rows; edited (upper case, which still
    finds the key file, or any id when the key comes from the environment) it must not
    make a rollback pass: ids are compared in their one spelling, and the checkpoint's MAC
    covers the id."""
    root, environ = rotated
    sql(root, LATEST)
    sql(root, f"UPDATE meta SET value = {edit} WHERE name = 'store_id'")
    done = vaultline(root, environ, "audit", "verify")
    assert done.returncode == 1 and verdict in done.stdout, done.stdout


def test_a_checkpoint_from_before_the_store_id_was_bound_is_read_then_upgraded(
        rotated: tuple[Path, dict[str, str]]) -> None:
    import hashlib
    import hmac

    from vaultline.store import EmbeddedStore

    root, environ = rotated
    with EmbeddedStore.open(root / ".vaultline", environ=environ) as store:
        data = json.loads(store.meta_get("audit_checkpoint") or "")
        assert data["v"] == 3
        key = store.derive_key("audit-checkpoint")
        message = f"vaultline-audit-checkpoint/v2\n{data['seq']}\n{data['hash']}\n{data['damaged']}"
        data.update(v=2, mac=hmac.new(key, message.encode(), hashlib.sha256).hexdigest())
        store.meta_set("audit_checkpoint", json.dumps(data))
    assert vaultline(root, environ, "audit", "verify").returncode == 0
    assert vaultline(root, environ, "secret", "put", "ConnectionStrings:Primary", "--env",
                     "prod", stdin="third-password").returncode == 0
    with EmbeddedStore.open(root / ".vaultline", environ=environ) as store:
        assert json.loads(store.meta_get("audit_checkpoint") or "")["v"] == 3
    assert vaultline(root, environ, "audit", "verify").returncode == 0


def _restarted(root: Path, environ: dict[str, str]) -> None:
    """The attacker damages the log; the victim keeps it as evidence and restarts it."""
    log = root / ".vaultline" / "audit.log"
    log.write_bytes(b"".join(log.read_bytes().splitlines(keepends=True)[:-1]))
    assert vaultline(root, environ, "audit", "verify").returncode == 1
    done = vaultline(root, environ, "audit", "restart", "--reason", "INC-7: the log was cut")
    assert done.returncode == 0, done.stderr
    assert vaultline(root, environ, "audit", "verify").returncode == 0


def test_rows_from_before_a_restart_are_still_held(rotated: tuple[Path, dict[str, str]]) -> None:
    """The archive names the versions written before the restart, and verify does not read
    it: the restart line keeps what those rows add up to."""
    root, environ = rotated
    _restarted(root, environ)
    sql(root, LATEST)  # the attacker rolls the secret back to its leaked version
    done = vaultline(root, environ, "audit", "verify")
    assert done.returncode == 1
    assert "the store's rows from before the log was restarted at" in done.stdout
    assert "were changed (2 then, 1 now)" in done.stdout


def test_a_key_ring_record_from_before_a_restart_is_still_held(tmp_path: Path) -> None:
    environ = master_key_env()
    root = make_project(tmp_path, environ=environ)
    for args in (("create", "tok", "--purpose", "signing"), ("rotate", "tok")):
        assert vaultline(root, environ, "keys", *args).returncode == 0
    _restarted(root, environ)
    sql(root, "DELETE FROM records WHERE kind = 'keys' AND name = 'tok' AND version = "
              "(SELECT max(version) FROM records WHERE kind = 'keys' AND name = 'tok')")
    done = vaultline(root, environ, "audit", "verify")
    assert done.returncode == 1 and "from before the log was restarted" in done.stdout


def test_work_after_a_restart_keeps_verifying(rotated: tuple[Path, dict[str, str]]) -> None:
    root, environ = rotated
    _restarted(root, environ)
    for args in (("secret", "put", "ConnectionStrings:Primary", "--env", "prod"),
                 ("secret", "rm", "ConnectionStrings:Primary", "--env", "prod", "--versions", "1",
                  "--destroy"),
                 ("keys", "create", "tok", "--purpose", "signing")):
        done = vaultline(root, environ, *args, stdin="third-password")
        assert done.returncode == 0, (args, done.stderr)
    done = vaultline(root, environ, "audit", "verify")
    assert (done.returncode, done.stdout.startswith("ok:")) == (0, True), done.stdout
