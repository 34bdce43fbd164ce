"""Anchors against real providers: a file elsewhere, OpenBao KV (check-and-set), moto's
Secrets Manager; and what ``verify --anchor`` says once the history is rolled back."""

from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path

import pytest

from tests.factory import make_project, master_key_env, vaultline
from tests.servers import BaoServer, MotoServer
from vaultline.audit import READ, AuditLog
from vaultline.audit.anchor import AnchorTarget, fetch, publish
from vaultline.errors import AuditError, ConfigError
from vaultline.project.model import Project
from vaultline.store import EmbeddedStore


def _project(root: Path, providers: str = "") -> tuple[Project, dict[str, str]]:
    environ = master_key_env()
    files = {"vaultline.yaml": f"""
        version: 1
        app: nexus-engine
        environments: [prod]
        {providers}
    """}
    make_project(root, files, environ=environ)
    return Project.load(root), environ


def _exercise(project: Project, environ: dict[str, str], to: str) -> None:
    """Anchor, append, anchor again, roll the log back: verify --anchor must fail."""
    with EmbeddedStore.open(project.store_dir, environ=environ) as store:
        log = AuditLog.for_store(store)
        for i in range(3):
            log.record(READ, key=f"K{i}")
        old_log = log.path.read_bytes()
        old_checkpoint = store.meta_get("audit_checkpoint") or ""
        target = AnchorTarget(project, to, environ={**os.environ, **environ})
        try:
            first = publish(store, log.head(), "2026-01-01T00:00:00.000000Z", target)
            assert first.seq == 3 and fetch(store, target) == first
            log.record(READ, key="K3")
            second = publish(store, log.head(), "2026-01-01T00:01:00.000000Z", target)
            assert second.seq == 4 and fetch(store, target) == second
            assert log.verify(anchor=second).ok
            assert "reaches the anchor at seq 4" in str(log.verify(anchor=second))
            # Roll back the log and its checkpoint together: locally consistent again...
            log.path.write_bytes(old_log)
            store.meta_set("audit_checkpoint", old_checkpoint)
            assert log.verify().ok
            anchored = log.verify(anchor=fetch(store, target))
            assert not anchored.ok
            assert str(anchored).startswith("anchor: rolled back: the anchor of "
                                            "2026-01-01T00:01:00.000000Z records seq 4")
            # ...and the anchor refuses to move back to the rolled-back head.
            with pytest.raises(AuditError, match="beyond this log's seq 3: the log was rolled"):
                publish(store, log.head(), "2026-01-01T00:02:00.000000Z", target)
        finally:
            target.close()


