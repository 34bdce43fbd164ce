"""Deterministic secret names per provider, as the platform's conventions give them.

A convention is a template over ``{app}``, ``{env}`` and ``{key}``, where ``{key}`` is the
hierarchical key's segments, each passed through a transform and joined by a separator:

    local   {app}/{env}/{key}  "/"   identity    nexus-engine/prod/ConnectionStrings/Primary
    aws     {app}/{env}/{key}  "/"   lower-camel nexus-engine/prod/connectionStrings/primary
    azure   {app}--{env}--{key} "--" lower-kebab nexus-engine--prod--connectionstrings--primary

Teams reproduce their existing names with ``naming: {template, separator, transform}`` on a
provider in vaultline.yaml; an explicit reference path always wins over the convention.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from vaultline.errors import ConfigError
from vaultline.project import keypath


def _lower_camel(segment: str) -> str:
    # "ConnectionStrings" -> "connectionStrings", "AI" -> "ai", "APIKey" -> "apiKey", and a
    # trailing acronym stays one lower-case word: "OpenAI" -> "openai".
    segment = re.sub(r"(?<=[a-z0-9])[A-Z]{2,}$", lambda m: m.group(0).lower(), segment)
    match = re.match(r"^[A-Z]+", segment)
    if not match:
        return segment
    run = match.group(0)
    if len(run) == len(segment) or len(run) == 1:
        return run.lower() + segment[len(run):]
    return run[:-1].lower() + segment[len(run) - 1:]


def _lower_kebab(segment: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", segment.lower()).strip("-")


TRANSFORMS: dict[str, Callable[[str], str]] = {
    "identity": lambda s: s,
    "lower": str.lower,
    "upper": str.upper,
    "lower-camel": _lower_camel,
    "lower-kebab": _lower_kebab,
    "snake": lambda s: re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", s).lower().replace("-", "_"),
}


class NamingConvention(NamedTuple):  # a NamedTuple: cheap to define at start-up
    template: str = "{app}/{env}/{key}"
    separator: str = "/"
    transform: str = "identity"

    def name(self, key: str, *, app: str, env: str) -> str:
        return self.namer(app, env)(key)

    def namer(self, app: str, env: str) -> Callable[[str], str]:
        """``name`` for one app and environment, as a function of the key alone.

        The resolver names every secret of an environment, so the template is filled once
        and the common transform (identity) becomes a string replace. Providers keep theirs.
        """
        return _namer(self, app, env)

    def with_overrides(self, config: Mapping[str, Any] | None, *, where: str) -> NamingConvention:
        """This convention with fields replaced from a ``naming:`` mapping in vaultline.yaml."""
        if not config:
            return self
        if not isinstance(config, Mapping):
            raise ConfigError(f"{where}: 'naming' must be a mapping")
        unknown = set(config) - {"template", "separator", "transform"}
        if unknown:
            raise ConfigError(f"{where}: unknown naming field(s): {', '.join(sorted(unknown))}")
        template = str(config.get("template", self.template))
        transform = str(config.get("transform", self.transform))
        if transform not in TRANSFORMS:
            raise ConfigError(
                f"{where}: unknown naming transform {transform!r}; "
                f"use one of {', '.join(sorted(TRANSFORMS))}"
            )
        try:
            template.format(app="a", env="e", key="k")
        except (KeyError, IndexError, ValueError):
            raise ConfigError(
                f"{where}: naming template {template!r} may only use {{app}}, {{env}} and {{key}}"
            ) from None
        return NamingConvention(template, str(config.get("separator", self.separator)), transform)


def _namer(convention: NamingConvention, app: str, env: str) -> Callable[[str], str]:
    template, separator, transform = convention
    if template.count("{key}") == 1 and "{{" not in template and "}}" not in template:
        head, tail = (part.format(app=app, env=env) for part in template.split("{key}"))
        if transform == "identity":
            return lambda key: head + key.replace(keypath.SEPARATOR, separator) + tail
        convert = TRANSFORMS[transform]
        return lambda key: head + separator.join(map(convert, keypath.split(key))) + tail
    convert = TRANSFORMS[transform]
    return lambda key: template.format(
        app=app, env=env, key=separator.join(map(convert, keypath.split(key))))
