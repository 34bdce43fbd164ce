"""The project: ``vaultline.yaml`` and its environment packs.

    vaultline.yaml          app, environments, defaults, schema, providers, store, ...
    env/<env>/values.yaml   non-secret values                   (committed)
    env/<env>/secrets.yaml  key -> secret reference, no values   (committed)

``include:`` names shared project files (a monorepo's common layer): their defaults, schema,
providers, environments and their own ``env/<env>/`` packs sit below the including file's,
key by key, within each layer; every entry keeps the file it came from. ``apps:`` instead of
``app:`` declares several apps in one file, each with its own directory of packs
(``<dir>/env/<env>/``) above the file's own ``env/<env>/``; the app is the one whose directory
holds the starting directory, or ``VAULTLINE_APP``.

The environment variables a project reads (``VAULTLINE_APP``, ``VAULTLINE_STORE_DIR``, the size
limits) come from the mapping given to :meth:`Project.load` (``os.environ`` when none is), which
the project keeps as ``environ``: sessions, resolvers and providers made from it use it too
unless they are given their own.

Everything here is validated when loaded; an invalid file raises a ConfigError that names
``FILE:LINE`` and says what is wrong, so nothing downstream ever sees a half-valid project.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, NamedTuple

from vaultline._limits import file_kind, nul_problem, path_problem
from vaultline.duration import parse_duration
from vaultline.errors import ConfigError
from vaultline.project import keypath
from vaultline.project._lines import LineDict, line_of
from vaultline.project._packcache import CachedDocument, cached_rows
from vaultline.project.reference import Reference
from vaultline.providers.base import ProviderConfig, ProviderContext
from vaultline.providers.registry import BUILTIN_PROVIDERS, PROVIDER_TYPES, option_problem

PROJECT_FILE = "vaultline.yaml"
# Sections owned by other parts of vaultline (key rings, rotation...) are kept raw for them.
_SECTIONS = {"version", "app", "environments", "defaults", "schema", "providers", "store",
             "keys", "rotation", "rotate", "policy", "audit", "scan", "overrides", "include", "apps"}
# What a shared (included) file may hold: everything that is not one app's own.
_SHARED_SECTIONS = {"version", "include", "environments", "defaults", "schema", "providers"}
_ENV_FIELDS = {"protected", "max_override_ttl", "allow_env_overrides", "env_override_prefix",
               "max_stale", "description", "pass_env"}
_SCHEMA_FIELDS = {"secret", "required", "format", "default", "description"}


# The small records below are NamedTuples rather than dataclasses: they are created on every
# command's start-up path, where each dataclass definition costs about a millisecond.
class Entry(NamedTuple):
    """One key's value (or reference) in one file, with where it was written."""

    key: str
    value: Any
    file: str
    line: int | None

    @property
    def where(self) -> str:
        return self.file if self.line is None else f"{self.file}:{self.line}"


class SchemaEntry(NamedTuple):
    key: str
    # None: not said. False on a key with a reference marks the provider's value as not
    # secret (a username): it is shown and not masked.
    secret: bool | None = None
    required: bool | None = None  # None: not said; secrets default to required
    format: str | None = None
    default: Any = None
    has_default: bool = False
    description: str = ""
    line: int | None = None


class Environment(NamedTuple):
    name: str
    protected: bool = False
    max_override_ttl: timedelta | None = None
    allow_env_overrides: bool = False
    env_override_prefix: str = ""
    max_stale: timedelta | None = None
    description: str = ""
    pass_env: tuple[str, ...] = ()  # credentials `run` hands on to the child


class EnvironmentPack(NamedTuple):
    """``env/<env>/``: non-secret values and secret references, flattened to ``A:B`` keys."""

    env: str
    values: dict[str, Entry]
    secrets: dict[str, Entry]  # Entry.value is a Reference


