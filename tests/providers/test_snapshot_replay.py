"""The offline snapshot against a file-level attacker who keeps copies of it: an older
snapshot file put back (from before a rotation, or from before a destroy removed it), or one
from another store opened by the same master key, is never served. No server: the snapshot's
fill and remember are driven directly, on a fake clock."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

from tests.factory import FakeClock, make_project, master_key_env
from vaultline.errors import ProviderUnavailableError
from vaultline.project.model import Project
from vaultline.providers.base import Fetched
from vaultline.resolve.snapshot import OfflineSnapshot
from vaultline.store import EmbeddedStore

REQUEST = ("db", None)
CONFIG = {"vaultline.yaml": """
    version: 1
    app: snap-app
    environments:
      prod: {max_stale: 4h}
"""}


def _project(root: Path, environ: dict[str, str]) -> Project:
    return Project.load(make_project(root, CONFIG, environ=environ))


def _snapshot(project: Project, environ: dict[str, str], clock: FakeClock) -> OfflineSnapshot:
    return OfflineSnapshot(project, "prod", timedelta(hours=4), environ, clock=clock)


def _save(project: Project, environ: dict[str, str], clock: FakeClock, password: str,
          version: str) -> None:
    assert _snapshot(project, environ, clock).remember(
        {"vault": {REQUEST: Fetched({"password": password}, version)}}, {"vault"}) is None


def _offline(project: Project, environ: dict[str, str], clock: FakeClock) -> object:
    """What the snapshot answers for the request while the provider is down."""
    results = {"vault": {REQUEST: ProviderUnavailableError("down")}}
    _snapshot(project, environ, clock).fill(results, {"vault"})  # type: ignore[arg-type]
    fetched = results["vault"][REQUEST]
    return fetched.value if isinstance(fetched, Fetched) else None


def test_the_snapshot_written_last_serves(tmp_path: Path) -> None:
    environ, clock = master_key_env(), FakeClock()
    project = _project(tmp_path, environ)
    _save(project, environ, clock, "current", "1")
    clock.advance(minutes=10)
    assert _offline(project, environ, clock) == {"password": "current"}


def test_an_older_snapshot_put_back_is_not_served(tmp_path: Path) -> None:
    environ, clock = master_key_env(), FakeClock()
    project = _project(tmp_path, environ)
    path = _snapshot(project, environ, clock).path
    _save(project, environ, clock, "before-rotation", "1")
    older = path.read_bytes()
    clock.advance(minutes=10)
    _save(project, environ, clock, "after-rotation", "2")
    path.write_bytes(older)
    clock.advance(minutes=10)  # well within max_stale
    assert _offline(project, environ, clock) is None


def test_a_snapshot_put_back_after_a_destroy_is_not_served(tmp_path: Path) -> None:
    environ, clock = master_key_env(), FakeClock()
    project = _project(tmp_path, environ)
    path = _snapshot(project, environ, clock).path
    _save(project, environ, clock, "destroyed-value", "1")
    kept = path.read_bytes()
    with EmbeddedStore.open(project.store_dir, environ=environ) as store:
        store.forget_copies()  # as every destroy does
    assert not path.exists()
    path.write_bytes(kept)
    path.chmod(0o600)
    clock.advance(minutes=10)
    assert _offline(project, environ, clock) is None


def test_another_stores_snapshot_under_the_same_master_key_is_not_served(tmp_path: Path) -> None:
    environ, clock = master_key_env(), FakeClock()
    ours = _project(tmp_path / "ours", environ)
    theirs = _project(tmp_path / "theirs", environ)  # same app, env and master key
    _save(ours, environ, clock, "ours", "1")
    _save(theirs, environ, clock, "theirs", "1")
    shutil.copyfile(_snapshot(theirs, environ, clock).path, _snapshot(ours, environ, clock).path)
    assert _offline(ours, environ, clock) is None
