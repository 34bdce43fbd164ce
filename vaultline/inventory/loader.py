"""YAML documents from manifest files, with line numbers, through templating.

Well-formed files take the fast path: each document is built from libyaml's event stream
(``vaultline.inventory.build``) with its line, so nothing is parsed twice. Files with
Helm/Jinja actions (``{{ }}``, ``{% %}``) or that fail to parse are *neutralised* instead:
every template action becomes a placeholder (or a blank line when it stands alone on its line,
like ``{{- if … }}``), line count preserved, and each ``---`` document is parsed on its own so
one broken document does not hide its neighbours. A document that still fails keeps
best-effort ``kind``/``name``/``namespace`` recovered by regex, and the parser's message
(never the offending text, which could be a secret value).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import yaml

from vaultline.inventory.build import build_all

# Template actions and comments, Helm/Go (`{{ }}`), Jinja (`{% %}`, `{# #}`), and Flux
# post-build substitution (`${VAR}`, closed on its own line), which is usually valid YAML but
# not always. Found by template_actions(), not a regex (see there).
_CLOSERS = {"{{": "}}", "{%": "%}", "{#": "#}"}
# A closed `${…}`, or an unclosed one up to its line end with the lines after it that are
# unclosed `${` too (a file of them is then one match, not one a line).
_DOLLAR = r"\$\{[^}\n]*(?:\}|(?:\n\$\{[^}\n]*(?![^\n]))*)"
_PLACEHOLDER = re.compile(r"__vltpl\d+__")
_DOC_MARKER = re.compile(r"^(?:---|\.\.\.)(?=[ \t\r\n]|$)", re.M)
# Sprig functions that make Helm generate a value at install time (or keep one it generated).
_HELM_GENERATORS = re.compile(
    r"\b(randAlphaNum|randAlpha|randNumeric|randAscii|randBytes|genPrivateKey|genCA|"
    r"genSelfSignedCert|genSignedCert|derivePassword|uuidv4|lookup)\b"
)
# Rendered charts hold hundreds of documents per file; millions are an attack on the reader.
MAX_DOCUMENTS = 10_000
_TOP_KEY = re.compile(r"^(kind|apiVersion):[ \t]*['\"]?([^'\"#\s]+)", re.M)
# The value is cut out in Python (meta_value): a lazy group before `[ \t]*$` backtracks over
# every trailing blank at every step, quadratic on a long line.
_META_KEY = re.compile(r"([ \t]+)(name|namespace):(.*)")
_QUOTES = ("'", '"')


def plain(value: str) -> str:
    """Identity restore, used for documents that had no templating."""
    return value


@dataclass(slots=True)
class Document:
    """One YAML document: its data (``None`` if it did not parse) and where it starts.

    ``lines`` holds the 0-based line of each item of the top-level lists callers report one
    by one (``kind: List`` items, ``secretGenerator`` entries), so nothing is parsed again.
    """

    file: str
    line: int
    data: Any
    lines: dict[str, list[int]] = field(default_factory=dict)
    line_offset: int = 0
    templated: bool = False
    helm_generators: tuple[str, ...] = ()
    parse_error: str | None = None
    restore: Callable[[str], str] = plain
    recovered: dict[str, str] | None = None

    def item_lines(self, key: str) -> list[int]:
        """1-based lines of the items of the sequence at top-level ``key``."""
        return [line + 1 + self.line_offset for line in self.lines.get(key, ())]


def read_documents(text: str, file: str) -> list[Document]:
    """Every document of a file; never raises on bad YAML (see the module docstring)."""
    if sum(1 for _ in islice(_DOC_MARKER.finditer(text), MAX_DOCUMENTS + 1)) > MAX_DOCUMENTS:
        # Counted before any parse: 16 MiB of '---' lines are four million documents.
        return [Document(file, 1, None, parse_error=f"more than {MAX_DOCUMENTS} documents in "
                         "one file; split it", recovered=recover_metadata(text[:64 * 1024]))]
    if "{{" not in text and "{%" not in text:
        try:
            return _compose_all(text, file, 0)
        except yaml.YAMLError:
            pass  # fall through to the per-document path, which reports where it broke
    return _read_neutralised(text, file)


def _compose_all(text: str, file: str, offset: int) -> list[Document]:
    return [Document(file, built.line + 1 + offset, built.data, built.item_lines, offset)
            for built in build_all(text)]


def template_actions(text: str) -> Iterator[tuple[int, int]]:
    r"""``(start, end)`` of each template action, leftmost first: what the regex
    ``\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}|\$\{[^}\n]*\}`` (DOTALL) finds, in linear time.

    That regex looks for a closer from every opener, so a file of unclosed ``{{`` (or a line of
    unclosed ``${``) costs the square of its length. Here each closer's next position is found
    once and kept until it is passed, and an opener kind with no closer left is no longer
    looked for. A ``${`` its line does not close takes the rest of the line with it (no
    ``${`` there closes either); only ``{{``, ``{%`` or ``{#`` are looked for in what it took.
    """
    kinds = ["{{", "{%", "{#"]
    # closer -> its first position at or after the last start asked (-1: none left, -2: not
    # looked for yet); starts only grow, so a position found stays right until passed.
    found = dict.fromkeys(_CLOSERS.values(), -2)

    def patterns() -> tuple[re.Pattern[str], re.Pattern[str] | None]:
        braces = "|".join(map(re.escape, kinds))
        return (re.compile("|".join([*map(re.escape, kinds), _DOLLAR])),
                re.compile(braces) if kinds else None)

    search, braces = patterns()
    pos = 0
    while match := search.search(text, pos):
        start, end = match.span()
        if text.startswith("${", start):
            if text[end - 1] == "}":
                yield start, end
                pos = end
                continue
            # Unclosed, with the unclosed lines after it: the first brace action inside (if
            # any) ends past them all, as every closer holds a '}'.
            pos = end
            inner = braces.search(text, start + 1, end) if braces is not None else None
            if inner is None:
                continue
            match = inner
            start = inner.start()
        kind = match.group()
        closer = _CLOSERS[kind]
        close = found[closer]
        if close != -1 and close < start + 2:
            close = found[closer] = text.find(closer, start + 2)
        if close == -1:
            kinds.remove(kind)  # nothing after here closes this kind
            search, braces = patterns()
            pos = start + 1
            continue
        yield start, close + 2
        pos = close + 2


def neutralise(text: str) -> tuple[str, dict[str, str]]:
    """Replace template actions with placeholders, keeping every line where it was.

    Returns the new text and the placeholder -> original mapping used to restore names.
    """
    originals: dict[str, str] = {}
    pieces: list[str] = []
    done = 0
    for start, end in template_actions(text):
        token = text[start:end]
        key = f"__vltpl{len(originals)}__"
        originals[key] = token
        pieces += [text[done:start], key, "\n" * token.count("\n")]
        done = end
    pieces.append(text[done:])
    lines = "".join(pieces).split("\n")
    for i, line in enumerate(lines):
        # A line holding only actions (`{{- if … }}`, `{{- end }}`, `{% for … %}`) is control
        # flow, not a value: blanking it keeps the surrounding YAML structure intact.
        if "__vltpl" in line and not _PLACEHOLDER.sub("", line).strip():
            lines[i] = ""
    return "\n".join(lines), originals


def _read_neutralised(text: str, file: str) -> list[Document]:
    neutral, originals = neutralise(text)

    def restore(value: str) -> str:
        if "__vltpl" not in value:
            return value
        return _PLACEHOLDER.sub(lambda m: originals.get(m.group(0), m.group(0)), value)

    templated = bool(originals)
    docs: list[Document] = []
    for start, segment in _segments(neutral):
        if not segment.strip():
            continue
        generators: tuple[str, ...] = ()
        if templated:
            found = {
                g for key in _PLACEHOLDER.findall(segment)
                for g in _HELM_GENERATORS.findall(originals.get(key, ""))
            }
            generators = tuple(sorted(found))
        try:
            parsed = _compose_all(segment, file, start)
        except yaml.YAMLError as exc:
            docs.append(_unparsed(segment, file, start, exc, restore, templated, generators))
            continue
        for doc in parsed:
            doc.templated = templated
            doc.helm_generators = generators
            doc.restore = restore
            docs.append(doc)
    return docs


def _segments(text: str) -> Iterator[tuple[int, str]]:
    """``(line offset, text)`` per document, split at ``---``/``...`` markers."""
    pos = 0
    line = 0
    for match in _DOC_MARKER.finditer(text):
        if match.start() > pos:
            yield line, text[pos : match.start()]
            line += text.count("\n", pos, match.start())
            pos = match.start()
    yield line, text[pos:]


def _unparsed(
    segment: str,
    file: str,
    offset: int,
    exc: yaml.YAMLError,
    restore: Callable[[str], str],
    templated: bool,
    generators: tuple[str, ...],
) -> Document:
    recovered = recover_metadata(segment)
    first = next(
        (i for i, ln in enumerate(segment.split("\n")) if ln.strip() and not _is_marker(ln)), 0
    )
    return Document(
        file=file,
        line=offset + first + 1,
        data=None,
        line_offset=offset,
        templated=templated,
        helm_generators=generators,
        parse_error=describe_error(exc, offset, templated),
        restore=restore,
        recovered={k: restore(v) for k, v in recovered.items()},
    )


def _is_marker(line: str) -> bool:
    return line.startswith(("---", "...")) or line.lstrip().startswith("#")


def describe_error(exc: yaml.YAMLError, offset: int, templated: bool) -> str:
    """The parser's problem and line, without the source snippet (it may hold a value)."""
    problem = "invalid YAML"
    line: int | None = None
    if isinstance(exc, yaml.MarkedYAMLError):
        problem = exc.problem or exc.context or problem
        mark = exc.problem_mark or exc.context_mark
        if mark is not None:
            line = mark.line + 1 + offset
    where = f" at line {line}" if line is not None else ""
    suffix = " (after neutralising templating)" if templated else ""
    return f"{problem}{where}{suffix}"


def recover_metadata(segment: str) -> dict[str, str]:
    """Best-effort ``kind``, ``apiVersion``, ``name``, ``namespace`` from unparseable text."""
    found: dict[str, str] = {}
    for key, value in _TOP_KEY.findall(segment):
        found.setdefault(key, value)
    lines = segment.split("\n")
    for i, line in enumerate(lines):
        if not line.startswith("metadata:"):
            continue
        indent: str | None = None
        for child in lines[i + 1 :]:
            if not child.strip() or child.lstrip().startswith("#"):
                continue
            if not child[:1].isspace():
                break  # back at the top level
            if indent is None:
                indent = child[: len(child) - len(child.lstrip())]
            match = _META_KEY.match(child)
            if match is not None and match.group(1) == indent:
                value = meta_value(match.group(3))
                if value:
                    found.setdefault(match.group(2), value)
        break
    return found


def meta_value(rest: str) -> str | None:
    r"""The value after ``name:`` on one line, as ``[ \t]*['"]?([^'"#\n]*?)['"]?[ \t]*$``
    matches it: blanks and one quote off each end; None when a quote or ``#`` is left."""
    value = rest.lstrip(" \t")
    if value.startswith(_QUOTES):
        value = value[1:]
    value = value.rstrip(" \t")
    if value.endswith(_QUOTES):
        value = value[:-1]
    if "'" in value or '"' in value or "#" in value:
        return None
    return value
