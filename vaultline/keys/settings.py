"""Where key backends live: the ``keys:`` section of vaultline.yaml.

    keys:
      backend: local                      # default for 'keys create' without --backend
      backends:
        transit:
          url: http://127.0.0.1:8200      # default: $BAO_ADDR or $VAULT_ADDR
          mount: transit                  # the Transit mount (default: transit)
          token_env: BAO_TOKEN            # default: $BAO_TOKEN, then $VAULT_TOKEN
          token_file: ~/.vault-token      # used when the variable is not set
          namespace: team-a               # optional
          key_prefix: vaultline-          # Transit key name = prefix + ring name
        kms:
          region: us-east-1               # default: the AWS SDK's own resolution
          endpoint_url: http://127.0.0.1:5000   # moto, LocalStack, or a VPC endpoint
          profile: platform               # optional AWS profile

Tokens are never written in vaultline.yaml: a ``token:`` field is refused.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vaultline._limits import nul_problem
from vaultline.errors import ConfigError
from vaultline.project._lines import line_of

BACKENDS = ("local", "transit", "kms")
_TRANSIT_FIELDS = {"url", "mount", "token_env", "token_file", "namespace", "key_prefix"}
_KMS_FIELDS = {"region", "endpoint_url", "profile"}


@dataclass(frozen=True)
class TransitSettings:
    url: str | None = None
    mount: str = "transit"
    token_env: str | None = None
    token_file: str | None = None
    namespace: str | None = None
    key_prefix: str = "vaultline-"

    def resolve_url(self, environ: Mapping[str, str]) -> str:
        url = self.url or environ.get("BAO_ADDR") or environ.get("VAULT_ADDR")
        if not url:
            raise ConfigError("the transit backend needs a server: set keys.backends.transit.url "
                              "in vaultline.yaml, or BAO_ADDR / VAULT_ADDR")
        return url

    def resolve_token(self, environ: Mapping[str, str]) -> str:
        names = [self.token_env] if self.token_env else ["BAO_TOKEN", "VAULT_TOKEN"]
        for name in names:
            if environ.get(name):
                return environ[name]
        if self.token_file:
            from vaultline._limits import read_bounded

            path = Path(self.token_file).expanduser()
            try:  # bounded and never blocking (a FIFO there)
                token = read_bounded(path, name="secret", what="the transit token file",
                                     environ=environ).decode("utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"cannot read the transit token file: {exc.strerror}",
                                  file=str(path)) from None
            except UnicodeDecodeError:
                raise ConfigError("the transit token file is not UTF-8 text",
                                  file=str(path)) from None
            if token:
                return token
        raise ConfigError(f"the transit backend needs a token: set {' or '.join(names)}, or "
                          "keys.backends.transit.token_file in vaultline.yaml")


@dataclass(frozen=True)
class KmsSettings:
    region: str | None = None
    endpoint_url: str | None = None
    profile: str | None = None


@dataclass(frozen=True)
class KeySettings:
    default_backend: str = "local"
    transit: TransitSettings = field(default_factory=TransitSettings)
    kms: KmsSettings = field(default_factory=KmsSettings)
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ), repr=False)

    @classmethod
    def from_section(cls, section: Any, *, file: str = "vaultline.yaml",
                     line: int | None = None,
                     environ: Mapping[str, str] | None = None) -> KeySettings:
        env = dict(os.environ if environ is None else environ)
        if section is None:
            return cls(environ=env)
        if not isinstance(section, Mapping):
            raise ConfigError("'keys' must be a mapping (backend:, backends:)", file=file,
                              line=line)
        unknown = set(section) - {"backend", "backends"}
        if unknown:
            name = sorted(unknown)[0]
            raise ConfigError(f"keys: unknown field {name!r}; known: backend, backends",
                              file=file, line=line_of(section, name))
        default = section.get("backend", "local")
        if default not in BACKENDS:
            raise ConfigError(f"keys.backend: {default!r} is not one of {', '.join(BACKENDS)}",
                              file=file, line=line_of(section, "backend"))
        backends = section.get("backends") or {}
        bline = line_of(section, "backends")
        if not isinstance(backends, Mapping):
            raise ConfigError("keys.backends must map backend names to settings", file=file,
                              line=bline)
        for name in backends:
            if name not in ("transit", "kms"):
                raise ConfigError(f"keys.backends: unknown backend {name!r}; configurable: "
                                  "transit, kms", file=file, line=line_of(backends, name))
        transit = _fields(backends.get("transit"), "transit", _TRANSIT_FIELDS, file,
                          line_of(backends, "transit"))
        kms = _fields(backends.get("kms"), "kms", _KMS_FIELDS, file, line_of(backends, "kms"))
        return cls(default, TransitSettings(**transit), KmsSettings(**kms), env)


def _fields(value: Any, name: str, allowed: set[str], file: str,
            line: int | None) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"keys.backends.{name} must be a mapping", file=file, line=line)
    for key, item in value.items():
        kline = line_of(value, key) or line
        if key == "token":
            raise ConfigError(f"keys.backends.{name}.token: never write a token in vaultline.yaml;"
                              " use token_env or token_file", file=file, line=kline)
        if key not in allowed:
            raise ConfigError(f"keys.backends.{name}: unknown field {key!r}; known: "
                              f"{', '.join(sorted(allowed))}", file=file, line=kline)
        if not isinstance(item, str):
            raise ConfigError(f"keys.backends.{name}.{key} must be a string", file=file,
                              line=kline)
        problem = nul_problem(item)
        if problem is not None:
            raise ConfigError(f"keys.backends.{name}.{key} {problem}", file=file, line=kline)
    return {str(k): str(v) for k, v in value.items()}
