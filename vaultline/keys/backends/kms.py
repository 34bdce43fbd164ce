"""The ``kms`` backend: AWS KMS through boto3 (and moto_server in tests).

KMS has no user-visible key versions, so each ring version is its own KMS key (tagged with
the ring and version). Data keys come from ``GenerateDataKey``, are unwrapped by ``Decrypt``
and rewrapped server-side by ``ReEncrypt``; the encryption context ``{"vaultline:ring": name}``
binds them to the ring. Signing uses ``Sign`` (ES256: ECDSA_SHA_256, converted from DER to
JWS ``r||s``; RS256: RSASSA_PKCS1_V1_5_SHA_256), HS256 uses ``GenerateMac`` on HMAC_256 keys.
Retiring disables the KMS key; destroying schedules its deletion (7 days, the KMS minimum).

Not available: EdDSA (this backend does not map an Ed25519 key spec, and moto implements
none). moto also does not refuse disabled keys, so retirement is enforced by vaultline itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from vaultline.errors import KeyManagementError, KeyUsageError, MissingExtraError
from vaultline.keys.backends.base import KeyBackend, NewVersion
from vaultline.keys.jwks import public_jwk
from vaultline.keys.model import KeyVersion, Purpose, RingRecord
from vaultline.keys.settings import KmsSettings

DELETION_WINDOW_DAYS = 7
_SIGNING = {"ES256": "ECDSA_SHA_256", "RS256": "RSASSA_PKCS1_V1_5_SHA_256"}
_USAGE = {Purpose.SIGNING: "SIGN_VERIFY", Purpose.HMAC: "GENERATE_VERIFY_MAC",
          Purpose.ENCRYPTION: "ENCRYPT_DECRYPT"}


class KmsBackend(KeyBackend):
    name = "kms"

    def __init__(self, settings: KmsSettings) -> None:
        try:
            import boto3
        except ImportError:
            raise MissingExtraError("the kms key backend", "aws") from None
        from botocore.exceptions import BotoCoreError

        try:
            session = boto3.session.Session(profile_name=settings.profile,
                                            region_name=settings.region)
            self._client: Any = session.client("kms", endpoint_url=settings.endpoint_url)
        except BotoCoreError as exc:  # no region, an unknown profile: configuration
            raise KeyUsageError(f"kms: cannot set up the AWS client ({type(exc).__name__}); "
                                "set keys.backends.kms.region (or AWS_REGION) and the profile")\
                from None

    def __repr__(self) -> str:
        return "KmsBackend()"

    @contextlib.contextmanager
    def _call(self, record: RingRecord, what: str) -> Iterator[None]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "error")
            raise KeyManagementError(f"kms: cannot {what} for key ring {record.name!r}: {code}") \
                from None
        except BotoCoreError as exc:
            raise KeyManagementError(
                f"kms: cannot {what} for key ring {record.name!r} ({type(exc).__name__}); check "
                "keys.backends.kms and the AWS credentials"
            ) from None

    @staticmethod
    def _id(version: KeyVersion) -> str:
        return str(version.ref["key_id"])

    @staticmethod
    def _context(record: RingRecord) -> dict[str, str]:
        return {"vaultline:ring": record.name}

    def create_version(self, record: RingRecord, number: int) -> NewVersion:
        spec = record.algorithm.kms_spec
        if spec is None:
            raise KeyUsageError(f"the kms backend has no key spec for {record.alg}; use "
                                     "ES256 or RS256 for signing rings on KMS")
        with self._call(record, "create a key"):
            made = self._client.create_key(
                KeySpec=spec, KeyUsage=_USAGE[record.purpose],
                Description=f"vaultline key ring {record.name} version {number}",
                Tags=[{"TagKey": "vaultline:ring", "TagValue": record.name},
                      {"TagKey": "vaultline:version", "TagValue": str(number)}],
            )["KeyMetadata"]
        jwk = None
        if record.algorithm.asymmetric:
            from cryptography.hazmat.primitives import serialization

            with self._call(record, "read the public key"):
                der = self._client.get_public_key(KeyId=made["KeyId"])["PublicKey"]
            jwk = public_jwk(serialization.load_der_public_key(der))  # type: ignore[arg-type]
        return NewVersion({"key_id": made["KeyId"], "arn": made["Arn"]}, jwk)

    def sign(self, record: RingRecord, version: KeyVersion, message: bytes) -> bytes:
        algorithm = _SIGNING.get(record.alg)
        if algorithm is None:
            raise self.unsupported(record, "sign")
        with self._call(record, "sign"):
            signature: bytes = self._client.sign(KeyId=self._id(version), Message=message,
                                                 MessageType="RAW",
                                                 SigningAlgorithm=algorithm)["Signature"]
        if record.alg == "ES256":
            from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

            r, s = decode_dss_signature(signature)  # KMS returns DER; JWS wants r||s
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return signature

    def mac(self, record: RingRecord, version: KeyVersion, message: bytes) -> bytes:
        if record.purpose is not Purpose.HMAC:
            raise self.unsupported(record, "mac")
        with self._call(record, "compute an HMAC"):
            mac: bytes = self._client.generate_mac(KeyId=self._id(version), Message=message,
                                                   MacAlgorithm="HMAC_SHA_256")["Mac"]
        return mac

    def generate_data_key(self, record: RingRecord, version: KeyVersion) -> tuple[bytes, bytes]:
        if record.purpose is not Purpose.ENCRYPTION:
            raise self.unsupported(record, "generate data keys")
        with self._call(record, "generate a data key"):
            made = self._client.generate_data_key(KeyId=self._id(version), KeySpec="AES_256",
                                                  EncryptionContext=self._context(record))
        return made["Plaintext"], made["CiphertextBlob"]

    def unwrap(self, record: RingRecord, version: KeyVersion, wrapped: bytes) -> bytes:
        with self._call(record, "decrypt a data key"):
            plain: bytes = self._client.decrypt(KeyId=self._id(version), CiphertextBlob=wrapped,
                                                EncryptionContext=self._context(record))["Plaintext"]
        return plain

    def rewrap(self, record: RingRecord, source: KeyVersion, target: KeyVersion,
               wrapped: Sequence[bytes]) -> list[bytes]:
        context = self._context(record)
        out: list[bytes] = []
        with self._call(record, "re-encrypt data keys"):
            for blob in wrapped:  # ReEncrypt: the data key is never seen outside KMS
                out.append(self._client.re_encrypt(
                    CiphertextBlob=blob, SourceKeyId=self._id(source),
                    SourceEncryptionContext=context, DestinationKeyId=self._id(target),
                    DestinationEncryptionContext=context)["CiphertextBlob"])
        return out

    def retired(self, record: RingRecord, versions: Sequence[KeyVersion]) -> None:
        with self._call(record, "disable a retired key"):
            for version in versions:
                if version.ref:
                    self._client.disable_key(KeyId=self._id(version))

    def destroy(self, record: RingRecord, version: KeyVersion) -> str:
        with self._call(record, "schedule key deletion"):
            self._client.schedule_key_deletion(KeyId=self._id(version),
                                               PendingWindowInDays=DELETION_WINDOW_DAYS)
        return f"KMS deletes the key material after {DELETION_WINDOW_DAYS} days (its minimum)"

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._client.close()
