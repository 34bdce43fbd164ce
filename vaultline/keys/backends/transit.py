"""The ``transit`` backend: OpenBao / Vault Transit; private material never leaves the server.

Each ring is one Transit key (``key_prefix + ring name``); ring version *n* records which
Transit version it is. Signing, HMAC, data keys (``datakey/plaintext``), unwrapping and
rewrapping (server-side ``rewrap``) all name the version explicitly, so a staged ``next``
version on the server is never used before it is promoted. Retirement raises the key's
``min_decryption_version``; destruction trims versions below it (Transit can only trim the
oldest versions, so they are destroyed in order).
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from vaultline.errors import KeyManagementError, MissingExtraError
from vaultline.keys.backends.base import KeyBackend, NewVersion
from vaultline.keys.jwks import public_jwk
from vaultline.keys.model import KeyVersion, Purpose, RingRecord, State
from vaultline.keys.settings import TransitSettings


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _strip(value: str) -> bytes:
    """``vault:vN:<base64>`` -> bytes. JWS-marshaled signatures are URL-safe base64 and the
    rest standard; the URL-safe decoder reads both (``+`` and ``/`` stay valid)."""
    payload = value.split(":", 2)[-1].rstrip("=")
    return base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))


class TransitBackend(KeyBackend):
    name = "transit"

    def __init__(self, settings: TransitSettings, environ: Mapping[str, str]) -> None:
        try:
            import hvac
        except ImportError:
            raise MissingExtraError("the transit key backend", "vault") from None
        self.settings = settings
        self.mount = settings.mount.strip("/")
        self._client = hvac.Client(url=settings.resolve_url(environ),
                                   token=settings.resolve_token(environ),
                                   namespace=settings.namespace)

    def __repr__(self) -> str:
        return f"TransitBackend(mount={self.mount!r})"

    @contextlib.contextmanager
    def _call(self, record: RingRecord, what: str) -> Iterator[None]:
        """Translate hvac and connection errors at the boundary (never with key material)."""
        import hvac.exceptions
        import requests

        try:
            yield
        except hvac.exceptions.Forbidden:
            raise KeyManagementError(
                f"transit: permission denied to {what} for key ring {record.name!r}; the token's "
                f"policy needs {self.mount}/* on the ring's key"
            ) from None
        except hvac.exceptions.VaultError as exc:
            detail = "; ".join(str(e) for e in (exc.errors or [])) or type(exc).__name__
            raise KeyManagementError(
                f"transit: cannot {what} for key ring {record.name!r}: {detail}"
            ) from None
        except requests.RequestException as exc:
            raise KeyManagementError(
                f"transit: cannot reach the server to {what} ({type(exc).__name__}); check "
                "keys.backends.transit.url"
            ) from None

    def _post(self, record: RingRecord, what: str, path: str,
              body: Mapping[str, Any]) -> dict[str, Any]:
        with self._call(record, what):
            response = self._client.adapter.post(f"/v1/{self.mount}/{path}", json=dict(body))
        data: dict[str, Any] = (response or {}).get("data") or {}
        return data

    def _read(self, record: RingRecord) -> dict[str, Any]:
        with self._call(record, "read the key"):
            response = self._client.adapter.get(f"/v1/{self.mount}/keys/{self._key(record)}")
        data: dict[str, Any] = response["data"]
        return data

    @staticmethod
    def _key(record: RingRecord) -> str:
        return str(record.backend_ref["key"])

    @staticmethod
    def _ver(version: KeyVersion) -> int:
        return int(version.ref["transit_version"])

    # -- versions ---------------------------------------------------------------------------

    def setup_ring(self, record: RingRecord) -> Mapping[str, Any]:
        return {"key": self.settings.key_prefix + record.name, "mount": self.mount}

    def create_version(self, record: RingRecord, number: int) -> NewVersion:
        key = self._key(record)
        if not record.versions:
            body: dict[str, Any] = {"type": record.algorithm.transit_type}
            if record.purpose is Purpose.HMAC:
                body["key_size"] = 32
            self._post(record, "create the key", f"keys/{key}", body)
        else:
            self._post(record, "rotate the key", f"keys/{key}/rotate", {})
        data = self._read(record)
        latest = int(data["latest_version"])
        jwk = None
        if record.algorithm.asymmetric:
            jwk = public_jwk(self._public_key(record, data["keys"][str(latest)]["public_key"]))
        return NewVersion({"transit_version": latest}, jwk)

    @staticmethod
    def _public_key(record: RingRecord, text: str) -> Any:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519

        if record.alg == "EdDSA":
            return ed25519.Ed25519PublicKey.from_public_bytes(base64.b64decode(text))
        return serialization.load_pem_public_key(text.encode("ascii"))

    # -- signing ----------------------------------------------------------------------------

    def sign(self, record: RingRecord, version: KeyVersion, message: bytes) -> bytes:
        if record.purpose is not Purpose.SIGNING:
            raise self.unsupported(record, "sign")
        body: dict[str, Any] = {"input": _b64(message), "key_version": self._ver(version)}
        path = f"sign/{self._key(record)}"
        if record.alg == "ES256":
            path += "/sha2-256"
            body["marshaling_algorithm"] = "jws"  # raw r||s, as JWS wants, not ASN.1
        elif record.alg == "RS256":
            path += "/sha2-256"
            body["signature_algorithm"] = "pkcs1v15"
        return _strip(self._post(record, "sign", path, body)["signature"])

    def mac(self, record: RingRecord, version: KeyVersion, message: bytes) -> bytes:
        if record.purpose is not Purpose.HMAC:
            raise self.unsupported(record, "mac")
        data = self._post(record, "compute an HMAC", f"hmac/{self._key(record)}/sha2-256",
                          {"input": _b64(message), "key_version": self._ver(version)})
        return _strip(data["hmac"])

    # -- data keys --------------------------------------------------------------------------

    def _encryption(self, record: RingRecord, what: str) -> None:
        if record.purpose is not Purpose.ENCRYPTION:
            raise self.unsupported(record, what)

    def generate_data_key(self, record: RingRecord, version: KeyVersion) -> tuple[bytes, bytes]:
        self._encryption(record, "generate data keys")
        data = self._post(record, "generate a data key",
                          f"datakey/plaintext/{self._key(record)}",
                          {"bits": 256, "key_version": self._ver(version)})
        return base64.b64decode(data["plaintext"]), str(data["ciphertext"]).encode("ascii")

    def unwrap(self, record: RingRecord, version: KeyVersion, wrapped: bytes) -> bytes:
        self._encryption(record, "unwrap data keys")
        text = wrapped.decode("ascii", "replace")
        if not text.startswith(f"vault:v{self._ver(version)}:"):
            raise KeyManagementError(
                f"the wrapped data key does not belong to version {version.version} of "
                f"key ring {record.name!r}"
            )
        data = self._post(record, "decrypt a data key", f"decrypt/{self._key(record)}",
                          {"ciphertext": text})
        return base64.b64decode(data["plaintext"])

    def rewrap(self, record: RingRecord, source: KeyVersion, target: KeyVersion,
               wrapped: Sequence[bytes]) -> list[bytes]:
        self._encryption(record, "rewrap data keys")
        # Transit's batch_input rewraps many data keys in one request, on the server.
        data = self._post(record, "rewrap data keys", f"rewrap/{self._key(record)}", {
            "key_version": self._ver(target),
            "batch_input": [{"ciphertext": w.decode("ascii")} for w in wrapped],
        })
        results = data.get("batch_results") or []
        errors = [r["error"] for r in results if r.get("error")]
        if errors or len(results) != len(wrapped):
            raise KeyManagementError(f"transit: rewrap failed for key ring {record.name!r}: "
                                     f"{errors[0] if errors else 'short batch result'}")
        return [str(r["ciphertext"]).encode("ascii") for r in results]

    # -- lifecycle --------------------------------------------------------------------------

    def _floor(self, record: RingRecord) -> int:
        """The lowest Transit version that must still verify/decrypt."""
        active = [self._ver(v) for v in record.versions
                  if v.state in (State.NEXT, State.PRIMARY, State.RETIRING)]
        return min(active)

    def retired(self, record: RingRecord, versions: Sequence[KeyVersion]) -> None:
        floor = self._floor(record)
        current = int(self._read(record).get("min_decryption_version") or 1)
        if floor > current:
            self._post(record, "raise min_decryption_version",
                       f"keys/{self._key(record)}/config", {"min_decryption_version": floor})

    def destroy(self, record: RingRecord, version: KeyVersion) -> str:
        ver = self._ver(version)
        # ``record`` is already updated: destroyed versions have no ref left.
        remaining = sorted(self._ver(v) for v in record.versions if v.ref)
        lowest = remaining[0] if remaining else ver + 1
        if lowest < ver:
            return (f"Transit keeps version {ver} until the older versions are destroyed too (it "
                    "can only trim the oldest versions); vaultline no longer uses it")
        self._post(record, "configure the key", f"keys/{self._key(record)}/config",
                   {"min_decryption_version": self._floor(record),
                    "min_encryption_version": self._ver(record.primary)})
        self._post(record, "trim the key", f"keys/{self._key(record)}/trim",
                   {"min_available_version": lowest})
        return ""

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._client.adapter.close()
