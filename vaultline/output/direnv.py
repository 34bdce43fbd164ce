"""The ``.envrc`` lines that load an environment into a shell through direnv.

direnv re-runs ``.envrc`` when a watched file changes, so every file resolution reads is
watched: vaultline.yaml, the files it includes and the environment's pack. The values are
read with ``--format shell``, whose quoting ``eval`` reads back exactly.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from vaultline.project.model import Project


def watched_files(project: Project, env: str) -> list[Path]:
    """The files whose change changes what ``env`` resolves to: relative to the app's
    directory (where its .envrc goes), absolute outside it."""
    files = [project.file, *project.included_files]
    for pack in (*project.shared_pack_dirs(env), project.pack_dir(env)):
        files += [pack / "values.yaml", pack / "secrets.yaml"]
    return [_relative(f, project.app_dir) for f in files]


def _relative(path: Path, root: Path) -> Path:
    try:
        return path.relative_to(root)
    except ValueError:
        return path


def envrc(project: Project, env: str, *, prefix: str = "") -> str:
    command = ["vaultline", "resolve", "--env", env, "--format", "shell", "--reveal"]
    if prefix:
        command += ["--prefix", prefix]
    watch = " ".join(shlex.quote(str(f)) for f in watched_files(project, env))
    return f'watch_file {watch}\neval "$({shlex.join(command)})"'