class Project:
    """A loaded, validated project; environment packs are loaded on first use and kept."""

    def __init__(self, *, root: Path, app: str, environments: dict[str, Environment],
                 defaults: dict[str, Entry], schema: dict[str, SchemaEntry],
                 providers: dict[str, ProviderConfig], store_dir: Path,
                 sections: Mapping[str, Any] | None = None,
                 included_files: list[Path] | None = None, app_dir: Path | None = None,
                 environ: Mapping[str, str] | None = None):
        self.root = root
        # The variables this project was loaded under (os.environ by default), for what is
        # made from it without an environment of its own.
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        # An app declared under `apps:` keeps its packs in its own directory.
        self.app_dir = app_dir or root
        # Shared project files, lowest precedence first; their env/ packs sit below ours.
        self.included_files = list(included_files or [])
        self.app = app
        self.environments = environments
        self.defaults = defaults
        self.schema = schema
        self.providers = providers
        self.store_dir = store_dir
        self.sections: Mapping[str, Any] = sections or {}  # raw sections owned elsewhere
        self._packs: dict[str, EnvironmentPack] = {}

    def __repr__(self) -> str:
        return f"Project(app={self.app!r}, root={str(self.root)!r})"

    @property
    def file(self) -> Path:
        return self.root / PROJECT_FILE

    # -- loading -------------------------------------------------------------------------

    @classmethod
    def find_root(cls, start: Path | None = None) -> Path:
        """The nearest directory at or above ``start`` holding vaultline.yaml."""
        here = (start or Path.cwd()).resolve()
        for candidate in (here, *here.parents):
            if (candidate / PROJECT_FILE).is_file():
                return candidate
        raise ConfigError(
            f"no {PROJECT_FILE} in {here} or any parent directory; "
            "run 'vaultline init' or pass --project-dir"
        )

    @classmethod
    def load(cls, root: Path | str | None = None, *, search: bool = True,
             environ: Mapping[str, str] | None = None) -> Project:
        """The project at (or, with ``search``, above) ``root``; ``environ`` is read instead
        of ``os.environ`` for VAULTLINE_APP, VAULTLINE_STORE_DIR and the size limits."""
        environ = os.environ if environ is None else environ
        start = Path(root) if root is not None else None
        base = cls.find_root(start) if search else (start or Path.cwd()).resolve()
        path = base / PROJECT_FILE
        shown = _display(path)
        # The parse cache lives in the store directory; the file may move that directory
        # (store.path), and then it is not known before the parse: no cache for such a file.
        default_store = _store_dir(base, environ, None)
        cache = default_store / "cache"
        parsed = CachedDocument(path, cache, shown, environ=environ)
        doc = parsed.doc
        if not isinstance(doc, Mapping):
            raise ConfigError("must be a mapping with at least 'app' and 'environments'",
                              file=shown, line=1)
        for name in doc:
            if name not in _SECTIONS:
                raise ConfigError(
                    f"unknown section {name!r}; known: {', '.join(sorted(_SECTIONS))}",
                    file=shown, line=line_of(doc, name))
        version = doc.get("version", 1)
        if version != 1:
            raise ConfigError(f"unsupported version {version!r}; this vaultline reads version 1",
                              file=shown, line=line_of(doc, "version"))
        app, app_dir = _select_app(doc, base, shown, (start or Path.cwd()).resolve(), environ)
        included = _included(doc, path, shown, frozenset({path.resolve()}), environ, cache,
                             set())
        schema: dict[str, SchemaEntry] = {}
        defaults: dict[str, Entry] = {}
        providers: dict[str, ProviderConfig] = {}
        environments: dict[str, Environment] | None = None
        for layer_shown, layer in [*((i.shown, i.doc) for i in included), (shown, doc)]:
            layer_schema, layer_defaults = _schema_and_defaults(layer, layer_shown)
            schema.update(layer_schema)
            defaults.update(layer_defaults)
            providers.update(_parse_providers(layer.get("providers") or {}, layer_shown,
                                              line_of(layer, "providers")))
            if "environments" in layer or (layer is doc and environments is None):
                environments = _parse_environments(layer.get("environments"), layer_shown,
                                                   line_of(layer, "environments"))
        assert environments is not None  # the project file's own parse raises without any
        for key, entry in defaults.items():
            if key in schema and schema[key].secret:
                raise ConfigError(f"{key!r} is a secret in the schema and cannot have a default; "
                                  "give it a reference in env/<env>/secrets.yaml",
                                  file=entry.file, line=entry.line)
        store_cfg = doc.get("store") or {}
        if not isinstance(store_cfg, Mapping):
            raise ConfigError("'store' must be a mapping", file=shown, line=line_of(doc, "store"))
        if "path" in store_cfg:
            _check_path(store_cfg["path"], "store.path", shown,
                        line_of(store_cfg, "path") or line_of(doc, "store"))
        store_dir = _store_dir(base, environ, store_cfg.get("path"))
        if store_dir == default_store:
            for document in (*(i.parsed for i in included), parsed):
                document.save()  # only now: what is cached is a project that validated
        return cls(
            root=base,
            app=app,
            environments=environments,
            defaults=defaults,
            schema=schema,
            providers=providers,
            store_dir=store_dir,
            sections={k: v for k, v in doc.items() if k in
                      {"keys", "rotation", "rotate", "policy", "audit", "scan", "overrides"}},
            included_files=[i.path for i in included],
            app_dir=app_dir,
            environ=environ,
        )

    def environment(self, env: str) -> Environment:
        try:
            return self.environments[env]
        except KeyError:
            raise ConfigError(
                f"unknown environment {env!r}; {_display(self.file)} defines: "
                f"{', '.join(self.environments) or 'none'}"
            ) from None

    def pack_dir(self, env: str) -> Path:
        return self.app_dir / "env" / env

    def shared_pack_dirs(self, env: str) -> list[Path]:
        """Packs below the app's own, lowest first: included files', then (for an app under
        ``apps:``) the project file's own ``env/<env>/``."""
        dirs = [f.parent / "env" / env for f in self.included_files]
        if self.app_dir != self.root:
            dirs.append(self.root / "env" / env)
        return dirs

    def pack(self, env: str) -> EnvironmentPack:
        """The environment pack, loaded and validated once per Project object."""
        if env not in self._packs:
            self._packs[env] = self._load_pack(env)
        return self._packs[env]

    def _load_pack(self, env: str) -> EnvironmentPack:
        # Shared packs first: the project's own pack shadows them key by key.
        self.environment(env)
        values: dict[str, Entry] = {}
        refs: dict[str, Entry] = {}
        for shared in self.shared_pack_dirs(env):
            pack = self._load_one_pack(shared)
            values.update(pack.values)
            refs.update(pack.secrets)
        own = self._load_one_pack(self.pack_dir(env))
        values.update(own.values)
        refs.update(own.secrets)
        return EnvironmentPack(env, values, refs)

    def _load_one_pack(self, directory: Path) -> EnvironmentPack:
        shown, rows = self._pack_rows(directory / "values.yaml", "values", self._no_secrets)
        values = self._no_secrets(rows, shown)
        shown, rows = self._pack_rows(directory / "secrets.yaml", "secrets",
                                      lambda rows, shown: self._references(rows, shown, directory))
        return EnvironmentPack(directory.name, values, self._references(rows, shown, directory))

    def _no_secrets(self, rows: list[tuple[str, Any, int | None]], shown: str,
                    ) -> dict[str, Entry]:
        """The entries of a values.yaml; a key the schema calls secret is refused."""
        for key, _, line in rows:
            if key in self.schema and self.schema[key].secret:
                raise ConfigError(
                    f"{key!r} is a secret in the schema; values.yaml must not hold it — "
                    "put a reference in secrets.yaml instead", file=shown, line=line)
        return {key: Entry(key, value, shown, line) for key, value, line in rows}

    def _references(self, rows: list[tuple[str, Any, int | None]], shown: str,
                    directory: Path) -> dict[str, Entry]:
        """The entries of a secrets.yaml, each value parsed as a :class:`Reference`."""
        refs: dict[str, Entry] = {}
        known = {*self.providers, *BUILTIN_PROVIDERS}
        # Once per secret: a pack repeats a few reference texts (a bare `local`, `vault`)
        # thousands of times, and a text checked once is good for every key that holds it.
        checked: dict[str, Reference] = {}
        new = tuple.__new__  # docs/design/performance.md
        for key, text, line in rows:
            ref = checked.get(text) if type(text) is str else None
            if ref is None:
                ref = checked[text] = self._reference(key, text, shown, line, directory, known)
            refs[key] = new(Entry, (key, ref, shown, line))
        return refs

    @staticmethod
    def _reference(key: str, text: Any, shown: str, line: int | None, directory: Path,
                   known: set[str]) -> Reference:
        """``text`` as a reference to a known provider, or the ConfigError saying why not."""
        if not isinstance(text, str):
            raise ConfigError(
                f"{key!r}: secrets.yaml holds references like 'vault:db.primary#password', "
                f"not {type(text).__name__} values", file=shown, line=line)
        try:
            ref = Reference.parse(text)
        except ConfigError as exc:
            raise _pasted_or(exc.message, key, directory.name, text, shown, line,
                             known) from None
        if ref.provider not in known:
            raise _pasted_or(
                f"{key!r}: unknown provider {ref.provider!r}; configure it under 'providers' "
                f"in {PROJECT_FILE} or use one of {', '.join(BUILTIN_PROVIDERS)}",
                key, directory.name, text, shown, line, known)
        return ref

    def _pack_rows(self, path: Path, what: str,
                   check: Callable[[list[tuple[str, Any, int | None]], str], object],
                   ) -> tuple[str, list[tuple[str, Any, int | None]]]:
        """The file as shown in messages, and its flattened ``(key, value, line)`` rows;
        ``check(rows, shown)`` raises on rows that must not be cached."""
        shown = _display(path)
        if not path.exists():
            return shown, []

        def parse(data: bytes) -> list[tuple[str, Any, int | None]]:
            from vaultline.project._yaml import load_data

            doc = load_data(data, display=shown)
            if doc is None:
                return []
            return [(e.key, e.value, e.line) for e in _flatten_entries(doc, shown, what, 1).values()]

        return shown, cached_rows(path, self.store_dir / "cache", parse, shown,
                                  environ=self.environ, check=lambda rows: check(rows, shown))

    def provider_config(self, name: str) -> ProviderConfig:
        if name in self.providers:
            return self.providers[name]
        if name in BUILTIN_PROVIDERS:
            return ProviderConfig(name, name, {})
        raise ConfigError(f"unknown provider {name!r}; configure it under 'providers' in "
                          f"{PROJECT_FILE}")

    def provider_context(self, env: str, environ: Mapping[str, str] | None = None,
                         ) -> ProviderContext:
        """What this project's providers may know when working in ``env``; ``environ``
        defaults to the project's own."""
        return ProviderContext(app=self.app, env=env, root=self.root,
                               environ=dict(self.environ if environ is None else environ),
                               store_dir=self.store_dir)


