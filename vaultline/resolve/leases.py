"""Leases on dynamic credentials (Vault/OpenBao's database engine): kept, renewed, revoked.

A provider that issues a credential registers its :class:`Lease` in :data:`LEASES`, the
process's book. The book hands the same lease back to every later resolution in the process
(a ``run --watch`` re-resolve does not mint a new database user each tick) until the lease
nears its end, then the next resolution gets new credentials and the old lease is retired.
``vaultline run`` renews the leases while its child runs (at two thirds of their TTL) and
revokes them when the child exits; any other command's leases are revoked when it exits,
unless :meth:`LeaseBook.keep` was called (``vaultline resolve --keep-lease``).
"""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Callable, Hashable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

from vaultline.errors import VaultlineError

#: Audit actions: a lease renewed (its new TTL in ``detail``), a lease revoked.
LEASE_RENEW = "lease.renew"
LEASE_REVOKE = "lease.revoke"

#: Renew (and, near the end, replace) a lease when this share of its TTL is gone.
RENEW_AT = 2 / 3


class LeaseIssuer(Protocol):
    """What renews and revokes a lease: the provider that obtained it."""

    def renew_lease(self, lease_id: str, increment: int) -> float:
        """Renew; the seconds the server granted (less than asked near ``max_ttl``)."""

    def revoke_lease(self, lease_id: str) -> None: ...


@dataclass(eq=False)
class Lease:
    """One lease: its id (not a secret: using it needs a token), TTL and the credential."""

    lease_id: str
    ttl: float  # the TTL granted at issue: what each renewal asks for again
    renewable: bool
    where: str  # ``provider:mount/creds/role``, for messages and the audit
    data: dict[str, Any] = field(repr=False)
    issuer: LeaseIssuer = field(repr=False)
    granted: float = 0.0  # clock() when the current TTL started
    remaining: float = 0.0  # seconds from ``granted``
    final: bool = False  # cannot be extended further (max_ttl reached, or not renewable)

    @property
    def expires(self) -> float:
        return self.granted + self.remaining

    @property
    def renew_at(self) -> float:
        return self.granted + self.remaining * RENEW_AT

    @property
    def replace_at(self) -> float:
        """When new credentials are due: a renewal's worth of time before a final lease ends."""
        if not self.final:
            return float("inf")
        return self.expires - min(self.remaining, self.ttl) * (1 - RENEW_AT)


Auditor = Callable[[str, Lease, dict[str, Any]], None]


class LeaseBook:
    """The process's leases, by what issued them (server, mount, role)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._lock = threading.Lock()
        self._current: dict[Hashable, Lease] = {}
        self._retired: list[Lease] = []
        self._kept = False
        self._exit_hook = False
        self.changed = threading.Event()  # set when a lease is added: renewals to reschedule
        self.auditor: Auditor | None = None
        self.warn: Callable[[str], None] = lambda _message: None

    def reusable(self, key: Hashable) -> Lease | None:
        """The lease to hand out again for ``key``, unless it is due for replacement."""
        with self._lock:
            lease = self._current.get(key)
            if lease is None or self.clock() >= lease.replace_at:
                return None
            return lease

    def add(self, key: Hashable, lease: Lease) -> None:
        with self._lock:
            old = self._current.get(key)
            if old is not None:
                self._retired.append(old)
            self._current[key] = lease
            self.changed.set()
            if not self._exit_hook:
                atexit.register(self._at_exit)
                _exit_on_termination()
                self._exit_hook = True

    def __bool__(self) -> bool:
        with self._lock:
            return bool(self._current or self._retired)

    def keep(self) -> None:
        """Leave the leases to expire on their own TTL (not revoked when the process exits)."""
        self._kept = True

    def lease_ids(self) -> tuple[list[str], list[str]]:
        """The ids of the leases in use and of those replaced but not yet revoked."""
        with self._lock:
            return (sorted(lease.lease_id for lease in self._current.values()),
                    sorted(lease.lease_id for lease in self._retired))

    def next_renewal(self) -> float | None:
        """Seconds until a lease must be renewed, or None when none can be."""
        with self._lock:
            times = [lease.renew_at for lease in self._current.values() if not lease.final]
        return None if not times else max(0.0, min(times) - self.clock())

    def replacement_in(self) -> float | None:
        """Seconds until the first lease needs new credentials, or None."""
        with self._lock:
            times = [lease.replace_at for lease in self._current.values() if lease.final]
        return None if not times else max(0.0, min(times) - self.clock())

    def renew_due(self) -> bool:
        """Renew every lease due; True when one became final (new credentials will be due)."""
        now = self.clock()
        with self._lock:
            due = [lease for lease in self._current.values()
                   if not lease.final and lease.renew_at <= now]
        became_final = False
        for lease in due:
            if not lease.renewable:
                lease.final = became_final = True
                continue
            try:
                granted = lease.issuer.renew_lease(lease.lease_id, round(lease.ttl))
            except VaultlineError as exc:
                # The credential keeps working until it expires: replace it before then.
                self.warn(f"{lease.where}: renewing the lease failed ({exc}); new credentials "
                          "are fetched before it expires")
                lease.final = became_final = True
                continue
            lease.granted, lease.remaining = self.clock(), granted
            if granted < lease.ttl * 0.95:  # capped by max_ttl: this is the last extension
                lease.final = became_final = True
            self._audit(LEASE_RENEW, lease, {"ttl": round(granted)})
        return became_final

    def revoke_retired(self) -> None:
        with self._lock:
            retired, self._retired = self._retired, []
        for lease in retired:
            self._revoke(lease)

    def revoke_all(self) -> None:
        with self._lock:
            leases = [*self._retired, *self._current.values()]
            self._retired, self._current = [], {}
        for lease in leases:
            self._revoke(lease)

    def _revoke(self, lease: Lease) -> None:
        try:
            lease.issuer.revoke_lease(lease.lease_id)
        except VaultlineError as exc:
            self.warn(f"{lease.where}: revoking the lease failed ({exc}); it ends with its "
                      "TTL")
            return
        self._audit(LEASE_REVOKE, lease, {})

    def _audit(self, action: str, lease: Lease, detail: dict[str, Any]) -> None:
        if self.auditor is not None:
            with suppress(VaultlineError):
                self.auditor(action, lease, detail)

    def _at_exit(self) -> None:
        if not self._kept:
            self.revoke_all()


def _exit_on_termination() -> None:
    """SIGTERM, SIGHUP, SIGQUIT ... (``vaultline._signals``) left at their default would end
    the process without the exit hook: exit through it instead, so a lease is revoked even
    when the process is stopped before its child starts (``run`` forwards these signals to
    the child once it runs)."""
    if threading.current_thread() is not threading.main_thread():
        return
    from vaultline._signals import install

    install(_exit, only_default=True)


def _exit(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def session_auditor(project_dir: Path | None, env: str,
                    environ: Mapping[str, str] | None = None) -> Auditor:
    """Record lease renewals and revocations in the project's audit log (the lease id and
    where it came from; never the credential)."""
    from vaultline.project.model import Project
    from vaultline.resolve.session import Session

    def record(action: str, lease: Lease, detail: dict[str, Any]) -> None:
        with Session(Project.load(project_dir, environ=environ), env) as session:
            session.audit.record(action, env=env, reference=lease.where,
                                 detail={"lease": lease.lease_id, **detail})

    return record


#: This process's leases.
LEASES = LeaseBook()

__all__ = ["LEASES", "LEASE_RENEW", "LEASE_REVOKE", "Lease", "LeaseBook", "LeaseIssuer"]
