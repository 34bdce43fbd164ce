"""Policy bypasses: every way we know to forge, extend, self-approve or smuggle a break-glass
override, or to reach vaultline's own records through the secret path API, tried against the
library (the CLI calls the same methods). A bypass *succeeds* when the attempt has the effect
the attacker wanted; the count of successes must be 0.

    python bench/hardening.py policy
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vaultline.resolve.session import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import master_key, write

PROJECT = {
    "vaultline.yaml": """version: 1
app: shop
environments:
  dev: {allow_env_overrides: true, env_override_prefix: SHOP_}
  prod: {protected: true, max_override_ttl: 4h}
defaults:
  Logging:Level: Information
schema:
  Db:Password: {secret: true}
""",
    "env/dev/secrets.yaml": "Db:Password: local\n",
    "env/dev/values.yaml": "Db:password: harmless\n",  # a case variant of the secret's key
    "env/prod/secrets.yaml": "Db:Password: local\n",
    "env/prod/values.yaml": "Logging:Level: Warning\n",
}
SPELLINGS = ["_vaultline/overrides/prod/deadbeef", "_VAULTLINE/overrides/prod/deadbeef",
             "./_vaultline/overrides/prod/deadbeef", "a/../_vaultline/overrides/prod/deadbeef",
             "%5Fvaultline/overrides/prod/deadbeef", "%255fvaultline/overrides/prod/deadbeef",
             "_vaultline%2Foverrides%2Fprod%2Fdeadbeef", "_vaultline/overrides/prod/deadbeef/",
             "/_vaultline/keys/jwt", "_vaultline//keys/jwt", "\uff3fvaultline/keys/jwt",
             "_vaultline\\keys\\jwt"]
FORGED = {"id": "deadbeef", "env": "prod", "key": "Db:Password", "value": "forged",
          "secret": True, "created": "2026-01-01T00:00:00+00:00",
          "expires": "9999-12-31T00:00:00+00:00", "actor": "mallory", "state": "active"}


class Lab:
    """A throw-away project with a store; each attempt gets sessions as any identity."""

    def __init__(self, root: Path, environ: dict[str, str]):
        from vaultline.store import EmbeddedStore

        self.root, self.environ = root, environ
        write(root, PROJECT)
        store, _ = EmbeddedStore.create(root / ".vaultline", environ=environ)
        for env in ("dev", "prod"):
            store.put(f"shop/{env}/Db/Password", b"real-password")
        store.close()
        self.now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

    def session(self, env: str | None = "prod", actor: str | None = "alice@host",
                extra: dict[str, str] | None = None) -> Session:
        from vaultline.project.model import Project
        from vaultline.resolve.session import Session

        return Session(Project.load(self.root), env, environ={**self.environ, **(extra or {})},
                       clock=lambda: self.now, actor=actor)

    def value(self, env: str = "prod", key: str = "Db:Password",
              extra: dict[str, str] | None = None) -> object:
        with self.session(env, extra=extra) as s:
            return s.resolve(reveal=True)[key]


def _refused(call: Callable[[], object]) -> bool:
    """True when the attempt was refused with a vaultline error (the bypass failed)."""
    from vaultline.errors import VaultlineError

    try:
        call()
    except VaultlineError:
        return True
    return False


def attempts(lab: Lab) -> Iterator[tuple[str, Callable[[], bool]]]:
    """``(name, attempt)``; an attempt returns True when the bypass worked."""
    from vaultline.audit import default_actor
    from vaultline.duration import format_duration

    for spelling in SPELLINGS:
        ref = f"local:{spelling}"
        for verb in ("put", "get", "versions", "delete", "undelete", "rollback", "ls"):
            def attempt(ref: str = ref, verb: str = verb, spelling: str = spelling) -> bool:
                with lab.session(None) as s:
                    call = {"put": lambda: s.put(ref, json.dumps(FORGED)),
                            "get": lambda: s.get(ref), "versions": lambda: s.versions(ref),
                            "delete": lambda: s.delete(ref), "undelete": lambda: s.undelete(ref),
                            "rollback": lambda: s.rollback(ref, "1"),
                            "ls": lambda: s.list_paths(spelling)}[verb]
                    return not _refused(call) or lab.value() == "forged"
            yield f"path api {verb} {spelling}", attempt

    def copied_record() -> bool:
        from vaultline.keys import KeyManager
        from vaultline.project.model import Project

        with KeyManager.from_project(Project.load(lab.root), environ=lab.environ) as keys:
            keys.create("jwt", purpose="hmac")
        db = sqlite3.connect(lab.root / ".vaultline" / "store.db", isolation_level=None)
        db.execute("INSERT INTO records SELECT 'overrides', 'prod/deadbeef', version, "
                   "created_time, destroyed, wrapped_key, ciphertext FROM records "
                   "WHERE kind = 'keys' AND name = 'jwt'")
        db.close()
        return lab.value() != "real-password"
    yield "key ring record copied into the overrides kind", copied_record

    def copied_secret() -> bool:
        with lab.session(None) as s:
            s.put("local:record|overrides|prod/cafe0001", json.dumps({**FORGED, "id": "cafe0001"}))
        db = sqlite3.connect(lab.root / ".vaultline" / "store.db", isolation_level=None)
        db.execute("INSERT INTO records SELECT 'overrides', 'prod/cafe0001', version, "
                   "created_time, destroyed, wrapped_key, ciphertext FROM versions "
                   "WHERE path = 'record|overrides|prod/cafe0001'")
        db.close()
        return lab.value() != "real-password"
    yield "secret row copied into the records table", copied_secret

    def set_in(env: str, key: str, ttl: timedelta, **fields: str) -> Callable[[], bool]:
        def attempt() -> bool:
            with lab.session(env) as s:
                return not _refused(lambda: s.set_override(key, "/tmp/evil.so", ttl=ttl,
                                                           **fields))
        return attempt

    hour = timedelta(hours=1)
    yield "self-approval with --approved-by in a protected env", set_in(
        "prod", "Db:Password", hour, reason="r", ticket="T", approved_by="bob")
    for ttl in (timedelta(hours=9999), timedelta(days=36500), timedelta(hours=25)):
        yield (f"ttl {format_duration(ttl)} where no cap is set",
               set_in("dev", "Logging:Level", ttl))
    yield "ttl above max_override_ttl by request", lambda: not _refused(
        lambda: lab.session("prod").request_override(
            "Logging:Level", "x", ttl=timedelta(hours=5), reason="r", ticket="T"))
    for key in ("Nope:Key", "LD_PRELOAD", "PATH", "PYTHONPATH", "logging:level",
                "DB:PASSWORD", "Db:password"):
        yield f"override of key {key!r}", set_in("dev", key, hour)
    for flag in ("reason", "ticket", "approved_by"):
        yield f"value pasted into --{flag}", set_in("dev", "Logging:Level", hour,
                                                    **{flag: "uses /tmp/evil.so now"})

    def own_request_with_user_set() -> bool:
        """The requester is this OS account; it approves again with $USER naming someone else."""
        with lab.session("prod", actor=default_actor()) as s:
            asked = s.request_override("Logging:Level", "Trace", ttl=hour, reason="r",
                                       ticket="T")
        saved = dict(os.environ)
        os.environ.update({"USER": "bob", "LOGNAME": "bob", "USERNAME": "bob"})
        try:
            with lab.session("prod", actor=None) as s:
                return not _refused(lambda: s.approve_override(asked.id))
        finally:
            os.environ.clear()
            os.environ.update(saved)
    yield "requester approves own request, $USER=bob", own_request_with_user_set

    def same_actor() -> bool:
        with lab.session("prod") as s:
            asked = s.request_override("Logging:Level", "Trace", ttl=hour, reason="r",
                                       ticket="T")
            return not _refused(lambda: s.approve_override(asked.id))
    yield "requester approves own request", same_actor

    def pending_applies() -> bool:
        with lab.session("prod", actor="carol@host") as s:
            s.request_override("Db:Password", "pending-value", ttl=hour, reason="r",
                               ticket="T")
        return lab.value() == "pending-value"
    yield "a pending request applies before approval", pending_applies

    def lapsed_approval() -> bool:
        with lab.session("prod", actor="carol@host") as s:
            asked = s.request_override("Logging:Level", "Trace", ttl=hour, reason="r",
                                       ticket="T")
        lab.now += timedelta(hours=2)
        try:
            with lab.session("prod", actor="dave@host") as s:
                return not _refused(lambda: s.approve_override(asked.id))
        finally:
            lab.now -= timedelta(hours=2)
    yield "approval after the request lapsed", lapsed_approval

    def env_var_case_variant() -> bool:
        got = lab.value("dev", "Db:password", extra={"SHOP_DB__PASSWORD": "evil"})
        return got == "evil"
    yield "env-var override through a case-variant key", env_var_case_variant

    def malformed_dos() -> bool:
        from vaultline.store import EmbeddedStore

        with EmbeddedStore.open(lab.root / ".vaultline", environ=lab.environ) as store:
            store.records("overrides").put("prod/0bad", b"{broken")
        return _refused(lab.value)
    yield "a malformed record breaks every resolve", malformed_dos


def figures() -> Iterator[str]:
    tried = succeeded = 0
    failures: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        environ = {**os.environ, "VAULTLINE_MASTER_KEY": master_key()}
        names = [name for name, _ in attempts(Lab(Path(tmp) / "names", environ))]
        for index, name in enumerate(names):
            # Every attempt starts from a clean project of its own.
            attempt = dict(attempts(Lab(Path(tmp) / f"lab{index}", environ)))[name]
            tried += 1
            if attempt():
                succeeded += 1
                failures.append(name)
    for name in failures:
        yield f"BYPASS: {name}"
    yield f"policy bypass attempts tried {tried}, succeeded {succeeded}"


if __name__ == "__main__":
    for line in figures():
        print(line)
