"""An encrypted on-disk cache of compiled maskers, so a repeated ``run`` skips compiling.

Compiling tens of thousands of literals into a Hyperscan database costs seconds; the
serialized database and the patterns it was built from are secret-derived, so they are kept
only encrypted (AES-GCM under a key derived from the store's master key), in a 0600 file
written by rename. The slot is found by a keyed hash of the environment's name; the entry
is bound (as associated data) to a keyed hash of the exact secret values, the mask forms'
version and the Hyperscan version, so any change of a value is a miss, never a wrong masker.
Only a regular file of bounded size is read: a FIFO, a device or a symlink in the slot is a
miss too, so whoever can write the directory cannot hang a ``run`` or fill its memory.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
import sys
from array import array
from collections.abc import Iterable
from itertools import accumulate, pairwise
from pathlib import Path

from vaultline._files import private_dir, write_private
from vaultline._limits import read_bounded
from vaultline.errors import ConfigError

#: Bump when the encoded forms of a value or the serialized layout change: old entries miss.
FORMAT = b"vaultline-masker-6"


class MaskerCache:
    def __init__(self, directory: Path, key: bytes, name: str):
        self._dir = directory
        self._key = key
        slot = hmac.new(key, b"slot\0" + name.encode(), hashlib.sha256).hexdigest()[:24]
        self._path = directory / f"masker-{slot}.bin"

    def __repr__(self) -> str:
        return f"<MaskerCache {self._path.name}>"

    def digest(self, secrets: Iterable[str], version: str) -> bytes:
        mac = hmac.new(self._key, FORMAT + b"\0" + version.encode(), hashlib.sha256)
        for value in sorted(set(secrets)):
            data = value.encode("utf-8", "surrogatepass")
            mac.update(struct.pack(">I", len(data)))
            mac.update(data)
        return mac.digest()

    def load(self, digest: bytes) -> tuple[list[bytes], bytes] | None:
        """(patterns, serialized database) stored under `digest`, or None."""
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        blob = self._read()
        if blob is None:
            return None
        try:
            plain = AESGCM(self._key).decrypt(blob[:12], blob[12:], digest)
        except (ValueError, InvalidTag):
            return None  # missing, damaged or for other values: compile afresh
        (count,) = struct.unpack_from(">I", plain)
        lengths = array("I")
        lengths.frombytes(plain[4 : 4 + 4 * count])
        if sys.byteorder != "little":
            lengths.byteswap()
        at = 4 + 4 * count
        # One pass of C-level slicing: this runs for every pattern (tens of thousands).
        ends = list(accumulate(lengths, initial=at))
        patterns = [plain[b:e] for b, e in pairwise(ends)]
        return patterns, plain[ends[-1]:]

    def _read(self) -> bytes | None:
        """The slot's bytes, or None for anything but a regular file within its limit (a
        FIFO, a device, a symlink there: a miss, never a hang or a read without end)."""
        try:
            return read_bounded(self._path, name="masker-cache", follow_symlinks=False)
        except (OSError, ConfigError):
            return None

    def save(self, digest: bytes, patterns: list[bytes], database: bytes) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        lengths = array("I", (len(p) for p in patterns))
        if sys.byteorder != "little":
            lengths.byteswap()
        pieces = [struct.pack(">I", len(patterns)), lengths.tobytes(), *patterns, database]
        nonce = os.urandom(12)
        blob = nonce + AESGCM(self._key).encrypt(nonce, b"".join(pieces), digest)
        try:
            private_dir(self._dir)
            write_private(self._path, blob)
        except OSError:
            pass  # a read-only store directory only costs speed
