"""``vaultline audit`` through a real subprocess: exit codes and output."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.factory import FakeClock
from vaultline.audit import DENIED, DENY, READ, WRITE, AuditLog
from vaultline.audit.checkpoint import META_NAME
from vaultline.store import EmbeddedStore

SECRET = "Canary-s3cret-value-4711"
# The installed console script, as users run it.
VAULTLINE = str(Path(sys.executable).with_name("vaultline"))


def run(args: list[str], cwd: Path, environ: dict[str, str] | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULTLINE_")}
    env.update(environ or {})
    env["HOME"] = str(cwd)  # no stray key file from the real home
    return subprocess.run([VAULTLINE, "audit", *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def project(store: EmbeddedStore) -> Path:
    recent = datetime.now(UTC) - timedelta(minutes=5)
    clock = FakeClock(recent - timedelta(days=10))
    log = AuditLog.for_store(store, clock=clock)
    log.record(WRITE, env="prod", key="Db:Password", value=SECRET, actor="ana@laptop")
    log.record(READ, env="prod", key="Db:Password", value=SECRET, actor="app@web")
    clock.now = recent
    log.record(READ, env="prod", key="Db:Password", value=SECRET, actor="eve@box")
    log.record(DENY, env="prod", key="Api:Key", outcome=DENIED, actor="eve@box")
    root = store.directory.parent
    (root / "vaultline.yaml").write_text("app: nexus-engine\nenvironments: [prod]\n")
    return root


def test_verify_ok(project: Path, environ: dict[str, str]) -> None:
    done = run(["verify"], project, environ)
    assert (done.returncode, done.stdout.strip()) == (0, "ok: 4 lines, chain and checkpoint intact")


def test_verify_reports_the_bad_line(project: Path, environ: dict[str, str]) -> None:
    log = project / ".vaultline" / "audit.log"
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(lines[0] + lines[2] + lines[3])
    done = run(["verify"], project, environ)
    assert done.returncode == 1
    assert done.stdout.startswith("line 2: deleted")
    as_json = json.loads(run(["verify", "--format", "json"], project, environ).stdout)
    assert as_json["ok"] is False and as_json["bad_line"] == 2


def test_verify_reports_an_edited_checkpoint(
    project: Path, environ: dict[str, str], store: EmbeddedStore
) -> None:
    store.meta_set(META_NAME, (store.meta_get(META_NAME) or "").replace('"seq":4', '"seq":3'))
    done = run(["verify", "-C", str(project)], Path("/"), environ)
    assert done.returncode == 1 and done.stdout.startswith("checkpoint: ")


def test_verify_without_the_master_key_is_a_usage_error(project: Path) -> None:
    done = run(["verify"], project, None)
    assert done.returncode == 2 and "master key" in done.stderr


def test_verify_without_a_store(tmp_path: Path, environ: dict[str, str]) -> None:
    (tmp_path / "vaultline.yaml").write_text("app: x\nenvironments: [dev]\n")
    done = run(["verify"], tmp_path, environ)
    assert done.returncode == 1 and "no embedded store" in done.stderr


def test_show_filters_and_never_prints_values(project: Path) -> None:
    done = run(["show", "--since", "1h", "--actor", "eve@*"], project, None)  # no key needed
    assert done.returncode == 0, done.stderr
    rows = done.stdout.splitlines()
    assert rows[0].split() == ["SEQ", "TIME", "ACTOR", "ACTION", "ENV", "KEY", "OUTCOME"]
    assert [r.split()[3] for r in rows[1:]] == [READ, DENY]
    events = json.loads(run(["show", "--key", "Db:*", "--format", "json"], project, None).stdout)
    assert [e["seq"] for e in events] == [1, 2, 3]
    assert len({e["value_hmac"] for e in events}) == 1
    assert SECRET not in done.stdout + json.dumps(events)
    assert SECRET.encode() not in (project / ".vaultline" / "audit.log").read_bytes()


def test_show_rejects_a_bad_since(project: Path) -> None:
    done = run(["show", "--since", "yesterday"], project, None)
    assert done.returncode == 2 and "--since 'yesterday'" in done.stderr


def test_report(project: Path) -> None:
    done = run(["report", "--format", "json"], project, None)
    assert done.returncode == 0, done.stderr
    kinds = [(f["kind"], f["actor"]) for f in json.loads(done.stdout)["findings"]]
    assert kinds == [("new-actor", "eve@box"), ("denied", "eve@box")]
    table = run(["report", "--burst-window", "30s"], project, None)
    assert table.returncode == 0 and table.stdout.startswith("2 finding(s) in 4 event(s)")
    bad = run(["report", "--burst-window", "soon"], project, None)
    assert bad.returncode == 2 and "--burst-window" in bad.stderr


def test_restart_after_damage(project: Path, environ: dict[str, str]) -> None:
    log = project / ".vaultline" / "audit.log"
    log.write_bytes(log.read_bytes().splitlines(keepends=True)[0])
    assert run(["verify"], project, environ).returncode == 1
    done = run(["restart", "--reason", "INC-42 truncated"], project, environ)
    assert done.returncode == 0 and "archived the old log as" in done.stdout
    assert run(["verify"], project, environ).returncode == 0
    assert run(["restart"], project, environ).returncode == 2  # --reason is required
    assert len(list((project / ".vaultline").glob("audit.*.log"))) == 1


def vaultline(args: list[str], cwd: Path, environ: dict[str, str],
              stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULTLINE_")}
    env.update(environ)
    env["HOME"] = str(cwd)
    return subprocess.run([VAULTLINE, *args], cwd=cwd, env=env, input=stdin,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def written(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A project whose secret was put through the CLI (audited: intent, then outcome)."""
    from tests.factory import make_project, master_key_env

    environ = master_key_env()
    root = make_project(tmp_path / "p", environ=environ)
    done = vaultline(["secret", "put", "ConnectionStrings:Primary", "--env", "prod"], root, environ,
                     stdin=SECRET)
    assert done.returncode == 0, done.stderr
    return root, environ


