"""Property-based fuzzing of every parser and loader: only VaultlineError may escape.

Each target pairs a hypothesis strategy with a function that feeds one generated input to a
parser the way vaultline meets it (a file on disk, a reference string, a blob). The suite runs
each with a small budget (tests/test_fuzz.py); ``bench/hardening_input.py`` runs 10,000+ cases
each and counts what escaped.
"""

from __future__ import annotations

import base64
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vaultline.errors import VaultlineError

# Pieces YAML files are made of, including the ones that broke loaders: anchors and aliases,
# merge keys, complex keys, tags, flow collections, odd scalars and indentation.
_YAML_TOKENS = [
    "a", "b", "A:B", "key", "dev", "prod", ": ", ":", "\n", "  ", "    ", "- ", "-", "[", "]",
    "{", "}", ", ", "&x ", "*x", "&y ", "*y", "<<: ", "? ", "!!str ", "!!binary ", "!!python/tuple ",
    "!tag ", "~", "null", "true", "1", "-1", "1e999", "0x1F", "2024-13-45", "2024-01-01",
    "'q'", '"\\u0000"', '"\\ud800"', "|", ">", "#c", "---", "...", "\t", "%YAML 1.1\n", "\x00",
    "app: ", "environments: ", "defaults: ", "schema: ", "providers: ", "type: ", "format: ",
    "max_stale: ", "protected: ", "secret: ", "required: ", "local", "vault:db#password",
    "file:/dev/null", "@3", "#field",
]
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
    st.text(max_size=20), st.sampled_from(["local", "env:HOME", "vault:a/b#c@2", "30m", "99999999y"]),
)
_DATA = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=12), st.integers()), inner, max_size=4),
    ),
    max_leaves=10,
)
_SOUP = st.lists(st.sampled_from(_YAML_TOKENS), max_size=40).map("".join)
_SECTIONS = ["version", "app", "environments", "defaults", "schema", "providers", "store",
             "keys", "rotation", "policy", "audit", "scan", "overrides"]


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True)


_PROJECT_DOC = st.fixed_dictionaries(
    {"app": st.one_of(st.just("demo"), _SCALARS), "environments": st.one_of(
        st.just(["dev"]), _DATA, st.dictionaries(st.sampled_from(["dev", "x y"]), _DATA))},
    optional={name: _DATA for name in _SECTIONS if name not in {"app", "environments"}},
).map(_dump)
YAML_TEXT = st.one_of(_SOUP, _DATA.map(_dump), st.text(max_size=200))


def _surrogate_text(max_size: int = 60) -> st.SearchStrategy[str]:
    """Any code point, lone surrogates included (the API can be handed those)."""
    return st.text(st.characters(blacklist_categories=()), max_size=max_size)


_REFERENCE = st.one_of(
    st.lists(st.sampled_from(["local", "vault", "env", "file", "dotenv", ":", "#", "@", "/",
                              "a", "Key", " ", "\x00", "\ud800", "..", "1"]),
             max_size=12).map("".join),
    _surrogate_text(),
)
_HCL = st.lists(st.sampled_from([
    'path ', '"secret/data/a/*"', '"kv/+/b"', '"a"', "{", "}", "[", "]", "capabilities",
    " = ", '"read"', '"deny"', '"sudo"', ", ", "\n", "#c\n", "/*", "*/", "policy", '"write"',
    "<<EOT\n", "EOT\n", "1", "true",
]), max_size=40).map("".join)
_JSONISH = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
              st.text(max_size=10)),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=15,
)
_BASELINE = st.one_of(
    st.fixed_dictionaries({"version": st.one_of(st.just(1), _JSONISH),
                           "findings": st.one_of(st.lists(_JSONISH, max_size=4), _JSONISH)}
                          ).map(json.dumps),
    st.text(max_size=80),
)
_FIELD = st.one_of(st.none(), st.booleans(), st.integers(), st.just(1), st.text(max_size=8),
                   st.just({}), st.lists(st.integers(), max_size=2))
