"""The one small base class every provider implements.

A provider turns a concrete path (and optional version) into a secret value. Everything
around that — naming conventions, ``#field`` selection, precedence, audit, all-or-nothing
error reporting — is decided once, in the resolver, not in each provider.
"""

from __future__ import annotations

import json
from abc import ABC
from collections.abc import Callable, Iterable, Mapping
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

from vaultline._limits import parse_json
from vaultline.errors import ConfigError, ProviderError, VersionConflictError
from vaultline.project.reference import Reference
from vaultline.providers.naming import NamingConvention


class ProviderConfig(NamedTuple):
    """One provider as configured: its name, type and options (``providers:`` in
    vaultline.yaml, at ``line``; a built-in type used by name has no entry)."""

    name: str
    type: str
    options: Mapping[str, Any]
    line: int | None = None


class ProviderContext(NamedTuple):
    """What a provider may know about the project and the environment being resolved."""

    app: str
    env: str
    root: Path
    environ: Mapping[str, str]
    store_dir: Path | None = None

    def __repr__(self) -> str:  # the environment may hold secrets
        return f"ProviderContext(app={self.app!r}, env={self.env!r}, root={str(self.root)!r})"


class Fetched(NamedTuple):
    """A value as a provider returned it: text, or a mapping of fields (Vault KV data)."""

    value: str | Mapping[str, Any]
    version: str | None = None

    def __repr__(self) -> str:
        return f"Fetched(value=<hidden>, version={self.version!r})"


_PATCH_ATTEMPTS = 5


def _fields(fetched: Fetched, path: str) -> dict[str, Any]:
    """The fields of a map secret (stored as a map, or as JSON object text)."""
    value: Any = fetched.value
    if isinstance(value, str):
        try:
            value = parse_json(value)
        except ValueError:
            value = None
    if not isinstance(value, Mapping):
        raise ProviderError("cannot write one field: the secret is not a JSON object; write "
                            "the whole value through a reference without '#FIELD'",
                            reference=path)
    return dict(value)


# (path, version) — what a provider is asked for; one fetch per distinct request.
Request = tuple[str, str | None]


