"""Least privilege in the clouds: the AWS IAM policy and the Azure role assignments that let an
identity read exactly the secrets an environment references.

AWS: one statement allowing ``secretsmanager:GetSecretValue`` and ``DescribeSecret`` on each
referenced secret's ARN. Secrets Manager appends six random characters to a secret's name in
its ARN, so a secret is named ``arn:…:secret:<name>-??????``: IAM's ``?`` matches exactly one
character, so neither a sibling under the same prefix (``<name>-old``) nor any other secret
matches. ``BatchGetSecretValue`` (how vaultline reads current versions, 20 a call) takes
``Resource: "*"`` and returns only the secrets GetSecretValue allows on their own. With a
customer-managed KMS key (the provider's ``kms_key``), ``kms:Decrypt`` on that key, only
through Secrets Manager.

Azure: one "Key Vault Secrets User" role assignment per secret, scoped to
``<vault resource id>/secrets/<name>`` (Key Vault's RBAC scopes a role down to one secret).

Both outputs are deterministic (sorted, no timestamps) so they can be committed and reviewed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from vaultline.errors import ConfigError
from vaultline.project.model import Project
from vaultline.resolve.resolver import ReferenceRow, Resolver

AWS_READ_ACTIONS = ("secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue")
AWS_TYPE, AZURE_TYPE = "aws-secretsmanager", "azure-keyvault"
# Built-in role "Key Vault Secrets User": read secret contents (data plane), nothing else.
SECRETS_USER_ROLE = ("Key Vault Secrets User", "4633458b-17de-408a-b874-0445c86b69e6")


def _rows(project: Project, env: str, ptype: str, provider: str | None,
          environ: Mapping[str, str] | None) -> tuple[str, list[ReferenceRow], Any]:
    with Resolver(project, env, environ=environ) as resolver:
        rows = [r for r in resolver.references()
                if project.provider_config(r.provider).type == ptype]
        used = sorted({r.provider for r in rows})
        if provider is not None:
            if project.provider_config(provider).type != ptype:
                raise ConfigError(f"provider {provider!r} is not of type {ptype}")
            if provider not in used:
                raise ConfigError(f"env/{env}/secrets.yaml references nothing in provider "
                                  f"{provider!r}; there is no policy to generate")
            name = provider
        elif not used:
            raise ConfigError(f"env/{env}/secrets.yaml references no {ptype} provider; there "
                              "is no policy to generate")
        elif len(used) > 1:
            raise ConfigError(f"env/{env}/secrets.yaml uses several {ptype} providers "
                              f"({', '.join(used)}); pass --provider NAME")
        else:
            name = used[0]
        return name, [r for r in rows if r.provider == name], resolver.provider(name)


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _iam_literal(text: str, what: str, where: str | None = None) -> str:
    """``text`` for an IAM Resource or condition; a ConfigError when IAM would read part of it
    as a wildcard (``*``, ``?``) or a policy variable (``${…}``): the policy would grant more
    than the one thing it names."""
    if "*" in text or "?" in text or "$" in text or not text.isprintable():
        raise ConfigError(f"{what} {text!r} has a '*', '?', '$' or control character, which IAM "
                          "reads as a wildcard or a policy variable; name exactly one",
                          file=where)
    return text


def aws_policy(project: Project, env: str, provider: str | None = None, *,
               account_id: str | None = None,
               environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The IAM policy document (``Version`` 2012-10-17) for ``env``'s AWS references."""
    _, rows, aws = _rows(project, env, AWS_TYPE, provider, environ)
    region = _iam_literal(str(aws.region), "region")
    partition = _partition(region)
    given = account_id or aws.config.get("account_id")
    account = "*" if given is None else _iam_literal(str(given), "account_id")
    resources = set()
    for row in rows:
        if row.path.startswith("arn:"):
            resources.add(_iam_literal(row.path, f"{row.key!r}: secret ARN", row.where))
            continue
        name = _iam_literal(row.path, f"{row.key!r}: secret name", row.where)
        resources.add(f"arn:{partition}:secretsmanager:{region}:{account}:secret:{name}-??????")
    statements: list[dict[str, Any]] = [{
        "Sid": "ReadReferencedSecrets",
        "Effect": "Allow",
        "Action": list(AWS_READ_ACTIONS),
        "Resource": sorted(resources),
    }]
    if aws.use_batch:
        statements.append({
            "Sid": "BatchReadChecksEachSecret",
            "Effect": "Allow",
            "Action": "secretsmanager:BatchGetSecretValue",
            "Resource": "*",
        })
    kms_key = aws.config.get("kms_key")
    if kms_key:
        key = _iam_literal(str(kms_key), "kms_key")
        via = {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}
        statement: dict[str, Any] = {"Sid": "DecryptWithTheSecretsKey", "Effect": "Allow",
                                     "Action": "kms:Decrypt"}
        if key.startswith("alias/") or ":alias/" in key:
            alias = key if key.startswith("arn:") else \
                f"arn:{partition}:kms:{region}:{account}:{key}"
            statement |= {"Resource": "*", "Condition": {
                "StringEquals": via, "ForAnyValue:StringEquals": {"kms:ResourceAliases": [
                    alias.split(":", 5)[5]]}}}
        else:
            arn = key if key.startswith("arn:") else \
                f"arn:{partition}:kms:{region}:{account}:key/{key}"
            statement |= {"Resource": arn, "Condition": {"StringEquals": via}}
        statements.append(statement)
    return {"Version": "2012-10-17", "Statement": statements}


