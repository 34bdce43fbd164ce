"""Provider ``env``: the process environment, with the ``NAME_FILE`` convention.

``env:DATABASE_URL`` reads ``$DATABASE_URL``; if it is unset and ``$DATABASE_URL_FILE`` names
a file (the docker-secrets convention), the file's content is the value. A bare ``env``
reference uses the key's environment-variable name: ``ConnectionStrings:Primary`` ->
``CONNECTIONSTRINGS__PRIMARY``.
"""

from __future__ import annotations

from vaultline.errors import MissingSecretError
from vaultline.providers.base import Fetched, Provider
from vaultline.providers.file import read_secret_file
from vaultline.providers.naming import NamingConvention


class EnvProvider(Provider):
    type = "env"
    default_naming = NamingConvention("{key}", "__", "upper")
    options = frozenset({"prefix"})

    def fetch(self, path: str, version: str | None = None) -> Fetched:
        name = f"{self.config.get('prefix', '')}{path}"
        environ = self.context.environ
        if name in environ:
            return Fetched(environ[name])
        file_name = environ.get(f"{name}_FILE")
        if file_name:
            return Fetched(read_secret_file(self.context.root / file_name, provider=self.name,
                                            environ=environ))
        # Absent (an optional secret may skip it), but not something `vaultline put` cures.
        raise MissingSecretError(f"environment variable {name} is not set (nor {name}_FILE)",
                                 provider=self.name, reference=path, missing=False)

    def list_paths(self, prefix: str = "") -> list[str]:
        return sorted(k for k in self.context.environ if k.startswith(prefix))
