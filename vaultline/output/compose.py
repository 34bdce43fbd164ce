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

import os
import secrets as _random
from pathlib import Path

from vaultline._files import private_dir
from vaultline.errors import ConfigError
from vaultline.output.formats import env_pairs
from vaultline.resolve.bundle import Bundle


def _write_private(directory: Path, name: str, value: str) -> Path:
    # A temporary 0600 file renamed over the old one: never a half-written or loose file.
    path = directory / name
    temp = directory / f".{name}.{_random.token_hex(6)}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        os.write(fd, value.encode("utf-8"))
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        temp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(temp, path)
    return path


def write_secrets(bundle: Bundle, directory: Path, *, prefix: str = "") -> str:
    """Write the bundle's secrets under ``directory``; the compose ``secrets:`` YAML."""
    import yaml

    directory = directory.absolute()
    try:
        os.chmod(private_dir(directory), 0o700)  # its new parents 0700 too, whatever the umask
    except OSError as exc:
        raise ConfigError(f"cannot prepare the secrets directory: {exc.strerror}",
                          file=str(directory)) from None
    declared: dict[str, dict[str, str]] = {}
    for name, text, resolved in env_pairs(bundle, True, prefix):
        if resolved.secret:
            try:
                path = _write_private(directory, name, text)
            except OSError as exc:
                raise ConfigError(f"cannot write the secret file for {resolved.key!r}: "
                                  f"{exc.strerror}", file=str(directory / name)) from None
            declared[name.lower()] = {"file": str(path)}
    return str(yaml.safe_dump({"secrets": declared}, sort_keys=True)).rstrip("\n")
