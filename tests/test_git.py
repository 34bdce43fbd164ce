"""git is started in one place (``vaultline._git``), the one that overrides what runs programs."""

from __future__ import annotations

import ast
from pathlib import Path

import vaultline

PACKAGE = Path(vaultline.__file__).parent


def _starts_git(tree: ast.AST) -> bool:
    """An argument list beginning with the literal "git": what subprocess is handed."""
    return any(isinstance(node, ast.List) and node.elts and isinstance(node.elts[0], ast.Constant)
               and node.elts[0].value == "git" for node in ast.walk(tree))


def test_only_vaultline_git_builds_a_git_command_line() -> None:
    starting = sorted(str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
                      if _starts_git(ast.parse(path.read_text(), str(path))))
    assert starting == ["_git.py"]