def _pasted_or(message: str, key: str, env: str, text: str, file: str,
               line: int | None, known: set[str]) -> ConfigError:
    """`message` about a reference that failed to parse or names no known provider, when its
    text is shaped ``PROVIDER:...`` and does not look like a pasted secret; otherwise an
    error that never quotes the text (a bare word may be a pasted password)."""
    from vaultline.project.pasted import looks_like_value, not_a_reference, not_quoted
    from vaultline.project.reference import names_a_path

    if looks_like_value(text):
        return ConfigError(not_a_reference(key, env), file=file, line=line)
    if names_a_path(text):
        return ConfigError(message, file=file, line=line)
    return ConfigError(not_quoted(key, text, known), file=file, line=line)


def _select_app(doc: Mapping[str, Any], base: Path, shown: str, start: Path,
                environ: Mapping[str, str]) -> tuple[str, Path | None]:
    """``(app name, its directory or None)`` from ``app:`` or ``apps:``."""
    apps = doc.get("apps")
    if apps is None:
        app = doc.get("app")
        if not isinstance(app, str) or not app.strip():
            raise ConfigError("'app' must be a non-empty string (e.g. app: nexus-engine)",
                              file=shown, line=line_of(doc, "app") or 1)
        return app.strip(), None
    at = line_of(doc, "apps")
    if "app" in doc:
        raise ConfigError("give either 'app' (one app) or 'apps' (several), not both",
                          file=shown, line=at)
    if not isinstance(apps, Mapping) or not apps or not all(
            isinstance(k, str) and k.strip() and isinstance(v, str) and v.strip()
            for k, v in apps.items()):
        raise ConfigError("'apps' must map each app name to its directory (e.g. apps: "
                          "{api: services/api, worker: services/worker})", file=shown, line=at)
    for name, folder in apps.items():
        _check_path(folder, f"app {name!r}: its directory", shown, line_of(apps, name) or at)
    dirs = {name.strip(): (base / folder).resolve() for name, folder in apps.items()}
    chosen = environ.get("VAULTLINE_APP")
    if chosen:
        if chosen not in dirs:
            raise ConfigError(f"VAULTLINE_APP={chosen!r} is not among the apps declared here "
                              f"({', '.join(dirs)})", file=shown, line=at)
        return chosen, dirs[chosen]
    holding = [name for name, folder in dirs.items()
               if start == folder or folder in start.parents]
    if not holding:
        raise ConfigError(f"this file declares several apps ({', '.join(dirs)}); run inside "
                          "one's directory or set VAULTLINE_APP", file=shown, line=at)
    # The deepest directory wins when one app's directory holds another's.
    name = max(holding, key=lambda n: len(dirs[n].parts))
    return name, dirs[name]


