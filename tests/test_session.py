"""Session's secret operations from Python: each audits itself (the CLI adds nothing), target
resolution by key or reference, and vaultline's own records out of reach of every one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.factory import make_project
from vaultline.errors import ConfigError, ProviderError, ReservedPathError, ResolutionError
from vaultline.keys import KeyManager
from vaultline.project.model import Project
from vaultline.resolve.session import Session


@pytest.fixture
def root(tmp_path: Path, environ: dict[str, str]) -> Path:
    return make_project(tmp_path, environ=environ)


def events(root: Path, *, intents: bool = False) -> list[dict[str, Any]]:
    """The audit events; a change's intent line (written before it) only when asked for."""
    found = [json.loads(line)
             for line in (root / ".vaultline" / "audit.log").read_text().splitlines()]
    return [e for e in found if intents or e["outcome"] != "intent"]


def test_every_operation_records_its_own_event(root: Path, environ: dict[str, str]) -> None:
    ref = "local:nexus-engine/prod/Api/Key"
    with Session(Project.load(root), environ=environ) as s:
        assert s.put(ref, "one").version == "1"
        assert s.put(ref, "two").version == "2"
        assert s.get(ref) == "two"
        assert s.rollback(ref, "1") == (ref, "1", "3")
        assert s.get(ref) == "one"
        assert s.delete(ref) == (ref, [3])
        assert s.undelete(ref) == (ref, [3])
        assert s.delete(ref, [1], destroy=True) == (ref, [1])
        assert [v.version for v in s.versions(ref)] == [1, 2, 3]
    assert [(e["action"], e["outcome"], e["reference"]) for e in events(root)] == [
        ("write", "ok", ref), ("write", "ok", ref), ("reveal", "ok", ref),
        ("write", "ok", ref), ("reveal", "ok", ref), ("delete", "ok", ref),
        ("undelete", "ok", ref), ("destroy", "ok", ref)]
    assert [e["action"] for e in events(root, intents=True) if e["outcome"] == "intent"] == [
        "write", "write", "write", "delete", "undelete", "destroy"]
    assert "one" not in (root / ".vaultline" / "audit.log").read_text()


def test_a_failed_operation_is_audited_as_failed(root: Path, environ: dict[str, str]) -> None:
    with Session(Project.load(root), environ=environ) as s, \
            pytest.raises(ProviderError, match="no secret at"):
        s.get("local:nexus-engine/prod/Missing")
    assert [(e["action"], e["outcome"]) for e in events(root)] == [("reveal", "failed")]


def test_a_write_to_a_named_version_is_refused(root: Path, environ: dict[str, str]) -> None:
    # '@1' names a version that exists; writing "to" it made version 2 regardless.
    ref = "local:nexus-engine/prod/Api/Key"
    with Session(Project.load(root), environ=environ) as s:
        s.put(ref, "one")
        with pytest.raises(ConfigError, match=r"names version 1; a write makes a new version"):
            s.put(f"{ref}@1", "two")
        assert [v.version for v in s.versions(ref)] == [1] and s.get(ref) == "one"


def test_a_key_by_environment_and_a_bare_key(root: Path, environ: dict[str, str]) -> None:
    project = Project.load(root)
    with Session(project, "prod", environ=environ) as s:
        written = s.put("ConnectionStrings:Primary", "postgres://x")
        assert written.where == "local:nexus-engine/prod/ConnectionStrings/Primary"
        assert events(root)[-1]["key"] == "ConnectionStrings:Primary"
    with Session(project, environ=environ) as s, \
            pytest.raises(ConfigError, match="is a key, not a reference: pass --env ENV"):
        s.put("ConnectionStrings:Primary", "x")


@pytest.mark.parametrize("target", [
    "local:_vaultline/overrides/prod/deadbeef", "local:_VAULTLINE/keys/jwt",
    "local:./_vaultline/keys/jwt", "local:x/../_vaultline/keys/jwt",
    "local:%5Fvaultline/keys/jwt", "local:_vaultline/keys/jwt/",
])
def test_the_python_api_refuses_internal_records(root: Path, environ: dict[str, str],
                                                 target: str) -> None:
    with Session(Project.load(root), environ=environ) as s:
        for call in (lambda: s.put(target, "{}"), lambda: s.get(target),
                     lambda: s.versions(target), lambda: s.delete(target),
                     lambda: s.undelete(target), lambda: s.rollback(target, "1"),
                     lambda: s.list_paths(target.removeprefix("local:"))):
            with pytest.raises(ReservedPathError) as info:
                call()
            assert info.value.exit_code == 2
    denied = [(e["action"], e["outcome"]) for e in events(root)]
    assert denied == [("write", "denied"), ("reveal", "denied"), ("deny", "denied"),
                      ("delete", "denied"), ("undelete", "denied"), ("write", "denied"),
                      ("deny", "denied")]


