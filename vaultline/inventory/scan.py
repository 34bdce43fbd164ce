"""Walk a tree, read every YAML file, and assemble the inventory."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from vaultline._limits import file_kind, read_bounded
from vaultline.errors import InventoryError
from vaultline.inventory.classify import classify
from vaultline.inventory.index import Index
from vaultline.inventory.loader import read_documents
from vaultline.inventory.model import Inventory, ParseFailure
from vaultline.inventory.resources import extract, from_unparsed
from vaultline.inventory.rules import run_rules

YAML_SUFFIXES = (".yaml", ".yml")
# Directories that never hold a project's manifests.
SKIP_DIRS = frozenset({"node_modules", "__pycache__", "venv", ".venv"})


def yaml_files(root: Path) -> Iterator[tuple[Path, str]]:
    """``(path, display path relative to root)`` for every YAML file, in a stable order."""
    mode = root.stat().st_mode
    if stat.S_ISREG(mode):
        yield root, root.name
        return
    if not stat.S_ISDIR(mode):
        # A FIFO or device: reading it might never end, and skipping it would pass an
        # inventory of nothing as clean.
        raise InventoryError(f"{root} is {file_kind(mode)}; give a directory or a YAML file")
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIP_DIRS)
        rel = os.path.relpath(dirpath, root)
        prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        for name in sorted(filenames):
            if name.endswith(YAML_SUFFIXES):
                yield Path(dirpath, name), prefix + name


def scan_tree(path: str | os.PathLike[str]) -> Inventory:
    """Inventory every secret-relevant resource under ``path`` (a directory or one file)."""
    root = Path(path)
    if not root.exists():
        raise InventoryError(f"{root}: no such file or directory")
    inventory = Inventory(root=str(path))
    resources = inventory.resources
    for file, display in yaml_files(root):
        inventory.files_scanned += 1
        try:
            text = read_bounded(file, what="the file", error=InventoryError).decode("utf-8")
        except (OSError, UnicodeDecodeError, InventoryError) as exc:
            reason = ("not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else
                      str(exc) if isinstance(exc, InventoryError) else exc.strerror)
            inventory.parse_failures.append(ParseFailure(display, 1, f"unreadable: {reason}"))
            continue
        for doc in read_documents(text, display):
            if doc.parse_error is None:
                resources.extend(extract(doc))
                continue
            resource = from_unparsed(doc)
            if resource is not None:
                resources.append(resource)
            elif not (doc.recovered or {}).get("kind"):
                inventory.parse_failures.append(ParseFailure(display, doc.line, doc.parse_error))
    index = Index.build(resources)
    classify(index)
    inventory.findings = run_rules(index)
    return inventory
