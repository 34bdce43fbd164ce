"""State transitions of a ring, as pure functions of a record and the time.

The key ring (``ring.py``) persists the result and tells the backend; keeping the rules here,
free of I/O, lets the rotation timeline be tested with nothing but a clock.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from vaultline.errors import KeyManagementError
from vaultline.keys.model import KeyVersion, RingRecord, State


def add_next(record: RingRecord, new: KeyVersion) -> RingRecord:
    """Publish a new version as ``next`` (the canary stage)."""
    if any(v.state is State.NEXT for v in record.versions):
        raise KeyManagementError(
            f"key ring {record.name!r} already has a staged (next) version; promote it first "
            f"('vaultline keys promote {record.name}')"
        )
    return record.with_versions([*record.versions, replace(new, state=State.NEXT)])


def promote(record: RingRecord, now: datetime, grace: timedelta) -> RingRecord:
    """``next`` becomes primary; the old primary keeps verifying/decrypting for ``grace``."""
    staged = [v for v in record.versions if v.state is State.NEXT]
    if not staged:
        raise KeyManagementError(
            f"key ring {record.name!r} has no staged version to promote; run "
            f"'vaultline keys stage {record.name}' first (or 'keys rotate')"
        )
    new_primary = staged[0]
    changed: list[KeyVersion] = []
    for v in record.versions:
        if v.state is State.PRIMARY:
            changed.append(replace(v, state=State.RETIRING, retire_at=now + grace))
        elif v.version == new_primary.version:
            changed.append(replace(v, state=State.PRIMARY, activated=now))
        else:
            changed.append(v)
    return record.with_versions(changed)


def sweep(record: RingRecord, now: datetime) -> tuple[RingRecord, list[KeyVersion]]:
    """Record as ``retired`` every retiring version whose grace has ended."""
    done: list[KeyVersion] = []
    changed: list[KeyVersion] = []
    for v in record.versions:
        if v.state is State.RETIRING and v.effective_state(now) is State.RETIRED:
            v = replace(v, state=State.RETIRED, retired=v.retire_at)
            done.append(v)
        changed.append(v)
    return (record.with_versions(changed) if done else record), done


def retire(record: RingRecord, now: datetime,
           version: int | None = None) -> tuple[RingRecord, list[KeyVersion]]:
    """End the grace now: the given version (retiring or next), or every retiring one."""
    record, swept = sweep(record, now)
    if version is None:
        targets = [v for v in record.versions if v.state is State.RETIRING]
    else:
        target = record.version(version)
        if target.state is State.PRIMARY:
            raise KeyManagementError(
                f"version {version} is the primary of {record.name!r}; rotate first, then retire it"
            )
        if target.state in (State.RETIRED, State.DESTROYED):
            return record, swept
        targets = [target]
    done = [replace(v, state=State.RETIRED, retired=now) for v in targets]
    for v in done:
        record = record.replace_version(v)
    return record, [*swept, *done]


def destroy(record: RingRecord, now: datetime, version: int) -> RingRecord:
    """Mark a retired version destroyed; the caller removes the material from the backend."""
    record, _ = sweep(record, now)
    target = record.version(version)
    if target.state is State.DESTROYED:
        return record
    if target.state is not State.RETIRED:
        raise KeyManagementError(
            f"version {version} of {record.name!r} is {target.state.value}; only retired versions "
            f"can be destroyed ('vaultline keys retire {record.name} --version {version}' first)"
        )
    return record.replace_version(replace(target, state=State.DESTROYED, destroyed=now, ref={}))
