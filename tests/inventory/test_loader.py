from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaultline.inventory.loader import neutralise, read_documents, recover_metadata, template_actions


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("kind: A\n", [1]),
        ("# header\n\nkind: A\n---\nkind: B\n", [3, 5]),
        ("---\nkind: A\n---\n# comment\n# more\nkind: B\n...\n---\nkind: C\n", [2, 6, 9]),
        ("--- # first\nkind: A\nlist:\n  - 1\n  - 2\n---\n\n\nkind: B\n", [2, 9]),
    ],
)
def test_document_lines_in_multi_document_files(text: str, lines: list[int]) -> None:
    docs = [d for d in read_documents(text, "f.yaml") if d.data is not None]
    assert [d.line for d in docs] == lines


def test_anchors_and_aliases_resolve() -> None:
    text = "a: &x {name: s}\nb: *x\n"
    (doc,) = read_documents(text, "f.yaml")
    assert doc.data["b"] == {"name": "s"}


def test_neutralise_keeps_line_count_and_restores_originals() -> None:
    text = (
        "{{- if .Values.on }}\n"
        "name: {{ include \"x\" . }}-db\n"
        "v: \"{{ .Values.v }}\"\n"
        "multi: {{ dict\n  \"a\" 1 }}\n"
        "{{- end }}\n"
    )
    neutral, originals = neutralise(text)
    assert neutral.count("\n") == text.count("\n")
    lines = neutral.split("\n")
    assert lines[0] == "" and lines[5] == ""  # control-flow lines are blanked
    assert lines[1].startswith("name: __vltpl") and lines[1].endswith("-db")
    assert set(originals.values()) >= {'{{ include "x" . }}', "{{ .Values.v }}"}


def test_templated_file_lines_and_restored_names() -> None:
    text = (
        "{{- if .Values.enabled }}\n"
        "apiVersion: v1\n"
        "kind: Secret\n"
        "metadata:\n"
        "  name: {{ include \"app.fullname\" . }}-admin\n"
        "{{- end }}\n"
        "---\n"
        "# second\n"
        "kind: ConfigMap\n"
    )
    first, second = read_documents(text, "t.yaml")
    assert (first.line, second.line) == (2, 9)
    assert first.templated
    assert first.restore(first.data["metadata"]["name"]) == '{{ include "app.fullname" . }}-admin'


def test_broken_document_does_not_hide_its_neighbours() -> None:
    text = (
        "kind: A\n"
        "---\n"
        "kind: Secret\n"
        "metadata:\n"
        "  name: broken\n"
        "stringData: {password: hunter2-value\n"
        "  - oops: [\n"
        "---\n"
        "kind: C\n"
    )
    docs = read_documents(text, "b.yaml")
    assert [d.data["kind"] if d.data else None for d in docs] == ["A", None, "C"]
    broken = docs[1]
    assert broken.line == 3
    assert broken.parse_error is not None and "line" in broken.parse_error
    assert "hunter2" not in broken.parse_error  # the parser's snippet is never quoted
    assert broken.recovered == {"kind": "Secret", "name": "broken"}
    assert docs[2].line == 9


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "apiVersion: v1\nkind: Secret\nmetadata:\n  labels:\n    name: lbl\n"
            "  name: real\n  namespace: ns\n",
            {"apiVersion": "v1", "kind": "Secret", "name": "real", "namespace": "ns"},
        ),
        ("kind: 'SealedSecret'\nmetadata:\n  name: \"quoted\"\n", {"kind": "SealedSecret",
                                                                  "name": "quoted"}),
        ("just: text\n", {}),
    ],
)
def test_recover_metadata(text: str, expected: dict[str, str]) -> None:
    assert recover_metadata(text) == expected


# The regexes the linear scanners replace, kept as the reference they must agree with.
_ACTION = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}|\$\{[^}\n]*\}", re.S)
_META_LINE = re.compile(r"^([ \t]+)(name|namespace):[ \t]*['\"]?([^'\"#\n]*?)['\"]?[ \t]*$")
_TEMPLATE_TEXT = st.lists(st.sampled_from(
    ["{", "}", "%", "#", "$", "\n", " ", "a", "{{", "}}", "{%", "%}", "{#", "#}", "${", "${\n"]),
    max_size=40).map("".join)
_META_TEXT = st.lists(st.sampled_from(
    ["metadata:\n", "  name:", "  namespace:", "\tname:", "    name:", " ", "\t", "'", '"', "#",
     "a", "b c", "\r", "\n", "kind: X\n", "# c\n"]), max_size=30).map("".join)


def _reference_metadata(segment: str) -> dict[str, str]:
    """recover_metadata as it was written with _META_LINE."""
    found: dict[str, str] = {}
    for key, value in re.findall(r"^(kind|apiVersion):[ \t]*['\"]?([^'\"#\s]+)", segment, re.M):
        found.setdefault(key, value)
    lines = segment.split("\n")
    for i, line in enumerate(lines):
        if not line.startswith("metadata:"):
            continue
        indent: str | None = None
        for child in lines[i + 1:]:
            if not child.strip() or child.lstrip().startswith("#"):
                continue
            if not child[:1].isspace():
                break
            if indent is None:
                indent = child[: len(child) - len(child.lstrip())]
            match = _META_LINE.match(child)
            if match is not None and match.group(1) == indent and match.group(3):
                found.setdefault(match.group(2), match.group(3))
        break
    return found


@settings(max_examples=3000, deadline=None)
@given(text=_TEMPLATE_TEXT)
def test_template_actions_are_what_the_regex_finds(text: str) -> None:
    assert list(template_actions(text)) == [m.span() for m in _ACTION.finditer(text)]


@settings(max_examples=3000, deadline=None)
@given(text=_META_TEXT)
def test_recovered_metadata_is_what_the_regex_finds(text: str) -> None:
    assert recover_metadata(text) == _reference_metadata(text)


def test_neutralise_names_each_action_once_in_order() -> None:
    text = "a: {{ x }}\nb: ${B}\nc: {% if %}{{ y\n}}\nd: ${unclosed\n{# c #}\n"
    neutral, originals = neutralise(text)
    assert list(originals.values()) == ["{{ x }}", "${B}", "{% if %}", "{{ y\n}}", "{# c #}"]
    assert neutral.count("\n") == text.count("\n") and "${unclosed" in neutral
