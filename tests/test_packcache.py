"""The pack parse cache: a cached parse gives exactly what a fresh parse gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.factory import make_project, master_key_env
from vaultline.errors import ConfigError
from vaultline.project._lines import LineDict
from vaultline.project._packcache import CachedDocument, cached_rows
from vaultline.project._yaml import load_file
from vaultline.project.model import Project

KEYED = master_key_env()  # the cache is authenticated under the master key

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                    st.text(max_size=8), st.dates())
keys = st.one_of(st.text(max_size=6), st.integers(), st.booleans())
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=3)), max_leaves=8)


def _typed(value: Any) -> Any:
    """``value`` with every type made visible, so ``1``, ``1.0`` and ``True`` compare apart."""
    if isinstance(value, list | tuple):
        return ("list", [_typed(v) for v in value])
    if isinstance(value, dict):
        return ("dict", sorted(((repr(_typed(k)), _typed(v)) for k, v in value.items()), key=repr))
    return (type(value).__name__, value)


@settings(max_examples=150, deadline=None)
@given(value=values)
def test_a_cached_parse_equals_a_fresh_one(tmp_path_factory: Any, value: Any) -> None:
    root = tmp_path_factory.mktemp("cache")
    (root / "store").mkdir()
    pack = root / "values.yaml"
    pack.write_text(yaml.safe_dump({"Key": value}))

    def parse(data: bytes) -> list[tuple[str, Any, int | None]]:
        return [("Key", yaml.safe_load(data)["Key"], 1)]

    first = cached_rows(pack, root / "store" / "cache", parse, environ=KEYED)
    second = cached_rows(pack, root / "store" / "cache", parse, environ=KEYED)
    assert _typed(second) == _typed(first) == _typed([("Key", value, 1)])


def test_keys_and_dates_come_back_as_written_on_the_second_resolve(tmp_path: Path) -> None:
    environ = master_key_env()
    make_project(tmp_path, {"env/prod/values.yaml": "Ports: [{80: http, true: x}]\n"
                                                    "Since: 2020-01-01\n"}, environ=environ)
    results = []
    for _ in range(2):
        pack = Project.load(tmp_path, environ=environ).pack("prod")
        results.append({k: e.value for k, e in pack.values.items()})
    assert results[0] == results[1] == {"Ports": [{"80": "http", "true": "x"}],
                                        "Since": "2020-01-01"}
    assert len(list((tmp_path / ".vaultline" / "cache").iterdir())) == 3


def _with_lines(value: Any) -> Any:
    """``_typed`` that also shows the line of every mapping key."""
    if isinstance(value, LineDict):
        return ("map", [(repr(_typed(k)), value.lines.get(k), _with_lines(v))
                        for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [_with_lines(v) for v in value])
    return _typed(value)


# What the loader takes: finite numbers, and no two keys spelled alike (1 and '1' are one key).
documents = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False,
              allow_infinity=False), st.text(max_size=8), st.dates()),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.lists(
        st.tuples(keys, inner), max_size=3, unique_by=lambda pair: str(pair[0]).lower(),
    ).map(dict)), max_leaves=12)


@settings(max_examples=150, deadline=None)
@given(value=documents, flow=st.booleans())
def test_a_cached_document_equals_a_fresh_parse(tmp_path_factory: Any, value: Any,
                                                flow: bool) -> None:
    root = tmp_path_factory.mktemp("doc")
    (root / "store").mkdir()
    path = root / "vaultline.yaml"
    path.write_text(yaml.safe_dump({"top": value, "next": [value, value]},
                                   default_flow_style=flow))
    fresh = load_file(path)
    first = CachedDocument(path, root / "store" / "cache", "vaultline.yaml", environ=KEYED)
    first.save()
    second = CachedDocument(path, root / "store" / "cache", "vaultline.yaml", environ=KEYED)
    assert _with_lines(first.doc) == _with_lines(second.doc) == _with_lines(fresh)
    # Dates included: the loader gives them as their text.
    assert (root / "store" / "cache").is_dir()


def test_anchors_and_merges_come_back_as_parsed(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    path = tmp_path / "x.yaml"
    path.write_text("base: &b {a: 1, b: [x, y]}\nover:\n  <<: *b\n  b: 2\nlist: [*b, *b]\n")
    fresh = load_file(path)
    CachedDocument(path, tmp_path / "store" / "cache", "x.yaml", environ=KEYED).save()
    cached = CachedDocument(path, tmp_path / "store" / "cache", "x.yaml", environ=KEYED).doc
    assert _with_lines(cached) == _with_lines(fresh)
    assert cached["over"] == {"a": 1, "b": 2} and cached["over"].lines == {"a": 1, "b": 4}


def _cached_project(root: Path) -> dict[str, str]:
    environ = master_key_env()
    make_project(root, environ=environ)
    Project.load(root, environ=environ).pack("prod")
    assert len(list((root / ".vaultline" / "cache").iterdir())) == 3
    return environ


def test_a_broken_edit_after_a_cached_parse_is_reported_at_its_line(tmp_path: Path) -> None:
    environ = _cached_project(tmp_path)
    project = tmp_path / "vaultline.yaml"
    project.write_text(project.read_text() + "providers: [\n")
    with pytest.raises(ConfigError) as fresh:
        load_file(project, display=str(project))
    with pytest.raises(ConfigError) as caught:
        Project.load(tmp_path, environ=environ)
    assert str(caught.value) == str(fresh.value)
    assert str(caught.value).startswith(f"{project}:9: invalid YAML:")
    project.write_text(project.read_text().replace("providers: [\n", "bogus: 1\n"))
    with pytest.raises(ConfigError, match=r"vaultline\.yaml:8: unknown section 'bogus'"):
        Project.load(tmp_path, environ=environ)


def test_the_size_limit_applies_to_a_cached_file(tmp_path: Path) -> None:
    environ = _cached_project(tmp_path)
    with pytest.raises(ConfigError, match="VAULTLINE_MAX_FILE_SIZE"):
        Project.load(tmp_path, environ={**environ, "VAULTLINE_MAX_FILE_SIZE": "64"})


def test_what_fails_to_load_is_not_cached(tmp_path: Path) -> None:
    environ = master_key_env()
    pasted = "hunter2-Xq9vLr7TmW3pZk8sLp"
    make_project(tmp_path, {"env/prod/secrets.yaml": f"ConnectionStrings:Primary: {pasted}\n",
                            "env/prod/values.yaml": "Db:Password: in-the-wrong-file\n"},
                 environ=environ)
    project = tmp_path / "vaultline.yaml"
    project.write_text(project.read_text() + "  Db:Password: {secret: true}\n")
    for _ in range(2):
        with pytest.raises(ConfigError, match=r"values\.yaml must not hold it"):
            Project.load(tmp_path, environ=environ).pack("prod")
    (tmp_path / "env/prod/values.yaml").write_text("Level: 1\n")
    with pytest.raises(ConfigError, match="looks like a value"):
        Project.load(tmp_path, environ=environ).pack("prod")
    cache = tmp_path / ".vaultline" / "cache"
    texts = [p.read_bytes() for p in cache.iterdir()]
    assert len(texts) == 2  # the project file and the values that loaded
    assert not any(pasted.encode() in t or b"in-the-wrong-file" in t for t in texts)


def test_a_project_keeping_its_store_elsewhere_loads_without_the_cache(tmp_path: Path) -> None:
    environ = master_key_env()
    make_project(tmp_path / "p", {"vaultline.yaml": "version: 1\napp: a\nenvironments: [prod]\n"
                                                    "store: {path: ../elsewhere}\n"})
    (tmp_path / "p" / ".vaultline").mkdir()  # a directory of that name exists but is not it
    for _ in range(2):
        project = Project.load(tmp_path / "p", environ=environ)
        assert project.store_dir == tmp_path / "p" / ".." / "elsewhere"
    assert list((tmp_path / "p" / ".vaultline").iterdir()) == []


@pytest.mark.parametrize("garbage", [b"[]", b"{\"v\": 1, \"digest\": 3}", b"\xff", b"{\"v\": 1}",
                                     b"null"])
def test_a_damaged_cache_file_is_parsed_again(tmp_path: Path, garbage: bytes) -> None:
    environ = _cached_project(tmp_path)
    expected = Project.load(tmp_path, environ=environ)
    for slot in (tmp_path / ".vaultline" / "cache").iterdir():
        slot.write_bytes(garbage)
    project = Project.load(tmp_path, environ=environ)
    assert (project.app, project.defaults, project.schema) == (
        expected.app, expected.defaults, expected.schema)
    assert project.pack("prod") == expected.pack("prod")


def test_an_edit_during_the_parse_is_not_cached_as_the_old_content(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    cache = tmp_path / "store" / "cache"
    pack = tmp_path / "values.yaml"
    pack.write_text("Key: 1\n")

    def parse_then_edit(data: bytes) -> list[tuple[str, Any, int | None]]:
        pack.write_text("Key: 2\n")  # someone saves the file while it is parsed
        return [("Key", yaml.safe_load(data)["Key"], 1)]

    def parse(data: bytes) -> list[tuple[str, Any, int | None]]:
        return [("Key", yaml.safe_load(data)["Key"], 1)]

    assert [tuple(r) for r in cached_rows(pack, cache, parse_then_edit, environ=KEYED)] == [("Key", 1, 1)]
    for _ in range(2):
        assert [tuple(r) for r in cached_rows(pack, cache, parse, environ=KEYED)] == [("Key", 2, 1)]


def test_a_planted_cache_file_does_not_change_the_configuration(tmp_path: Path) -> None:
    """Someone who can write .vaultline/ but has no master key cannot plant a parse: the
    cached document and rows are authenticated, a forged file is a miss."""
    environ = _cached_project(tmp_path)
    expected = Project.load(tmp_path, environ=environ)
    for slot in (tmp_path / ".vaultline" / "cache").iterdir():
        data = slot.read_bytes()
        # A forger keeps the file's MAC (or makes one up) and edits what it says.
        forged = (data.replace(b"prod", b"evil").replace(b"nexus", b"forged")
                  .replace(b'"local"', b'"env"').replace(b"Information", b"Debug")
                  .replace(b"Warning", b"Debug"))
        assert forged != data
        slot.write_bytes(forged)
    project = Project.load(tmp_path, environ=environ)
    assert (project.app, project.defaults, project.schema) == (
        expected.app, expected.defaults, expected.schema)
    assert list(project.environments) == list(expected.environments)
    assert project.pack("prod") == expected.pack("prod")
    # A cache keyed under another master key does not verify either.
    other = {**environ, **master_key_env()}
    assert other["VAULTLINE_MASTER_KEY"] != environ["VAULTLINE_MASTER_KEY"]
    for slot in (tmp_path / ".vaultline" / "cache").iterdir():
        slot.unlink()
    Project.load(tmp_path, environ=other).pack("prod")
    project = Project.load(tmp_path, environ=environ)
    assert project.pack("prod") == expected.pack("prod")


def test_nothing_is_cached_without_a_master_key_in_the_environment(tmp_path: Path) -> None:
    environ = master_key_env()
    make_project(tmp_path, environ=environ)
    bare = {k: v for k, v in environ.items() if not k.startswith("VAULTLINE_MASTER_KEY")}
    Project.load(tmp_path, environ=bare).pack("prod")
    cache = tmp_path / ".vaultline" / "cache"
    assert not cache.exists() or list(cache.iterdir()) == []


def test_a_key_file_named_in_the_environment_keys_the_cache(tmp_path: Path) -> None:
    environ = master_key_env()
    make_project(tmp_path / "p", environ=environ)
    key_file = tmp_path / "master.key"
    key_file.write_text(environ["VAULTLINE_MASTER_KEY"] + "\n")
    key_file.chmod(0o600)
    by_file = {k: v for k, v in environ.items() if k != "VAULTLINE_MASTER_KEY"}
    by_file["VAULTLINE_KEY_FILE"] = str(key_file)
    Project.load(tmp_path / "p", environ=by_file).pack("prod")
    assert len(list((tmp_path / "p" / ".vaultline" / "cache").iterdir())) == 3
