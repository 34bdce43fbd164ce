"""How the Vault/OpenBao provider logs in: token, AppRole, Kubernetes or JWT.

Credentials come from files or environment variables named in vaultline.yaml, never from the
file itself (it is committed). ``login`` returns the token and its lease; the provider renews
it before it expires and logs in again once when a request is refused with 403.

    auth: {method: token}                                   VAULT_TOKEN / BAO_TOKEN / token_file
    auth: {method: approle, role_id_file: F, secret_id_file: F}   (or role_id_env, secret_id_env)
    auth: {method: kubernetes, role: R}                     service-account token file
    auth: {method: jwt, role: R, jwt_file: F}               (or jwt_env)
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vaultline.errors import AuthenticationError, ConfigError

K8S_TOKEN_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/token"

_FIELDS: dict[str, frozenset[str]] = {
    "token": frozenset({"token_file", "token_env"}),
    "approle": frozenset({"role_id", "role_id_file", "role_id_env", "secret_id_file",
                          "secret_id_env", "mount"}),
    "kubernetes": frozenset({"role", "token_file", "mount"}),
    "jwt": frozenset({"role", "jwt_file", "jwt_env", "mount"}),
}


@dataclass(frozen=True)
class Login:
    """A token and its lease, as a login or a renewal returned it."""

    token: str = field(repr=False)
    ttl: float  # seconds; 0 means it never expires (root tokens)
    renewable: bool
    obtained: float  # time.monotonic() when the lease started

    @property
    def expires(self) -> float | None:
        return None if self.ttl <= 0 else self.obtained + self.ttl

    def due(self, now: float) -> bool:
        """Renew when two thirds of the lease are gone, so a slow command never holds a dead token."""
        return self.ttl > 0 and now >= self.obtained + self.ttl * 2 / 3


@dataclass(frozen=True)
class AuthMethod:
    method: str
    options: Mapping[str, Any]
    root: Path
    environ: Mapping[str, str] = field(repr=False)
    where: str = ""

    @classmethod
    def parse(cls, config: Any, *, root: Path, environ: Mapping[str, str], where: str) -> AuthMethod:
        if config is None:
            config = {"method": "token"}
        if isinstance(config, str):
            config = {"method": config}
        if not isinstance(config, Mapping):
            raise ConfigError(f"{where}: 'auth' must be a mapping like {{method: approle, ...}}")
        method = str(config.get("method", "token"))
        if method not in _FIELDS:
            raise ConfigError(f"{where}: unknown auth method {method!r}; use one of "
                              f"{', '.join(sorted(_FIELDS))}")
        unknown = set(config) - _FIELDS[method] - {"method"}
        if unknown:
            raise ConfigError(f"{where}: auth method {method!r} does not take "
                              f"{', '.join(sorted(unknown))}; it takes {', '.join(sorted(_FIELDS[method]))}")
        if method in ("kubernetes", "jwt") and not config.get("role"):
            raise ConfigError(f"{where}: auth method {method!r} needs a 'role'")
        return cls(method, dict(config), root, environ, where)

    @property
    def mount(self) -> str:
        return str(self.options.get("mount", self.method)).strip("/")

    @property
    def renews_by_login(self) -> bool:
        """Whether a new token can be had by logging in again (not for a given token)."""
        return self.method != "token"

    def describe(self) -> str:
        role = self.options.get("role")
        return f"{self.method}" + (f" role {role!r}" if role else "")

    # -- credentials ---------------------------------------------------------------------

    def _read(self, *, file_key: str | None, env_key: str | None, default_envs: tuple[str, ...] = (),
              default_file: str | None = None, what: str) -> str:
        """A credential from the configured file or variable (in that order), then defaults."""
        file_name = self.options.get(file_key) if file_key else None
        env_name = self.options.get(env_key) if env_key else None
        if file_name:
            return self._file(str(file_name), what)
        for name in ([str(env_name)] if env_name else list(default_envs)):
            value = self.environ.get(name, "").strip()
            if value:
                return value
        if env_name:
            raise AuthenticationError(f"{what}: environment variable {env_name} is not set")
        if default_file and self._path(default_file).is_file():
            return self._file(default_file, what)
        sources = [f"${n}" for n in default_envs] + ([default_file] if default_file else [])
        raise AuthenticationError(f"{what} not found; set {' or '.join(sources) or 'it'} "
                                  f"(or {file_key}/{env_key} under auth in vaultline.yaml)")

    def _path(self, name: str) -> Path:
        """``name`` under the project root, ``~`` being the HOME of the environment given."""
        home = self.environ.get("HOME")
        if home and (name == "~" or name.startswith("~/")):
            name = home + name[1:]
        return self.root / Path(name).expanduser()

    def _file(self, name: str, what: str) -> str:
        from vaultline._limits import read_bounded

        path = self._path(name)
        try:  # bounded, and never blocking: a FIFO or device there must not hang every command
            data = read_bounded(path, name="secret", what=f"the {what} file",
                                environ=self.environ, error=lambda reason: AuthenticationError(
                                    f"{what}: {path}: {reason}"))
            value = data.decode("utf-8").strip()
        except OSError as exc:
            raise AuthenticationError(f"{what}: cannot read {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise AuthenticationError(f"{what}: {path} is not UTF-8 text") from None
        if not value:
            raise AuthenticationError(f"{what}: {path} is empty")
        return value

    def static_token(self) -> str:
        home = self.environ.get("HOME")
        return self._read(file_key="token_file", env_key="token_env",
                          default_envs=("VAULT_TOKEN", "BAO_TOKEN"),
                          default_file=f"{home}/.vault-token" if home else None, what="Vault token")

    # -- login ---------------------------------------------------------------------------

    def login(self, client: Any) -> Login:
        """Log in with ``client`` (an hvac.Client); hvac errors are translated by the caller."""
        now = time.monotonic()
        if self.method == "token":
            token = self.static_token()
            client.token = token
            data = _part(client.auth.token.lookup_self(), "data")
            return Login(token, float(data.get("ttl") or 0), bool(data.get("renewable")), now)
        if self.method == "approle":
            role_id = (str(self.options["role_id"]) if self.options.get("role_id") else
                       self._read(file_key="role_id_file", env_key="role_id_env",
                                  default_envs=("VAULT_ROLE_ID",), what="AppRole role_id"))
            secret_id = self._read(file_key="secret_id_file", env_key="secret_id_env",
                                   default_envs=("VAULT_SECRET_ID",), what="AppRole secret_id")
            answer = client.auth.approle.login(role_id, secret_id, mount_point=self.mount)
        elif self.method == "kubernetes":
            jwt = self._file(str(self.options.get("token_file", K8S_TOKEN_FILE)),
                             "Kubernetes service-account token")
            answer = client.auth.kubernetes.login(str(self.options["role"]), jwt, mount_point=self.mount)
        else:
            jwt = self._read(file_key="jwt_file", env_key="jwt_env", default_envs=("VAULT_JWT",),
                             what="JWT")
            answer = client.auth.jwt.jwt_login(str(self.options["role"]), jwt, path=self.mount)
        auth = _part(answer, "auth")
        return Login(str(auth["client_token"]), float(auth.get("lease_duration") or 0),
                     bool(auth.get("renewable")), now)


def _part(answer: Any, key: str) -> Mapping[str, Any]:
    """``answer[key]`` as a mapping; a foreign answer raises KeyError or TypeError, which the
    caller's translation reports as not Vault's JSON."""
    part = answer[key]
    if not isinstance(part, Mapping):
        raise TypeError(f"{key} is not an object")
    return part