def _check_path(value: Any, what: str, file: str, line: int | None) -> None:
    """A ConfigError at ``file:line`` unless ``value`` can be a path."""
    problem = path_problem(value)
    if problem is not None:
        raise ConfigError(f"{what} {problem}", file=file, line=line)


def _store_dir(base: Path, environ: Mapping[str, str], configured: Any) -> Path:
    """The store directory: VAULTLINE_STORE_DIR, else ``store.path``, else ``.vaultline``."""
    store_dir = Path(environ.get("VAULTLINE_STORE_DIR") or configured or ".vaultline")
    return store_dir if store_dir.is_absolute() else base / store_dir


class _Included(NamedTuple):
    path: Path
    shown: str
    doc: Mapping[str, Any]
    parsed: CachedDocument


# Real monorepos include a shared layer or two; a chain this deep is a mistake or an attack.
MAX_INCLUDE_DEPTH = 32


def _included(doc: Mapping[str, Any], path: Path, shown: str, seen: frozenset[Path],
              environ: Mapping[str, str], cache: Path, done: set[Path]) -> list[_Included]:
    """The files ``doc`` includes, lowest precedence first (each after its own includes).

    A file reached again by another path (``done``) is not included twice: it stays below
    every file that includes it, and a few files including each other in a lattice cannot
    make the walk exponential (2**25 paths through 50 files)."""
    raw = doc.get("include")
    if raw is None:
        return []
    at = line_of(doc, "include")
    if len(seen) > MAX_INCLUDE_DEPTH:
        raise ConfigError(f"includes are nested more than {MAX_INCLUDE_DEPTH} files deep; "
                          "include the shared files from fewer levels", file=shown, line=at)
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not all(isinstance(i, str) and i for i in items):
        raise ConfigError("'include' must be a path or a list of paths to shared project "
                          "files (e.g. include: ../shared/vaultline.yaml)", file=shown, line=at)
    for item in items:
        _check_path(item, f"include {item!r}", shown, at)
    result: list[_Included] = []
    for item in items:
        target = path.parent / item
        if target.is_dir():
            target = target / PROJECT_FILE
        target = target.resolve()
        if target in seen:
            raise ConfigError(f"include {item!r} leads back to a file that includes it; "
                              "remove one of the includes", file=shown, line=at)
        if not target.is_file():
            try:
                found = f"{_display(target)} is {file_kind(target.stat().st_mode)}"
            except OSError:
                found = f"no such file {_display(target)}"
            raise ConfigError(f"include {item!r}: {found}; include a project file "
                              f"({PROJECT_FILE} or the directory holding one)",
                              file=shown, line=at)
        if target in done:
            continue
        done.add(target)
        target_shown = _display(target)
        parsed = CachedDocument(target, cache, target_shown, environ=environ)
        shared = parsed.doc or {}
        if not isinstance(shared, Mapping):
            raise ConfigError("a shared project file must be a mapping", file=target_shown,
                              line=1)
        for name in shared:
            if name not in _SHARED_SECTIONS:
                raise ConfigError(
                    f"section {name!r} belongs in each app's own {PROJECT_FILE}; a shared "
                    f"(included) file holds {', '.join(sorted(_SHARED_SECTIONS))}",
                    file=target_shown, line=line_of(shared, name))
        result += _included(shared, target, target_shown, seen | {target}, environ, cache,
                            done)
        result.append(_Included(target, target_shown, shared, parsed))
    return result


