"""``run --watch``: re-resolving on a schedule and acting only on a real change.

A :class:`Watch` is the decision logic, driven by whoever calls :meth:`Watch.tick` (the
runner's watch thread, or a test with a fake schedule): each tick re-resolves, compares the
result with the bundle the child runs on, and hands a :class:`Snapshot` on only when a
value actually changed. A failing re-resolve keeps the last good bundle, warns once per
streak of failures and backs off exponentially, so a broken provider is not hammered.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from vaultline.errors import ConfigError, VaultlineError
from vaultline.project import keypath
from vaultline.resolve.bundle import Bundle, to_text
from vaultline.runtime.childenv import unfit_for_environment

if TYPE_CHECKING:
    from vaultline.resolve.leases import LeaseBook
    from vaultline.resolve.session import Session

DEFAULT_INTERVAL = 60.0
#: ``run`` with dynamic credentials but no --watch: lease ends wake it, this interval barely.
LEASE_ONLY_INTERVAL = 86400.0
#: A failing provider is retried at most this many intervals apart.
MAX_BACKOFF_FACTOR = 32
#: New credentials for an ending lease that could not be fetched are tried again after this
#: many seconds, doubling up to LEASE_RETRY_MAX, whatever the interval: the lease is ending.
LEASE_RETRY = 1.0
LEASE_RETRY_MAX = 30.0
RELOAD = "run.reload"


class Snapshot(NamedTuple):
    """What a child runs on: its variables, its secrets by variable name, what to mask."""

    env: dict[str, str]
    secrets: dict[str, str]
    masked: list[str]
    values: dict[str, str]  # flat key -> text, to compare bundles
    bundle: Bundle | None = None
    #: Seconds until the first active override expires (then the bundle changes), if any.
    wake_in: float | None = None

    def __repr__(self) -> str:  # the fields hold the secrets
        return f"<Snapshot {len(self.values)} keys>"


def snapshot(bundle: Bundle, prefix: str = "", wake_in: float | None = None, *,
             files: bool = False) -> Snapshot:
    """What `bundle` gives a child; with `files`, its secrets go to files, not variables.

    Raises ConfigError naming the key of a value that exec cannot put in an environment
    variable (a NUL byte ...): before a child starts, or as a failed reload that leaves the
    child running.
    """
    variables: dict[str, str] = {}
    secrets: dict[str, str] = {}
    values: dict[str, str] = {}
    resolved_values = list(bundle.resolved_values())
    names = keypath.env_names([r.key for r in resolved_values], prefix, shell=False)
    for name, resolved in zip(names, resolved_values, strict=True):  # `run` takes every secret
        text = to_text(resolved.value)
        variables[name] = values[resolved.key] = text
        if resolved.secret:
            secrets[name] = text
        if not (files and resolved.secret):
            problem = unfit_for_environment(name, text)
            if problem is not None:
                instead = ("hand it over as a file: vaultline run --files DIR" if resolved.secret
                           else "remove it from the value (only secrets can go to files)")
                raise ConfigError(f"{resolved.key!r}: its value {problem}; {instead}")
    return Snapshot(variables, secrets, bundle.secret_values(), values, bundle, wake_in)


def next_expiry(session: Session) -> float | None:
    """Seconds until the session environment's first active override expires, or None."""
    if session.store is None or session.env is None:
        return None
    now = session.clock()
    ends = [o.expires_at for o in session.overrides.entries(session.env) if o.active(now)]
    return None if not ends else max((min(ends) - now).total_seconds(), 0.0)


def changed_keys(old: Snapshot, new: Snapshot) -> list[str]:
    """Keys added, removed or with another value: names only."""
    keys = old.values.keys() | new.values.keys()
    return sorted(k for k in keys if old.values.get(k) != new.values.get(k))


class OnChange(NamedTuple):
    """``restart`` (SIGTERM, grace, SIGKILL, start again) or ``signal:NAME``."""

    signal: signal.Signals | None = None

    @property
    def restart(self) -> bool:
        return self.signal is None

    def __str__(self) -> str:
        return "restart" if self.signal is None else f"signal:{self.signal.name[3:]}"

    @classmethod
    def parse(cls, text: str) -> OnChange:
        if text == "restart":
            return cls()
        kind, _, name = text.partition(":")
        name = name.upper()
        name = name if name.startswith("SIG") else f"SIG{name}"
        if kind == "signal" and name in signal.Signals.__members__:
            return cls(signal.Signals[name])
        raise ConfigError(f"--on-change {text!r}: use restart, signal:HUP or signal:USR1")