def test_put_writes_an_intent_then_its_outcome(written: tuple[Path, dict[str, str]]) -> None:
    root, environ = written
    rows = [json.loads(r) for r in (root / ".vaultline" / "audit.log").read_text().splitlines()]
    assert [(r["action"], r["outcome"]) for r in rows] == [("write", "intent"), ("write", "ok")]
    with closing(sqlite3.connect(root / ".vaultline" / "store.db")) as db:
        (store_id,) = db.execute("SELECT value FROM meta WHERE name = 'store_id'").fetchone()
    # The store the version went into: verify holds that store's row to this line.
    assert rows[1]["detail"] == {"intent": 1, "version": "1", "store": store_id}
    assert vaultline(["audit", "verify"], root, environ).returncode == 0


def test_damage_is_never_silent(written: tuple[Path, dict[str, str]]) -> None:
    root, environ = written
    log = root / ".vaultline" / "audit.log"
    log.write_bytes(log.read_bytes().splitlines(keepends=True)[0])  # cut the last line
    first = vaultline(["resolve", "--env", "prod"], root, environ)
    assert first.returncode == 0
    warnings = [line for line in first.stderr.splitlines() if "audit log" in line]
    assert len(warnings) == 1, first.stderr
    assert warnings[0].startswith("vaultline: warning: the audit log ") and "damaged" in warnings[0]
    assert SECRET not in first.stderr
    # Every later command still says so, until the damaged log is archived.
    again = vaultline(["resolve", "--env", "prod"], root, environ)
    assert "has been damaged since seq 2" in again.stderr
    assert vaultline(["audit", "verify"], root, environ).returncode == 1
    assert vaultline(["audit", "restart", "--reason", "kept as evidence"], root,
                     environ).returncode == 0
    clean = vaultline(["resolve", "--env", "prod"], root, environ)
    assert "warning" not in clean.stderr
    assert vaultline(["audit", "verify"], root, environ).returncode == 0


def test_anchor_and_verify_against_it(written: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    root, environ = written
    shutil.copytree(root / ".vaultline", tmp_path / "old-copy")  # log, checkpoint and store
    assert vaultline(["secret", "put", "ConnectionStrings:Primary", "--env", "prod"], root, environ,
                     stdin="second").returncode == 0
    to = f"file:{tmp_path / 'elsewhere' / 'anchor.json'}"
    made = vaultline(["audit", "anchor", "--to", to, "--format", "json"], root, environ)
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["seq"] == 4
    ok = vaultline(["audit", "verify", "--anchor", to], root, environ)
    assert (ok.returncode, ok.stdout.strip()) == (
        0, "ok: 4 lines, chain and checkpoint intact; reaches the anchor at seq 4")
    # Roll the whole store directory back to the old copy: only the anchor can tell.
    shutil.rmtree(root / ".vaultline")
    shutil.copytree(tmp_path / "old-copy", root / ".vaultline")
    assert vaultline(["audit", "verify"], root, environ).returncode == 0
    rolled = vaultline(["audit", "verify", "--anchor", to], root, environ)
    assert rolled.returncode == 1
    assert rolled.stdout.startswith("anchor: rolled back: the anchor of ")
    assert "records seq 4, the log ends at seq 2" in rolled.stdout
    again = vaultline(["audit", "anchor", "--to", to], root, environ)
    assert again.returncode == 1 and "the log was rolled back" in again.stderr
    missing = vaultline(["audit", "verify", "--anchor", f"file:{tmp_path / 'none.json'}"],
                        root, environ)
    assert missing.returncode == 1 and missing.stderr.startswith("vaultline: error: no anchor at")
