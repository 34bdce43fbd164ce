"""The functions most users need: ``vaultline.load(env=...)`` and friends.

The CLI is built on these; an application calls them directly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from vaultline.bundle import Bundle
from vaultline.project import Project
from vaultline.resolver import Resolver, RuntimeLayer


def load(
    env: str,
    project_dir: str | Path = ".",
    *,
    environ: Mapping[str, str] | None = None,
    runtime_layers: Sequence[RuntimeLayer] | None = None,
) -> Bundle:
    """Resolve ``env`` of the project at (or above) ``project_dir`` into a read-only bundle.

    Raises :class:`vaultline.errors.ResolutionError` listing every key that failed; nothing is
    returned half-resolved.
    """
    return load_with_project(Project.load(project_dir), env, environ=environ,
                             runtime_layers=runtime_layers)


def load_with_project(
    project: Project,
    env: str,
    *,
    environ: Mapping[str, str] | None = None,
    runtime_layers: Sequence[RuntimeLayer] | None = None,
    reveal: bool = False,
) -> Bundle:
    """Resolve ``env`` of an already loaded project (what the CLI calls)."""
    with Resolver(project, env, environ=environ, runtime_layers=runtime_layers or ()) as resolver:
        return resolver.resolve()
