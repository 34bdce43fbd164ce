"""``vaultline init``: lay out a project, or finish setting up a fresh clone of one."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from vaultline._files import missing_parts
from vaultline._limits import read_bounded
from vaultline.errors import ConfigError
from vaultline.project.model import PROJECT_FILE, Project
from vaultline.store import EmbeddedStore

GITIGNORE_LINES = (".vaultline/", ".env", ".env.*", "!.env.example")

_PROJECT_TEMPLATE = """\
# vaultline project: see the README's user guide.
version: 1
app: {app}
environments:
{environments}
# Lowest layer: values used when nothing else gives one.
defaults: {{}}
# Per key: secret, required, format, default, description.
schema: {{}}
# Secret providers beyond the built-ins (local, env, file, dotenv).
providers: {{}}
"""

_VALUES = "# Non-secret values for {env}. Keys nest with ':' or YAML mappings.\n{{}}\n"
_SECRETS = ("# Secret *references* for {env} (never values), e.g.\n"
            "#   ConnectionStrings:Primary: local\n{{}}\n")


@dataclass
class InitReport:
    created: list[str] = field(default_factory=list)
    key_file: Path | None = None


def init_project(root: Path, *, app: str, environments: list[str]) -> InitReport:
    report = InitReport()
    if not environments:
        raise ConfigError("give at least one environment, e.g. --envs dev,prod")
    project_file = root / PROJECT_FILE
    if not project_file.exists():
        envs = "\n".join(f"  {name}: {{}}" for name in environments)
        _make_dirs(root)
        _create(project_file, _PROJECT_TEMPLATE.format(app=app, environments=envs))
        report.created.append(PROJECT_FILE)
    try:
        project = Project.load(root, search=False)  # validates what was there or just written
    except ConfigError:
        if report.created:  # a bad --app or --envs: leave nothing half made behind
            project_file.unlink()
        raise
    for env in project.environments:
        pack = project.pack_dir(env)
        for name, template in (("values.yaml", _VALUES), ("secrets.yaml", _SECRETS)):
            path = pack / name
            if not path.exists():
                _make_dirs(pack)
                _create(path, template.format(env=env))
                report.created.append(str(path.relative_to(root)))
    if _ensure_gitignore(root / ".gitignore"):
        report.created.append(".gitignore entries")
    if not EmbeddedStore.exists(project.store_dir):
        store, key_file = EmbeddedStore.create(project.store_dir)
        store.close()
        report.key_file = key_file
        report.created.append(f"{_rel(project.store_dir, root)}/ (encrypted store)")
    return report


# The project's files are committed, so they follow the umask (0644 and 0755 under the usual
# 022), except that their owner can always use them: under a umask such as 0277 or 0777 a
# directory made here would refuse the files init writes into it next, and a vaultline.yaml
# could not be read back.


def _make_dirs(path: Path) -> None:
    missing, _ = missing_parts(path)
    for directory in reversed(missing):
        try:
            directory.mkdir(0o755)
        except FileExistsError:
            continue  # made meanwhile by someone else: theirs to set
        os.chmod(directory, stat.S_IMODE(directory.stat().st_mode) | 0o700)


def _owner_can_write(fd: int) -> None:
    mode = stat.S_IMODE(os.fstat(fd).st_mode)
    if mode & 0o600 != 0o600:
        os.fchmod(fd, mode | 0o600)


def _create(path: Path, text: str) -> None:
    """Create `path` (committed, so 0644 under the usual umask); never write through a
    symlink there, dangling or not: a cloned repository chooses where those point."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    except FileExistsError:
        if not path.is_symlink():
            raise
        raise ConfigError(f"{path} is a symbolic link to nothing; vaultline init does not "
                          "write through it: remove it or create the file it names") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        _owner_can_write(handle.fileno())
        handle.write(text)


def _ensure_gitignore(path: Path) -> bool:
    if path.is_symlink():
        # git does not follow a symlinked .gitignore either; appending through it would
        # write wherever a cloned repository points it.
        raise ConfigError(f"{path} is a symbolic link; vaultline init does not write through "
                          f"it: add these lines to the file yourself: {' '.join(GITIGNORE_LINES)}")
    try:
        data = read_bounded(path, what="the file")
    except FileNotFoundError:
        data = b""
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=str(path)) from None
    existing = data.decode("utf-8", "replace").splitlines()
    missing = [line for line in GITIGNORE_LINES if line not in existing]
    if not missing:
        return False
    addition = ("\n" if existing and existing[-1].strip() else "") + (
        "# vaultline: the store and local env files never go to git\n" + "\n".join(missing) + "\n")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        if not existing:
            _owner_can_write(handle.fileno())  # only a file init made: the user's stays theirs
        handle.write(addition)
    return True


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
