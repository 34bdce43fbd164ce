"""Mirror parity between the embedded store and OpenBao: missing, extra and different paths
found by keyed hash, with no value (and no hash) in the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.drift.conftest import MIRROR_VALUES, mirrored
from tests.factory import write
from tests.servers import BaoServer
from vaultline.drift import compare_mirror, parse_mirror
from vaultline.drift.mirror import KEY_FROM_STORE, KEY_RANDOM, canonical
from vaultline.errors import ConfigError
from vaultline.project.model import Project
from vaultline.resolve.session import Session


def test_local_to_vault_parity(openbao: BaoServer, tmp_path: Path, app: str) -> None:
    environ = mirrored(openbao, tmp_path, app)
    with Session(Project.load(tmp_path), "prod", environ=environ) as session:
        report = compare_mirror(session, *parse_mirror(f"local:{app}/prod=vault:mirror"))
        assert session.audit.verify().ok
    assert {(i.kind, i.path) for i in report.items} == {
        ("missing", "only-source"), ("extra", "only-mirror"), ("different", "db/password")}
    data = report.to_dict()
    assert data["hash_key"] == KEY_FROM_STORE and data["source"] == f"local:{app}/prod"
    assert data["checked"] == {"source": 4, "mirror": 4}
    text = json.dumps(data) + (tmp_path / ".vaultline" / "audit.log").read_text()
    assert not any(v in text for v in MIRROR_VALUES)
    # the run's hashes are not in the report either: only paths and reasons
    assert all(set(i) == {"kind", "provider", "path", "key", "reference", "where", "reason"}
               for i in data["items"])


def test_without_a_store_a_random_key_is_used_and_said(
        openbao: BaoServer, tmp_path: Path, app: str) -> None:
    environ = mirrored(openbao, tmp_path, app, with_store=False)
    openbao.api("POST", f"kv/data/{app}/prod/copy/same", {"data": {"value": "canary-same-1"}})
    with Session(Project.load(tmp_path), "prod", environ=environ) as session:
        report = compare_mirror(session, *parse_mirror("vault:copy=vault:mirror"))
    assert report.to_dict()["hash_key"] == KEY_RANDOM
    assert any("random key for this run only" in n for n in report.notes)
    assert {(i.kind, i.path) for i in report.items} == {
        ("extra", "json"), ("extra", "db/password"), ("extra", "only-mirror")}


def test_needs_env_when_a_provider_uses_it(openbao: BaoServer, tmp_path: Path, app: str) -> None:
    environ = mirrored(openbao, tmp_path, app)
    write(tmp_path, {"vaultline.yaml": f"""
        version: 1
        app: {app}
        environments: [dev, prod]
        providers:
          vault: {{type: vault, url: "{openbao.url}", prefix: "{{app}}/{{env}}"}}
    """})
    with Session(Project.load(tmp_path), None, environ=environ) as session, \
            pytest.raises(ConfigError, match="pass --env"):
        compare_mirror(session, *parse_mirror(f"local:{app}/prod=vault:mirror"))


@pytest.mark.parametrize(("spec", "problem"), [
    ("local", "expected SRC=DST"), ("=vault", "expected SRC=DST"), (":x=vault", "mirror side"),
])
def test_bad_specs(spec: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        parse_mirror(spec)


@pytest.mark.parametrize(("a", "b", "equal"), [
    ("plain", {"value": "plain"}, True),
    ('{"b": "2", "a": "1"}', {"a": "1", "b": "2"}, True),
    ("plain", {"value": "other"}, False),
    ('["a"]', '["a"]', True),
    ({"value": "x", "extra": "y"}, "x", False),
])
def test_canonical_forms(a: str | dict[str, str], b: str | dict[str, str], equal: bool) -> None:
    assert (canonical(a) == canonical(b)) is equal
