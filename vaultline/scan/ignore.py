"""``.gitignore``-style patterns, for ``.gitignore`` and ``.vaultlineignore`` files.

Implements the parts of gitignore(5) trees actually use: comments, ``!`` negation,
trailing ``/`` for directories only, anchoring by a leading or inner ``/``, ``*``, ``?``,
``[...]`` and ``**``. The last matching pattern wins, and files inside an ignored
directory stay ignored (git cannot re-include them either).

In a git work tree a file git tracks is in the repository whatever ``.gitignore`` says
(``git add -f``): only ``.vaultlineignore`` patterns exclude it. :class:`Tracked` answers
which paths those are, from one ``git ls-files``.
"""

from __future__ import annotations

import bisect
import os
import re
from dataclasses import dataclass
from pathlib import Path

from vaultline._git import GitNotInstalled, run_git

IGNORE_FILES = (".gitignore", ".vaultlineignore")


@dataclass(frozen=True)
class Pattern:
    regex: re.Pattern[str]
    negate: bool
    dir_only: bool
    # From a .vaultlineignore: the patterns that exclude a file git tracks too.
    vaultline: bool = False


def _translate(glob: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(glob):
        ch = glob[i]
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if glob.startswith("/**", i) and i + 3 == len(glob):
            out.append("/.*")
            i += 3
            continue
        if glob.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = glob.find("]", i + 1)
            if end < 0:
                out.append(re.escape(ch))
            else:
                body = glob[i + 1 : end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end
        elif ch == "\\" and i + 1 < len(glob):
            i += 1
            out.append(re.escape(glob[i]))
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


def parse(text: str, *, vaultline: bool = False) -> list[Pattern]:
    patterns: list[Pattern] = []
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        if negate or line.startswith("\\"):
            line = line[1:]
        dir_only = line.endswith("/")
        line = line.rstrip("/")
        if not line:
            continue
        anchored = "/" in line
        line = line.lstrip("/")
        body = _translate(line)
        # Unanchored patterns match a name at any depth; anchored ones from the file's dir.
        regex = ("" if anchored else "(?:.*/)?") + body
        # \Z, not $ (which also matches before a final newline), and DOTALL: a name may hold
        # a newline, and git's globs match it like any other character but '/'.
        patterns.append(
            Pattern(re.compile(f"^{regex}\\Z", re.DOTALL), negate, dir_only, vaultline))
    return patterns


@dataclass(frozen=True)
class IgnoreRules:
    """The patterns of one directory's ignore files, matched relative to that directory."""

    base: str  # directory relative to the scan root, "" for the root
    patterns: tuple[Pattern, ...]
    # For ignore files *above* the scan root (in the repository): the scan root's path
    # relative to the directory holding them, prepended before matching.
    prefix: str = ""

    @classmethod
    def load(cls, directory: Path, base: str, prefix: str = "") -> IgnoreRules | None:
        patterns: list[Pattern] = []
        for name in IGNORE_FILES:
            text = _read_ignore_file(directory / name)
            if text is not None:
                patterns += parse(text, vaultline=name == ".vaultlineignore")
        return cls(base, tuple(patterns), prefix) if patterns else None

    def decide(self, rel: str, is_dir: bool, tracked: bool = False) -> bool | None:
        """True ignored, False re-included, None no pattern here matched; for a path git
        tracks (``tracked``), by the ``.vaultlineignore`` patterns alone."""
        if self.prefix:
            rel = f"{self.prefix}/{rel}"
        if self.base:
            if not rel.startswith(self.base + "/"):
                return None
            rel = rel[len(self.base) + 1 :]
        verdict: bool | None = None
        for p in self.patterns:
            if (p.dir_only and not is_dir) or (tracked and not p.vaultline):
                continue
            if p.regex.match(rel):
                verdict = not p.negate
        return verdict


def is_ignored(stack: list[IgnoreRules], rel: str, is_dir: bool, *, tracked: bool = False) -> bool:
    verdict = False
    for rules in stack:
        decided = rules.decide(rel, is_dir, tracked)
        if decided is not None:
            verdict = decided
    return verdict


def enclosing_rules(root: Path) -> list[IgnoreRules]:
    """The rules that apply to ``root`` from outside it, weakest first.

    In a git work tree: git's own exclude files (``core.excludesFile``, then
    ``$GIT_DIR/info/exclude``), then the ignore files between the work tree's top and
    ``root`` (exclusive): scanning ``repo/src`` must still honour ``repo/.gitignore``. Outside
    a work tree only the scan root's own files apply.
    """
    root = root.resolve()
    chain = _up_to_work_tree(root)
    if not chain:
        return []
    top = chain[-1]
    prefix = root.relative_to(top).as_posix() if root != top else ""
    rules = [IgnoreRules(base="", patterns=tuple(parse(text)), prefix=prefix)
             for text in _git_exclude_texts(top)]
    for directory in reversed(chain[1:]):
        loaded = IgnoreRules.load(directory, "", root.relative_to(directory).as_posix())
        if loaded is not None:
            rules.append(loaded)
    return [r for r in rules if r.patterns]


def _up_to_work_tree(root: Path) -> list[Path]:
    """``root`` and its parents up to the top of the git work tree holding it; [] outside one."""
    chain: list[Path] = []
    for directory in (root, *root.parents):
        chain.append(directory)
        if (directory / ".git").exists():
            return chain
    return []


class Tracked:
    """The files git tracks under a scan root, as paths relative to it.

    Asked only about ignored entries, so ``git ls-files`` runs once, at the first ignored
    entry of a tree in a git work tree, and never outside one: a file is a set lookup, a
    directory (does git track anything under it?) a binary search in the sorted paths.
    """

    def __init__(self, root: Path) -> None:
        self._root = root
        self._files: frozenset[str] | None = None
        self._sorted: list[str] = []

    def _load(self) -> frozenset[str]:
        if self._files is None:
            self._files = frozenset(_ls_files(self._root))
            self._sorted = sorted(self._files)
        return self._files

    def __contains__(self, rel: object) -> bool:
        return rel in self._load()

    def holds_under(self, rel_dir: str) -> bool:
        self._load()
        prefix = rel_dir + "/"
        at = bisect.bisect_left(self._sorted, prefix)
        return at < len(self._sorted) and self._sorted[at].startswith(prefix)


def _ls_files(root: Path) -> list[str]:
    if not _up_to_work_tree(root.resolve()):
        return []
    try:
        # Run in the scan root: git lists the files under it, relative to it.
        done = run_git(root, "ls-files", "-z")
    except GitNotInstalled:  # a .git directory without git: nothing is known to be tracked
        return []
    if done.returncode != 0:  # not a repository git will read (or a broken one)
        return []
    return [p for p in done.stdout.decode("utf-8", "surrogateescape").split("\0") if p]


def _git_exclude_texts(top: Path) -> list[str]:
    """The contents of git's exclude files for the work tree at ``top``, weakest first."""

    def git(*args: str) -> str:
        try:
            done = run_git(top, *args)
        except GitNotInstalled:  # its own exclude files cannot matter
            return ""
        return done.stdout.decode("utf-8", "surrogateescape").strip() if done.returncode == 0 else ""

    configured = git("config", "--path", "--get", "core.excludesFile")
    if configured:
        files = [top / configured]  # absolute stays absolute; relative is git's cwd-relative
    else:  # git's documented default
        config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        files = [Path(config_home) / "git" / "ignore"]
    exclude = git("rev-parse", "--git-path", "info/exclude")  # worktrees share the common dir
    if exclude:
        files.append(top / exclude)
    texts = []
    for path in files:
        text = _read_ignore_file(path)
        if text is not None:
            texts.append(text)
    return texts


def _read_ignore_file(path: Path) -> str | None:
    """An ignore file's text, or None when there is none. A scanned tree is not trusted: a
    ``.gitignore`` that is a FIFO, a link to /dev/zero or huge is a ScanError naming it, not
    a hang or a read without end."""
    from vaultline._limits import read_bounded
    from vaultline.errors import ScanError

    try:
        data = read_bounded(path, what="the ignore file",
                            error=lambda reason: ScanError(f"{path}: {reason}"))
    except OSError:
        return None  # absent or unreadable: no patterns from it, as git does
    return data.decode("utf-8", "replace")
