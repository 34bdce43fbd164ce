"""Provider ``local``: the embedded encrypted store under ``.vaultline/`` (no server)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from vaultline.errors import (
    MissingSecretError,
    ProviderError,
    SecretNotFoundError,
    StoreError,
    VaultlineError,
)
from vaultline.project.reference import CURRENT, PREVIOUS
from vaultline.providers.base import Fetched, Provider, ProviderContext, Request
from vaultline.providers.naming import NamingConvention
from vaultline.store import EmbeddedStore
from vaultline.store.embedded import not_text


class LocalProvider(Provider):
    type = "local"
    default_naming = NamingConvention("{app}/{env}/{key}", "/", "identity")
    options = frozenset({"path"})

    def __init__(self, name: str, options: Mapping[str, Any], context: ProviderContext):
        super().__init__(name, options, context)
        self._store: EmbeddedStore | None = None
        self._borrowed = False  # the store belongs to the caller, who closes it

    @property
    def directory(self) -> Path:
        directory = self.config.get("path") or self.context.store_dir
        if directory is None:
            raise ProviderError("no store directory configured", provider=self.name)
        return self.context.root / directory

    @property
    def store(self) -> EmbeddedStore:
        if self._store is None:
            self._store = EmbeddedStore.open(self.directory, environ=self.context.environ)
        return self._store

    def share(self, store: EmbeddedStore) -> None:
        """Read through ``store``, already open in this command, if it is this provider's:
        one command opens the store (and derives its keys) once. The caller closes it."""
        if self._store is None and store.directory.resolve() == self.directory.resolve():
            self._store, self._borrowed = store, True

    def _version(self, path: str, version: str | None) -> int | None:
        if version is None or version == CURRENT:
            return None
        if version == PREVIOUS:  # the version before the latest; a retired one reads as deleted
            numbers = [v.version for v in self.store.versions(path.strip("/"))]
            if len(numbers) < 2:
                raise ProviderError("has no previous version (it was never rotated)",
                                    reference=path)
            return numbers[-2]
        if not version.isdigit():
            raise ProviderError("local store versions are numbers (e.g. @3), @current or "
                                "@previous", reference=path)
        return int(version)

    def fetch_many(self, requests: Iterable[Request]) -> dict[Request, Fetched | ProviderError]:
        store = self.store  # a missing store or wrong master key fails the whole fetch
        results: dict[Request, Fetched | ProviderError] = {}
        latest: dict[str, Request] = {}  # path in the store -> the request for its latest
        again: list[tuple[Request, str]] = []  # another spelling of a path already asked for
        for request in requests:
            path, version = request
            if version is None or version == CURRENT:
                stored_path = path.strip("/")
                if stored_path in latest:
                    again.append((request, stored_path))
                else:
                    latest[stored_path] = request
                continue
            try:
                stored = store.get(path.strip("/"), self._version(path, version))
                results[request] = Fetched(stored.text(), str(stored.version))
            except (ProviderError, StoreError) as exc:
                results[request] = self._error(exc, path)
        # Once per secret read: no record kept per secret but the result (tuple.__new__:
        # see Resolver.references).
        new, fetched = tuple.__new__, Fetched
        for stored_path, number, value in store.iter_latest(latest):
            request = latest[stored_path]
            if not isinstance(value, StoreError):
                try:
                    results[request] = new(fetched, (value.decode(), str(number)))
                    continue
                except UnicodeDecodeError:
                    value = StoreError(not_text(stored_path, number))
            results[request] = self._error(value, request[0])
        for request, stored_path in again:
            results[request] = results[latest[stored_path]]
        return results

    def _error(self, exc: VaultlineError, path: str) -> ProviderError:
        if isinstance(exc, ProviderError):
            exc.provider = self.name
            return exc
        cls = MissingSecretError if isinstance(exc, SecretNotFoundError) else ProviderError
        return cls(str(exc), provider=self.name, reference=path)

    def put(self, path: str, value: str, *, cas: int | None = None) -> str:
        self.check_value_size(path, value)
        return str(self.store.put(path, value.encode("utf-8"), cas=cas))

    def list_paths(self, prefix: str = "") -> list[str]:
        return self.store.list_paths(prefix)

    def check(self) -> str:
        return f"store {self.store.directory} opened"

    def close(self) -> None:
        if self._store is not None and not self._borrowed:
            self._store.close()
        self._store, self._borrowed = None, False


__all__ = ["LocalProvider"]
