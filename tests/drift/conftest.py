"""A project whose embedded store holds a known mix of drift (and canary values to grep for)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.factory import make_project, master_key_env
from tests.servers import BaoServer
from vaultline.project.model import Project
from vaultline.resolve.session import Session
from vaultline.store import EmbeddedStore

# Every value written in these tests: none may ever appear in a report.
CANARIES = ("canary-present-1", "canary-pw-2", "canary-old-3", "canary-new-4", "canary-del-5",
            "canary-del-6", "canary-orphan-7", "canary-dev-8")

SECRETS_YAML = """
    A:Present: local
    A:Missing: local
    A:Field: local:nexus-engine/prod/json#password
    A:NoField: local:nexus-engine/prod/json#nope
    A:Pinned: local:nexus-engine/prod/pinned@1
    A:Deleted: local
    A:Destroyed: local
"""


@dataclass
class LocalProject:
    root: Path
    environ: dict[str, str]

    def session(self, env: str | None = "prod") -> Session:
        return Session(Project.load(self.root), env, environ=self.environ)

    def store(self) -> EmbeddedStore:
        return EmbeddedStore.open(self.root / ".vaultline", environ=self.environ)


@pytest.fixture
def drifted(tmp_path: Path) -> Iterator[LocalProject]:
    environ = master_key_env()
    root = make_project(tmp_path / "p", {"env/prod/secrets.yaml": SECRETS_YAML}, environ=environ)
    with EmbeddedStore.open(root / ".vaultline", environ=environ) as store:
        store.put("nexus-engine/prod/A/Present", b"canary-present-1")
        store.put("nexus-engine/prod/json", b'{"password": "canary-pw-2"}')
        store.put("nexus-engine/prod/pinned", b"canary-old-3")
        store.put("nexus-engine/prod/pinned", b"canary-new-4")
        store.put("nexus-engine/prod/A/Deleted", b"canary-del-5")
        store.delete("nexus-engine/prod/A/Deleted")
        store.put("nexus-engine/prod/A/Destroyed", b"canary-del-6")
        store.destroy("nexus-engine/prod/A/Destroyed")
        store.put("nexus-engine/prod/Orphan", b"canary-orphan-7")
        store.put("nexus-engine/dev/NotThisEnv", b"canary-dev-8")
    yield LocalProject(root, environ)


@pytest.fixture
def app() -> str:
    """A fresh app name per test, so tests share the OpenBao server without sharing secrets."""
    return f"drift-{secrets.token_hex(4)}"


MIRROR_VALUES = ("canary-same-1", "canary-src-2", "canary-dst-3", "canary-only-src-4",
          "canary-only-dst-5", "canary-json-6")


def mirrored(openbao: BaoServer, root: Path, app: str, *, with_store: bool = True) -> dict[str, str]:
    environ = master_key_env() if with_store else {}
    make_project(root, {"vaultline.yaml": f"""
        version: 1
        app: {app}
        environments: [dev, prod]
        providers:
          vault: {{type: vault, url: "{openbao.url}", mount: kv, retries: 0}}
    """}, environ=environ if with_store else None)
    if with_store:
        with EmbeddedStore.open(root / ".vaultline", environ=environ) as store:
            store.put(f"{app}/prod/same", b"canary-same-1")
            store.put(f"{app}/prod/db/password", b"canary-src-2")
            store.put(f"{app}/prod/only-source", b"canary-only-src-4")
            store.put(f"{app}/prod/json", b'{"user": "app", "password": "canary-json-6"}')
    for path, data in [("same", {"value": "canary-same-1"}),
                       ("db/password", {"value": "canary-dst-3"}),
                       ("only-mirror", {"value": "canary-only-dst-5"}),
                       ("json", {"password": "canary-json-6", "user": "app"})]:
        openbao.api("POST", f"kv/data/{app}/prod/mirror/{path}", {"data": data})
    return {**environ, "VAULT_TOKEN": openbao.token}
