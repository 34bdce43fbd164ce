"""Provider types by name, imported only when a project uses them.

This table is the one list of provider types: the project asks it which types exist, which
need no ``providers:`` entry, and which options a type takes, so ``vaultline.yaml`` is checked
at load with line numbers. The registry knows nothing of the project: it builds a provider
from a :class:`ProviderConfig` and a :class:`ProviderContext`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, cast

from vaultline.errors import ConfigError, MissingExtraError
from vaultline.providers._engines import engine_problem
from vaultline.providers.base import Provider, ProviderConfig, ProviderContext

# (option, message) for a provider's first bad option, or None; free of the type's extra.
OptionCheck = Callable[[Mapping[str, Any]], tuple[str, str] | None]


class ProviderType(NamedTuple):
    target: str  # "module:Class"
    extra: str | None  # the extra that installs its dependencies, or None
    builtin: bool = False  # usable by its type name without a `providers:` entry
    check: OptionCheck | None = None  # what the class's option names cannot say


PROVIDER_TYPES: dict[str, ProviderType] = {
    "local": ProviderType("vaultline.providers.local:LocalProvider", None, builtin=True),
    "env": ProviderType("vaultline.providers.env:EnvProvider", None, builtin=True),
    "file": ProviderType("vaultline.providers.file:FileProvider", None, builtin=True),
    "dotenv": ProviderType("vaultline.providers.dotenv:DotenvProvider", None, builtin=True),
    "vault": ProviderType("vaultline.providers.vault:VaultProvider", "vault",
                          check=engine_problem),
    "aws-secretsmanager": ProviderType("vaultline.providers.aws:AwsSecretsManagerProvider", "aws"),
    "azure-keyvault": ProviderType("vaultline.providers.azure:AzureKeyVaultProvider", "azure"),
}
BUILTIN_PROVIDERS = tuple(name for name, kind in PROVIDER_TYPES.items() if kind.builtin)


def provider_class(ptype: str) -> type[Provider]:
    try:
        kind = PROVIDER_TYPES[ptype]
    except KeyError:
        raise ConfigError(f"unknown provider type {ptype!r}") from None
    module_name, _, attr = kind.target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        if kind.extra and exc.name and not exc.name.startswith("vaultline"):
            raise MissingExtraError(f"provider type {ptype!r}", kind.extra) from None
        raise
    return cast(type[Provider], getattr(module, attr))


def option_problem(ptype: str, options: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(option, message)`` for the first option of a ``ptype`` provider that it refuses, or
    None. Unknown option names are not checked when the type's extra is missing: using the
    provider then says which extra to install."""
    kind = PROVIDER_TYPES[ptype]
    problem = kind.check(options) if kind.check is not None else None
    if problem is not None:
        return problem
    try:
        known = provider_class(ptype).options | {"naming"}
    except MissingExtraError:
        return None
    for option in options:
        if option not in known:
            return option, (f"unknown option {option!r}; {ptype} takes: "
                            f"{', '.join(sorted(known))}")
    return None


def create(config: ProviderConfig, context: ProviderContext) -> Provider:
    return provider_class(config.type)(config.name, config.options, context)
