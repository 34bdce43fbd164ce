"""Provider ``file``: mounted secret files such as ``/run/secrets/jwt_private_key``.

A bare ``file`` reference maps ``Jwt:PrivateKey`` to ``/run/secrets/jwt_private_key`` (the
docker/Kubernetes convention); relative paths are relative to the project root. One trailing
newline is stripped, as ``docker secret`` and ``kubectl create secret --from-file`` add one.
Only regular files are read (a device or FIFO is refused without blocking), up to the secret
size limit (``VAULTLINE_MAX_SECRET_SIZE``, 1 MiB by default).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from vaultline._limits import read_bounded
from vaultline.errors import MissingSecretError, ProviderError
from vaultline.providers.base import Fetched, Provider
from vaultline.providers.naming import NamingConvention


def read_secret_file(path: Path, *, provider: str, environ: Mapping[str, str] | None = None) -> str:
    """The text of a secret file (one final newline dropped), within the secret size limit
    that ``environ`` sets (default ``os.environ``)."""
    if "\0" in str(path):
        raise ProviderError("a file path cannot contain a NUL byte", provider=provider,
                            reference=str(path).replace("\0", "\\0"))
    try:
        text = read_bounded(path, name="secret", what="the secret file", error=lambda reason:
                            ProviderError(reason, provider=provider, reference=str(path)),
                            environ=environ).decode("utf-8")
    except FileNotFoundError:
        raise MissingSecretError("file not found", provider=provider, reference=str(path),
                                 missing=False) from None  # not what `vaultline put` cures
    except PermissionError:
        raise ProviderError("permission denied", provider=provider, reference=str(path)) from None
    except UnicodeDecodeError:
        raise ProviderError("not UTF-8 text", provider=provider, reference=str(path)) from None
    except OSError as exc:
        raise ProviderError(f"cannot read: {exc.strerror}", provider=provider,
                            reference=str(path)) from None
    return text[:-1] if text.endswith("\n") else text


class FileProvider(Provider):
    type = "file"
    default_naming = NamingConvention("/run/secrets/{key}", "_", "snake")
    options = frozenset({"directory"})

    def locate_file(self, path: str) -> Path:
        base = Path(self.config.get("directory") or self.context.root)
        return base / path

    def fetch(self, path: str, version: str | None = None) -> Fetched:
        return Fetched(read_secret_file(self.locate_file(path), provider=self.name,
                                        environ=self.context.environ))
