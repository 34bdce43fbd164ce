"""A resolved configuration bundle: every key's winning value and where it came from.

A :class:`Bundle` is a read-only mapping with flat access (``bundle["ConnectionStrings:Primary"]``)
and nested access (``bundle["ConnectionStrings"]["Primary"]``). Its ``repr`` — and the repr of
everything in it — masks secret values, so printing a bundle in a log never leaks one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from enum import StrEnum
from typing import Any, NamedTuple

from vaultline.project import keypath

MASK = "********"


class Layer(StrEnum):
    DEFAULTS = "defaults"
    PACK = "env-pack"
    SECRETS = "secrets"
    OVERRIDE = "override"


# Lowest first: a later layer shadows an earlier one. This tuple is the precedence model.
PRECEDENCE: tuple[Layer, ...] = (Layer.DEFAULTS, Layer.PACK, Layer.SECRETS, Layer.OVERRIDE)


# NamedTuples, not dataclasses: they are defined on every command's start-up path.
class Provenance(NamedTuple):
    layer: Layer
    source: str  # "vaultline.yaml:12", "env/prod/values.yaml:3", a provider name, an override id
    reference: str | None = None
    path: str | None = None  # the concrete location the reference resolved to
    version: str | None = None
    override_id: str | None = None  # the break-glass override that supplied the value


class ResolvedValue(NamedTuple):
    key: str
    value: Any
    secret: bool
    provenance: Provenance

    def display(self, *, reveal: bool = False) -> str:
        if self.secret and not reveal:
            return MASK
        return to_text(self.value)

    def __repr__(self) -> str:
        shown = MASK if self.secret else repr(self.value)
        return (f"ResolvedValue(key={self.key!r}, value={shown}, secret={self.secret}, "
                f"provenance={self.provenance!r})")


class Explanation(NamedTuple):
    key: str
    winner: ResolvedValue
    shadowed: list[ResolvedValue]  # highest precedence first


def to_text(value: Any) -> str:
    """How a value is written where only text fits (environment variables, dotenv)."""
    if type(value) is str:  # secrets and most values: first, as this runs once per key
        return value
    import json

    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


class Bundle(Mapping[str, Any]):
    """Read-only; iterating yields flat keys, ``bundle[prefix]`` gives a nested view."""

    def __init__(
        self,
        env: str,
        values: Mapping[str, ResolvedValue],
        shadowed: Mapping[str, list[ResolvedValue]] | None = None,
        *,
        warnings: list[str] | None = None,
    ):
        self.env = env
        self._values = {key: values[key] for key in sorted(values)}
        self._shadowed = dict(shadowed or {})
        self.warnings = list(warnings or [])

    # -- Mapping ------------------------------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        if key in self._values:
            return self._values[key].value
        prefix = key + keypath.SEPARATOR
        inner = {k[len(prefix):]: v for k, v in self._values.items() if k.startswith(prefix)}
        if not inner:
            raise KeyError(key)
        return Bundle(self.env, inner, warnings=[])

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        try:
            self[key]
        except KeyError:
            return False
        return True

    def __repr__(self) -> str:
        shown = {k: (MASK if v.secret else v.value) for k, v in self._values.items()}
        return f"Bundle(env={self.env!r}, {shown!r})"

    __str__ = __repr__

    # -- vaultline's own views -----------------------------------------------------------

    def resolved(self, key: str) -> ResolvedValue:
        try:
            return self._values[key]
        except KeyError:
            raise KeyError(key) from None

    def resolved_values(self) -> list[ResolvedValue]:
        return list(self._values.values())

    def candidates(self) -> Iterator[ResolvedValue]:
        """Every value any layer gave, winners and the values they shadowed."""
        for key, winner in self._values.items():
            yield winner
            yield from self._shadowed.get(key, ())

    def explain(self, key: str) -> Explanation:
        return Explanation(key, self.resolved(key), list(self._shadowed.get(key, [])))

    def flat(self) -> dict[str, Any]:
        return {k: v.value for k, v in self._values.items()}

    def nested(self) -> dict[str, Any]:
        return keypath.nest(self.flat())

    def secret_values(self) -> list[str]:
        """Every secret value as text: what masking and log redaction must hide.

        Shadowed ones too: a stored value an override replaces is still a secret, and the
        logs of whatever used it before must not show it."""
        return [to_text(v.value) for v in self.candidates() if v.secret]

    def environment(self, prefix: str = "") -> dict[str, str]:
        """Environment variables in the .NET convention: ``CONNECTIONSTRINGS__PRIMARY``; a
        ConfigError when two keys give one name (one would overwrite the other)."""
        keypath.check_prefix(prefix)
        names = keypath.env_names(self._values, prefix, shell=False)
        return {name: to_text(v.value) for name, v in zip(names, self._values.values(),
                                                           strict=True)}
