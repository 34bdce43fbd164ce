"""Manifests written to hurt the reader: huge mappings, values JSON cannot hold, duplicate and
non-string keys, hostile tags and aliases."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

import pytest
import yaml

from vaultline.inventory import Inventory
from vaultline.inventory.loader import read_documents

Tree = Callable[[dict[str, str]], Inventory]


def test_a_secret_of_many_keys_costs_its_data_not_a_node_graph() -> None:
    keys = 20_000
    text = "apiVersion: v1\nkind: Secret\nmetadata: {name: big}\ndata:\n" + "".join(
        f"  k{i}: dg==\n" for i in range(keys))
    tracemalloc.start()
    try:
        (doc,) = read_documents(text, "big.yaml")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(doc.data["data"]) == keys
    # A composed node graph costs about 840 bytes a key here; the data about 140.
    assert peak / keys < 300


@pytest.mark.parametrize(
    "text",
    [
        "base: &b {x: 1, y: 2}\no: &o {y: 3, z: 4}\nm: {<<: [*b, *o], w: 5}\n"
        "n: {<<: *b, x: 9}\np: {<<: *b, <<: *o}\nr: {<<: *o, <<: *b, y: 7}\n"
        "q: {<<: {k: v}, j: 1}\ns: &s [1, 2, {a: *b}]\nt: *s\n",
        "v: [1.5, 0x10, 0o7, ~, yes, no, 'q', \"d\", !!binary aGk=, !!int '3', !!str 12]\n",
        "---\n---\nkind: List\nitems:\n- a\n-\n  b: 1\n...\n",
    ],
)
def test_values_are_what_safe_loader_builds(text: str) -> None:
    expected = list(yaml.load_all(text, Loader=yaml.CSafeLoader))
    built = [d.data for d in read_documents(text, "v.yaml")]
    assert built == expected
    assert [list(d.items()) for d in built if isinstance(d, dict)] == [
        list(d.items()) for d in expected if isinstance(d, dict)]


def test_list_item_lines() -> None:
    (doc,) = read_documents("kind: List\nitems:\n- a\n-\n  b: 1\n- [x]\nother: [1]\n", "l.yaml")
    assert doc.item_lines("items") == [3, 5, 6]  # a block mapping starts at its first key
    assert doc.item_lines("other") == []


@pytest.mark.parametrize(
    ("value", "line"),
    [(".nan", 5), (".inf", 5), ("-.Inf", 5)],
)
def test_a_value_json_cannot_hold_is_a_parse_error_with_its_key_and_line(
    scan: Tree, value: str, line: int
) -> None:
    inventory = scan({"s.yaml": f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n"
                                f"data: {{password: {value}}}\n"})
    (resource,) = inventory.resources
    assert resource.kind == "Secret" and resource.name == "s"
    assert resource.parse_error is not None
    assert resource.parse_error.startswith(f"data:password: {value} is not a number")
    assert resource.parse_error.endswith(f"at line {line}")
    # A Secret the gate could not read fails it (INV007), beside the parse warning.
    assert [f.rule for f in inventory.findings] == ["INV007", "INV006"]


def test_a_name_of_nan_is_not_the_text_nan(scan: Tree) -> None:
    inventory = scan({"es.yaml": "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\n"
                                 "metadata: {name: .nan}\nspec: {}\n"})
    (resource,) = inventory.resources
    assert resource.name != "nan"
    assert resource.parse_error is not None and "metadata:name: .nan" in resource.parse_error


def test_a_duplicate_key_is_a_parse_error_not_the_last_value(scan: Tree) -> None:
    # With the last `kind` winning the Secret was read as a ConfigMap and left out entirely.
    inventory = scan({"d.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: d\n"
                                "stringData: {password: hunter2}\nkind: ConfigMap\n"})
    (resource,) = inventory.resources
    assert (resource.kind, resource.name) == ("Secret", "d")
    assert resource.parse_error == "duplicate key 'kind' at line 6"
    assert "hunter2" not in resource.parse_error


def test_keys_are_the_text_written(scan: Tree) -> None:
    inventory = scan({"k.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: k}\n"
                                "stringData: {1: a, true: b, null: c, 0x1F: d, 2024-01-01: e}\n"})
    (resource,) = inventory.resources
    assert resource.literal_keys == ("1", "true", "null", "0x1F", "2024-01-01")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a: &a [*a]\n", "an alias refers to itself"),
        ("? [a]\n: 1\n", "a mapping key must be a plain value"),
        ("a: {<<: 3}\n", "expected a mapping or list of mappings"),
        ("a: !!set {x}\n", "could not determine a constructor for the tag"),
        ("a: !!python/object:os.system x\n", "could not determine a constructor for the tag"),
        ("a: &x 1\nb: &x 2\n", "found duplicate anchor 'x'"),
        ("[" * 101 + "]" * 101 + "\n", "nested deeper than 100 levels"),
        ("a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
         "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n",
         "aliases (*name) expand the document by more than 10000 nodes"),
    ],
)
def test_refused_documents(text: str, problem: str) -> None:
    (doc,) = read_documents(text, "x.yaml")
    assert doc.data is None and doc.parse_error is not None
    assert problem in doc.parse_error


def test_an_alias_to_an_anchor_of_another_document_is_refused() -> None:
    docs = read_documents("kind: Secret\nmetadata: &m {name: a}\n---\nkind: Secret\n"
                          "metadata: *m\n", "a.yaml")
    assert docs[0].data["metadata"] == {"name": "a"}
    assert docs[1].parse_error == "found undefined alias 'm' at line 5"
