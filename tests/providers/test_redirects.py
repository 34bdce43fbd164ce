"""A Vault server that redirects from https to http (a hostile or misconfigured node, an open
redirect in a proxy in front of it): the request carries the token, a write the secret, so
vaultline refuses the downgrade on every path (its own pool for reads, hvac for the rest),
and nothing reaches the plain-http host."""

from __future__ import annotations

import http.server
import json
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.factory import make_project, master_key_env, vaultline
from tests.providers.azure_fake import self_signed

TOKEN = "hvs.redirect-canary-token-0123456789"


class _Server:
    """A threaded HTTP(S) server on a free port of 127.0.0.1, answering with ``answer``."""

    def __init__(self, answer: Any, context: ssl.SSLContext | None = None) -> None:
        self.seen: list[tuple[str, str, str | None, bytes]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def handle_any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.seen.append((self.command, self.path, self.headers.get("X-Vault-Token"),
                                    body))
                answer(self)

            do_GET = do_POST = do_PUT = do_LIST = handle_any

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if context is not None:
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[_Server, _Server, Path]]:
    """(the plain-http collector, the https node redirecting to it, its CA certificate)."""
    def collect(handler: http.server.BaseHTTPRequestHandler) -> None:
        body = json.dumps({"data": {"data": {"password": "forged"}, "metadata": {"version": 1}},
                           "auth": None}).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    collector = _Server(collect)

    def redirect(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.send_response(307)
        handler.send_header("Location", f"http://127.0.0.1:{collector.port}{handler.path}")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    cert, key = self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    node = _Server(redirect, context)
    try:
        yield collector, node, cert
    finally:
        node.close()
        collector.close()


@pytest.mark.parametrize("command", [
    ("resolve", "--env", "prod", "--format", "json", "--reveal"),
    ("secret", "get", "Db:Password", "--env", "prod"),
    ("secret", "put", "Db:Password", "--env", "prod"),
])
def test_a_redirect_from_https_to_http_is_refused(
        tmp_path: Path, servers: tuple[_Server, _Server, Path], command: tuple[str, ...]) -> None:
    collector, node, cert = servers
    environ = master_key_env()
    provider = {"type": "vault", "url": f"https://127.0.0.1:{node.port}", "ca_cert": str(cert),
                "mount": "kv", "retries": 0}
    root = make_project(tmp_path / "p", {
        "vaultline.yaml": f"version: 1\napp: demo\nenvironments: [prod]\n"
                          f"providers:\n  vault: {json.dumps(provider)}\n",
        "env/prod/secrets.yaml": "Db:Password: vault:db#password\n"}, environ=environ)
    done = vaultline(root, {**environ, "VAULT_TOKEN": TOKEN}, *command,
                     stdin="NEW-DB-PASSWORD-value", timeout=60)
    assert done.returncode == 1, done.stderr
    assert f"127.0.0.1:{node.port} redirected to http://127.0.0.1:{collector.port}: refused, " \
           "it would send the token without TLS" in done.stderr
    assert node.seen, "the https node was asked"
    assert collector.seen == []  # neither the token nor the value left over plain http
    assert "forged" not in done.stdout and TOKEN not in done.stderr


def test_the_refusal_names_hosts_never_credentials_in_a_url() -> None:
    from vaultline.errors import ProviderError
    from vaultline.providers._http import check_redirect

    with pytest.raises(ProviderError) as info:
        check_redirect("https://ops:pw-in-url@vault.example:8200/v1/kv/data/x",
                       "http://thief:stolen@evil.example/v1/kv/data/x")
    assert str(info.value).startswith("vault.example:8200 redirected to http://evil.example: ")
    assert "pw-in-url" not in str(info.value) and "stolen" not in str(info.value)
    check_redirect("https://a.example/x", "https://b.example:8200/x")  # another node: followed
