"""A small local HTTPS endpoint speaking the Key Vault secrets REST subset vaultline uses.

There is no Key Vault server to run locally, so the real ``azure-keyvault-secrets`` client talks
to this instead: ``GET /secrets/{name}[/{version}]``, ``PUT /secrets/{name}``,
``GET /secrets/{name}/versions``, ``GET /secrets``, with the bearer-challenge handshake (an
unauthenticated request gets ``401`` + ``WWW-Authenticate: Bearer authorization=..., resource=...``
and the client retries with a token from its credential). TLS uses a self-signed certificate
generated here; clients trust it through ``connection_verify``.

Tests steer it with ``fail_next`` (statuses answered before the real handling, for retries),
``forbidden`` (names answered with 403), ``echo_auth`` (a 401 quoting the request's bearer
token), ``flood`` (an endless-looking answer) and ``answer`` (this body, 200, for every
authenticated request), and read ``requests`` (method, path) and ``calls`` afterwards.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from azure.core.credentials import AccessToken
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

TENANT = "00000000-0000-0000-0000-00000000feed"


def fake_token(**claims: Any) -> str:
    """An unsigned JWT-shaped token: the fake vault only compares it, it never verifies it."""
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.sig"


class FakeCredential:
    """A TokenCredential that records the scopes asked for (as azure-identity would get them)."""

    def __init__(self, token: str):
        self.token = token
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "vault.pem", directory / "vault.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class FakeKeyVault:
    token: str
    url: str = ""
    ca_cert: Path = Path()
    # name -> [(version, value, created)] oldest first
    secrets: dict[str, list[tuple[str, str, int]]] = field(default_factory=dict)
    fail_next: list[int] = field(default_factory=list)
    forbidden: set[str] = field(default_factory=set)
    echo_auth: bool = False  # refuse with the request's Authorization header in the message
    flood: int = 0  # answer every authenticated request with this many bytes (chunked, no length)
    answer: bytes | None = None  # answer every authenticated request with this body, 200
    requests: list[tuple[str, str]] = field(default_factory=list)
    challenges: int = 0  # requests answered 401 + WWW-Authenticate
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def calls(self) -> int:
        """Requests that carried the token: one per client call (the 401 of the bearer
        challenge is the SDK's handshake within a call, not a call of its own)."""
        return len(self.requests) - self.challenges

    def set(self, name: str, value: str) -> str:
        version = uuid.uuid4().hex
        with self.lock:
            history = self.secrets.setdefault(name, [])
            created = max([int(time.time()), *(c + 1 for _, _, c in history)])
            history.append((version, value, created))
        return version

    def bundle(self, name: str, version: str, value: str | None, created: int) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": f"{self.url}/secrets/{name}/{version}",
            "attributes": {"enabled": True, "created": created, "updated": created,
                           "recoveryLevel": "Recoverable+Purgeable"},
        }
        if value is not None:
            body["value"] = value
        return body


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, *_: Any) -> None:  # quiet test output
        pass

    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        self._send(status, {"error": {"code": code, "message": message}}, headers)

    def _handle(self, method: str) -> None:
        vault = self.server.vault
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = urlsplit(self.path).path.rstrip("/")
        vault.requests.append((method, path))
        if self.headers.get("Authorization") != f"Bearer {vault.token}":
            challenge = (f'Bearer authorization="https://login.microsoftonline.com/{TENANT}", '
                         f'resource="https://vault.azure.net"')
            with vault.lock:
                vault.challenges += 1
            self._error(401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.",
                        {"WWW-Authenticate": challenge})
            return
        if vault.flood:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            piece = b"x" * 65536
            for _ in range(vault.flood // len(piece)):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
            return
        if vault.answer is not None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(vault.answer)))
            self.end_headers()
            self.wfile.write(vault.answer)
            return
        if vault.echo_auth:  # as a broken gateway would: the credential echoed back
            self._error(401, "Unauthorized",
                        f"AKV10032: rejected request with Authorization: {self.headers.get('Authorization')}")
            return
        if vault.fail_next:
            status = vault.fail_next.pop(0)
            self._error(status, "Throttled" if status == 429 else "ServiceUnavailable", "try later",
                        {"Retry-After": "0"})
            return
        parts = path.split("/")[1:]  # secrets, name, [version | "versions"]
        if not parts or parts[0] != "secrets":
            self._error(404, "NotFound", "unknown operation")
            return
        if len(parts) == 1 and method == "GET":
            self._send(200, {"value": [
                {"id": f"{vault.url}/secrets/{n}", "attributes": {"enabled": True}}
                for n in sorted(vault.secrets)], "nextLink": None})
            return
        name = parts[1]
        if name in vault.forbidden:
            self._error(403, "Forbidden", f"The user does not have secrets get permission on {name}")
            return
        if method == "PUT" and len(parts) == 2:
            version = vault.set(name, json.loads(raw)["value"])
            _, value, created = vault.secrets[name][-1]
            self._send(200, vault.bundle(name, version, value, created))
            return
        history = vault.secrets.get(name)
        if not history:
            self._error(404, "SecretNotFound", f"A secret with (name/id) {name} was not found in this key vault.")
            return
        if len(parts) == 3 and parts[2] == "versions":
            self._send(200, {"value": [vault.bundle(name, v, None, c) for v, _, c in history],
                             "nextLink": None})
            return
        wanted = parts[2] if len(parts) == 3 and parts[2] else None
        for version, value, created in reversed(history):
            if wanted in (None, version):
                self._send(200, vault.bundle(name, version, value, created))
                return
        self._error(404, "SecretNotFound", f"A secret with (name/id) {name}/{wanted} was not found.")

    def do_GET(self) -> None:
        self._handle("GET")

    def do_PUT(self) -> None:
        self._handle("PUT")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    vault: FakeKeyVault


@contextmanager
def fake_key_vault(directory: Path) -> Iterator[FakeKeyVault]:
    cert, key = self_signed(directory)
    vault = FakeKeyVault(token=fake_token(upn="ci@nexus.example", oid=str(uuid.uuid4())), ca_cert=cert)
    server = _Server(("127.0.0.1", 0), _Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.vault = vault
    vault.url = f"https://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield vault
    finally:
        server.shutdown()
        server.server_close()