def _schema_and_defaults(doc: Mapping[str, Any], shown: str,
                         ) -> tuple[dict[str, SchemaEntry], dict[str, Entry]]:
    """One file's schema and defaults; a schema ``default:`` is that file's default."""
    schema = _parse_schema(doc.get("schema") or {}, shown, line_of(doc, "schema"))
    defaults = _flatten_entries(doc.get("defaults") or {}, shown, "defaults",
                                line_of(doc, "defaults"))
    for key, spec in schema.items():
        if spec.has_default and key not in defaults:
            defaults[key] = Entry(key, spec.default, shown, spec.line)
    return schema, defaults


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _flatten_entries(mapping: Any, file: str, what: str, line: int | None) -> dict[str, Entry]:
    if not isinstance(mapping, Mapping):
        raise ConfigError(f"{what} must be a mapping of keys (flat 'A:B: v' or nested)",
                          file=file, line=line)
    entries: dict[str, Entry] = {}
    for key, value, parent, raw in keypath.iter_leaves(mapping):
        where = line_of(parent, raw)
        problem = keypath.validate(key)
        if problem:
            raise ConfigError(problem, file=file, line=where)
        if isinstance(value, Mapping):
            raise ConfigError(f"{key!r} is an empty mapping; give it a value", file=file, line=where)
        if key in entries:
            raise ConfigError(f"{key!r} is given twice (also at line {entries[key].line})",
                              file=file, line=where)
        entries[key] = Entry(key, value, file, where)
    return entries


