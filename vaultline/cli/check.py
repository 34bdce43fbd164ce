"""``vaultline check`` (the CI gate) and ``vaultline env example``."""

from __future__ import annotations

from pathlib import Path

import click

from vaultline.cli._context import env_option, load_project, project_dir_option
from vaultline.cli._output import OutputFile, emit_json, emit_table, format_option


@click.command()
@env_option()
@format_option("table", "json")
@project_dir_option
def check(env: str, fmt: str, project_dir: Path | None) -> None:
    """Validate an environment: exit 1 with a table of every problem (secrets never shown).

    Checks: required keys resolvable; formats (pem-private-key, pem-certificate, jwt-key, url,
    postgres-url, regex:...); no credential committed in vaultline.yaml or the pack (the
    scanner's detectors); providers reachable and authenticated; overrides within policy;
    .gitignore covers .env* and the store; no .env tracked; env.example in sync; key rings
    not overdue for rotation; rotated secrets not overdue, stuck or out of parity.

    \b
    Example:
      vaultline check --env prod --format json
    """
    from vaultline.check.gate import run_checks
    from vaultline.findings import Severity
    from vaultline.resolve.session import Session

    with Session(load_project(project_dir), env) as session:
        findings = run_checks(session, env)
    failed = any(f.severity is Severity.ERROR for f in findings)
    if fmt == "json":
        emit_json({"env": env, "ok": not failed, "findings": [f.to_dict() for f in findings]})
    elif findings:
        emit_table(["CHECK", "SEVERITY", "KEY", "PROBLEM"],
                   [[f.check, f.severity, f.key, f.problem] for f in findings])
    else:
        click.echo(f"{env}: all checks passed")
    click.get_current_context().exit(1 if failed else 0)


@click.command(name="example")
@click.option("--output", "-o", type=OutputFile(), default=None,
              help="Where to write (default: env.example in the project; '-' for stdout).")
@click.option("--prefix", default="", help="Prefix for the variable names.")
@project_dir_option
def env_example(output: Path | None, prefix: str, project_dir: Path | None) -> None:
    """Write env.example: every variable name the project produces, without values.

    \b
    Example:
      vaultline env example && git add env.example
    """
    from vaultline.output import envexample

    project = load_project(project_dir)
    text = envexample.render(project, prefix)
    if output is not None and str(output) == "-":
        click.echo(text, nl=False)
        return
    from vaultline._files import write_output

    target = output or project.root / envexample.FILE_NAME
    write_output(target, text.encode("utf-8"))
    click.echo(f"wrote {target}")
