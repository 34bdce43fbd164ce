"""Reading events back: streaming the log, filtering, and ``--since`` parsing."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from pathlib import Path

from vaultline import duration
from vaultline._limits import parse_json
from vaultline.audit.event import AuditEvent, parse_time
from vaultline.errors import ConfigError


def duration_or_none(text: str) -> timedelta | None:
    """``45s``, ``30m``, ``1h``, ``2d``, ``1w``; ``None`` if ``text`` is not one."""
    try:
        return duration.parse_duration(text)
    except ValueError:
        return None


def parse_since(text: str, now: datetime) -> datetime:
    """``30m``, ``1h``, ``2d``, ``1w`` before ``now``, or an ISO 8601 time (UTC if no zone)."""
    duration = duration_or_none(text)
    try:
        if duration is not None:
            return now - duration
        moment = parse_time(text.strip())
    except (ValueError, OverflowError):
        raise ConfigError(
            f"--since {text!r} is neither a duration like 1h, 30m, 2d nor an ISO 8601 time"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def read_events(
    path: Path, *, on_error: Callable[[int, str], None] | None = None
) -> Iterator[AuditEvent]:
    """Every readable event in file order; a missing log is an empty one."""
    from vaultline.audit.log import open_segment

    try:
        handle = os.fdopen(open_segment(path), "rb")
    except FileNotFoundError:
        return
    with handle:
        for number, raw in enumerate(handle, 1):
            try:
                data = parse_json(raw)
                if not isinstance(data, dict):
                    raise ValueError("not a JSON object")
                event = AuditEvent.from_dict(data)
            except json.JSONDecodeError:
                if on_error is not None:
                    on_error(number, "not JSON")
                continue
            except ValueError as exc:  # from_dict names the field, never its content
                if on_error is not None:
                    on_error(number, str(exc))
                continue
            yield event


@dataclass(frozen=True, slots=True)
class EventFilter:
    since: datetime | None = None
    actor: str | None = None  # glob
    key: str | None = None  # glob
    action: str | None = None  # exact, or a dotted prefix: "override", "key"
    env: str | None = None

    def matches(self, event: AuditEvent) -> bool:
        if self.action is not None and not (
            event.action == self.action or event.action.startswith(self.action + ".")
        ):
            return False
        if self.actor is not None and not fnmatchcase(event.actor, self.actor):
            return False
        if self.key is not None and (event.key is None or not fnmatchcase(event.key, self.key)):
            return False
        if self.env is not None and event.env != self.env:
            return False
        if self.since is not None:
            try:
                if event.moment < self.since:
                    return False
            except ValueError:
                return False
        return True
