"""Offline fallback: the encrypted snapshot of the last good resolution (vaultline.resolve.snapshot)."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import vaultline.resolve.snapshot
from tests.factory import make_project, master_key_env
from tests.servers import BaoServer, free_port
from vaultline.errors import ResolutionError
from vaultline.project.model import Project
from vaultline.resolve.resolver import Resolver


def project(root: Path, url: str, *, max_stale: str | None = "1h") -> Path:
    stale = f"{{max_stale: {max_stale}}}" if max_stale else "{}"
    return make_project(root, {
        "vaultline.yaml": f"""
            version: 1
            app: snap-app
            environments:
              prod: {stale}
            providers:
              vault: {{type: vault, url: "{url}", retries: 1, backoff: 0.01, timeout: 2}}
        """,
        "env/prod/values.yaml": "Logging:Level: Warning\n",
        "env/prod/secrets.yaml": "Db:Password: vault:db#password\nApi:Key: vault:api#key\n",
    })


def resolve(root: Path, environ: dict[str, str]):  # type: ignore[no-untyped-def]
    with Resolver(Project.load(root), "prod", environ=environ) as resolver:
        return resolver.resolve()


@pytest.fixture
def seeded(openbao: BaoServer) -> BaoServer:
    openbao.api("POST", "kv/data/snap-app/prod/db", {"data": {"password": "db-pw"}})
    openbao.api("POST", "kv/data/snap-app/prod/api", {"data": {"key": "api-key"}})
    return openbao


def test_fallback_within_max_stale_is_announced_and_audited(seeded: BaoServer, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    environ = {**master_key_env(), "VAULT_TOKEN": seeded.token}
    root = make_project(tmp_path, {}, environ=environ)
    project(root, seeded.url)
    assert resolve(root, environ).warnings == []
    snapshot = root / ".vaultline" / "snapshots" / "prod.snapshot"
    assert stat.S_IMODE(snapshot.stat().st_mode) == 0o600
    assert b"db-pw" not in snapshot.read_bytes() and b"api-key" not in snapshot.read_bytes()

    project(root, f"http://127.0.0.1:{free_port()}")  # the server is now unreachable
    later = datetime.now(UTC) + timedelta(minutes=30)
    monkeypatch.setattr(vaultline.resolve.snapshot, "_now", lambda: later)
    bundle = resolve(root, environ)
    assert bundle["Db:Password"] == "db-pw" and bundle["Api:Key"] == "api-key"
    (warning,) = bundle.warnings
    assert "provider 'vault' is unreachable: 2 secret(s) served from the offline snapshot" in warning
    events = [json.loads(line) for line in (root / ".vaultline" / "audit.log").read_text().splitlines()]
    fallback = [e for e in events if (e.get("detail") or {}).get("source") == "offline-snapshot"]
    assert {e["reference"] for e in fallback} == {"vault:db", "vault:api"}
    assert all(e["action"] == "read" and e["env"] == "prod" for e in fallback)

    # Served values keep their age: re-saving them must not extend their life.
    past_limit = datetime.now(UTC) + timedelta(minutes=61)
    monkeypatch.setattr(vaultline.resolve.snapshot, "_now", lambda: past_limit)
    with pytest.raises(ResolutionError, match="cannot reach"):
        resolve(root, environ)


def test_no_fallback_without_max_stale(seeded: BaoServer, tmp_path: Path) -> None:
    environ = {**master_key_env(), "VAULT_TOKEN": seeded.token}
    root = make_project(tmp_path, {}, environ=environ)
    project(root, seeded.url, max_stale=None)
    resolve(root, environ)
    assert not (root / ".vaultline" / "snapshots").exists()
    project(root, f"http://127.0.0.1:{free_port()}", max_stale=None)
    with pytest.raises(ResolutionError, match="cannot reach"):
        resolve(root, environ)


def test_denial_never_falls_back(seeded: BaoServer, tmp_path: Path) -> None:
    environ = {**master_key_env(), "VAULT_TOKEN": seeded.token}
    root = make_project(tmp_path, {}, environ=environ)
    project(root, seeded.url)
    resolve(root, environ)
    narrow = seeded.api("POST", "auth/token/create", {"policies": ["default"], "ttl": "5m"})
    with pytest.raises(ResolutionError, match="permission denied"):
        resolve(root, {**environ, "VAULT_TOKEN": narrow["auth"]["client_token"]})


def test_another_master_key_cannot_use_the_snapshot(seeded: BaoServer, tmp_path: Path) -> None:
    environ = {**master_key_env(), "VAULT_TOKEN": seeded.token}
    root = make_project(tmp_path / "a", {}, environ=environ)
    project(root, seeded.url)
    resolve(root, environ)
    other_env = {**master_key_env(), "VAULT_TOKEN": seeded.token}
    other = make_project(tmp_path / "b", {}, environ=other_env)
    project(other, f"http://127.0.0.1:{free_port()}")
    (other / ".vaultline" / "snapshots").mkdir()
    (other / ".vaultline" / "snapshots" / "prod.snapshot").write_bytes(
        (root / ".vaultline" / "snapshots" / "prod.snapshot").read_bytes())
    with pytest.raises(ResolutionError, match="cannot reach"):
        resolve(other, other_env)


def test_one_load_opens_the_store_once_and_derives_each_key_once(
        seeded: BaoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The session's store serves the local provider, the offline snapshot and the audit."""
    import vaultline
    from vaultline.store import EmbeddedStore, masterkey

    environ = {**master_key_env(), "VAULT_TOKEN": seeded.token}
    root = make_project(tmp_path, {}, environ=environ)
    project(root, seeded.url)
    (root / "env/prod/secrets.yaml").write_text(
        "Db:Password: vault:db#password\nApi:Key: vault:api#key\nLocal:Key: local\n")
    EmbeddedStore.open(root / ".vaultline", environ=environ).put("snap-app/prod/Local/Key", b"l")
    opened: list[Path] = []
    derived: list[str] = []
    connect, derive = EmbeddedStore._connect, masterkey.MasterKey.derive
    monkeypatch.setattr(EmbeddedStore, "_connect",
                        staticmethod(lambda path: opened.append(path) or connect(path)))
    monkeypatch.setattr(masterkey.MasterKey, "derive",
                        lambda self, purpose: derived.append(purpose) or derive(self, purpose))

    bundle = vaultline.load("prod", root, environ=environ)

    assert bundle["Local:Key"] == "l" and bundle["Db:Password"] == "db-pw"
    assert (root / ".vaultline" / "snapshots" / "prod.snapshot").exists()  # it did run
    assert opened == [root / ".vaultline" / "store.db"]
    assert sorted(derived) == sorted(set(derived))  # no sub-key derived twice
    assert "offline-snapshot" in derived and "store-kek" in derived and "audit-chain" in derived
