"""``vaultline init``: lay out a project, or finish setting up a fresh clone of one."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

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
        project_file.write_text(_PROJECT_TEMPLATE.format(app=app, environments=envs))
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
                path.write_text(template.format(env=env))
                report.created.append(str(path.relative_to(root)))
    if _ensure_gitignore(root / ".gitignore"):
        report.created.append(".gitignore entries")
    if not EmbeddedStore.exists(project.store_dir):
        store, key_file = EmbeddedStore.create(project.store_dir)
        store.close()
        report.key_file = key_file
        report.created.append(f"{_rel(project.store_dir, root)}/ (encrypted store)")
    return report


def _ensure_gitignore(path: Path) -> bool:
    existing = path.read_text().splitlines() if path.exists() else []
    missing = [line for line in GITIGNORE_LINES if line not in existing]
    if not missing:
        return False
    with path.open("a") as handle:
        if existing and existing[-1].strip():
            handle.write("\n")
        handle.write("# vaultline: the store and local env files never go to git\n")
        handle.write("\n".join(missing) + "\n")
    return True


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
