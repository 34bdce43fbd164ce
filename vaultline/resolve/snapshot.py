"""Offline fallback: an encrypted snapshot of the last good resolution of an environment.

Off unless the environment sets ``max_stale`` in vaultline.yaml::

    environments:
      prod: {max_stale: 4h}

After every successful resolution the values read from *remote* providers are sealed into
``<store dir>/snapshots/<env>.snapshot`` (AES-256-GCM under a key derived from the embedded
store's master key, bound to the app and environment, file mode 0600). When a later resolution
finds a remote provider unreachable (``ProviderUnavailableError`` — never a denial or a missing
secret), each of that provider's requests is answered from the snapshot if the entry is at most
``max_stale`` old. Every use is announced in the bundle's warnings (the CLI prints them on
stderr) and recorded in the audit log.

The store's meta table names the nonce of the one snapshot file of each environment written
last (``snapshot:<env>``), in the same write transaction as the file: an older snapshot file
put back (from before a rotation or a destroy), or one copied from another store opened by the
same master key, is not the one named there and is never used. A destroy clears these rows
with the files (:meth:`vaultline.store.EmbeddedStore.forget_copies`).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vaultline._files import private_dir, write_private
from vaultline._limits import parse_json, read_bounded
from vaultline.duration import format_duration
from vaultline.errors import ProviderUnavailableError, VaultlineError
from vaultline.project.model import Project
from vaultline.providers.base import Fetched, Request
from vaultline.store.embedded import SNAPSHOT_META

if TYPE_CHECKING:
    from vaultline.store import EmbeddedStore

FORMAT_VERSION = 1
KEY_PURPOSE = "offline-snapshot"
NONCE_BYTES = 12

# provider name -> (path, version) -> a fetch result, as Resolver._fetch_all returns them.
Results = dict[str, dict[Request, Any]]


def _remote_results(results: Results, remote: set[str], kind: type) -> dict[tuple[str, Request], Any]:
    return {(name, request): result for name in sorted(remote & results.keys())
            for request, result in results[name].items() if isinstance(result, kind)}


def _now() -> datetime:
    return datetime.now(UTC)


def _entry_id(provider: str, request: Request) -> str:
    path, version = request
    return json.dumps([provider, path, version])


@dataclass
class OfflineSnapshot:
    project: Project
    env: str
    max_stale: timedelta
    environ: Mapping[str, str] = field(repr=False)
    clock: Callable[[], datetime] = field(default=lambda: _now())
    served: set[tuple[str, Request]] = field(default_factory=set)  # answered by fill()
    # The embedded store already open in this command (the caller closes it); else opened here.
    store: EmbeddedStore | None = field(default=None, repr=False)

    @classmethod
    def for_environment(cls, project: Project, env: str, environ: Mapping[str, str], *,
                        store: EmbeddedStore | None = None) -> OfflineSnapshot | None:
        max_stale = project.environment(env).max_stale
        if max_stale is None:
            return None
        return cls(project, env, max_stale, environ, store=store)

    @property
    def path(self) -> Path:
        return self.project.store_dir / "snapshots" / f"{self.env}.snapshot"

    def _aad(self) -> bytes:
        return f"vaultline-snapshot-v{FORMAT_VERSION}|{self.project.app}|{self.env}".encode()

    @contextlib.contextmanager
    def _store(self) -> Iterator[EmbeddedStore]:
        """The shared store, or one opened (and closed) for this call."""
        if self.store is not None:
            yield self.store
            return
        from vaultline.store import EmbeddedStore

        with EmbeddedStore.open(self.project.store_dir, environ=self.environ) as store:
            yield store

    # -- reading -------------------------------------------------------------------------

    @property
    def _meta_name(self) -> str:
        return f"{SNAPSHOT_META}{self.env}"  # the nonce of the file written last

    def _load(self, store: EmbeddedStore, key: bytes) -> dict[str, Any]:
        current = store.meta_get(self._meta_name)
        if current is None:
            return {}  # none written since the last destroy (or by an older vaultline)
        try:
            # Bounded, and a FIFO or device in its place refused without blocking.
            doc = parse_json(read_bounded(self.path, environ=self.environ))
        except (OSError, ValueError, VaultlineError):
            return {}  # unreadable: as if there were none (the next good resolution rewrites it)
        if not isinstance(doc, dict) or doc.get("v") != FORMAT_VERSION:
            return {}
        if doc.get("nonce") != current:
            return {}  # not the file written last: an older one put back, or another store's
        try:
            nonce, sealed = base64.b64decode(doc["nonce"]), base64.b64decode(doc["ciphertext"])
            plain = AESGCM(key).decrypt(nonce, sealed, self._aad())
        except (KeyError, TypeError, ValueError, InvalidTag):
            return {}  # another master key, another project, or tampered: never trusted
        entries: dict[str, Any] = json.loads(plain)["entries"]
        return entries

    def fill(self, results: Results, remote: set[str]) -> list[str]:
        """Replace unreachable remote providers' results with fresh-enough snapshot entries.

        Returns the warnings to show; an entry older than ``max_stale`` is never used.
        """
        down = _remote_results(results, remote, ProviderUnavailableError)
        if not down:
            return []
        with contextlib.ExitStack() as stack:
            try:
                store = stack.enter_context(self._store())
            except VaultlineError as exc:
                return [f"offline fallback unavailable: {exc}"]
            entries = self._load(store, store.derive_key(KEY_PURPOSE))
            now = self.clock()
            used: dict[str, list[tuple[tuple[str, Request], timedelta]]] = {}
            stale: set[str] = set()
            for wanted in sorted(down, key=str):
                entry = entries.get(_entry_id(*wanted))
                if entry is None:
                    continue
                age = now - datetime.fromisoformat(entry["fetched_at"])
                if age > self.max_stale:
                    stale.add(wanted[0])
                    continue
                results[wanted[0]][wanted[1]] = Fetched(entry["value"], entry.get("version"))
                self.served.add(wanted)
                used.setdefault(wanted[0], []).append((wanted, age))
            self._audit(store, used)
        warnings = []
        for name, items in sorted(used.items()):
            oldest = max(age for _, age in items)
            warnings.append(f"provider {name!r} is unreachable: {len(items)} secret(s) served from the "
                            f"offline snapshot (up to {format_duration(oldest)} old; max_stale "
                            f"{format_duration(self.max_stale)})")
        for name in sorted(stale - set(used)):
            warnings.append(f"provider {name!r} is unreachable and its offline snapshot is older "
                            f"than max_stale ({format_duration(self.max_stale)}); not used")
        return warnings

    def _audit(self, store: EmbeddedStore,
               used: Mapping[str, list[tuple[tuple[str, Request], timedelta]]]) -> None:
        if not used:
            return
        from vaultline.audit import READ, AuditEntry, AuditLog

        AuditLog.for_store(store).record_many([
            AuditEntry(READ, env=self.env, reference=f"{name}:{path}" + (f"@{version}" if version else ""),
                  detail={"source": "offline-snapshot", "reason": "provider unavailable",
                          "age_seconds": int(age.total_seconds())})
            for name, items in sorted(used.items()) for (_, (path, version)), age in items
        ])

    # -- writing -------------------------------------------------------------------------

    def remember(self, results: Results, remote: set[str]) -> str | None:
        """Seal the remote providers' values of a good resolution; a warning if that failed."""
        live = _remote_results(results, remote, Fetched)
        if not live:
            return None
        with contextlib.ExitStack() as stack:
            try:
                store = stack.enter_context(self._store())
            except VaultlineError as exc:
                return f"offline snapshot not saved: {exc}"
            try:
                key = store.derive_key(KEY_PURPOSE)
                previous = self._load(store, key)
                now = self.clock().isoformat()
                entries = {}
                for (name, request), fetched in live.items():
                    entry_id = _entry_id(name, request)
                    old = previous.get(entry_id)
                    # A value served from the snapshot keeps its original age: re-saving it
                    # must not make it look fresh.
                    served = (name, request) in self.served and old is not None
                    entries[entry_id] = {
                        "value": (fetched.value if isinstance(fetched.value, str)
                                  else dict(fetched.value)),
                        "version": fetched.version,
                        "fetched_at": old["fetched_at"] if served and old else now,
                    }
                self._write(store, key, {"app": self.project.app, "env": self.env,
                                  "entries": entries})
            except OSError as exc:
                return f"offline snapshot not saved: {exc.strerror}"
            except sqlite3.Error as exc:  # the meta row naming the file (store locked, read-only)
                return f"offline snapshot not saved: {exc}"
        return None

    def _write(self, store: EmbeddedStore, key: bytes, body: Mapping[str, Any]) -> None:
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(key).encrypt(nonce, json.dumps(body).encode(), self._aad())
        nonce_text = base64.b64encode(nonce).decode()
        doc = {"v": FORMAT_VERSION, "app": self.project.app, "env": self.env,
               "written_at": self.clock().isoformat(),
               "nonce": nonce_text, "ciphertext": base64.b64encode(sealed).decode()}
        private_dir(self.path.parent)
        # One transaction: of two processes saving at once, the file that stays is the one the
        # meta row names.
        with store.transaction():
            store.meta_set(self._meta_name, nonce_text)
            write_private(self.path, json.dumps(doc).encode())
