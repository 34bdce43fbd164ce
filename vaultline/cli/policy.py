"""``vaultline policy``: least-privilege policies (Vault HCL, AWS IAM, Azure roles) ``generate``d
from an environment, and Vault policy files ``lint``ed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from vaultline.cli._context import env_option, load_project, project_dir_option
from vaultline.cli._output import OutputFile, emit_json, emit_table, format_option

if TYPE_CHECKING:
    from vaultline.project.model import Project


@click.group()
def policy() -> None:
    """Generate least-privilege policies (Vault/OpenBao HCL, AWS IAM, Azure roles); lint HCL.

    \b
    Examples:
      vaultline policy generate --env prod --role runtime > nexus-engine-prod-runtime.hcl
      vaultline policy generate --env prod --provider aws > nexus-engine-prod-iam.json
      vaultline policy lint policies/*.hcl --role runtime
    """


@policy.command("generate")
@env_option()
@click.option("--role", type=click.Choice(["runtime", "ci"]), default="runtime",
              show_default=True,
              help="runtime: read only; ci: writes new versions (create/update, metadata read; "
                   "Vault only).")
@click.option("--provider", "provider_name", metavar="NAME|vault|aws|azure",
              help="A provider's name, or a kind: vault (HCL, the default), aws (IAM policy "
                   "JSON), azure (role assignments JSON) for the only provider of that kind.")
@click.option("--account-id", help="aws: the account in the secret ARNs (default: the "
                                   "provider's account_id, else *).")
@click.option("--assignee", default="<principal-object-id>", show_default=True,
              help="azure: the object id of the identity the roles are assigned to.")
@click.option("--subscription", help="azure: the vault's subscription id (default: the "
                                     "provider's subscription_id).")
@click.option("--resource-group", help="azure: the vault's resource group (default: the "
                                       "provider's resource_group).")
@click.option("--output", "-o", type=OutputFile(),
              help="Write the policy to FILE instead of stdout.")
@project_dir_option
def generate(env: str, role: str, provider_name: str | None, account_id: str | None,
             assignee: str, subscription: str | None, resource_group: str | None,
             output: Path | None, project_dir: Path | None) -> None:
    """Print the least-privilege policy for the secrets an environment references.

    Vault/OpenBao: exact <mount>/data/<prefix>/<path> HCL rules, read for runtime;
    create/read/update plus metadata read for ci. AWS: an IAM policy allowing GetSecretValue
    and DescribeSecret on exactly the referenced secrets' ARNs (kms:Decrypt on a configured
    kms_key). Azure: "Key Vault Secrets User" assignments scoped to each secret.
    Deterministic: commit it and review the diff.

    \b
    Examples:
      vaultline policy generate --env prod --role runtime
      vaultline policy generate --env prod --role ci --provider vault -o ci-prod.hcl
      vaultline policy generate --env prod --role runtime | bao policy write nexus-engine-prod -
      vaultline policy generate --env prod --provider aws --account-id 123456789012
      vaultline policy generate --env prod --provider azure --assignee 00000000-0000-0000-0000-000000000000
    """
    import json

    from vaultline.errors import ConfigError

    project = load_project(project_dir)
    kind, name = _kind(project, provider_name)
    if kind != "vault" and role != "runtime":
        raise ConfigError(f"--role {role}: {kind} policies are generated for the runtime role "
                          "(reading) only")
    if kind == "aws":
        from vaultline.policy.cloud import aws_policy

        text = json.dumps(aws_policy(project, env, name, account_id=account_id), indent=2) + "\n"
        count = 1
    elif kind == "azure":
        from vaultline.policy.cloud import azure_role_assignments

        doc = azure_role_assignments(project, env, name, assignee=assignee,
                                     subscription=subscription, resource_group=resource_group)
        text = json.dumps(doc, indent=2) + "\n"
        count = len(doc["assignments"])
    else:
        from vaultline.policy.generate import generate_policy

        result = generate_policy(project, env, role, name)
        text, count = result.text, len(result.rules)
    if output is None:
        click.echo(text, nl=False)
    else:
        from vaultline._files import write_output

        write_output(output, text.encode("utf-8"))
        click.echo(f"wrote {output}: {count} rule(s) for {env} ({role})", err=True)


_KINDS = {"vault": "vault", "aws-secretsmanager": "aws", "azure-keyvault": "azure"}


def _kind(project: Project, provider: str | None) -> tuple[str, str | None]:
    """``(vault|aws|azure, provider name or None)``: a configured name wins over a kind."""
    from vaultline.errors import ConfigError

    if provider is None:
        return "vault", None
    if provider in project.providers:
        ptype = project.providers[provider].type
        if ptype not in _KINDS:
            raise ConfigError(f"provider {provider!r} ({ptype}) has no access policy to "
                              "generate; policies exist for vault, aws and azure providers")
        return _KINDS[ptype], provider
    if provider in _KINDS.values():
        return provider, None
    raise ConfigError(f"unknown provider {provider!r}; pass a configured provider's name or "
                      "one of vault, aws, azure")


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
        click.get_current_context().exit(1)
