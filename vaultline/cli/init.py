"""``vaultline init``: a project skeleton, the embedded store and its master key."""

from __future__ import annotations

from pathlib import Path

import click

from vaultline.cli._context import project_dir_option


@click.command()
@click.option("--app", help="Application name (used in secret paths). Default: the folder name.")
@click.option("--envs", default="dev,prod", show_default=True,
              help="Comma-separated environment names.")
@project_dir_option
def init(app: str | None, envs: str, project_dir: Path | None) -> None:
    """Create vaultline.yaml, env/<env>/ packs, .gitignore lines and an encrypted store.

    In a project that already has vaultline.yaml (a fresh clone), only the store and its
    master key are created. The key file is written 0600 outside the repository.

    \b
    Example:
      vaultline init --app nexus-engine --envs local,dev,qa,staging,prod
    """
    from vaultline.project.scaffold import init_project  # the store: not for `--help`

    root = (project_dir or Path.cwd()).resolve()
    names = [e.strip() for e in envs.split(",") if e.strip()]
    report = init_project(root, app=app or root.name, environments=names)
    for line in report.created:
        click.echo(f"created {line}")
    if report.key_file:
        click.echo(f"master key: {report.key_file} (0600) — back it up; without it the store "
                   "cannot be opened")
    if not report.created:
        click.echo(f"nothing to do: {root} is already initialised")
