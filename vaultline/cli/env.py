"""``vaultline env``: questions about environments as a whole — how two compare
(``diff``), where one key's value came from (``explain``), which variable names the project
produces (``example``, the env.example file)."""

from __future__ import annotations

import click

from vaultline.cli._app import LazyGroup


@click.group(cls=LazyGroup, lazy={"diff": "vaultline.cli.diff:diff",
                                  "explain": "vaultline.cli.resolve:explain",
                                  "example": "vaultline.cli.check:env_example"})
def env() -> None:
    """Environments: compare two, explain a key's value, write env.example.

    \b
    Examples:
      vaultline env diff --env staging --env prod
      vaultline env explain ConnectionStrings:Primary --env prod
      vaultline env example && git add env.example
    """
