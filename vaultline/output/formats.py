"""Writing a bundle out, each format in its consumer's own convention, handing it the exact bytes.

    json, flat-json, yaml   the bundle itself
    dotenv                  python-dotenv and docker compose ``env_file``
    gitlab-dotenv           GitLab's ``artifacts:reports:dotenv`` (one raw ``KEY=VALUE`` a line)
    env, shell              POSIX shell: ``NAME='value'`` / ``export NAME='value'``
    docker-env              ``docker run --env-file`` (raw ``KEY=VALUE``, no quoting at all)
    k8s-secret              a Kubernetes Secret manifest (``--name``, ``--namespace``)

A value a format cannot carry exactly is refused with the key named, never altered. Secret
values are masked unless ``reveal`` is set.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
from collections.abc import Callable
from typing import Any, NamedTuple

from vaultline.errors import ConfigError
from vaultline.project import keypath
from vaultline.resolve.bundle import MASK, Bundle, ResolvedValue

FORMATS = ("json", "flat-json", "yaml", "dotenv", "gitlab-dotenv", "env", "shell", "docker-env",
           "k8s-secret")


class RenderOptions(NamedTuple):
    reveal: bool = False
    prefix: str = ""
    name: str | None = None  # k8s-secret: metadata.name (default config-<env>)
    namespace: str | None = None  # k8s-secret: metadata.namespace


def _flat(bundle: Bundle, reveal: bool) -> dict[str, Any]:
    return {r.key: (MASK if r.secret and not reveal else r.value)
            for r in bundle.resolved_values()}


def env_pairs(bundle: Bundle, reveal: bool, prefix: str) -> list[tuple[str, str, ResolvedValue]]:
    """``(variable name, text, resolved value)`` per key; every name a shell variable name of
    one key only, no text holding a NUL byte."""
    values = bundle.resolved_values()
    pairs = []
    for name, r in zip(keypath.env_names([r.key for r in values], prefix), values, strict=True):
        text = r.display(reveal=reveal)
        if "\0" in text:
            # No environment variable and no shell word can hold a NUL byte.
            raise ConfigError(f"{r.key!r}: its value holds a NUL byte, which no environment "
                              "variable can carry; use --format json or 'vaultline run --files'")
        pairs.append((name, text, r))
    return pairs


def _refuse(key: str, fmt: str, why: str, instead: str) -> ConfigError:
    return ConfigError(f"{key!r}: --format {fmt} cannot carry its value exactly ({why}); {instead}")


def _dotenv_quote(key: str, value: str) -> str:
    # python-dotenv expands ${NAME} in every quoting (and has no escape for it). Otherwise
    # single quotes are literal in both python-dotenv and compose, except that python-dotenv
    # decodes backslash escapes there and reads a lone CR as a line end: they fit any value
    # without ', \ or CR. Double quotes take \\ \" \n \r escapes in both, but both
    # interpolate $ there.
    if "${" in value:
        raise _refuse(key, "dotenv", "python-dotenv expands '${' in every quoting",
                      "use --format shell, json or 'vaultline run'")
    if "'" not in value and "\\" not in value and "\r" not in value:
        return f"'{value}'"
    if "$" not in value:
        escaped = (value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
                   .replace("\r", "\\r"))
        return f'"{escaped}"'
    raise _refuse(key, "dotenv", "it has a quote or backslash and a '$', which python-dotenv "
                  "and docker compose read back differently in every quoting",
                  "use --format shell, json or 'vaultline run'")


def render_json(bundle: Bundle, opts: RenderOptions) -> str:
    return json.dumps(keypath.nest(_flat(bundle, opts.reveal)), indent=2, ensure_ascii=False,
                      sort_keys=True)


def render_flat_json(bundle: Bundle, opts: RenderOptions) -> str:
    return json.dumps(_flat(bundle, opts.reveal), indent=2, ensure_ascii=False)


def render_yaml(bundle: Bundle, opts: RenderOptions) -> str:
    from vaultline.project._yaml import dump

    return dump(keypath.nest(_flat(bundle, opts.reveal))).rstrip("\n")


def render_dotenv(bundle: Bundle, opts: RenderOptions) -> str:
    return "\n".join(f"{k}={_dotenv_quote(r.key, v)}"
                     for k, v, r in env_pairs(bundle, opts.reveal, opts.prefix))


def render_gitlab_dotenv(bundle: Bundle, opts: RenderOptions) -> str:
    # GitLab splits each line at the first '=', strips both sides, keeps quotes as they are
    # and expands $VAR in the variables it creates: only a raw single-line value survives.
    lines = []
    for k, v, r in env_pairs(bundle, opts.reveal, opts.prefix):
        why = ("it spans lines" if "\n" in v or "\r" in v
               else "it holds a '$', which GitLab expands" if "$" in v
               else "it starts or ends with whitespace, which GitLab strips" if v != v.strip()
               else "")
        if why:
            raise _refuse(r.key, "gitlab-dotenv", why, "pass it as a masked CI/CD variable or "
                          "use 'vaultline run' in the job")
        lines.append(f"{k}={v}")
    return "\n".join(lines)


def render_env(bundle: Bundle, opts: RenderOptions) -> str:
    return "\n".join(f"{k}={shlex.quote(v)}"
                     for k, v, _ in env_pairs(bundle, opts.reveal, opts.prefix))


def render_shell(bundle: Bundle, opts: RenderOptions) -> str:
    # shlex.quote single-quotes anything but a plain word: bash, zsh and dash read back every
    # byte (quotes, $, backticks, newlines, unicode) with eval and source alike.
    return "\n".join(f"export {k}={shlex.quote(v)}"
                     for k, v, _ in env_pairs(bundle, opts.reveal, opts.prefix))


def render_docker_env(bundle: Bundle, opts: RenderOptions) -> str:
    # docker reads everything after the first '=' verbatim, up to the end of the line.
    lines = []
    for k, v, r in env_pairs(bundle, opts.reveal, opts.prefix):
        if "\n" in v or "\r" in v:
            raise _refuse(r.key, "docker-env", "it spans lines, and --env-file has no quoting",
                          "use --files (vaultline run --files /run/secrets) or --format compose")
        lines.append(f"{k}={v}")
    return "\n".join(lines)


# What the API server accepts: a Secret's name is a DNS subdomain, a namespace a DNS label,
# a data key letters, digits, '-', '_' and '.'.
_K8S_NAME = re.compile(r"(?=.{1,253}\Z)[a-z0-9]([-a-z0-9.]*[a-z0-9])?")
_K8S_NAMESPACE = re.compile(r"(?=.{1,63}\Z)[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_K8S_KEY = re.compile(r"[-._a-zA-Z0-9]{1,253}")


def k8s_namespace(namespace: str) -> str:
    """``namespace`` if the API server would take it, else a ConfigError saying why."""
    if not _K8S_NAMESPACE.fullmatch(namespace):
        raise ConfigError(f"namespace {namespace!r} is not a Kubernetes namespace (up to 63 "
                          "lowercase letters, digits and '-')")
    return namespace


def render_k8s_secret(bundle: Bundle, opts: RenderOptions) -> str:
    import yaml

    if not opts.reveal:
        raise ConfigError("a Kubernetes Secret holds real values: add --reveal (and prefer "
                          "ExternalSecret references in git)")
    name = opts.name or f"config-{bundle.env}"
    if not _K8S_NAME.fullmatch(name):
        raise ConfigError(f"Secret name {name!r} is not a Kubernetes name (lowercase letters, "
                          "digits, '-' and '.'); pass --name")
    metadata: dict[str, str] = {"name": name}
    if opts.namespace:
        metadata["namespace"] = k8s_namespace(opts.namespace)
    pairs = env_pairs(bundle, True, opts.prefix)
    bad = next((k for k, _, _ in pairs if not _K8S_KEY.fullmatch(k)), None)
    if bad is not None:
        raise ConfigError(f"{bad!r} cannot be a Secret data key (letters, digits, '-', '_', '.'); "
                          "change --prefix")
    doc = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": "Opaque",
        "data": {k: base64.b64encode(v.encode()).decode() for k, v, _ in pairs},
    }
    return str(yaml.safe_dump(doc, sort_keys=False)).rstrip("\n")


RENDERERS: dict[str, Callable[[Bundle, RenderOptions], str]] = {
    "json": render_json,
    "flat-json": render_flat_json,
    "yaml": render_yaml,
    "dotenv": render_dotenv,
    "gitlab-dotenv": render_gitlab_dotenv,
    "env": render_env,
    "shell": render_shell,
    "docker-env": render_docker_env,
    "k8s-secret": render_k8s_secret,
}


def render(bundle: Bundle, fmt: str, *, reveal: bool = False, prefix: str = "",
           name: str | None = None, namespace: str | None = None) -> str:
    return RENDERERS[fmt](bundle, RenderOptions(reveal, prefix, name, namespace))


__all__ = ["FORMATS", "RenderOptions", "env_pairs", "k8s_namespace", "render"]
