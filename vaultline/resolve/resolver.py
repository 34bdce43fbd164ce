"""Resolution: the layers of a project's environment merged into one bundle.

Precedence is decided in exactly one place, :func:`merge`; the rest of this module gathers
candidates for it. Resolution is all-or-nothing: every failing key is collected and reported
together in a :class:`ResolutionError`; ``resolve`` never returns a partial bundle
(``resolve_partial`` exists for `vaultline check`, which reports on both halves).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from vaultline._limits import ParseLimitError, parse_json
from vaultline.errors import MissingSecretError, ProviderError, ResolutionError
from vaultline.project.model import Entry, Project
from vaultline.project.reference import Reference
from vaultline.providers import registry
from vaultline.providers.base import Fetched, Provider, Request
from vaultline.resolve.bundle import PRECEDENCE, Bundle, Layer, Provenance, ResolvedValue

if TYPE_CHECKING:
    from vaultline.resolve.snapshot import OfflineSnapshot
    from vaultline.store import EmbeddedStore


class RuntimeLayer(Protocol):
    """A source of runtime overrides (break-glass overrides, environment overrides)."""

    def candidates(self, project: Project, env: str) -> Sequence[ResolvedValue]: ...


class ReferenceRow(NamedTuple):
    """One secret key of an environment: its reference and where that points."""

    key: str
    reference: Reference
    provider: str
    path: str  # the concrete path, after the naming convention
    display: str  # how the provider shows that location (e.g. with its mount)
    entry: Entry  # the reference as secrets.yaml holds it

    @property
    def where(self) -> str:
        """FILE:LINE of the reference in secrets.yaml (formatted only when shown)."""
        return self.entry.where


class Read(NamedTuple):
    """One value a provider returned during a resolution: what the session audits as a read.

    Every value read is listed, those an override then shadows included.
    """

    key: str
    provider: str
    path: str  # the concrete path the provider read
    value: str  # after ``#FIELD`` selection; never in the repr
    identity: str | None  # who the provider acted as (None: the local user)
    lease: str | None = None  # the dynamic-credentials lease the value belongs to

    def __repr__(self) -> str:
        return f"Read(key={self.key!r}, provider={self.provider!r}, path={self.path!r})"


class Applied(NamedTuple):
    """A break-glass override whose value won its key."""

    key: str
    value: Any
    override_id: str

    def __repr__(self) -> str:
        return f"Applied(key={self.key!r}, override_id={self.override_id!r})"


class Resolution(NamedTuple):
    """What one resolution gave (``bundle``), what failed, and what it read and applied."""

    bundle: Bundle
    failures: list[ProviderError]
    reads: list[Read]
    applied: list[Applied]


def merge(
    candidates: Iterable[ResolvedValue],
) -> tuple[dict[str, ResolvedValue], dict[str, list[ResolvedValue]]]:
    """Pick each key's winner by layer precedence; the others are kept as shadowed (only
    keys that had more than one candidate appear there).

    A key is secret if any of its candidates is, so a non-secret layer can never unmask it:
    the winner and every value it shadowed (``env explain`` lists them) are then secret.
    """
    rank = {layer: i for i, layer in enumerate(PRECEDENCE)}
    winners: dict[str, ResolvedValue] = {}
    contested: dict[str, list[ResolvedValue]] = {}
    for candidate in candidates:
        key = candidate.key
        if key in winners:
            contested.setdefault(key, [winners[key]]).append(candidate)
        winners[key] = candidate
    shadowed: dict[str, list[ResolvedValue]] = {}
    for key, found in contested.items():  # most keys come from one layer: nothing to rank
        ordered = sorted(found, key=lambda c: rank[c.provenance.layer], reverse=True)
        if any(c.secret for c in ordered):
            ordered = [c if c.secret else ResolvedValue(key, c.value, True, c.provenance)
                       for c in ordered]
        winners[key] = ordered[0]
        shadowed[key] = ordered[1:]
    return winners, shadowed


def select_field(fetched: Fetched, ref: Reference) -> Any:
    """Apply ``#FIELD``; a map secret without a field is returned as compact JSON text."""
    value = fetched.value
    if ref.field is None:
        if isinstance(value, str):
            return value
        # `vault kv put path value=...` is how a single text is stored in a map-only store.
        if list(value) == ["value"] and isinstance(value["value"], str):
            return value["value"]
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, str):
        try:
            value = parse_json(value)
        except ParseLimitError as exc:
            raise ProviderError(f"cannot select field {ref.field!r}: the secret is JSON {exc}")\
                from None
        except ValueError:
            raise ProviderError(f"cannot select field {ref.field!r}: the secret is not a JSON "
                                "object") from None
    if not isinstance(value, Mapping):
        raise ProviderError(f"cannot select field {ref.field!r}: the secret is not a JSON object")
    if ref.field not in value:
        fields = ", ".join(sorted(map(str, value))) or "none"
        raise ProviderError(f"field {ref.field!r} not found (fields: {fields})")
    picked = value[ref.field]
    return picked if isinstance(picked, str) else json.dumps(picked, separators=(",", ":"))


