"""Generate the least-privilege Vault/OpenBao policy for the references an environment uses.

Exact paths only — one ``<mount>/data/<prefix>/<path>`` rule per secret an environment's keys
reference, no globs — so a secret added to the mount later is not readable until a key
references it and the policy is regenerated. Two roles:

    runtime   read on each data path: what resolving the environment needs (a pinned ``@N``
              is a read of the same path with ``?version=N``)
    ci        create/read/update on each data path and read on its metadata path: CI writes
              new versions (``put``, rotation) with check-and-set, which needs the current
              version number from the metadata endpoint, and reads back what it wrote

Both get ``read`` on ``auth/token/lookup-self``: vaultline's token login looks up its own
token's TTL and renewability. Vault's built-in ``default`` policy grants that too; it is
repeated so the policy also works for a token created with ``no_default_policy``. Nothing
else: no ``list``, no ``delete``, no ``sudo``.

The output is deterministic (sorted, no timestamps) so it can be committed and diffed in
review; ``vaultline policy lint`` accepts it without findings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from vaultline.errors import ConfigError
from vaultline.project.model import Project
from vaultline.resolve.resolver import ReferenceRow, Resolver

ROLES = ("runtime", "ci")
DATA_CAPABILITIES: Mapping[str, tuple[str, ...]] = {
    "runtime": ("read",),
    "ci": ("create", "read", "update"),
}
METADATA_CAPABILITIES: Mapping[str, tuple[str, ...]] = {"runtime": (), "ci": ("read",)}
SELF_LOOKUP = "auth/token/lookup-self"


@dataclass(frozen=True)
class GeneratedPolicy:
    env: str
    role: str
    provider: str
    text: str
    # HCL path -> capabilities, in the order written
    rules: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass
class _Secret:
    data_path: str
    metadata_path: str
    uses: list[str] = field(default_factory=list)  # "Key" or "Key (pinned @3)"


def generate_policy(project: Project, env: str, role: str, provider: str | None = None, *,
                    environ: Mapping[str, str] | None = None) -> GeneratedPolicy:
    """The minimal policy for ``env``'s references in one Vault provider (``provider`` or the
    only one the environment uses)."""
    if role not in ROLES:
        raise ConfigError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    with Resolver(project, env, environ=environ) as resolver:
        rows = [r for r in resolver.references()
                if project.provider_config(r.provider).type == "vault"]
        name = _pick_provider(project, env, rows, provider)
        vault = resolver.provider(name)
        mount = str(getattr(vault, "mount", "kv"))
        secrets: dict[str, _Secret] = {}
        for row in rows:
            if row.provider != name:
                continue
            data = vault.display_path(row.path)  # <mount>/data/<prefix>/<path>
            problem = _hcl_problem(data)
            if problem:
                raise ConfigError(f"{row.key!r}: path {data!r} has {problem}, which Vault reads "
                                  "as HCL syntax or an escape; rename the secret", file=row.where)
            if "*" in data or "+" in data.split("/"):
                # Vault would read these as globs: the policy would grant more than the key.
                raise ConfigError(f"{row.key!r}: path {data!r} has a glob character ('*' or a "
                                  "'+' segment); rename the secret", file=row.where)
            full = data.removeprefix(f"{mount}/data/")
            secret = secrets.setdefault(data, _Secret(data, f"{mount}/metadata/{full}"))
            pinned = row.reference.version
            use = row.key + (f" (pinned @{pinned})" if pinned else "")
            problem = _hcl_problem(use)
            if problem:
                raise ConfigError(f"{row.key!r}: {use!r} has {problem}, which would end the "
                                  "policy comment naming the key; pin a version number",
                                  file=row.where)
            secret.uses.append(use)
    command = f"vaultline policy generate --env {env} --role {role}"
    if provider is not None:
        command += f" --provider {provider}"
    return _render(project, env, role, name, mount, command, secrets)


def _pick_provider(project: Project, env: str, rows: list[ReferenceRow],
                   provider: str | None) -> str:
    used = sorted({r.provider for r in rows})
    if provider is not None:
        if project.provider_config(provider).type != "vault":
            raise ConfigError(f"provider {provider!r} is not a vault provider; policies are "
                              "generated for Vault/OpenBao only")
        if provider not in used:
            raise ConfigError(f"env/{env}/secrets.yaml references nothing in provider "
                              f"{provider!r}; there is no policy to generate")
        return provider
    if not used:
        raise ConfigError(f"env/{env}/secrets.yaml references no vault provider; there is no "
                          "policy to generate")
    if len(used) > 1:
        raise ConfigError(f"env/{env}/secrets.yaml uses several vault providers "
                          f"({', '.join(used)}); pass --provider NAME (one policy per server)")
    return used[0]


def _hcl_problem(text: str) -> str | None:
    """What in ``text`` Vault's HCL parser would read as more than text inside a quoted string
    or a ``#`` comment, or None. A quote ends the string and a line break the comment (what
    follows is parsed as rules); a backslash starts an escape (``\\x2a`` is ``*``, a glob); in
    ``${`` the parser skips quotes and line breaks up to the closing brace."""
    if not text.isprintable():
        return "a line break or control character"
    for part, name in (('"', "a quote"), ("\\", "a backslash"), ("${", "'${'")):
        if part in text:
            return name
    return None


def _rule(lines: list[str], rules: dict[str, tuple[str, ...]], path: str,
          capabilities: tuple[str, ...], comments: list[str]) -> None:
    lines.extend(f"# {c}" for c in comments)
    caps = ", ".join(f'"{c}"' for c in capabilities)
    lines += [f'path "{path}" {{', f"  capabilities = [{caps}]", "}", ""]
    rules[path] = capabilities


def _render(project: Project, env: str, role: str, provider: str, mount: str, command: str,
            secrets: Mapping[str, _Secret]) -> GeneratedPolicy:
    for what, text in (("app", project.app), ("environment", env)):
        problem = _hcl_problem(text)
        if problem:
            raise ConfigError(f"{what} name {text!r} has {problem}, which Vault would read "
                              "as HCL syntax in the policy's header comment")
    lines = [
        f"# vaultline: role={role}",
        f"# Least-privilege policy for {project.app}, environment {env}, role {role}:",
        f"# the {len(secrets)} secret(s) env/{env}/secrets.yaml references in provider "
        f"{provider!r} (mount {mount!r}).",
        f"# Generated by: {command}",
        f"# Regenerate when env/{env}/secrets.yaml changes; hand edits are lost.",
        "# Exact paths, no globs: a secret added later stays unreadable until a key uses it.",
    ]
    if role == "runtime":
        lines.append("# Runtime reads only (a pinned @N reads the same data/ path).")
    else:
        lines += [
            "# CI writes new versions (put, rotation): create/update on data/ paths, and read to",
            "# check what it wrote; read on metadata/ gives the current version for",
            "# check-and-set writes. No list, delete or destroy.",
        ]
    lines.append("")
    rules: dict[str, tuple[str, ...]] = {}
    _rule(lines, rules, SELF_LOOKUP, ("read",), [
        "vaultline's token login looks up its own token (TTL, renewability). The built-in",
        "'default' policy grants this too; repeated here for tokens without it."])
    for path in sorted(secrets):
        secret = secrets[path]
        _rule(lines, rules, secret.data_path, DATA_CAPABILITIES[role], sorted(secret.uses))
        if METADATA_CAPABILITIES[role]:
            _rule(lines, rules, secret.metadata_path, METADATA_CAPABILITIES[role],
                  [f"versions of {secret.data_path.removeprefix(mount + '/data/')}, for --cas"])
    text = "\n".join(lines).rstrip("\n") + "\n"
    return GeneratedPolicy(env, role, provider, text, rules)
