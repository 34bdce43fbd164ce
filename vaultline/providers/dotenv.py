"""Provider ``dotenv``: a ``.env``-format file (``path`` option, default ``.env``).

Parsing is python-dotenv's; the file is read once per resolution. A bare ``dotenv`` reference
uses the key's environment-variable name, like ``env``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vaultline.errors import MissingSecretError, ProviderError
from vaultline.providers.base import Fetched, Provider, ProviderContext
from vaultline.providers.naming import NamingConvention


class DotenvProvider(Provider):
    type = "dotenv"
    default_naming = NamingConvention("{key}", "__", "upper")
    options = frozenset({"path"})

    def __init__(self, name: str, options: Mapping[str, Any], context: ProviderContext):
        super().__init__(name, options, context)
        self.path = context.root / str(options.get("path", ".env"))
        self._values: dict[str, str | None] | None = None

    def _load(self) -> dict[str, str | None]:
        if self._values is None:
            if not self.path.is_file():
                raise ProviderError(f"dotenv file {self.path} not found; create it or set the "
                                    f"provider's 'path' option", provider=self.name,
                                    reference=str(self.path))
            from dotenv import dotenv_values

            self._values = dict(dotenv_values(self.path, interpolate=False))
        return self._values

    def fetch(self, path: str, version: str | None = None) -> Fetched:
        value = self._load().get(path)
        if value is None:
            raise MissingSecretError(f"{path} is not set in {self.path.name}", provider=self.name,
                                     reference=path, missing=False)  # not for `vaultline put`
        return Fetched(value)

    def check(self) -> str:
        return f"{len(self._load())} variables in {self.path.name}"

    def list_paths(self, prefix: str = "") -> list[str]:
        return sorted(k for k in self._load() if k.startswith(prefix))
