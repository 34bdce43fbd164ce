"""A key ring as callers use it: sign and verify JWTs and webhooks, encrypt, decrypt, rewrap.

The ring keeps its record in memory (a store read per token would cost more than the
signature) and re-reads it after ``refresh_after`` seconds, or at once when it meets a kid it
does not know — so a version staged or rotated by another process is picked up. Lifecycle
operations (rotate, stage, promote, retire, destroy) go through :class:`KeyManager`, which
writes the record with check-and-set and audits each one.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, BinaryIO

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vaultline.errors import IntegrityError, KeyManagementError, KeyUsageError, VerificationError
from vaultline.keys import envelope, jwks, stream, webhook
from vaultline.keys import jwt as jwt_mod
from vaultline.keys.backends.base import KeyBackend
from vaultline.keys.model import KeyVersion, Purpose, RingRecord, State

if TYPE_CHECKING:
    from vaultline.keys.manager import KeyManager

REFRESH_AFTER = 30.0
_KID_SHOWN = 80  # characters of an unknown kid an error shows


class KeyRing:
    def __init__(self, manager: KeyManager, record: RingRecord, *,
                 refresh_after: float = REFRESH_AFTER) -> None:
        self._manager = manager
        self._record = record
        self._loaded = time.monotonic()
        self._refresh_after = refresh_after
        self._public: dict[str, Any] = {}  # kid -> public key object, for local verification
        self._aad_cache: dict[bytes, bytes] = {}

    def __repr__(self) -> str:
        return f"KeyRing({self._record.name!r}, {self._record.purpose.value}, {self._record.alg}, " \
               f"backend={self._record.backend!r})"

    # -- the record --------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._record.name

    @property
    def record(self) -> RingRecord:
        if time.monotonic() - self._loaded > self._refresh_after:
            self.refresh()
        return self._record

    def refresh(self) -> RingRecord:
        self._record = self._manager.load_record(self._record.name)
        self._loaded = time.monotonic()
        return self._record

    def _set(self, record: RingRecord) -> None:
        self._record = record
        self._loaded = time.monotonic()

    @property
    def backend(self) -> KeyBackend:
        return self._manager.backend(self._record.backend)

    @property
    def versions(self) -> tuple[KeyVersion, ...]:
        return self.record.versions

    @property
    def primary(self) -> KeyVersion:
        return self.record.primary

    def _require(self, purpose: Purpose, what: str) -> RingRecord:
        record = self.record
        if record.purpose is not purpose:
            raise KeyUsageError(
                f"key ring {record.name!r} is a {record.purpose.value} ring; {what} needs a ring "
                f"with purpose {purpose.value}"
            )
        return record

    def _by_kid(self, kid: str) -> tuple[RingRecord, KeyVersion]:
        """The version with ``kid`` if it may still verify/decrypt; re-reads once if unknown."""
        record = self.record
        found = record.by_kid(kid)
        if found is None:
            record = self.refresh()
            found = record.by_kid(kid)
        if found is None:
            # The kid comes from the token or ciphertext, whoever made it: shown bounded.
            shown = kid if len(kid) <= _KID_SHOWN else kid[:_KID_SHOWN] + "…"
            raise VerificationError(f"key ring {record.name!r} has no key with kid {shown!r}")
        state = found.effective_state(self._manager.now())
        if state not in (State.NEXT, State.PRIMARY, State.RETIRING):
            raise VerificationError(
                f"kid {kid!r} is version {found.version} of key ring {record.name!r}, which is "
                f"{state.value}"
            )
        return record, found

    def _active(self, record: RingRecord) -> list[KeyVersion]:
        now = self._manager.now()
        return [v for v in record.versions if v.usable(now)]

    # -- lifecycle (see KeyManager) -------------------------------------------------------------

    def rotate(self, *, grace: timedelta | None = None) -> KeyVersion:
        rotated = self._manager.rotate(self.name, grace=grace)
        assert rotated is not None  # only rotate(only_if_due=True) may skip
        return rotated

    def stage(self) -> KeyVersion:
        return self._manager.stage(self.name)

    def promote(self, *, grace: timedelta | None = None) -> KeyVersion:
        return self._manager.promote(self.name, grace=grace)

    def retire(self, version: int | None = None) -> list[KeyVersion]:
        return self._manager.retire(self.name, version)

    def destroy(self, version: int) -> KeyVersion:
        return self._manager.destroy(self.name, version)

    # -- JWT -------------------------------------------------------------------------------------

    def sign_jwt(self, claims: Mapping[str, Any]) -> str:
        """A JWT signed by the primary version, its kid in the header."""
        record = self.record
        if record.purpose is Purpose.ENCRYPTION:
            raise KeyUsageError(f"key ring {record.name!r} is an encryption ring; sign with "
                                     "a signing or hmac ring")
        primary = record.primary
        backend = self.backend
        key = backend.signing_key(record, primary)
        if key is not None:
            token = jwt_mod.sign(claims, alg=record.alg, kid=primary.kid, key=key)
        elif record.purpose is Purpose.HMAC:
            token = jwt_mod.sign(claims, alg=record.alg, kid=primary.kid,
                                 signer=lambda m: backend.mac(record, primary, m))
        else:
            token = jwt_mod.sign(claims, alg=record.alg, kid=primary.kid,
                                 signer=lambda m: backend.sign(record, primary, m))
        self._manager.audit_use("key.sign", record, primary)
        return token

    def _verification_key(self, record: RingRecord, version: KeyVersion) -> Any | None:
        if version.jwk is not None:
            key = self._public.get(version.kid)
            if key is None:
                key = self._public[version.kid] = jwks.load_public(version.jwk)
            return key
        return self.backend.signing_key(record, version)

    def verify_jwt(self, token: str, *, issuer: str | Iterable[str] | None = None,
                   audience: str | Iterable[str] | None = None, leeway: float = 0.0,
                   require: Iterable[str] = ()) -> dict[str, Any]:
        """The claims of a token signed by a next, primary or retiring version of this ring.

        Raises VerificationError for a bad signature, an unknown or retired kid, or a failed
        claim check (exp, nbf, iat, iss, aud, with ``leeway`` seconds).
        """
        record = self.record
        if record.purpose is Purpose.ENCRYPTION:
            raise KeyUsageError(f"key ring {record.name!r} is an encryption ring")
        head = jwt_mod.header(token)
        kid = head.get("kid")
        if not isinstance(kid, str):
            raise VerificationError("token rejected: its header has no kid")
        if head.get("alg") != record.alg:
            raise VerificationError(
                f"token rejected: alg {head.get('alg')!r} is not this ring's {record.alg}"
            )
        record, version = self._by_kid(kid)
        key = self._verification_key(record, version)
        if key is not None:
            claims = jwt_mod.verify_signature(token, alg=record.alg, key=key)
        else:
            backend = self.backend

            def verifier(message: bytes, signature: bytes) -> bool:
                import hmac

                return hmac.compare_digest(backend.mac(record, version, message), signature)

            claims = jwt_mod.verify_signature(token, alg=record.alg, verifier=verifier)
        jwt_mod.check_claims(claims, now=self._manager.now(), leeway=leeway, issuer=issuer,
                             audience=audience, require=require)
        return claims

    def jwks(self) -> dict[str, Any]:
        """The public JWKS: next, primary and retiring versions; never private members."""
        return jwks.ring_jwks(self.record, self._manager.now())

    # -- webhook signatures ------------------------------------------------------------------

    def _macs(self, record: RingRecord, versions: Sequence[KeyVersion]) -> list[webhook.Mac]:
        backend = self.backend

        def mac_for(version: KeyVersion) -> webhook.Mac:
            return lambda message: backend.mac(record, version, message)

        return [mac_for(v) for v in versions]

    def sign_webhook(self, body: bytes, *, timestamp: int | None = None) -> str:
        """``t=…,v1=…``: one v1 per active version, so receivers mid-rotation accept it."""
        record = self._require(Purpose.HMAC, "webhook signing")
        stamp = int(self._manager.now().timestamp()) if timestamp is None else timestamp
        active = sorted(self._active(record), key=lambda v: v.state is not State.PRIMARY)
        return webhook.sign(body, timestamp=stamp, macs=self._macs(record, active))

    def verify_webhook(self, header: str, body: bytes, *,
                       tolerance: float = webhook.DEFAULT_TOLERANCE) -> int:
        record = self._require(Purpose.HMAC, "webhook verification")
        return webhook.verify(header, body, now=self._manager.now(), tolerance=tolerance,
                              macs=self._macs(record, self._active(record)))

    # -- envelope encryption -----------------------------------------------------------------

    def _aad(self, record: RingRecord, context: Mapping[str, str] | None) -> bytes:
        if not context:
            cached = self._aad_cache.get(b"")
            if cached is None:
                cached = self._aad_cache[b""] = envelope.payload_aad(record.name, None)
            return cached
        return envelope.payload_aad(record.name, context)

    def encrypt(self, data: envelope.Blob, *,
                context: Mapping[str, str] | None = None) -> bytearray:
        """A self-describing blob: ring, kid, wrapped data key, nonce, ciphertext.

        It is a ``bytearray``: the ciphertext is sealed straight into the blob's one buffer
        (``encrypt_into``) instead of being copied behind the header, which for large
        payloads costs as much as the encryption itself.
        """
        record = self._require(Purpose.ENCRYPTION, "encrypt")
        primary = record.primary
        data_key, wrapped = self.backend.generate_data_key(record, primary)
        header = envelope.pack_header(envelope.MAGIC, record.name, primary.kid, wrapped)
        nonce = os.urandom(envelope.NONCE_BYTES)
        start = len(header) + envelope.NONCE_BYTES
        blob = bytearray(start + len(data) + envelope.TAG_BYTES)
        blob[:len(header)] = header
        blob[len(header):start] = nonce
        AESGCM(data_key).encrypt_into(nonce, data, self._aad(record, context),
                                      memoryview(blob)[start:])
        self._manager.audit_use("key.encrypt", record, primary)
        return blob

    def _open_header(self, header: envelope.Header) -> tuple[RingRecord, KeyVersion]:
        record = self._require(Purpose.ENCRYPTION, "decrypt")
        if header.ring != record.name:
            raise KeyManagementError(
                f"this blob belongs to key ring {header.ring!r}, not {record.name!r}"
            )
        return self._by_kid_for_decrypt(header.kid)

    def decrypt(self, blob: envelope.Blob, *,
                context: Mapping[str, str] | None = None) -> bytes:
        """The plaintext; IntegrityError if tampered with or the context differs."""
        view = memoryview(blob)
        header = envelope.parse_header(view)
        record, version = self._open_header(header)
        data_key = self.backend.unwrap(record, version, header.wrapped_key)
        plain = envelope.open_payload(data_key, view[header.size:], self._aad(record, context))
        self._manager.audit_use("key.decrypt", record, version)
        return plain

    def rewrap(self, blob: envelope.Blob) -> envelope.Blob:
        """The blob with its data key re-wrapped under the primary; the payload is untouched.

        Returns the blob itself when it is already wrapped under the primary.
        """
        return self.rewrap_many([blob])[0]

    def rewrap_many(self, blobs: Sequence[envelope.Blob], *,
                    in_place: bool = False) -> list[envelope.Blob]:
        """Rewrap many blobs, one backend call per source version (Transit: one request).

        With ``in_place``, a ``bytearray`` blob whose new header has the size of the old one
        (always so on the local backend) is updated where it is — only the header bytes are
        written — and returned as is; other blobs come back as new ``bytes``.
        """
        record = self._require(Purpose.ENCRYPTION, "rewrap")
        primary = record.primary
        ring_b, primary_kid = record.name.encode("utf-8"), primary.kid.encode("ascii")
        out: list[envelope.Blob] = [b""] * len(blobs)
        groups: dict[bytes, list[tuple[int, int, int]]] = {}
        for i, blob in enumerate(blobs):
            ring, kid, start, end = envelope.locate(blob)
            if ring != ring_b:
                raise KeyManagementError(f"blob {i} belongs to key ring "
                                         f"{ring.decode('utf-8', 'replace')!r}, not "
                                         f"{record.name!r}")
            if kid == primary_kid:
                out[i] = blob
            else:
                groups.setdefault(kid, []).append((i, start, end))
        # The new header up to the wrapped key's length is the same for every blob.
        prefix = envelope.pack_header(envelope.MAGIC, record.name, primary.kid, b"")[:-2]
        u16 = envelope.U16.pack
        for kid, items in groups.items():
            _, source = self._by_kid_for_decrypt(kid.decode("ascii", "replace"))
            rewrapped = self.backend.rewrap(record, source, primary,
                                            [bytes(blobs[i][s:e]) for i, s, e in items])
            for (i, _start, e), wrapped in zip(items, rewrapped, strict=True):
                blob = blobs[i]
                head = b"".join((prefix, u16(len(wrapped)), wrapped))
                if in_place and isinstance(blob, bytearray) and len(head) == e:
                    blob[:e] = head  # same size: the payload is not touched, not even copied
                    out[i] = blob
                else:
                    out[i] = b"".join((head, memoryview(blob)[e:]))
        if groups:
            self._manager.audit_use("key.rewrap", record, primary,
                                    count=sum(len(g) for g in groups.values()))
        return out

    def _by_kid_for_decrypt(self, kid: str) -> tuple[RingRecord, KeyVersion]:
        try:
            return self._by_kid(kid)
        except VerificationError as exc:
            raise KeyManagementError(f"cannot decrypt: {exc}") from None

    # -- streams (files that need not fit in memory) ----------------------------------------

    def encrypt_stream(self, src: BinaryIO, dst: BinaryIO, *,
                       context: Mapping[str, str] | None = None,
                       chunk_size: int = stream.CHUNK_SIZE) -> int:
        record = self._require(Purpose.ENCRYPTION, "encrypt")
        primary = record.primary
        data_key, wrapped = self.backend.generate_data_key(record, primary)
        count = stream.encrypt_stream(src, dst, ring=record.name, kid=primary.kid,
                                      wrapped_key=wrapped, data_key=data_key,
                                      aad=self._aad(record, context), chunk_size=chunk_size)
        self._manager.audit_use("key.encrypt", record, primary)
        return count

    def decrypt_stream(self, src: BinaryIO, dst: BinaryIO, *,
                       context: Mapping[str, str] | None = None) -> int:
        opened: list[tuple[RingRecord, KeyVersion]] = []

        def open_key(header: envelope.Header) -> tuple[bytes, bytes]:
            record, version = self._open_header(header)
            opened.append((record, version))
            return (self.backend.unwrap(record, version, header.wrapped_key),
                    self._aad(record, context))

        count = stream.decrypt_stream(src, dst, open_key)
        self._manager.audit_use("key.decrypt", *opened[0])
        return count

    def rewrap_stream(self, src: BinaryIO, dst: BinaryIO) -> None:
        record = self._require(Purpose.ENCRYPTION, "rewrap")
        primary = record.primary

        def rewrap_key(header: envelope.Header) -> tuple[str, bytes]:
            if header.kid == primary.kid:
                return primary.kid, header.wrapped_key
            _, source = self._open_header(header)
            return primary.kid, self.backend.rewrap(record, source, primary,
                                                    [header.wrapped_key])[0]

        stream.rewrap_stream(src, dst, rewrap_key)
        self._manager.audit_use("key.rewrap", record, primary)

    def decrypt_any(self, data: envelope.Blob, *, context: Mapping[str, str] | None = None) -> bytes:
        """Decrypt a blob or an in-memory stream, whichever ``data`` is."""
        if data[:4] == envelope.STREAM_MAGIC:
            import io

            out = io.BytesIO()
            self.decrypt_stream(io.BytesIO(data), out, context=context)
            return out.getvalue()
        if data[:4] != envelope.MAGIC:
            raise IntegrityError("not a vaultline encrypted blob (bad magic bytes)")
        return self.decrypt(data, context=context)