# A scope is a path: a '/' or '..' in any part of it names another resource (the vault
# itself, a resource group) and widens the assignment to everything under that.
_SUBSCRIPTION = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_RESOURCE_GROUP = re.compile(r"[-\w.()]{0,89}[-\w()]")
_VAULT = re.compile(r"[0-9A-Za-z-]{3,24}")


def _azure_secret(row: ReferenceRow) -> str:
    """The secret name of ``row`` for a role's scope: a Key Vault secret name or an error."""
    from vaultline.providers.azure import validate_name

    try:
        return validate_name(row.path)
    except ConfigError as exc:
        raise ConfigError(f"{row.key!r}: {exc.message}", file=row.where) from None


def azure_role_assignments(project: Project, env: str, provider: str | None = None, *,
                           assignee: str, subscription: str | None = None,
                           resource_group: str | None = None,
                           environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """One "Key Vault Secrets User" assignment per referenced secret, scoped to that secret."""
    name, rows, akv = _rows(project, env, AZURE_TYPE, provider, environ)
    sub = subscription or akv.config.get("subscription_id")
    group = resource_group or akv.config.get("resource_group")
    if not sub or not group:
        raise ConfigError(f"provider {name!r}: role scopes name the vault's subscription and "
                          "resource group; set subscription_id and resource_group on the "
                          "provider or pass --subscription and --resource-group")
    vault = str(akv.vault_url).removeprefix("https://").split(".", 1)[0]
    for what, text, rule in (("subscription", str(sub), _SUBSCRIPTION),
                             ("resource group", str(group), _RESOURCE_GROUP),
                             ("vault name", vault, _VAULT)):
        if not rule.fullmatch(text):
            raise ConfigError(f"provider {name!r}: {what} {text!r} is not a valid Azure "
                              f"{what}; a role's scope names exactly one")
    vault_id = (f"/subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.KeyVault/"
                f"vaults/{vault}")
    role, role_id = SECRETS_USER_ROLE
    secrets = sorted({_azure_secret(r) for r in rows})
    return {
        "roleDefinitionName": role,
        "roleDefinitionId": f"/subscriptions/{sub}/providers/Microsoft.Authorization/"
                            f"roleDefinitions/{role_id}",
        "assignments": [{"principalId": assignee, "scope": f"{vault_id}/secrets/{s}"}
                        for s in secrets],
    }
