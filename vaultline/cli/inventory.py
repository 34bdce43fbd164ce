"""``vaultline inventory``: the Kubernetes secrets inventory of a manifests tree."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from vaultline.cli._output import OutputFile, format_option, warn


@click.command()
@click.argument("path", default=".", type=click.Path(path_type=Path))
@format_option("markdown", "json")
@click.option(
    "--output",
    "-o",
    type=OutputFile(),
    help="Write the report to FILE instead of stdout.",
)
@click.option("--check", is_flag=True, help="Exit 1 if any error-severity finding is reported.")
def inventory(path: Path, fmt: str, output: Path | None, check: bool) -> None:
    """Inventory Secret, ExternalSecret, PushSecret, SealedSecret, SecretStore and CNPG
    Cluster resources under PATH, classify each secret's origin and flag violations.

    Values of Secret data are never printed.

    \b
    Examples:
      vaultline inventory deploy/ --output docs/secrets-inventory.md
      vaultline inventory deploy/ --format json | jq '.findings[].rule'
      vaultline inventory . --check        # CI gate: exit 1 on error findings
    """
    from vaultline.inventory import scan_tree
    from vaultline.inventory.report import to_json, to_markdown

    result = scan_tree(path)
    text = to_json(result) if fmt == "json" else to_markdown(result)
    if output is None:
        sys.stdout.write(text)
    else:
        from vaultline._files import write_output

        write_output(output, text.encode("utf-8"))
    errors = result.errors
    if output is not None or check:
        # One line per error on stderr, so a CI log shows why the gate failed.
        for f in errors:
            line = f"{f.file}:{f.line}: error {f.rule} {f.name}: {f.resource} {f.message}"
            click.echo(line, err=True)
        if errors and not check:
            warn(f"{len(errors)} error finding(s); run with --check to fail on them")
    if check and errors:
        click.get_current_context().exit(1)
