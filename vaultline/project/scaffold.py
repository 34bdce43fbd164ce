"""``vaultline init``: lay out a project, or finish setting up a fresh clone of one."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

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
        root.mkdir(parents=True, exist_ok=True)
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
                pack.mkdir(parents=True, exist_ok=True)
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
        handle.write(addition)
    return True


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
