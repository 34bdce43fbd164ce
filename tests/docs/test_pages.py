"""The docs state facts about the product and their links lead somewhere.

No page and no module carries an internal planning label ("seed 003", "issue 4"), and every
relative Markdown link in README.md and docs/ names a file that exists.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").rglob("*.md"))]
SOURCES = [*PAGES, *sorted((ROOT / "vaultline").rglob("*.py"))]
LABEL = re.compile(r"\bseed \d{3}\b|\bissue \d+\b|\bseed-\d\b", re.I)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"```.*?```", re.S)


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_label_pattern_catches_what_it_is_for() -> None:
    for text in ("Origins (seed 003)", "as issue 4 asks", "see seed-2", "Seed 002's canary"):
        assert LABEL.search(text), text
    for text in ("issued 4 keys", "seed 0x01", "a seed of 3"):
        assert not LABEL.search(text), text


@pytest.mark.parametrize("path", SOURCES, ids=_name)
def test_no_planning_labels(path: Path) -> None:
    hits = [f"{_name(path)}:{number}: {line.strip()}"
            for number, line in enumerate(path.read_text().splitlines(), 1) if LABEL.search(line)]
    assert not hits, "state facts about the product, not planning labels:\n" + "\n".join(hits)


def _relative_links(page: Path) -> list[str]:
    targets = LINK.findall(FENCE.sub("", page.read_text()))
    return [t for t in targets if not re.match(r"[a-z][a-z0-9+.-]*:|#", t)]


def test_the_pages_link_to_each_other() -> None:
    assert sum(len(_relative_links(page)) for page in PAGES) > 20


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_relative_links_point_to_existing_files(page: Path) -> None:
    missing = [target for target in _relative_links(page)
               if not (page.parent / target.split("#", 1)[0]).exists()]
    assert not missing, f"{_name(page)} links to files that do not exist: {missing}"


def _anchors(page: Path) -> set[str]:
    """The heading anchors a Markdown renderer (GitHub's rule) gives a page."""
    headings = re.findall(r"^#{1,6} (.+)$", FENCE.sub("", page.read_text()), re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_anchors_follow_the_heading_rule() -> None:
    assert "from-python-code-masker" in _anchors(ROOT / "docs/guide/run.md")


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_links_to_a_section_name_one_that_exists(page: Path) -> None:
    broken = []
    for target in _relative_links(page) + [t for t in LINK.findall(FENCE.sub("", page.read_text()))
                                           if t.startswith("#")]:
        path, _, anchor = target.partition("#")
        linked = page.parent / path if path else page
        if anchor and linked.suffix == ".md" and linked.exists() and anchor not in _anchors(linked):
            broken.append(target)
    assert not broken, f"{_name(page)} links to sections that do not exist: {broken}"


PYTHON_IMPORTS = sorted({(page, module, names)
                         for page in PAGES
                         for block in re.findall(r"```python\n(.*?)```", page.read_text(), re.S)
                         for module, names in re.findall(r"^from (vaultline\S*) import (.+)$", block, re.M)})


def test_the_pages_show_python_imports() -> None:
    assert len(PYTHON_IMPORTS) > 5


@pytest.mark.parametrize(("page", "module", "names"), PYTHON_IMPORTS,
                         ids=[f"{_name(p)}:{m}" for p, m, _ in PYTHON_IMPORTS])
def test_python_examples_import_what_exists(page: Path, module: str, names: str) -> None:
    imported = importlib.import_module(module)
    for name in (n.strip() for n in names.strip("()").split(",")):
        assert hasattr(imported, name), f"{_name(page)}: {module} has no {name}"