def _duration(value: Any, what: str, file: str, line: int | None) -> timedelta | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise ConfigError(f"{what}: {exc}", file=file, line=line) from None


def _parse_environments(raw: Any, file: str, line: int | None) -> dict[str, Environment]:
    if isinstance(raw, list):
        for name in raw:
            if not isinstance(name, str):
                kind = "mappings" if isinstance(name, Mapping) else f"{type(name).__name__} values"
                raise ConfigError(f"'environments' lists names, not {kind} "
                                  "(e.g. environments: [dev, prod]; settings go in a "
                                  "mapping: environments: {prod: {protected: true}})",
                                  file=file, line=line or 1)
        raw = {name: {} for name in raw}
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigError("'environments' must list at least one environment "
                          "(e.g. environments: [dev, prod])", file=file, line=line or 1)
    result: dict[str, Environment] = {}
    for name, spec in raw.items():
        at = line_of(raw, name) or line
        if not isinstance(name, str) or not keypath._SEGMENT.fullmatch(name):
            raise ConfigError(f"invalid environment name {name!r}", file=file, line=at)
        spec = spec or {}
        if not isinstance(spec, Mapping):
            raise ConfigError(f"environment {name!r} must be a mapping of settings",
                              file=file, line=at)
        for setting in spec:
            if setting not in _ENV_FIELDS:
                raise ConfigError(f"environment {name!r}: unknown setting {setting!r}; known: "
                                  f"{', '.join(sorted(_ENV_FIELDS))}",
                                  file=file, line=line_of(spec, setting) or at)
        for flag in ("protected", "allow_env_overrides"):
            if flag in spec and not isinstance(spec[flag], bool):
                raise ConfigError(f"environment {name!r}: {flag} must be true or false",
                                  file=file, line=line_of(spec, flag) or at)
        result[name] = Environment(
            name=name,
            protected=bool(spec.get("protected", False)),
            max_override_ttl=_duration(spec.get("max_override_ttl"), f"{name}.max_override_ttl",
                                       file, line_of(spec, "max_override_ttl") or at),
            allow_env_overrides=bool(spec.get("allow_env_overrides", False)),
            env_override_prefix=str(spec.get("env_override_prefix", "")),
            max_stale=_duration(spec.get("max_stale"), f"{name}.max_stale", file,
                                line_of(spec, "max_stale") or at),
            description=str(spec.get("description", "")),
            pass_env=_names(spec.get("pass_env"), f"environment {name!r}: pass_env", file,
                            line_of(spec, "pass_env") or at),
        )
    return result


def _names(raw: Any, what: str, file: str, line: int | None) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(n, str) and n for n in raw):
        raise ConfigError(f"{what} must be a list of variable names, e.g. [VAULT_TOKEN]",
                          file=file, line=line)
    return tuple(raw)