def test_anchor_in_a_file_elsewhere(tmp_path: Path) -> None:
    project, environ = _project(tmp_path / "p")
    anchor_file = tmp_path / "elsewhere" / "anchor.json"
    _exercise(project, environ, f"file:{anchor_file}")
    assert oct(anchor_file.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("providers", ["", "providers: {mine: {type: local, path: .vaultline}}"])
def test_an_anchor_in_the_store_it_protects_is_refused(tmp_path: Path, providers: str) -> None:
    # Rolling .vaultline/ back would roll such an anchor back with it.
    project, environ = _project(tmp_path / "p", providers)
    for to in ("local:ops/anchor", "mine:ops/anchor"):
        if to.startswith("mine") and not providers:
            continue
        with pytest.raises(ConfigError, match="is the embedded store the anchor protects"):
            AnchorTarget(project, to, environ=environ)
    done = vaultline(project.root, environ, "audit", "anchor", "--to", "local:ops/anchor")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "anchor outside this machine" in done.stderr


def test_an_anchor_in_another_local_store_is_allowed(tmp_path: Path) -> None:
    project, environ = _project(tmp_path / "p", "providers: {backup: {type: local, path: ../backup}}")
    EmbeddedStore.create(tmp_path / "backup", environ=environ)[0].close()
    _exercise(project, environ, "backup:ops/anchor")


def test_anchor_in_openbao_uses_check_and_set(tmp_path: Path, openbao: BaoServer,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in openbao.env.items():
        monkeypatch.setenv(name, value)
    project, environ = _project(tmp_path / "p", f"""providers:
          vault: {{type: vault, url: "{openbao.url}", mount: kv, retries: 0}}""")
    _exercise(project, environ, "vault:audit-anchors/nexus-engine")
    # A full reference lives under the provider's prefix, as for 'vaultline secret put vault:...'.
    metadata = openbao.api("GET", "kv/metadata/nexus-engine/-/audit-anchors/nexus-engine")
    assert metadata["data"]["current_version"] == 2  # two anchors, each written with CAS


def test_anchor_in_aws_secrets_manager(tmp_path: Path, moto_server: MotoServer) -> None:
    project, environ = _project(tmp_path / "p", f"""providers:
          aws: {{type: aws-secretsmanager, region: us-east-1, endpoint_url: "{moto_server.endpoint_url}"}}""")
    _exercise(project, environ, "aws:nexus-engine/audit-anchor")


def test_a_planted_anchor_without_the_key_is_refused(tmp_path: Path) -> None:
    project, environ = _project(tmp_path / "p")
    anchor_file = tmp_path / "anchor.json"
    with EmbeddedStore.open(project.store_dir, environ=environ) as store:
        log = AuditLog.for_store(store)
        log.record(READ, key="K")
        target = AnchorTarget(project, f"file:{anchor_file}")
        publish(store, log.head(), "2026-01-01T00:00:00.000000Z", target)
        planted = json.loads(anchor_file.read_text())
        planted["seq"] = 1000  # would make every honest verify fail, or hide a rollback
        anchor_file.write_text(json.dumps(planted))
        with pytest.raises(AuditError, match="does not match its MAC"):
            fetch(store, target)
    other = tmp_path / "other"
    other_project, other_env = _project(other)
    shutil.copyfile(anchor_file, tmp_path / "copy.json")
    with (EmbeddedStore.open(other_project.store_dir, environ=other_env) as store,
          pytest.raises(AuditError, match="belongs to another store")):
        fetch(store, AnchorTarget(other_project, f"file:{tmp_path / 'copy.json'}"))


def test_automatic_anchor_every_n_events(tmp_path: Path) -> None:
    from vaultline.resolve.session import Session

    anchor_file = tmp_path / "anchor.json"
    environ = master_key_env()
    make_project(tmp_path / "p", {"vaultline.yaml": f"""
        version: 1
        app: nexus-engine
        environments: [prod]
        audit:
          anchor: {{to: "file:{anchor_file}", every: 5}}
    """}, environ=environ)
    with Session(Project.load(tmp_path / "p"), environ=environ) as session:
        for i in range(4):
            session.audit.record(READ, key=f"K{i}")
        assert not anchor_file.exists()
        session.audit.record(READ, key="K4")
        assert json.loads(anchor_file.read_text())["seq"] == 5
        for i in range(6):
            session.audit.record(READ, key=f"L{i}")
        assert json.loads(anchor_file.read_text())["seq"] == 10


def test_a_damaged_log_is_not_anchored(tmp_path: Path) -> None:
    project, environ = _project(tmp_path / "p")
    with EmbeddedStore.open(project.store_dir, environ=environ) as store:
        log = AuditLog.for_store(store)
        for i in range(3):
            log.record(READ, key=f"K{i}")
        log.path.write_bytes(log.path.read_bytes().splitlines(keepends=True)[0])
        with pytest.raises(AuditError, match="not anchoring a damaged log"):
            log.head()


def test_segment_size_comes_from_vaultline_yaml(tmp_path: Path) -> None:
    from vaultline.resolve.session import Session

    environ = master_key_env()
    make_project(tmp_path / "p", {"vaultline.yaml": """
        version: 1
        app: nexus-engine
        environments: [prod]
        audit:
          segment_size: 4KiB
    """}, environ=environ)
    with Session(Project.load(tmp_path / "p"), environ=environ) as session:
        for i in range(40):
            session.audit.record(READ, key=f"K{i}")
        assert [p.name for p in session.audit.files()][:2] == ["audit.1.log", "audit.2.log"]
        assert session.audit.verify().ok


def test_automatic_anchor_reaches_its_provider_with_the_sessions_environment(
        tmp_path: Path, openbao: BaoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The token is in the mapping the session was given, not in the project's or the
    process's environment: the anchor must be written with it."""
    from vaultline.resolve.session import Session

    for name in openbao.env:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("VAULT_TOKEN", raising=False)
    project_environ = master_key_env()
    make_project(tmp_path / "p", {"vaultline.yaml": f"""
        version: 1
        app: nexus-engine
        environments: [prod]
        providers:
          vault: {{type: vault, url: "{openbao.url}", mount: kv, retries: 0}}
        audit:
          anchor: {{to: "vault:audit-anchors/session-environ", every: 1}}
    """}, environ=project_environ)
    project = Project.load(tmp_path / "p", environ=project_environ)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a failed anchor warns: that must not happen here
        with Session(project, environ={**project_environ, **openbao.env}) as session:
            session.audit.record(READ, key="K0")
    stored = openbao.api("GET", "kv/data/nexus-engine/-/audit-anchors/session-environ")
    assert stored["data"]["data"], stored


def test_a_file_anchor_is_written_past_a_planted_temporary(tmp_path: Path) -> None:
    """In a directory others can write, the temporary's name is not known in advance: a FIFO
    planted at the name a pid would give does not hang the write (it blocked open)."""
    import os

    project, environ = _project(tmp_path / "p")
    shared = tmp_path / "shared"
    shared.mkdir()
    anchor_file = shared / "anchor.json"
    os.mkfifo(shared / f".anchor.json.{os.getpid()}.tmp")
    with EmbeddedStore.open(project.store_dir, environ=environ) as store:
        log = AuditLog.for_store(store)
        log.record(READ, key="K0")
        target = AnchorTarget(project, f"file:{anchor_file}")
        published = publish(store, log.head(), "2026-01-01T00:00:00.000000Z", target)
        assert fetch(store, target) == published
    assert oct(anchor_file.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("plant", ["fifo", "dev-zero"])
def test_a_planted_anchor_file_is_refused_without_hanging(tmp_path: Path, plant: str) -> None:
    project, environ = _project(tmp_path / "p")
    anchor = tmp_path / "elsewhere" / "anchor.json"
    anchor.parent.mkdir()
    if plant == "fifo":
        os.mkfifo(anchor)
    else:
        anchor.symlink_to("/dev/zero")
    kind = "a FIFO" if plant == "fifo" else "a device"
    for args in (("audit", "verify", "--anchor", f"file:{anchor}"),
                 ("audit", "anchor", "--to", f"file:{anchor}")):
        done = vaultline(project.root, environ, *args, timeout=20)
        assert done.returncode == 1, args
        assert done.stderr == (f"vaultline: error: cannot read the anchor {anchor}: not a "
                               f"regular file ({kind}); give the path of a file\n")
    # An automatic anchor there warns after the append; the command itself goes through.
    (project.root / "vaultline.yaml").write_text(
        "version: 1\napp: nexus-engine\nenvironments: [prod]\n"
        f"audit:\n  anchor:\n    to: file:{anchor}\n    every: 1\n")
    done = vaultline(project.root, environ, "secret", "put", "local:nexus-engine/prod/A",
                     stdin="value", timeout=20)
    assert done.returncode == 0 and f"could not anchor the audit log at file:{anchor}" in done.stderr
