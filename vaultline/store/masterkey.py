"""The master key of an embedded store, and the sub-keys derived from it.

Looked up in order: ``VAULTLINE_MASTER_KEY`` (base64 of 32 bytes), the file named by
``VAULTLINE_KEY_FILE``, then the default key file ``~/.config/vaultline/keys/<store-id>.key``
that ``vaultline init`` creates (mode 0600, outside the repository on purpose). A key file
that group or others can read is refused.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from vaultline._files import open_private, private_dir, refuse_loose
from vaultline._limits import read_bounded
from vaultline.errors import MasterKeyError

KEY_BYTES = 32
ENV_KEY = "VAULTLINE_MASTER_KEY"
ENV_KEY_FILE = "VAULTLINE_KEY_FILE"


class MasterKey(NamedTuple):
    material: bytes
    source: str  # where it came from, for error messages: never the key itself

    def derive(self, purpose: str) -> bytes:
        """A 32-byte sub-key for one purpose, so no two uses share key material."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                    info=f"vaultline/{purpose}/v1".encode())
        return hkdf.derive(self.material)

    def __repr__(self) -> str:
        return f"MasterKey(source={self.source!r})"


def generate() -> bytes:
    return os.urandom(KEY_BYTES)


def default_key_file(store_id: str, environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = Path(env.get("XDG_CONFIG_HOME") or Path(env.get("HOME", "~")) / ".config")
    return base.expanduser() / "vaultline" / "keys" / f"{store_id}.key"


def key_file_path(store_id: str, environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get(ENV_KEY_FILE):
        return Path(env[ENV_KEY_FILE]).expanduser()
    return default_key_file(store_id, env)


def _decode(text: str, source: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise MasterKeyError(f"master key from {source} is not valid base64") from None
    if len(raw) != KEY_BYTES:
        raise MasterKeyError(f"master key from {source} must be {KEY_BYTES} bytes, got {len(raw)}")
    return raw


def load(store_id: str, environ: Mapping[str, str] | None = None) -> MasterKey:
    env = os.environ if environ is None else environ
    if env.get(ENV_KEY):
        return MasterKey(_decode(env[ENV_KEY], ENV_KEY), ENV_KEY)
    path = key_file_path(store_id, env)
    try:
        refuse_loose(path, "master key file")
        # Bounded, and a FIFO or device is refused without blocking: opening a FIFO put in
        # the key file's place waited for a writer for ever.
        text = read_bounded(path, what="master key file", environ=env,
                            error=lambda reason: MasterKeyError(
                                f"master key file {path}: {reason}")).decode("ascii")
    except FileNotFoundError:
        raise MasterKeyError(
            f"no master key: {path} does not exist; set {ENV_KEY} or {ENV_KEY_FILE}, "
            "or run 'vaultline init' to create a store and its key"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MasterKeyError(f"cannot read master key file {path}: {exc.__class__.__name__}") from None
    return MasterKey(_decode(text, str(path)), str(path))


def write_key_file(path: Path, material: bytes) -> None:
    """Create the key file 0600 (its directory 0700); never overwrite an existing key."""
    private_dir(path.parent)
    fd = open_private(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(base64.b64encode(material).decode("ascii") + "\n")
