"""Writing a bundle out: nested JSON, flat JSON, YAML, dotenv, environment variables, and a
Kubernetes Secret manifest. Secret values are masked unless ``reveal`` is set."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from vaultline import keypath
from vaultline.bundle import MASK, Bundle
from vaultline.errors import ConfigError

FORMATS = ("json", "flat-json", "yaml", "dotenv", "env", "k8s-secret")


def _flat(bundle: Bundle, reveal: bool) -> dict[str, Any]:
    return {r.key: (MASK if r.secret and not reveal else r.value)
            for r in bundle.resolved_values()}


def _env_pairs(bundle: Bundle, reveal: bool, prefix: str) -> list[tuple[str, str]]:
    return [(keypath.env_name(r.key, prefix), r.display(reveal=reveal))
            for r in bundle.resolved_values()]


def _dotenv_quote(value: str) -> str:
    # Single quotes are literal for python-dotenv and docker compose (no $ interpolation);
    # only values that cannot be single-quoted fall back to escaped double quotes.
    if "'" not in value and "\n" not in value:
        return f"'{value}'"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def render_json(bundle: Bundle, reveal: bool, prefix: str) -> str:
    return json.dumps(keypath.nest(_flat(bundle, reveal)), indent=2, ensure_ascii=False,
                      sort_keys=True)


def render_flat_json(bundle: Bundle, reveal: bool, prefix: str) -> str:
    return json.dumps(_flat(bundle, reveal), indent=2, ensure_ascii=False)


def render_yaml(bundle: Bundle, reveal: bool, prefix: str) -> str:
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text: str = yaml.dump(keypath.nest(_flat(bundle, reveal)), Dumper=dumper,
                          sort_keys=True, allow_unicode=True, default_flow_style=False)
    return text.rstrip("\n")


def render_dotenv(bundle: Bundle, reveal: bool, prefix: str) -> str:
    return "\n".join(f"{k}={_dotenv_quote(v)}" for k, v in _env_pairs(bundle, reveal, prefix))


def render_env(bundle: Bundle, reveal: bool, prefix: str) -> str:
    import shlex

    return "\n".join(f"{k}={shlex.quote(v)}" for k, v in _env_pairs(bundle, reveal, prefix))


def render_k8s_secret(bundle: Bundle, reveal: bool, prefix: str) -> str:
    import yaml

    if not reveal:
        raise ConfigError("a Kubernetes Secret holds real values: add --reveal (and prefer "
                          "ExternalSecret references in git)")
    doc = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": f"config-{bundle.env}"},
        "type": "Opaque",
        "data": {k: base64.b64encode(v.encode()).decode()
                 for k, v in _env_pairs(bundle, True, prefix)},
    }
    return str(yaml.safe_dump(doc, sort_keys=False)).rstrip("\n")


RENDERERS: dict[str, Callable[[Bundle, bool, str], str]] = {
    "json": render_json,
    "flat-json": render_flat_json,
    "yaml": render_yaml,
    "dotenv": render_dotenv,
    "env": render_env,
    "k8s-secret": render_k8s_secret,
}


def render(bundle: Bundle, fmt: str, *, reveal: bool = False, prefix: str = "") -> str:
    return RENDERERS[fmt](bundle, reveal, prefix)


__all__ = ["FORMATS", "render"]