_AUDIT_FIELDS = ["v", "seq", "time", "actor", "action", "env", "key", "reference", "outcome",
                 "value_hmac", "detail", "prev", "hash"]
_AUDIT_LINE = st.one_of(
    st.fixed_dictionaries({}, optional={f: _FIELD for f in _AUDIT_FIELDS}).map(json.dumps),
    st.binary(max_size=80).map(lambda b: b.decode("latin-1")),
).map(lambda line: line + "\n")
_DURATION = st.one_of(
    st.lists(st.sampled_from(["1", "99999999", "9" * 20, "h", "m", "s", "d", "w", "y", " ",
                              "-", "."]), max_size=8).map("".join),
    st.integers(), st.floats(), _DATA,
)
_MANIFEST = st.one_of(
    _SOUP,
    st.lists(st.fixed_dictionaries({
        "apiVersion": st.sampled_from(["v1", "external-secrets.io/v1beta1", "apps/v1"]),
        "kind": st.sampled_from(["Secret", "ExternalSecret", "Deployment", "List",
                                 "SealedSecret", "Kustomization"]),
    }, optional={"metadata": _DATA, "data": _DATA, "stringData": _DATA, "spec": _DATA,
                 "items": _DATA, "secretGenerator": _DATA}), max_size=3)
    .map(lambda docs: yaml.safe_dump_all(docs)),
    _SOUP.map(lambda s: "kind: Secret\nmetadata:\n  name: {{ .x }}\n" + s),
)


class Target(NamedTuple):
    strategy: st.SearchStrategy[Any]
    run: Callable[[Any], None]
    # Exceptions a parser's own contract allows besides VaultlineError (durations: ValueError).
    allowed: tuple[type[BaseException], ...] = (VaultlineError,)


@cache
def _workdir() -> Path:
    # Memory-backed where there is one: every case writes a file or two.
    shm = Path("/dev/shm")
    return Path(tempfile.mkdtemp(prefix="vaultline-fuzz-", dir=shm if shm.is_dir() else None))


