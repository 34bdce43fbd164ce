"""A lean pooled keep-alive HTTP client for bulk reads.

Measured on a 2-core machine, hvac's per-request Python overhead holds the GIL, so
threads around hvac barely help (0.9x); a few threads sharing keep-alive connections with little
per-request work do (0.25x). This module is that path: keep-alive connections per provider,
as many as the provider's workers, JSON in and out, and connection failures reported as
:class:`Transient` so the caller's retry policy decides what happens next.
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
import urllib.parse
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vaultline.errors import ProviderUnavailableError
from vaultline.providers._retry import Transient


@dataclass(frozen=True, slots=True)
class TLSOptions:
    ca_cert: str | None = None
    ca_path: str | None = None  # a directory of CA certificates (VAULT_CAPATH)
    client_cert: str | None = None
    client_key: str | None = None
    skip_verify: bool = False

    @property
    def requests_verify(self) -> bool | str:
        """The same choice in the form ``requests`` (hvac) takes it."""
        if self.skip_verify:
            return False
        return self.ca_cert or self.ca_path or True

    @property
    def requests_cert(self) -> tuple[str, str] | None:
        if self.client_cert and self.client_key:
            return (self.client_cert, self.client_key)
        return None


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: Any  # parsed JSON, or None for an empty or non-JSON body
    retry_after: float | None = None


class HttpPool:
    """Keep-alive connections per node address, reused LIFO; at most one per concurrent caller.

    Built on ``http.client`` rather than urllib3: on a 2-core machine urllib3's
    per-request bookkeeping costs as much as the request itself (1,000 reads with 8 workers:
    0.51 s through a PoolManager, 0.32 s on plain keep-alive connections). Callers bound the
    concurrency (``max_connections`` workers), so the pool never holds more connections.
    """

    def __init__(self, *, max_connections: int, timeout: float, tls: TLSOptions):
        self.max_connections = max_connections
        self.timeout = timeout
        self._tls = tls
        self._ssl: ssl.SSLContext | None = None
        # deque append/pop are atomic: no lock on the per-request path.
        self._idle: dict[tuple[str, str, int], deque[http.client.HTTPConnection]] = {}
        self._origins: dict[str, tuple[tuple[str, str, int], str]] = {}
        self._lock = threading.Lock()
        self.requests = 0  # HTTP requests sent, for the benchmark's request counts

    def _context(self) -> ssl.SSLContext:
        if self._ssl is None:
            context = ssl.create_default_context(cafile=self._tls.ca_cert,
                                                 capath=self._tls.ca_path)
            if self._tls.skip_verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            if self._tls.client_cert:
                context.load_cert_chain(self._tls.client_cert, self._tls.client_key)
            self._ssl = context
        return self._ssl

    def _origin(self, url: str) -> tuple[tuple[str, str, int], str]:
        """(scheme, host, port) and the request target; the origin part is parsed once per base."""
        base, slash, rest = url.partition("/v1/")
        known = self._origins.get(base) if slash else None
        if known is not None:
            return known[0], slash + rest
        parts = urllib.parse.urlsplit(url)
        scheme = parts.scheme
        origin = (scheme, parts.hostname or "", parts.port or (443 if scheme == "https" else 80))
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        if slash:
            self._origins[base] = (origin, "")
        return origin, target

    def _checkout(self, origin: tuple[str, str, int]) -> http.client.HTTPConnection:
        idle = self._idle.get(origin)
        if idle is None:
            with self._lock:
                idle = self._idle.setdefault(origin, deque())
        try:
            return idle.pop()  # most recently used first: its socket is the least likely closed
        except IndexError:
            scheme, host, port = origin
            if scheme == "https":
                return http.client.HTTPSConnection(host, port, timeout=self.timeout,
                                                   context=self._context())
            return http.client.HTTPConnection(host, port, timeout=self.timeout)

    def _checkin(self, origin: tuple[str, str, int], connection: http.client.HTTPConnection) -> None:
        idle = self._idle[origin]
        if len(idle) < self.max_connections:
            idle.append(connection)
        else:
            connection.close()

    def request(self, method: str, url: str, *, headers: Mapping[str, str],
                body: Any = None, describe: str = "", redirects: int = 3) -> Response:
        """One request; connection errors and timeouts become :class:`Transient`."""
        payload = None if body is None else json.dumps(body).encode()
        all_headers = dict(headers)
        if payload is not None:
            all_headers["Content-Type"] = "application/json"
        origin, target = self._origin(url)
        for reused_attempt in (True, False):
            connection = self._checkout(origin)
            reused = connection.sock is not None
            with self._lock:
                self.requests += 1
            try:
                connection.request(method, target, body=payload, headers=all_headers)
                raw = connection.getresponse()
                data = raw.read()
            except ssl.SSLError as exc:
                connection.close()
                # A certificate problem does not fix itself: fail now, saying which check failed.
                raise ProviderUnavailableError(
                    f"TLS error talking to {describe or 'the server'}: {_short(exc)}") from None
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                if reused and reused_attempt and method == "GET":
                    continue  # the server closed an idle keep-alive connection: use a fresh one
                raise Transient(ProviderUnavailableError(
                    f"cannot reach {describe or 'the server'}: {_short(exc)}")) from None
            if raw.will_close:
                connection.close()
            else:
                self._checkin(origin, connection)
            location = raw.getheader("Location")
            if raw.status in (307, 308) and location and redirects > 0:
                # A standby node pointing at the active one.
                return self.request(method, urllib.parse.urljoin(url, location), headers=headers,
                                    body=body, describe=describe, redirects=redirects - 1)
            try:
                parsed = json.loads(data) if data.strip() else None
            except ValueError:
                parsed = None
            return Response(raw.status, parsed, _seconds(raw.getheader("Retry-After")))
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            for idle in self._idle.values():
                while idle:
                    idle.pop().close()
            self._idle.clear()


def _seconds(value: str | None) -> float | None:
    try:
        return None if value is None else float(value)
    except ValueError:
        return None


def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:200]
