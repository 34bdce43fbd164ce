"""docker compose secrets: each secret value in its own 0600 file, and the ``secrets:`` block.

``vaultline resolve --env prod --format compose --secrets-dir .vaultline/compose`` writes
``CONNECTIONSTRINGS__PRIMARY`` (the value, exactly) into a 0700 directory and prints

    secrets:
      connectionstrings__primary:
        file: /abs/.vaultline/compose/CONNECTIONSTRINGS__PRIMARY

for a compose file to ``include`` or paste; a service lists the names under its own ``secrets:``
and reads ``/run/secrets/<name>`` (the ``*_FILE`` convention). Non-secret values are not
written: they belong in ``environment:``.
"""

from __future__ import annotations

from pathlib import Path

from vaultline._files import owned_private_dir, write_private
from vaultline.errors import ConfigError
from vaultline.output.formats import env_pairs
from vaultline.resolve.bundle import Bundle


def write_secrets(bundle: Bundle, directory: Path, *, prefix: str = "") -> str:
    """Write the bundle's secrets under ``directory``; the compose ``secrets:`` YAML."""
    import yaml

    pairs = env_pairs(bundle, True, prefix)  # a refused bundle leaves nothing behind
    directory = directory.absolute()
    try:
        owned_private_dir(directory, "the secrets directory")
    except OSError as exc:
        raise ConfigError(f"cannot prepare the secrets directory: {exc.strerror}",
                          file=str(directory)) from None
    declared: dict[str, dict[str, str]] = {}
    for name, text, resolved in pairs:
        if resolved.secret:
            try:
                path = directory / name
                write_private(path, text.encode("utf-8"), durable=True)
            except OSError as exc:
                raise ConfigError(f"cannot write the secret file for {resolved.key!r}: "
                                  f"{exc.strerror}", file=str(directory / name)) from None
            declared[name.lower()] = {"file": str(path)}
    return str(yaml.safe_dump({"secrets": declared}, sort_keys=True)).rstrip("\n")
