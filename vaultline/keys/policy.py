"""Rotation policy per key class and environment, from the ``rotation:`` section.

    rotation:
      grace: 7d                  # overlap of the old version after a rotation (default 7d)
      signing:                   # a key class: a ring's --class, by default its purpose
        prod: 90d                # prod signing keys every 90 days
        default: 30d             # every other environment (and rings without --env)
      encryption:
        prod: {every: 1y, grace: 30d}
      api-key:
        prod: 90d                # quarterly
      jwt:                       # daily JWT keys
        default: {every: 1d, grace: 1d, overdue_after: 6h}

A rule is a duration (how often) or a mapping with ``every``, optional ``grace`` and
``overdue_after`` (how long past due before the ring counts as overdue; default a tenth of
``every``, at most 7 days). Durations take s, m, h, d, w and y.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from vaultline.duration import parse_duration
from vaultline.errors import ConfigError
from vaultline.project._lines import line_of

DEFAULT_GRACE = timedelta(days=7)
DEFAULT_ENV = "default"
_CLASS_RE = re.compile(r"[a-z][a-z0-9_-]*")
_RULE_FIELDS = {"every", "grace", "overdue_after"}


class Due(enum.StrEnum):
    OK = "ok"
    DUE = "due"
    OVERDUE = "overdue"
    NO_POLICY = "no-policy"


@dataclass(frozen=True, slots=True)
class Rule:
    every: timedelta
    grace: timedelta
    overdue_after: timedelta
    where: str = ""  # FILE:LINE it came from


@dataclass(frozen=True, slots=True)
class Status:
    """Where one ring stands against its rule."""

    state: Due
    age: timedelta
    due_at: datetime | None
    overdue_at: datetime | None
    rule: Rule | None


def _default_overdue(every: timedelta) -> timedelta:
    return min(every / 10, timedelta(days=7))


@dataclass(frozen=True)
class RotationPolicy:
    rules: Mapping[tuple[str, str], Rule]
    default_grace: timedelta = DEFAULT_GRACE

    def rule_for(self, key_class: str, env: str | None) -> Rule | None:
        if env is not None and (key_class, env) in self.rules:
            return self.rules[(key_class, env)]
        return self.rules.get((key_class, DEFAULT_ENV))

    def grace_for(self, key_class: str, env: str | None) -> timedelta:
        rule = self.rule_for(key_class, env)
        return rule.grace if rule is not None else self.default_grace

    def status(self, key_class: str, env: str | None, activated: datetime,
               now: datetime) -> Status:
        age = now - activated
        rule = self.rule_for(key_class, env)
        if rule is None:
            return Status(Due.NO_POLICY, age, None, None, None)
        due_at = activated + rule.every
        overdue_at = due_at + rule.overdue_after
        state = Due.OVERDUE if now >= overdue_at else Due.DUE if now >= due_at else Due.OK
        return Status(state, age, due_at, overdue_at, rule)

    # -- parsing ---------------------------------------------------------------------------

    @classmethod
    def from_section(cls, section: Any, *, file: str = "vaultline.yaml",
                     line: int | None = None,
                     environments: Iterable[str] | None = None) -> RotationPolicy:
        if section is None:
            return cls({})
        if not isinstance(section, Mapping):
            raise ConfigError("'rotation' must map key classes to rules (e.g. signing: "
                              "{prod: 90d})", file=file, line=line)
        envs = None if environments is None else {*environments, DEFAULT_ENV}
        default_grace = DEFAULT_GRACE
        if "grace" in section:
            default_grace = _duration(section["grace"], "rotation.grace", file,
                                      line_of(section, "grace"))
        rules: dict[tuple[str, str], Rule] = {}
        for key_class, per_env in section.items():
            if key_class == "grace":
                continue
            cline = line_of(section, key_class)
            if not isinstance(key_class, str) or not _CLASS_RE.fullmatch(key_class):
                raise ConfigError(f"rotation: key class {key_class!r} must be a lower-case name "
                                  "like signing, encryption, api-key or jwt", file=file, line=cline)
            if not isinstance(per_env, Mapping) or not per_env:
                raise ConfigError(f"rotation.{key_class} must map environments (or 'default') "
                                  "to rules, e.g. {prod: 90d, default: 30d}", file=file, line=cline)
            for env, spec in per_env.items():
                eline = line_of(per_env, env) or cline
                if envs is not None and env not in envs:
                    raise ConfigError(
                        f"rotation.{key_class}: unknown environment {env!r}; use one of "
                        f"{', '.join(sorted(envs))}", file=file, line=eline)
                rules[(key_class, str(env))] = _rule(spec, f"rotation.{key_class}.{env}", file,
                                                     eline, default_grace)
        return cls(rules, default_grace)


def _duration(value: Any, what: str, file: str, line: int | None) -> timedelta:
    try:
        delta = parse_duration(value)
    except (ValueError, TypeError):
        raise ConfigError(f"{what}: {value!r} is not a duration (use e.g. 1d, 90d, 1y)",
                          file=file, line=line) from None
    if delta <= timedelta(0):
        raise ConfigError(f"{what} must be longer than zero", file=file, line=line)
    return delta


def _rule(spec: Any, what: str, file: str, line: int | None, default_grace: timedelta) -> Rule:
    where = f"{file}:{line}" if line else file
    if not isinstance(spec, Mapping):
        every = _duration(spec, what, file, line)
        return Rule(every, default_grace, _default_overdue(every), where)
    unknown = set(spec) - _RULE_FIELDS
    if unknown:
        raise ConfigError(f"{what}: unknown field {sorted(unknown)[0]!r}; known: "
                          f"{', '.join(sorted(_RULE_FIELDS))}", file=file,
                          line=line_of(spec, sorted(unknown)[0]) or line)
    if "every" not in spec:
        raise ConfigError(f"{what}: 'every' is required (e.g. every: 90d)", file=file, line=line)
    every = _duration(spec["every"], f"{what}.every", file, line_of(spec, "every") or line)
    grace = (_duration(spec["grace"], f"{what}.grace", file, line_of(spec, "grace") or line)
             if "grace" in spec else default_grace)
    overdue = (_duration(spec["overdue_after"], f"{what}.overdue_after", file,
                         line_of(spec, "overdue_after") or line)
               if "overdue_after" in spec else _default_overdue(every))
    return Rule(every, grace, overdue, where)
