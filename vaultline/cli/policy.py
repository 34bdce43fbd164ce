"""``vaultline policy``: Vault/OpenBao policies: ``generate`` from an environment, ``lint`` files."""

from __future__ import annotations

from pathlib import Path

import click

from vaultline.cli._context import env_option, load_project, project_dir_option
from vaultline.cli._output import OutputFile, emit_json, emit_table, format_option


@click.group()
def policy() -> None:
    """Generate and lint Vault/OpenBao HCL policies.

    \b
    Examples:
      vaultline policy generate --env prod --role runtime > nexus-engine-prod-runtime.hcl
      vaultline policy lint policies/*.hcl --role runtime
    """


@policy.command("generate")
@env_option()
@click.option("--role", type=click.Choice(["runtime", "ci"]), required=True,
              help="runtime: read only; ci: writes new versions (create/update, metadata read).")
@click.option("--provider", "provider_name", metavar="NAME",
              help="The vault provider to generate for (default: the only one the env uses).")
@click.option("--output", "-o", type=OutputFile(),
              help="Write the policy to FILE instead of stdout.")
@project_dir_option
def generate(env: str, role: str, provider_name: str | None, output: Path | None,
             project_dir: Path | None) -> None:
    """Print the least-privilege HCL policy for the secrets an environment references:
    exact <mount>/data/<prefix>/<path> rules, read for runtime; create/read/update plus
    metadata read for ci. Deterministic: commit it and review the diff.

    \b
    Examples:
      vaultline policy generate --env prod --role runtime
      vaultline policy generate --env prod --role ci --provider vault -o ci-prod.hcl
      vaultline policy generate --env prod --role runtime | bao policy write nexus-engine-prod -
    """
    from vaultline.policy.generate import generate_policy

    result = generate_policy(load_project(project_dir), env, role, provider_name)
    if output is None:
        click.echo(result.text, nl=False)
    else:
        output.write_text(result.text, encoding="utf-8")
        click.echo(f"wrote {output}: {len(result.rules)} path rule(s) for {env} ({role})", err=True)


@policy.command("lint")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--role",
    type=click.Choice(["runtime", "ci", "admin"]),
    help="Who holds these policies. Default: a '# vaultline: role=…' comment in the file, "
    "then words in the file name (runtime, app, ci, deploy, admin…).",
)
@click.option(
    "--envs",
    help="Comma-separated environment names used to spot cross-environment globs "
    "(default: dev, staging, prod and the usual variants).",
)
@format_option("table", "json")
def lint(files: tuple[Path, ...], role: str | None, envs: str | None, fmt: str) -> None:
    """Lint HCL policy FILES for over-broad grants: mount-wide and cross-environment
    globs, a glob covering narrower rules, sudo, writes in runtime policies, deny shadowing.

    Files are linted together (a deny in one can be shadowed by a grant in another).
    Exits 1 on any error or warning finding; info findings are advice.

    \b
    Examples:
      vaultline policy lint policies/pxl-core.hcl
      vaultline policy lint ci.hcl app.hcl --role runtime --format json
    """
    from vaultline.policy.lint import DEFAULT_ENVIRONMENTS, failing, lint_files

    environments = (
        frozenset(e.strip() for e in envs.split(",") if e.strip()) if envs else DEFAULT_ENVIRONMENTS
    )
    findings = lint_files(files, role=role, environments=environments)
    if fmt == "json":
        emit_json({"findings": [f.to_dict() for f in findings]})
    elif findings:
        emit_table(
            ["where", "severity", "rule", "problem", "fix"],
            [(f.where, f.severity, f"{f.rule} {f.name}", f.message, f.fix) for f in findings],
        )
    else:
        click.echo(f"{len(files)} policy file(s): no findings")
    if failing(findings):
        # SystemExit: the root group's standalone_mode=False drops ctx.exit codes.
        raise SystemExit(1)