class Resolver:
    """The low-level, unaudited layer: merges the layers and reads the providers, nothing more.

    It applies no break-glass overrides and writes no audit lines. Applications call
    ``vaultline.load`` and commands use ``vaultline.Session``, which wrap a Resolver with both.
    """

    def __init__(
        self,
        project: Project,
        env: str,
        *,
        environ: Mapping[str, str] | None = None,
        runtime_layers: Sequence[RuntimeLayer] = (),
        store: EmbeddedStore | None = None,
    ):
        """``store``: the project's embedded store, already open (a :class:`Session`'s); the
        ``local`` providers and the offline snapshot read through it instead of opening their
        own. The caller closes it."""
        project.environment(env)
        self.project = project
        self.env = env
        self.environ = dict(project.environ if environ is None else environ)
        self.runtime_layers = runtime_layers
        self.store = store
        self.pack = project.pack(env)
        self._providers: dict[str, Provider] = {}

    # -- providers -------------------------------------------------------------------------

    def provider(self, name: str) -> Provider:
        if name not in self._providers:
            context = self.project.provider_context(self.env, self.environ)
            provider = registry.create(self.project.provider_config(name), context)
            if self.store is not None and provider.type == "local":
                from vaultline.providers.local import LocalProvider

                assert isinstance(provider, LocalProvider)
                provider.share(self.store)
            self._providers[name] = provider
        return self._providers[name]

    def close(self) -> None:
        for provider in self._providers.values():
            provider.close()
        self._providers.clear()

    def __enter__(self) -> Resolver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- references ------------------------------------------------------------------------

    def references(self) -> list[ReferenceRow]:
        rows: list[ReferenceRow] = []
        # Once per secret, so kept lean (docs/design/performance.md): each provider's methods
        # looked up once, the base class's locate (an explicit path, else the naming
        # convention) inlined and its display_path (the path itself) not called, and the rows
        # built with tuple.__new__ (a NamedTuple's own __new__ is a Python call).
        new, row = tuple.__new__, ReferenceRow
        Methods = tuple[Callable[[Reference, str], str] | None, Callable[[str], str],
                        Callable[[str], str] | None]
        located: dict[str, Methods] = {}
        secrets = self.pack.secrets
        for key in sorted(secrets):
            entry = secrets[key]
            ref: Reference = entry.value
            name = ref.provider
            methods = located.get(name)
            if methods is None:
                provider = self.provider(name)
                kind, context = type(provider), provider.context
                methods = located[name] = (
                    None if kind.locate is Provider.locate else provider.locate,
                    provider.naming.namer(context.app, context.env),
                    None if kind.display_path is Provider.display_path else provider.display_path)
            locate, namer, display = methods
            path = (locate(ref, key) if locate is not None
                    else namer(key) if ref.path is None else ref.path)
            rows.append(new(row, (key, ref, name, path, path if display is None else display(path),
                                  entry)))
        return rows

    # -- resolution ------------------------------------------------------------------------

    def _static_candidates(self) -> list[ResolvedValue]:
        schema = self.project.schema
        out = []
        for layer, entries in ((Layer.DEFAULTS, self.project.defaults),
                               (Layer.PACK, self.pack.values)):
            for key, entry in entries.items():
                secret = key in schema and schema[key].secret is True
                out.append(ResolvedValue(key, entry.value, secret,
                                         Provenance(layer, entry.where)))
        return out

    def _fetch_all(self, rows: Sequence[ReferenceRow]) -> dict[str, dict[Request, Any]]:
        """Fetch each distinct (path, version) once per provider; providers run concurrently."""
        wanted: dict[str, dict[Request, None]] = defaultdict(dict)  # ordered set per provider
        for row in rows:
            wanted[row.provider][(row.path, row.reference.version)] = None

        def run(name: str) -> tuple[str, dict[Request, Fetched | ProviderError]]:
            try:
                return name, self.provider(name).fetch_many(list(wanted[name]))
            except ProviderError as exc:
                return name, {request: exc for request in wanted[name]}

        names = list(wanted)
        if sum(self.provider(n).remote for n in names) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=len(names)) as pool:
                return dict(pool.map(run, names))
        return dict(map(run, names))

    def resolve(self) -> Bundle:
        """The whole bundle, or a ResolutionError naming every key that failed."""
        bundle, failures = self.resolve_partial()
        if failures:
            raise ResolutionError(failures)
        return bundle

    def _offline(self) -> OfflineSnapshot | None:
        if self.project.environment(self.env).max_stale is None:
            return None  # the fallback is off: keep its module off the common path
        from vaultline.resolve.snapshot import OfflineSnapshot

        return OfflineSnapshot.for_environment(self.project, self.env, self.environ,
                                               store=self.store)

    def resolve_partial(self) -> tuple[Bundle, list[ProviderError]]:
        """What resolved, and what failed: for checks that report on both (never for output)."""
        resolution = self.read()
        return resolution.bundle, resolution.failures

    def read(self) -> Resolution:
        """:meth:`resolve_partial`, with the records of every value read and every override
        applied: what :class:`Session` audits, without walking the bundle again."""
        candidates = self._static_candidates()
        failures: list[ProviderError] = []
        rows = self.references()
        fetched = self._fetch_all(rows)
        schema = self.project.schema
        # Offline fallback (off unless the environment sets max_stale): unreachable remote
        # providers are answered from the last good resolution's encrypted snapshot.
        offline = self._offline()
        remote = {name for name, provider in self._providers.items() if provider.remote}
        warnings: list[str] = offline.fill(fetched, remote) if offline else []
        texts: dict[Reference, str] = {}  # packs repeat a few references thousands of times
        secrets = Layer.SECRETS
        public = {key for key, spec in schema.items() if spec.secret is False}
        identities = {name: provider.identity for name, provider in self._providers.items()}
        # Only providers of dynamic credentials have leases to ask about (once per read).
        leasing = {name for name, provider in self._providers.items()
                   if type(provider).lease_id is not Provider.lease_id}
        reads: list[Read] = []
        new, resolved, provenance, read = tuple.__new__, ResolvedValue, Provenance, Read
        for key, ref, name, path, display, _ in rows:  # once per secret: see references()
            result = fetched[name][(path, ref.version)]
            try:
                if isinstance(result, ProviderError):
                    raise result
                value = result.value
                if ref.field is not None or not isinstance(value, str):
                    value = select_field(result, ref)
            except ProviderError as exc:
                spec = schema.get(key)
                # `required: false` makes a secret optional; unspecified keeps it required,
                # because a reference in secrets.yaml was written there to be used. Only
                # "nothing there" skips it: a refused login must not pass for an absent value.
                if (spec is not None and spec.required is False
                        and isinstance(exc, MissingSecretError)):
                    warnings.append(f"{key}: optional secret skipped ({exc.reason})")
                    continue
                failures.append(ProviderError(exc.reason, provider=name,
                                              reference=str(ref), key=key,
                                              missing=exc.missing))
                continue
            text = texts.get(ref) or texts.setdefault(ref, str(ref))
            candidates.append(new(resolved, (
                key, value, key not in public,
                new(provenance, (secrets, name, text, display, result.version, None)))))
            reads.append(new(read, (key, name, path, value, identities[name],
                                    (self._providers[name].lease_id(path) or None)
                                    if name in leasing else None)))
        overridden: list[ResolvedValue] = []
        for layer in self.runtime_layers:
            overridden.extend(layer.candidates(self.project, self.env))
        candidates.extend(overridden)
        winners, shadowed = merge(candidates)
        for key, spec in schema.items():
            missing = spec.required is True and key not in winners
            if missing and not any(f.key == key for f in failures):
                failures.append(ProviderError("required, but no layer gives it a value",
                                              key=key, reference="(none)", missing=True))
        failures.sort(key=lambda f: f.key or "")
        if not winners and not failures:
            pack = self.project.pack_dir(self.env).relative_to(self.project.root)
            warnings.append(f"{self.env} resolves no keys: add values to {pack}/values.yaml "
                            f"or references to {pack}/secrets.yaml")
        for provider in self._providers.values():
            warnings.extend(provider.warnings)
        if offline and not failures and (problem := offline.remember(fetched, remote)):
            warnings.append(problem)
        won = {c.key: Applied(c.key, winner.value, override_id) for c in overridden
               if (override_id := c.provenance.override_id) is not None
               and (winner := winners[c.key]).provenance.override_id == override_id}
        applied = [won[key] for key in sorted(won)]
        return Resolution(Bundle(self.env, winners, shadowed, warnings=warnings), failures,
                          reads, applied)