def test_a_reference_into_the_namespace_never_yields_key_material(
        root: Path, environ: dict[str, str]) -> None:
    project = Project.load(root)
    with KeyManager.from_project(project, environ=environ) as keys:
        keys.create("jwt", purpose="hmac")
    (root / "env/prod/secrets.yaml").write_text(
        "ConnectionStrings:Primary: local:_vaultline/keys/jwt\n")
    with Session(Project.load(root), "prod", environ=environ) as s, \
            pytest.raises(ResolutionError) as info:
        s.resolve(reveal=True)
    assert "material" not in str(info.value)


def test_the_resolver_reports_what_it_read_and_the_session_audits_exactly_that(
        tmp_path: Path, environ: dict[str, str]) -> None:
    """Typed records, not a walk over the bundle: every value read (one an override shadows
    too), its provider, path and identity, and the override applied by its own id."""
    from datetime import timedelta

    from vaultline.resolve.overrides import OverrideLayer
    from vaultline.resolve.resolver import Applied, Read, Resolver
    from vaultline.store import EmbeddedStore

    root = make_project(tmp_path, {"env/prod/secrets.yaml": (
        "ConnectionStrings:Primary: local\nApi:Key: local\nApi:Shadowed: local\n")},
        environ=environ)
    with EmbeddedStore.open(root / ".vaultline", environ=environ) as store:
        for key in ("ConnectionStrings/Primary", "Api/Key", "Api/Shadowed"):
            store.put(f"nexus-engine/prod/{key}", f"stored {key}".encode())
    project = Project.load(root)
    with Session(project, "prod", environ=environ) as s:
        made = s.set_override("Api:Shadowed", "break-glass", ttl=timedelta(hours=1),
                              reason="incident", approved_by="ops", ticket="INC-1")
        layer = OverrideLayer(s.overrides.sweep("prod")[0], environ)
        with Resolver(project, "prod", environ=environ, runtime_layers=[layer],
                      store=s.store) as resolver:
            resolution = resolver.read()
        assert resolution.reads == [
            Read(key, "local", f"nexus-engine/prod/{key.replace(':', '/')}",
                 f"stored {key.replace(':', '/')}", None)
            for key in ("Api:Key", "Api:Shadowed", "ConnectionStrings:Primary")]
        assert resolution.applied == [Applied("Api:Shadowed", "break-glass", made.id)]
        assert "stored" not in repr(resolution.reads) + repr(resolution.applied)
        assert "break-glass" not in repr(resolution.applied)

        s.resolve(reveal=True)
    lines = [e for e in events(root) if e["action"] in ("read", "override.apply", "reveal")]
    # A value read and shown is one reveal line with its reference; the shadowed read stays a
    # read, and the override's value shown is a reveal of its own.
    assert [(e["action"], e["key"], e["reference"], (e["detail"] or {}).get("override"))
            for e in lines] == [
        ("reveal", "Api:Key", "local:nexus-engine/prod/Api/Key", None),
        ("read", "Api:Shadowed", "local:nexus-engine/prod/Api/Shadowed", None),
        ("reveal", "ConnectionStrings:Primary",
         "local:nexus-engine/prod/ConnectionStrings/Primary", None),
        ("override.apply", "Api:Shadowed", None, made.id),
        ("reveal", "Api:Shadowed", None, None)]
    assert all(e["value_hmac"] for e in lines)
    hmacs = {(e["action"], e["key"]): e["value_hmac"] for e in lines}
    assert hmacs[("override.apply", "Api:Shadowed")] == hmacs[("reveal", "Api:Shadowed")]
    assert hmacs[("read", "Api:Shadowed")] != hmacs[("reveal", "Api:Shadowed")]
