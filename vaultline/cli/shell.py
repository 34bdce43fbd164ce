"""``vaultline shell``: vaultline in the user's own shell (``completion``, ``direnv``)."""

from __future__ import annotations

from pathlib import Path

import click

from vaultline.cli._context import env_option, load_project, prefix_callback, project_dir_option

SHELLS = ("bash", "zsh", "fish")


@click.group()
def shell() -> None:
    """vaultline in your shell: completion scripts and direnv.

    \b
    Examples:
      vaultline shell completion bash > ~/.local/share/bash-completion/completions/vaultline
      vaultline shell direnv --env dev > .envrc && direnv allow
    """


@shell.command()
@click.argument("shell_name", metavar="SHELL", type=click.Choice(SHELLS))
def completion(shell_name: str) -> None:
    """Print the completion script for SHELL (commands, options, choices).

    \b
    Examples:
      vaultline shell completion bash > ~/.local/share/bash-completion/completions/vaultline
      vaultline shell completion zsh > "${fpath[1]}/_vaultline"
      vaultline shell completion fish > ~/.config/fish/completions/vaultline.fish
    """
    from click.shell_completion import get_completion_class

    from vaultline.cli._app import cli

    completer = get_completion_class(shell_name)
    if completer is None:  # click ships all three; a future click might not
        raise click.UsageError(f"no completion for {shell_name}")
    click.echo(completer(cli, {}, "vaultline", "_VAULTLINE_COMPLETE").source())


@shell.command()
@env_option()
@click.option("--prefix", default="", callback=prefix_callback,
              help="Prefix for the variable names.")
@project_dir_option
def direnv(env: str, prefix: str, project_dir: Path | None) -> None:
    """Print the .envrc lines that load ENV into the shell through direnv.

    direnv re-runs them when vaultline.yaml, an included file or the env pack changes.

    \b
    Example:
      vaultline shell direnv --env dev > .envrc && direnv allow
    """
    from vaultline.output.direnv import envrc

    project = load_project(project_dir)
    project.environment(env)  # an unknown environment is a usage error now, not at every prompt
    click.echo(envrc(project, env, prefix=prefix))