class Provider(ABC):
    type: ClassVar[str]
    default_naming: ClassVar[NamingConvention] = NamingConvention()
    options: ClassVar[frozenset[str]] = frozenset()
    remote: ClassVar[bool] = False
    # The largest value the service stores, in UTF-8 bytes; None: vaultline's secret limit.
    max_value_bytes: ClassVar[int | None] = None

    def __init__(self, name: str, options: Mapping[str, Any], context: ProviderContext):
        self.name = name
        self.context = context
        where = f"provider {name!r}"
        unknown = set(options) - self.options - {"naming"}
        if unknown:
            raise ConfigError(
                f"{where}: unknown option(s) {', '.join(sorted(unknown))}; "
                f"{self.type} takes: {', '.join(sorted(self.options | {'naming'}))}"
            )
        self.config = options
        self.naming = self.default_naming.with_overrides(options.get("naming"), where=where)
        self.warnings: list[str] = []  # shown with the resolution (e.g. TLS checks off)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    @property
    def identity(self) -> str | None:
        """Who this provider acts as, for the audit log; None means the local user."""
        return None

    def locate(self, ref: Reference, key: str) -> str:
        """The concrete path for a reference: explicit, or from the naming convention."""
        if ref.path is not None:
            return ref.path
        return self._namer(key)

    @cached_property
    def _namer(self) -> Callable[[str], str]:
        return self.naming.namer(self.context.app, self.context.env)

    def display_path(self, path: str) -> str:
        """How the concrete location is shown to people (``refs``): a provider may add its mount."""
        return path

    def remote_key(self, path: str) -> str | None:
        """The key an External Secrets Operator store of this kind reads ``path`` as.

        None for providers ESO cannot read (the embedded store, the environment, files).
        """
        return None

    def lease_id(self, path: str) -> str | None:
        """The lease the value last fetched from ``path`` belongs to (dynamic credentials)."""
        return None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Each of fetch/fetch_many is written in terms of the other: a provider overrides one.
        if cls.fetch is Provider.fetch and cls.fetch_many is Provider.fetch_many:
            raise TypeError(f"{cls.__name__} must override fetch() or fetch_many()")

    def fetch(self, path: str, version: str | None = None) -> Fetched:
        """Read one secret; raise a ProviderError subclass (never with the value in it).

        This default serves providers that read in batches (:meth:`fetch_many`): one
        request, with the same errors, deadline and missing/unavailable distinction.
        """
        result = self.fetch_many([(path, version)])[(path, version)]
        if isinstance(result, ProviderError):
            raise result
        return result

    def fetch_many(self, requests: Iterable[Request]) -> dict[Request, Fetched | ProviderError]:
        """Read many secrets, each distinct request once; remote providers override this to
        batch and run concurrently, providers that read one at a time override :meth:`fetch`."""
        results: dict[Request, Fetched | ProviderError] = {}
        for request in dict.fromkeys(requests):
            try:
                results[request] = self.fetch(*request)
            except ProviderError as exc:
                results[request] = exc
        return results

    def put(self, path: str, value: str, *, cas: int | None = None) -> str:
        raise ProviderError("this provider is read-only", provider=self.name, reference=path)

    def put_field(self, path: str, field: str, value: str, *, cas: int | None = None) -> str:
        """Set one field of a JSON-object secret and keep the others (as ``vault kv patch``).

        The write is conditional on the version read (:meth:`put_if_unchanged`), so a write
        that lands in between is never lost: the patch is re-applied on top of it. With
        ``cas``, the secret must be at that version (no retry). A missing secret is created
        with the one field.
        """
        for _ in range(_PATCH_ATTEMPTS):
            try:
                current = self.fetch(path)
            except ProviderError as exc:
                if not exc.missing:
                    raise
                fields: dict[str, Any] = {}
                read: str | None = None
            else:
                fields, read = _fields(current, path), current.version
            if cas is not None and (read or "0") != str(cas):
                raise VersionConflictError(
                    f"check-and-set failed for {path}: current version is {read or 0}, not "
                    f"{cas}; check the new value, then retry")
            fields[field] = value
            try:
                return self.put_if_unchanged(path, json.dumps(fields), read)
            except VersionConflictError:
                if cas is not None:
                    raise
        raise VersionConflictError(f"{path} kept changing while its field {field!r} was "
                                   "written; try again")

    def put_if_unchanged(self, path: str, value: str, read: str | None) -> str:
        """Write ``value`` only if the secret is still at version ``read`` (None: only if it
        does not exist), else raise VersionConflictError. This default serves providers whose
        :meth:`put` takes numeric check-and-set versions."""
        return self.put(path, value, cas=int(read) if read else 0)

    def check_value_size(self, path: str, value: str) -> None:
        """Refuse a value the service would reject (or that would bloat the store) up front."""
        from vaultline._limits import limit, too_large

        cap = self.max_value_bytes
        variable = None
        if cap is None:
            cap, variable = limit("secret", self.context.environ), "VAULTLINE_MAX_SECRET_SIZE"
        try:
            size = len(value.encode("utf-8"))
        except UnicodeEncodeError:
            raise ConfigError(f"{self.name}:{path}: the value is not valid Unicode text (it "
                              "holds a lone surrogate)") from None
        if size > cap:
            what = f"{self.name}:{path}: the value ({size} bytes)"
            raise ConfigError(too_large(what, cap, variable)
                              + ("" if variable else f", which {self.type} enforces"))

    def list_paths(self, prefix: str = "") -> list[str]:
        raise ProviderError("this provider cannot list its secrets", provider=self.name)

    def check(self) -> str:
        """Confirm the provider is reachable and authenticated; return a short status."""
        return "ok"

    def close(self) -> None:  # noqa: B027 - most providers hold nothing to release
        """Release connections; the resolver closes every provider it opened."""