class Watch:
    """Decides, tick by tick, whether the child must get a new bundle."""

    def __init__(self, current: Snapshot, resolve: Callable[[], Snapshot], *,
                 interval: float = DEFAULT_INTERVAL, warn: Callable[[str], None],
                 audit: Callable[[list[str]], None], leases: LeaseBook | None = None):
        if interval <= 0:
            raise ConfigError("--watch interval must be positive (e.g. 30s, 5m)")
        self.current = current
        self.interval = interval
        self.failures = 0
        self._resolve = resolve
        self.warn = warn
        self._audit = audit
        self.leases = leases

    def first_delay(self) -> float:
        return self._delay(self.current)

    def _delay(self, snap: Snapshot) -> float:
        # A little after the expiry, so the re-resolve sees the override gone (or the lease
        # due for replacement).
        wakes = [snap.wake_in, self.leases.replacement_in() if self.leases else None]
        return min([self.interval, *(wake + 0.05 for wake in wakes if wake is not None)])

    def tick(self) -> tuple[Snapshot | None, float]:
        """One re-resolve: the new snapshot if a value changed (else None), and the delay
        until the next tick. The new snapshot becomes current only once :meth:`applied`
        says the child has it; until then every tick reports the change again."""
        try:
            new = self._resolve()
        except (VaultlineError, OSError) as exc:
            return None, self.failed(
                "re-resolving failed; the command keeps its current values and vaultline "
                f"retries with backoff: {str(exc).splitlines()[0]}")
        if not changed_keys(self.current, new):
            self._recovered()
            return None, self._delay(new)
        return new, self._delay(new)

    def applied(self, new: Snapshot) -> None:
        """The child runs on `new` now: it becomes the current bundle and the reload is audited."""
        self._recovered()
        self._audit(changed_keys(self.current, new))
        self.current = new

    def failed(self, message: str) -> float:
        """A re-resolve or a reload that did not happen: the current bundle stays, `message`
        is warned once per streak of failures; the delay until the next try (backed off)."""
        self.failures += 1
        if self.failures == 1:
            self.warn(message)
        delay = self.interval * min(2.0 ** self.failures, MAX_BACKOFF_FACTOR)
        due = self.leases.replacement_in() if self.leases is not None else None
        if due is not None:
            # A lease needs new credentials: the interval's backoff (two days and more for
            # `run` without --watch) would put the next try off past the lease's end.
            retry = due + 0.05 if due > 0 else min(LEASE_RETRY * 2.0 ** (self.failures - 1),
                                                   LEASE_RETRY_MAX)
            delay = min(delay, retry)
        return delay

    def _recovered(self) -> None:
        if self.failures:
            self.warn("re-resolving works again")
            self.failures = 0


def session_resolver(project_dir: Path | None, env: str, prefix: str,
                     environ: Mapping[str, str] | None = None, *,
                     files: bool = False) -> Callable[[], Snapshot]:
    """Re-resolve through a Session each time (reads audited, overrides applied); the project
    is read again, so a changed pack counts too. `files` as for :func:`snapshot`."""
    from vaultline.project.model import Project
    from vaultline.resolve.session import Session

    def resolve() -> Snapshot:
        with Session(Project.load(project_dir, environ=environ), env) as session:
            return snapshot(session.resolve(), prefix, next_expiry(session), files=files)

    return resolve


def reload_auditor(project_dir: Path | None, env: str, mode: OnChange,
                   leases: LeaseBook | None = None,
                   environ: Mapping[str, str] | None = None) -> Callable[[list[str]], None]:
    """Audit a reload: the keys that changed (names only) and, with dynamic credentials,
    the ids of the leases the child now uses and of those it moved off (never a credential)."""
    from vaultline.project.model import Project
    from vaultline.resolve.session import Session

    def record(keys: list[str]) -> None:
        detail: dict[str, object] = {"keys": keys, "on_change": str(mode)}
        if leases is not None:
            detail["leases"], detail["replaced_leases"] = leases.lease_ids()
        with Session(Project.load(project_dir, environ=environ), env) as session:
            session.audit.record(RELOAD, env=env, detail=detail)

    return record
