"""What a key backend does for a ring: hold material, sign, MAC, wrap data keys, retire.

A ring's record (states, kids, times) always lives in the embedded store; a backend holds or
reaches the key material for each version, identified by ``KeyVersion.ref``. Backends whose
private material stays on a server (Transit, KMS) return no :meth:`KeyBackend.signing_key`;
the ring then signs through :meth:`KeyBackend.sign`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from vaultline.errors import KeyManagementError
from vaultline.keys.model import KeyVersion, RingRecord

DATA_KEY_BYTES = 32


@dataclass(frozen=True)
class NewVersion:
    """A version a backend just created: its handle (or material) and, if asymmetric, public JWK."""

    ref: Mapping[str, Any] = field(repr=False)
    jwk: Mapping[str, Any] | None = None


def context_bytes(record: RingRecord, version: KeyVersion) -> bytes:
    """Associated data for a wrapped data key: which ring and which key wrapped it."""
    return f"vaultline-kek/v1|{record.name}|{version.kid}".encode()


class KeyBackend(ABC):
    name: ClassVar[str]

    def setup_ring(self, record: RingRecord) -> Mapping[str, Any]:
        """Prepare a new ring (e.g. name its Transit key); returns ``backend_ref``."""
        return {}

    @abstractmethod
    def create_version(self, record: RingRecord, number: int) -> NewVersion: ...

    # -- signing ---------------------------------------------------------------------------

    def signing_key(self, record: RingRecord, version: KeyVersion) -> Any | None:
        """A key object PyJWT can sign with directly, or None when material stays remote."""
        return None

    def sign(self, record: RingRecord, version: KeyVersion, message: bytes) -> bytes:
        """A JWS signature (raw ``r||s`` for ES256) of ``message``."""
        raise self.unsupported(record, "sign")

    def mac(self, record: RingRecord, version: KeyVersion, message: bytes) -> bytes:
        """HMAC-SHA256 of ``message`` under an hmac ring's version."""
        raise self.unsupported(record, "mac")

    # -- envelope encryption ---------------------------------------------------------------

    def generate_data_key(self, record: RingRecord, version: KeyVersion) -> tuple[bytes, bytes]:
        """A fresh data key and its wrapped form under ``version``."""
        raise self.unsupported(record, "generate data keys")

    def unwrap(self, record: RingRecord, version: KeyVersion, wrapped: bytes) -> bytes:
        raise self.unsupported(record, "unwrap data keys")

    def rewrap(self, record: RingRecord, source: KeyVersion, target: KeyVersion,
               wrapped: Sequence[bytes]) -> list[bytes]:
        """Re-wrap data keys from ``source`` to ``target`` (server-side where the backend can)."""
        raise self.unsupported(record, "rewrap data keys")

    # -- lifecycle hooks (the record has already been updated) ------------------------------

    def retired(self, record: RingRecord, versions: Sequence[KeyVersion]) -> None:
        """Versions left the active set: tell the server so it refuses them too."""
        return None

    def destroy(self, record: RingRecord, version: KeyVersion) -> str:
        """Remove a version's material; returns a note for the operator (may be empty)."""
        return ""

    def close(self) -> None:
        return None

    def unsupported(self, record: RingRecord, what: str) -> KeyManagementError:
        return KeyManagementError(
            f"key ring {record.name!r} ({record.purpose.value}, {record.alg}) on backend "
            f"{self.name!r} cannot {what}"
        )
