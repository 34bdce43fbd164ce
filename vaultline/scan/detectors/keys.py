"""Private keys: PEM (RSA, EC, PKCS#8, encrypted), OpenSSH, PGP, PuTTY, age."""

from __future__ import annotations

from vaultline.findings import Severity
from vaultline.scan.detectors._base import rule

# A PEM body: base64 lines, possibly with headers (Proc-Type, DEK-Info) and, inside JSON or
# code strings, literal "\n" escapes instead of newlines. At least 64 body characters: a
# shorter "key" is a placeholder ("-----BEGIN RSA PRIVATE KEY-----\n...\n-----END ...").
_BODY = r"(?:[A-Za-z0-9+/=:,\- \t\r\n]|\\n|\\r){64,8192}?"


def _pem(kind: str) -> str:
    return rf"-----BEGIN {kind}PRIVATE KEY-----({_BODY})-----END {kind}PRIVATE KEY-----"


def _is_encrypted(body: bytes) -> bool:
    # Legacy PEM encryption says so in a header; an OpenSSH key names its cipher ("none"
    # when it is not encrypted) inside the base64, which we do not decode here.
    return b"ENCRYPTED" in body


def _is_plain(body: bytes) -> bool:
    return not _is_encrypted(body)


DETECTORS = (
    rule("pem-rsa-private-key", "RSA private key (PEM)", _pem("RSA "),
         keywords=("BEGIN RSA PRIVATE KEY",), multiline=True, min_entropy=4.0,
         validator=_is_plain),
    rule("pem-ec-private-key", "EC private key (PEM)", _pem("EC "),
         keywords=("BEGIN EC PRIVATE KEY",), multiline=True, min_entropy=4.0,
         validator=_is_plain),
    rule("pem-private-key", "PKCS#8 or DSA private key (PEM)", _pem("(?:DSA )?"),
         keywords=("BEGIN PRIVATE KEY", "BEGIN DSA PRIVATE KEY"), multiline=True,
         min_entropy=4.0, validator=_is_plain),
    # Still a leak, but not usable without its passphrase: reported at a lower severity.
    rule("pem-encrypted-private-key", "Passphrase-encrypted private key (PEM)",
         # The label is part of the secret here, so that the validator sees "ENCRYPTED".
         r"-----BEGIN (ENCRYPTED PRIVATE KEY-----" + _BODY + r")-----END ENCRYPTED PRIVATE KEY-----",
         _pem("(?:RSA |EC |DSA )"),
         keywords=("BEGIN ENCRYPTED PRIVATE KEY", "BEGIN RSA PRIVATE KEY", "BEGIN EC PRIVATE KEY",
                   "BEGIN DSA PRIVATE KEY"),
         multiline=True, min_entropy=4.0, validator=_is_encrypted, severity=Severity.LOW),
    rule("openssh-private-key", "OpenSSH private key", _pem("OPENSSH "),
         keywords=("BEGIN OPENSSH PRIVATE KEY",), multiline=True, min_entropy=4.0),
    rule("pgp-private-key-block", "PGP private key block",
         r"-----BEGIN PGP PRIVATE KEY BLOCK-----(" + _BODY + r")-----END PGP PRIVATE KEY BLOCK-----",
         keywords=("BEGIN PGP PRIVATE KEY BLOCK",), multiline=True, min_entropy=4.0),
    rule("putty-private-key", "PuTTY private key file",
         r"PuTTY-User-Key-File-[23]: [^\r\n]+.{0,600}?Private-Lines: \d+\r?\n"
         r"((?:[A-Za-z0-9+/=]+\r?\n){1,40})",
         keywords=("PuTTY-User-Key-File-",), multiline=True, min_entropy=4.0),
    rule("age-secret-key", "age encryption secret key",
         r"(AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})",
         keywords=("AGE-SECRET-KEY-1",), min_entropy=3.5),
)
