"""The pack parse cache: a cached parse gives exactly what a fresh parse gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.factory import make_project, master_key_env
from vaultline.project._packcache import cached_rows
from vaultline.project.model import Project

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

    def parse() -> list[tuple[str, Any, int | None]]:
        return [("Key", yaml.safe_load(pack.read_text())["Key"], 1)]

    first = cached_rows(pack, root / "store" / "cache", parse)
    second = cached_rows(pack, root / "store" / "cache", parse)
    assert _typed(second) == _typed(first) == _typed([("Key", value, 1)])


def test_integer_mapping_keys_survive_the_second_resolve(tmp_path: Path) -> None:
    make_project(tmp_path, {"env/prod/values.yaml": "Ports: [{80: http}]\n"},
                 environ=master_key_env())
    results = []
    for _ in range(2):
        pack = Project.load(tmp_path).pack("prod")
        results.append({k: e.value for k, e in pack.values.items()})
    assert results[0] == results[1] == {"Ports": [{80: "http"}]}
