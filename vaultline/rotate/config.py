"""The ``rotate:`` section of vaultline.yaml: which secrets rotate, how, and where to.

    rotate:
      ConnectionStrings:Primary:
        class: db-credentials                # the rotation: class giving the period
        strategy: alternating-users          # | single-user | replace | dual
        target: {type: postgres, admin: local:shared/pg-admin, users: [app_a, app_b], grace: 1h}
        mirrors: [aws:nexus-engine/prod/connectionStrings/primary]
      Api:WebhookToken: {class: api-key, strategy: dual, generate: token:32}

The period comes from the ``rotation:`` classes (``rotation.db-credentials.prod: 30d``); the
grace (how long the replaced credential stays valid) from the target, the spec, then the class.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from vaultline.duration import parse_duration
from vaultline.errors import ConfigError
from vaultline.project import keypath
from vaultline.project._lines import line_of
from vaultline.project.model import PROJECT_FILE, Project
from vaultline.project.reference import Reference
from vaultline.rotate.generators import Generator


class Strategy(enum.StrEnum):
    ALTERNATING_USERS = "alternating-users"  # two roles; the replaced one valid for a grace
    SINGLE_USER = "single-user"  # one role re-keyed in place: clients fail in the window
    REPLACE = "replace"  # a new value, the old one dropped at once
    DUAL = "dual"  # current and previous both valid during the grace (API keys)


DB_STRATEGIES = frozenset({Strategy.ALTERNATING_USERS, Strategy.SINGLE_USER})
_FIELDS = {"class", "strategy", "target", "generate", "mirrors", "grace"}
_TARGET_FIELDS = {"type", "admin", "users", "user", "grace", "host", "port", "dbname"}


@dataclass(frozen=True)
class PostgresTarget:
    admin: Reference  # the credential that may ALTER ROLE (a JSON map, like the rotated one)
    users: tuple[str, ...]
    host: str | None = None  # None: the admin credential's
    port: int | None = None
    dbname: str | None = None


@dataclass(frozen=True)
class RotationSpec:
    key: str
    key_class: str
    strategy: Strategy
    generator: Generator
    target: PostgresTarget | None = None
    mirrors: tuple[Reference, ...] = ()
    grace: timedelta | None = None  # None: the rotation class's grace
    where: str = PROJECT_FILE

    @property
    def is_db(self) -> bool:
        return self.strategy in DB_STRATEGIES


@dataclass(frozen=True)
class RotateConfig:
    specs: Mapping[str, RotationSpec] = field(default_factory=dict)

    def spec(self, key: str) -> RotationSpec:
        try:
            return self.specs[key]
        except KeyError:
            known = ", ".join(sorted(self.specs)) or "none"
            raise ConfigError(f"{key!r} has no entry under 'rotate:' in {PROJECT_FILE} "
                              f"(rotated keys: {known})") from None


def load(project: Project) -> RotateConfig:
    return parse(project.sections.get("rotate"), project)


def parse(section: Any, project: Project) -> RotateConfig:
    file = PROJECT_FILE
    if section is None:
        return RotateConfig()
    if not isinstance(section, Mapping):
        raise ConfigError("'rotate' must map keys to rotation specs (e.g. Api:Token: "
                          "{class: api-key, strategy: dual, generate: token:32})", file=file)
    known = {*project.providers, "local", "env", "file", "dotenv"}
    specs: dict[str, RotationSpec] = {}
    for key, raw in section.items():
        line = line_of(section, key)
        problem = keypath.validate(str(key))
        if problem:
            raise ConfigError(f"rotate: {problem}", file=file, line=line)
        specs[str(key)] = _spec(str(key), raw, file, line, known)
    return RotateConfig(specs)


def _ref(text: Any, what: str, file: str, line: int | None, known: set[str]) -> Reference:
    try:
        ref = Reference.parse(text)
    except ConfigError as exc:
        raise ConfigError(f"{what}: {exc.message}", file=file, line=line) from None
    if ref.provider not in known:
        raise ConfigError(f"{what}: unknown provider {ref.provider!r}; configure it under "
                          "'providers'", file=file, line=line)
    return ref


def _grace(value: Any, what: str, file: str, line: int | None) -> timedelta:
    try:
        delta = parse_duration(value)
    except (ValueError, TypeError):
        raise ConfigError(f"{what}: {value!r} is not a duration (use e.g. 1h, 7d)",
                          file=file, line=line) from None
    if delta < timedelta(0):
        raise ConfigError(f"{what} cannot be negative", file=file, line=line)
    return delta


def _spec(key: str, raw: Any, file: str, line: int | None, known: set[str]) -> RotationSpec:
    where = f"rotate.{key}"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a mapping with class and strategy", file=file,
                          line=line)
    unknown = sorted(set(raw) - _FIELDS)
    if unknown:
        raise ConfigError(f"{where}: unknown field {unknown[0]!r}; known: "
                          f"{', '.join(sorted(_FIELDS))}", file=file,
                          line=line_of(raw, unknown[0]) or line)
    try:
        strategy = Strategy(raw.get("strategy", "replace"))
    except ValueError:
        raise ConfigError(f"{where}: strategy {raw.get('strategy')!r} is not one of "
                          f"{', '.join(s.value for s in Strategy)}", file=file,
                          line=line_of(raw, "strategy") or line) from None
    key_class = raw.get("class")
    if not isinstance(key_class, str) or not key_class:
        raise ConfigError(f"{where}: 'class' is required (a class of the rotation: section, "
                          "e.g. db-credentials or api-key)", file=file, line=line)
    default_gen = "password:32" if strategy in DB_STRATEGIES else "token:32"
    try:
        generator = Generator.parse(str(raw.get("generate", default_gen)))
    except ConfigError as exc:
        raise ConfigError(f"{where}.generate: {exc.message}", file=file,
                          line=line_of(raw, "generate") or line) from None
    grace = (_grace(raw["grace"], f"{where}.grace", file, line_of(raw, "grace") or line)
             if "grace" in raw else None)
    target = None
    if "target" in raw:
        target, target_grace = _target(raw["target"], where, file,
                                       line_of(raw, "target") or line, known)
        grace = target_grace if target_grace is not None else grace
    if strategy in DB_STRATEGIES and target is None:
        raise ConfigError(f"{where}: strategy {strategy} needs a target "
                          "({type: postgres, admin: REF, users: [...]})", file=file, line=line)
    if target is not None and strategy is Strategy.ALTERNATING_USERS and len(target.users) != 2:
        raise ConfigError(f"{where}.target.users: alternating-users takes exactly two roles "
                          "(e.g. [app_a, app_b])", file=file, line=line)
    if target is not None and strategy is Strategy.SINGLE_USER and len(target.users) != 1:
        raise ConfigError(f"{where}.target: single-user takes one role (user: app)", file=file,
                          line=line)
    if target is not None and strategy not in DB_STRATEGIES:
        raise ConfigError(f"{where}: a postgres target needs strategy alternating-users or "
                          "single-user", file=file, line=line)
    mirrors_raw = raw.get("mirrors") or []
    if not isinstance(mirrors_raw, Sequence) or isinstance(mirrors_raw, str):
        raise ConfigError(f"{where}.mirrors must be a list of references", file=file,
                          line=line_of(raw, "mirrors") or line)
    mirrors = tuple(_ref(m, f"{where}.mirrors", file, line_of(raw, "mirrors") or line, known)
                    for m in mirrors_raw)
    return RotationSpec(key, key_class, strategy, generator, target, mirrors, grace,
                        f"{file}:{line}" if line else file)


def _target(raw: Any, where: str, file: str, line: int | None,
            known: set[str]) -> tuple[PostgresTarget, timedelta | None]:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}.target must be a mapping with type: postgres", file=file,
                          line=line)
    unknown = sorted(set(raw) - _TARGET_FIELDS)
    if unknown:
        raise ConfigError(f"{where}.target: unknown field {unknown[0]!r}; known: "
                          f"{', '.join(sorted(_TARGET_FIELDS))}", file=file, line=line)
    if raw.get("type") != "postgres":
        raise ConfigError(f"{where}.target.type: {raw.get('type')!r} is not supported; use "
                          "postgres", file=file, line=line)
    if "admin" not in raw:
        raise ConfigError(f"{where}.target.admin is required: a reference to a credential "
                          "that may ALTER ROLE (e.g. local:shared/pg-admin)", file=file, line=line)
    admin = _ref(raw["admin"], f"{where}.target.admin", file, line, known)
    users_raw = raw.get("users", [raw["user"]] if "user" in raw else [])
    if (not isinstance(users_raw, Sequence) or isinstance(users_raw, str)
            or not all(isinstance(u, str) and u for u in users_raw) or not users_raw):
        raise ConfigError(f"{where}.target.users must list role names", file=file, line=line)
    if len(set(users_raw)) != len(users_raw):
        raise ConfigError(f"{where}.target.users names a role twice", file=file, line=line)
    port = raw.get("port")
    if port is not None and not isinstance(port, int):
        raise ConfigError(f"{where}.target.port must be a number", file=file, line=line)
    grace = (_grace(raw["grace"], f"{where}.target.grace", file, line) if "grace" in raw
             else None)
    return PostgresTarget(admin, tuple(users_raw), raw.get("host"), port,
                          raw.get("dbname")), grace
