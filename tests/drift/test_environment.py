"""``check_environment``: every drift kind with the embedded store, and against OpenBao."""

from __future__ import annotations

import json
from pathlib import Path

from tests.drift.conftest import CANARIES, LocalProject
from tests.factory import make_project, master_key_env, write
from tests.servers import BaoServer
from vaultline.drift import check_environment
from vaultline.project.model import Project
from vaultline.resolve.session import Session


def test_every_kind_with_the_local_store(drifted: LocalProject) -> None:
    with drifted.session() as session:
        report = check_environment(session)
    found = {(i.kind, i.key, i.path) for i in report.items}
    assert found == {
        ("missing", "A:Missing", "nexus-engine/prod/A/Missing"),
        ("missing", "A:NoField", "nexus-engine/prod/json"),
        ("stale", "A:Pinned", "nexus-engine/prod/pinned"),
        ("stale", "A:Deleted", "nexus-engine/prod/A/Deleted"),
        ("stale", "A:Destroyed", "nexus-engine/prod/A/Destroyed"),
        ("orphaned", None, "nexus-engine/prod/Orphan"),  # and not dev's secret
    }
    reasons = {i.key: i.reason for i in report.items}
    assert reasons["A:Pinned"] == "pinned @1; the latest version is 2"
    assert "soft-deleted" in reasons["A:Deleted"] and "destroyed" in reasons["A:Destroyed"]
    assert "field 'nope' not found" in reasons["A:NoField"]
    assert report.items[0].where is not None and "secrets.yaml:" in (
        next(i for i in report.items if i.key == "A:Missing").where or "")
    data = report.to_dict()
    assert data["schema_version"] == 1 and data["drift"] is True
    assert data["counts"] == {"missing": 2, "orphaned": 1, "stale": 3, "extra": 0,
                              "different": 0, "error": 0}
    text = json.dumps(data)
    assert not any(c in text for c in CANARIES)


def test_clean_environment_and_audit_trail(drifted: LocalProject) -> None:
    (drifted.root / "env/prod/secrets.yaml").write_text(
        "A:Present: local\nA:Field: local:nexus-engine/prod/json#password\n"
        "A:Pinned: local:nexus-engine/prod/pinned@2\nA:Orphan: local:nexus-engine/prod/Orphan\n")
    with drifted.session() as session:
        report = check_environment(session)
        assert session.audit.verify().ok
    assert report.items == [] and not report.drift
    assert report.checked == {"references": 4, "listed:local": 4}
    log = (drifted.root / ".vaultline" / "audit.log").read_text()
    events = [json.loads(line) for line in log.splitlines()]
    drift_events = [e for e in events if (e["detail"] or {}).get("drift")]
    assert [(e["action"], e["reference"], e["detail"]["drift"]) for e in drift_events] == [
        ("read", "local:*", "check"), ("read", "local:nexus-engine/prod/", "list")]
    assert all(e["value_hmac"] is None for e in drift_events)
    assert not any(c in log for c in CANARIES)


def test_env_provider_has_no_listing_but_missing_is_found(tmp_path: Path) -> None:
    root = make_project(tmp_path, {"env/prod/secrets.yaml": "A:Token: env:DRIFT_TEST_TOKEN\n"})
    with Session(Project.load(root), "prod", environ={}) as session:
        report = check_environment(session)
    assert [(i.kind, i.key) for i in report.items] == [("missing", "A:Token")]
    with Session(Project.load(root), "prod", environ={"DRIFT_TEST_TOKEN": "x"}) as session:
        assert check_environment(session).items == []


def test_orphans_not_guessed_when_the_root_spans_environments(tmp_path: Path) -> None:
    environ = master_key_env()
    root = make_project(tmp_path, {
        "vaultline.yaml": """
            version: 1
            app: nexus-engine
            environments: [dev, prod]
            providers:
              flat: {type: local, naming: {template: "{app}/{key}"}}
        """,
        "env/prod/secrets.yaml": "A: flat\n"}, environ=environ)
    with Session(Project.load(root), "prod", environ=environ) as session:
        report = check_environment(session)
    assert [i.kind for i in report.items] == ["missing"]
    assert any("not specific to environment 'prod'" in n for n in report.notes)


def vault_project(root: Path, url: str, app: str, secrets_yaml: str) -> Path:
    return write(root, {
        "vaultline.yaml": f"""
            version: 1
            app: {app}
            environments: [dev, prod]
            providers:
              vault: {{type: vault, url: "{url}", mount: kv, retries: 0}}
        """,
        "env/prod/secrets.yaml": secrets_yaml,
    })


def test_openbao_missing_orphaned_and_stale(openbao: BaoServer, tmp_path: Path, app: str) -> None:
    def put(path: str, data: dict[str, str]) -> None:
        openbao.api("POST", f"kv/data/{app}/{path}", {"data": data})

    put("prod/db", {"password": "canary-vault-1"})
    put("prod/api", {"value": "canary-vault-2"})
    put("prod/api", {"value": "canary-vault-3"})
    put("prod/gone", {"value": "canary-vault-4"})
    openbao.api("DELETE", f"kv/data/{app}/prod/gone")  # soft-delete the latest version
    put("prod/nested/orphan", {"value": "canary-vault-5"})
    put("dev/db", {"password": "canary-vault-6"})
    root = vault_project(tmp_path, openbao.url, app, """
        Db:Password: vault:db#password
        Db:User: vault:db#user
        Api:Key: vault:api#value@1
        Gone: vault:gone
        Absent: vault:absent
    """)
    with Session(Project.load(root), "prod", environ={"VAULT_TOKEN": openbao.token}) as session:
        report = check_environment(session)
    found = {(i.kind, i.key, i.path) for i in report.items}
    assert found == {
        ("missing", "Db:User", f"kv/data/{app}/prod/db"),
        ("missing", "Absent", f"kv/data/{app}/prod/absent"),
        ("stale", "Api:Key", f"kv/data/{app}/prod/api"),
        ("stale", "Gone", f"kv/data/{app}/prod/gone"),
        ("orphaned", None, f"kv/data/{app}/prod/nested/orphan"),
    }
    assert {i.key: i.reason for i in report.items}["Gone"].startswith(
        "latest version 1 is soft-deleted")
    assert "canary-vault" not in json.dumps(report.to_dict())


def test_unreachable_provider_is_an_error_not_clean(tmp_path: Path) -> None:
    root = vault_project(tmp_path, "http://127.0.0.1:1", "nexus-engine", "Db: vault:db\n")
    with Session(Project.load(root), "prod", environ={"VAULT_TOKEN": "t"}) as session:
        report = check_environment(session)
    kinds = {(i.kind, i.key) for i in report.items}
    assert ("error", "Db") in kinds and report.drift
    assert all(i.kind == "error" for i in report.items)