def _parse_schema(raw: Any, file: str, line: int | None) -> dict[str, SchemaEntry]:
    if not isinstance(raw, Mapping):
        raise ConfigError("'schema' must map keys to {secret, required, format, default, "
                          "description}", file=file, line=line)
    result: dict[str, SchemaEntry] = {}

    def walk(node: Mapping[Any, Any], prefix: str) -> None:
        for raw_key, spec in node.items():
            key = f"{prefix}:{raw_key}" if prefix else str(raw_key)
            at = line_of(node, raw_key)
            if spec is None:
                spec = LineDict()
                spec.lines = {}
            if not isinstance(spec, Mapping):
                raise ConfigError(f"schema entry {key!r} must be a mapping", file=file, line=at)
            if spec and not (set(spec) & _SCHEMA_FIELDS):
                walk(spec, key)  # a nested group of keys, not an entry
                continue
            problem = keypath.validate(key)
            if problem:
                raise ConfigError(problem, file=file, line=at)
            unknown = set(spec) - _SCHEMA_FIELDS
            if unknown:
                raise ConfigError(f"schema entry {key!r}: unknown field(s) "
                                  f"{', '.join(sorted(map(str, unknown)))}; known: "
                                  f"{', '.join(sorted(_SCHEMA_FIELDS))}", file=file, line=at)
            for flag in ("secret", "required"):
                if flag in spec and not isinstance(spec[flag], bool):
                    raise ConfigError(f"schema entry {key!r}: {flag} must be true or false",
                                      file=file, line=line_of(spec, flag) or at)
            fmt = spec.get("format")
            if fmt is not None:
                problem = _format_problem(fmt)
                if problem:
                    raise ConfigError(f"schema entry {key!r}: {problem}",
                                      file=file, line=line_of(spec, "format") or at)
            result[key] = SchemaEntry(
                key=key, secret=spec.get("secret"),
                required=spec.get("required"), format=fmt,
                default=spec.get("default"), has_default="default" in spec,
                description=str(spec.get("description", "")), line=at)

    walk(raw, "")
    return result


def _format_problem(fmt: Any) -> str | None:
    """Why ``format:`` is not one vaultline can check, or None."""
    import re

    from vaultline.check.validate import VALIDATORS

    if not isinstance(fmt, str):
        return "format must be a string"
    if fmt.startswith("regex:"):
        try:
            re.compile(fmt[len("regex:"):])
        except re.error as exc:
            return f"format regex is invalid: {exc}"
        return None
    if fmt not in VALIDATORS:
        return (f"unknown format {fmt!r}; use one of {', '.join(sorted(VALIDATORS))} "
                "or regex:PATTERN")
    return None


def _option_strings(node: Any, line: int | None, name: str = "",
             ) -> list[tuple[str, str, int | None]]:
    """``(dotted option name, text, line)`` for every string in nested provider options."""
    if isinstance(node, str):
        return [(name, node, line)]
    if isinstance(node, Mapping):
        return [found for key, item in node.items() for found in _option_strings(
            item, line_of(node, key) or line, f"{name}.{key}" if name else str(key))]
    if isinstance(node, list):
        return [found for item in node for found in _option_strings(item, line, name)]
    return []


def _parse_providers(raw: Any, file: str, line: int | None) -> dict[str, ProviderConfig]:
    if not isinstance(raw, Mapping):
        raise ConfigError("'providers' must map provider names to {type: ..., ...}",
                          file=file, line=line)
    result: dict[str, ProviderConfig] = {}
    for name, spec in raw.items():
        at = line_of(raw, name) or line
        if not isinstance(spec, Mapping):
            raise ConfigError(f"provider {name!r} must be a mapping with a 'type'",
                              file=file, line=at)
        ptype = spec.get("type", name if name in BUILTIN_PROVIDERS else None)
        if not isinstance(ptype, str) or ptype not in PROVIDER_TYPES:
            raise ConfigError(f"provider {name!r}: unknown type {ptype!r}; known: "
                              f"{', '.join(sorted(PROVIDER_TYPES))}",
                              file=file, line=line_of(spec, "type") or at)
        options = {k: v for k, v in spec.items() if k != "type"}
        for option, text, option_line in _option_strings(spec, at):
            nul = nul_problem(text)  # options name files, addresses, variables: no NUL fits
            if nul is not None:
                raise ConfigError(f"provider {name!r}: option {option!r} {nul}",
                                  file=file, line=option_line)
        # Typos and bad values are reported at load, at their line.
        problem = option_problem(ptype, options)
        if problem is not None:
            raise ConfigError(f"provider {name!r}: {problem[1]}",
                              file=file, line=line_of(spec, problem[0]) or at)
        result[str(name)] = ProviderConfig(str(name), str(ptype), options, at)
    return result