def _project(text: str, files: dict[str, str] | None = None) -> Any:
    from vaultline.project.model import Project

    root = _workdir() / "project"
    (root / "env" / "dev").mkdir(parents=True, exist_ok=True)
    (root / "vaultline.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
    for name in ("values.yaml", "secrets.yaml"):
        path = root / "env" / "dev" / name
        if files and name in files:
            path.write_text(files[name], encoding="utf-8", errors="surrogatepass")
        elif path.exists():
            path.unlink()
    return Project.load(root, search=False)


def _vaultline_yaml(text: str) -> None:
    project = _project(text)
    for env in project.environments:
        project.pack(env)


def _pack(texts: tuple[str, str]) -> None:
    project = _project("app: demo\nenvironments: [dev]\nproviders:\n  vault: {type: vault}\n",
                       {"values.yaml": texts[0], "secrets.yaml": texts[1]})
    project.pack("dev")


def _reference(text: str) -> None:
    from vaultline.project.reference import Reference

    Reference.parse(text)


def _manifests(text: str) -> None:
    from vaultline.inventory.scan import scan_tree

    path = _workdir() / "manifests" / "m.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    scan_tree(path.parent)


def _hcl(text: str) -> None:
    from vaultline.policy.lint import lint_text

    lint_text(text, "fuzz.hcl")


def _baseline(text: str) -> None:
    from vaultline.scan.baseline import load

    path = _workdir() / "baseline.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    load(path)


def _audit_lines(lines: list[str]) -> None:
    from vaultline.audit import AuditLog
    from vaultline.audit.query import read_events

    path = _workdir() / "audit.log"
    path.write_bytes("".join(lines).encode("utf-8", "surrogatepass"))
    list(read_events(path, on_error=lambda number, reason: None))
    AuditLog(path, hmac_key=None, checkpoint=None).verify()


def _duration(value: Any) -> None:
    from vaultline.duration import parse_duration

    parse_duration(value)


@cache
def _ring() -> Any:
    from vaultline.audit import AuditLog
    from vaultline.keys import KeyManager
    from vaultline.store import EmbeddedStore

    environ = {"VAULTLINE_MASTER_KEY": base64.b64encode(os.urandom(32)).decode()}
    store, _ = EmbeddedStore.create(_workdir() / "keys", environ=environ)
    manager = KeyManager(store, audit=AuditLog.for_store(store))
    return manager.create("payloads", purpose="encryption")


def _blob(data: bytes) -> None:
    _ring().decrypt(data)


def _stream(data: bytes) -> None:
    _ring().decrypt_stream(io.BytesIO(data), io.BytesIO())


def _mutated(magic: bytes) -> st.SearchStrategy[bytes]:
    """Random bytes after the magic, or a real ciphertext with bytes flipped or cut."""
    def corrupt(args: tuple[int, int, int]) -> bytes:
        kind, at, size = args
        ring = _ring()
        if magic == b"VLE\x01":
            real = bytearray(ring.encrypt(b"x" * size))
        else:
            out = io.BytesIO()
            ring.encrypt_stream(io.BytesIO(b"x" * size), out)
            real = bytearray(out.getvalue())
        at %= len(real)
        if kind == 0:
            real[at] ^= 0x41
            return bytes(real)
        return bytes(real[:at])

    return st.one_of(
        st.binary(max_size=120).map(lambda b: magic + b),
        st.tuples(st.integers(0, 1), st.integers(0, 10_000), st.integers(0, 300)).map(corrupt),
        st.binary(max_size=40),
    )


def _headers() -> st.SearchStrategy[bytes]:
    """Well-formed headers with odd fields: short or empty wrapped keys, unknown kids."""
    from vaultline.keys.envelope import MAGIC, pack_header

    return st.builds(
        lambda ring, kid, wrapped, rest: pack_header(MAGIC, ring, kid, wrapped) + rest,
        st.sampled_from(["payloads", "other", ""]),
        st.one_of(st.sampled_from(["k1", ""]), st.builds(lambda: _ring().primary.kid)),
        st.binary(max_size=48), st.binary(max_size=40))


TARGETS: dict[str, Target] = {
    "references": Target(_REFERENCE, _reference),
    "vaultline.yaml": Target(st.one_of(_PROJECT_DOC, YAML_TEXT), _vaultline_yaml),
    "packs": Target(st.tuples(YAML_TEXT, YAML_TEXT), _pack),
    "manifests": Target(_MANIFEST, _manifests),
    "policy HCL": Target(_HCL, _hcl),
    "scan baseline": Target(_BASELINE, _baseline),
    "audit lines": Target(st.lists(_AUDIT_LINE, max_size=4), _audit_lines),
    "encrypted blobs": Target(st.one_of(_mutated(b"VLE\x01"), _headers()), _blob),
    "encrypted streams": Target(_mutated(b"VLS\x01"), _stream),
    "durations": Target(_DURATION, _duration, (VaultlineError, ValueError)),
}


class Escape(NamedTuple):
    target: str
    error: str
    example: str


def run(name: str, examples: int, *, derandomize: bool = True) -> tuple[int, list[Escape]]:
    """Feed ``examples`` generated inputs to target ``name``; the cases run and what escaped."""
    target = TARGETS[name]
    escapes: list[Escape] = []
    cases = 0

    @settings(max_examples=examples, deadline=None, database=None, derandomize=derandomize,
              suppress_health_check=list(HealthCheck))
    @given(target.strategy)
    def case(value: Any) -> None:
        nonlocal cases
        cases += 1
        try:
            target.run(value)
        except target.allowed:
            pass
        except Exception as exc:  # what the harness looks for: anything else escaping
            escapes.append(Escape(name, f"{type(exc).__name__}: {exc}"[:200], repr(value)[:200]))

    case()
    return cases, escapes


def names() -> Iterator[str]:
    yield from TARGETS
