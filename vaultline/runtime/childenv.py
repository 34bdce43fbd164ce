"""What a ``vaultline run`` child may inherit from vaultline's own environment.

vaultline's credentials are vaultline's, not the child's: the master key (which opens every
environment of the store) is never handed on, and the credentials a provider logs in with
(``VAULT_TOKEN``, ``AWS_SECRET_ACCESS_KEY``, ``AZURE_CLIENT_SECRET`` ...) are removed unless
the user passes them on by name (``--pass-env NAME`` or ``pass_env:`` of the environment in
vaultline.yaml). A credential passed on is masked in the child's output like a secret.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, NamedTuple

from vaultline.errors import ConfigError
from vaultline.store.masterkey import ENV_KEY, ENV_KEY_FILE

if TYPE_CHECKING:
    from vaultline.project.model import Project

#: Never passed to a child, even when asked: they open every environment of the store.
NEVER_PASSED = frozenset({ENV_KEY, ENV_KEY_FILE})

#: What vaultline itself reads that is not a credential, so a child vaultline keeps it.
_VAULTLINE_SETTINGS = frozenset({"VAULTLINE_ENV", "VAULTLINE_PROJECT_DIR", "VAULTLINE_STORE_DIR"})

#: Credentials the providers' SDKs read from the environment, by family.
PROVIDER_CREDENTIALS = frozenset({
    # Vault / OpenBao (vaultline's token and AppRole/JWT defaults, and the CLI's own)
    "VAULT_TOKEN", "BAO_TOKEN", "VAULT_ROLE_ID", "VAULT_SECRET_ID", "VAULT_JWT",
    "BAO_ROLE_ID", "BAO_SECRET_ID",
    # AWS (botocore's credential chain)
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK",
    # Azure (azure-identity's EnvironmentCredential; the header that proves a Managed Identity
    # request comes from the App Service / Functions app, as AWS's container token does)
    "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PASSWORD", "AZURE_PASSWORD",
    "IDENTITY_HEADER", "MSI_SECRET",
})

#: The most one ``NAME=value`` string of an environment may hold on Linux (MAX_ARG_STRLEN);
#: exec refuses a longer one as "Argument list too long".
MAX_VARIABLE_BYTES = 32 * 4096 if sys.platform.startswith("linux") else None

# Options of a provider's `auth:` that name the variable a credential is read from.
_AUTH_ENV_OPTIONS = ("token_env", "role_id_env", "secret_id_env", "jwt_env")


class ChildEnvironment(NamedTuple):
    """The variables a child inherits, and those passed on by name (masked like secrets)."""

    inherited: dict[str, str]
    passed: dict[str, str]


def credential_names(project: Project | None) -> set[str]:
    """Every variable that holds a vaultline or provider credential for this project."""
    names = set(PROVIDER_CREDENTIALS)
    for config in (project.providers.values() if project is not None else ()):
        auth = config.options.get("auth")
        if isinstance(auth, Mapping):
            names.update(str(auth[o]) for o in _AUTH_ENV_OPTIONS if auth.get(o))
    return names


def is_credential(name: str, credentials: Iterable[str]) -> bool:
    if name.startswith("VAULTLINE_"):
        return name not in _VAULTLINE_SETTINGS
    return name in credentials


def child_environment(environ: Mapping[str, str], credentials: Iterable[str],
                      pass_env: Iterable[str] = ()) -> ChildEnvironment:
    """`environ` without credentials, except those named in `pass_env`.

    Raises ConfigError for a name that may never be passed (the master key and its file).
    """
    credentials = set(credentials)
    wanted = set(pass_env)
    refused = sorted(wanted & NEVER_PASSED)
    if refused:
        raise ConfigError(f"{', '.join(refused)} is never passed to a child: it opens every "
                          "environment of the store; remove it from --pass-env / pass_env")
    inherited = {name: value for name, value in environ.items()
                 if name in wanted or not is_credential(name, credentials)}
    return ChildEnvironment(inherited, {n: environ[n] for n in sorted(wanted) if n in environ})


def unfit_for_environment(name: str, value: str) -> str | None:
    """Why exec cannot hand `value` on as variable `name` ("holds a NUL byte" ...), or None.

    Cheap for the usual value (ASCII, short): ``run`` asks it of every variable.
    """
    if "\0" in value:
        return "holds a NUL byte, which no environment variable can carry"
    if value.isascii():
        size = len(value)
    else:
        try:
            size = len(os.fsencode(value))
        except UnicodeEncodeError:
            return "is not text an environment variable can carry (a lone surrogate)"
    if MAX_VARIABLE_BYTES is not None and len(name) + size + 2 > MAX_VARIABLE_BYTES:
        return (f"is {size} bytes, more than one environment variable can carry "
                f"({MAX_VARIABLE_BYTES // 1024} KiB)")
    return None
