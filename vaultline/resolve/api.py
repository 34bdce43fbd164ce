"""The functions most users need: ``vaultline.load(env=...)`` and friends.

The CLI is built on these; an application calls them directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from vaultline.project.model import Project
from vaultline.resolve.bundle import Bundle
from vaultline.resolve.session import Session


def load(
    env: str,
    project_dir: str | Path = ".",
    *,
    environ: Mapping[str, str] | None = None,
) -> Bundle:
    """Resolve ``env`` of the project at (or above) ``project_dir`` into a read-only bundle.

    Active break-glass overrides are applied and every secret read is audited. Raises
    :class:`vaultline.errors.ResolutionError` listing every key that failed; nothing is
    returned half-resolved.
    """
    with Session(Project.load(project_dir, environ=environ), env, environ=environ) as session:
        return session.resolve()
