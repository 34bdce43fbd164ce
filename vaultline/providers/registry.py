"""Provider types by name, imported only when a project uses them."""

from __future__ import annotations

import importlib
from typing import cast

from vaultline.errors import ConfigError, MissingExtraError
from vaultline.project.model import Project, ProviderConfig
from vaultline.providers.base import Provider, ProviderContext

# type -> ("module:Class", extra that provides its dependencies or None)
PROVIDER_TYPES: dict[str, tuple[str, str | None]] = {
    "local": ("vaultline.providers.local:LocalProvider", None),
    "env": ("vaultline.providers.env:EnvProvider", None),
    "file": ("vaultline.providers.file:FileProvider", None),
    "dotenv": ("vaultline.providers.dotenv:DotenvProvider", None),
    "vault": ("vaultline.providers.vault:VaultProvider", "vault"),
    "aws-secretsmanager": ("vaultline.providers.aws:AwsSecretsManagerProvider", "aws"),
    "azure-keyvault": ("vaultline.providers.azure:AzureKeyVaultProvider", "azure"),
}


def provider_class(ptype: str) -> type[Provider]:
    try:
        target, extra = PROVIDER_TYPES[ptype]
    except KeyError:
        raise ConfigError(f"unknown provider type {ptype!r}") from None
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        if extra and exc.name and not exc.name.startswith("vaultline"):
            raise MissingExtraError(f"provider type {ptype!r}", extra) from None
        raise
    return cast(type[Provider], getattr(module, attr))


def create(config: ProviderConfig, context: ProviderContext) -> Provider:
    return provider_class(config.type)(config.name, config.options, context)


def context_for(project: Project, env: str, environ: dict[str, str] | None = None) -> ProviderContext:
    import os

    return ProviderContext(
        app=project.app, env=env, root=project.root,
        environ=dict(os.environ) if environ is None else environ,
        store_dir=project.store_dir,
    )
