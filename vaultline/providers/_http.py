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
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vaultline._limits import parse_json
from vaultline.errors import ProviderError, ProviderUnavailableError
from vaultline.providers._remote import MAX_DEADLINE, Guard, scrub
from vaultline.providers._retry import Transient

if TYPE_CHECKING:
    import requests

_CHUNK = 64 * 1024


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

    def __init__(self, *, max_connections: int, timeout: float, tls: TLSOptions,
                 max_response_bytes: int):
        self.max_connections = max_connections
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        self._tls = tls
        self._ssl: ssl.SSLContext | None = None
        # deque append/pop are atomic: no lock on the per-request path.
        self._idle: dict[tuple[str, str, int], deque[http.client.HTTPConnection]] = {}
        self._origins: dict[str, tuple[tuple[str, str, int], str]] = {}
        self._lock = threading.Lock()

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
                body: Any = None, describe: str = "", redirects: int = 3,
                guard: Guard | None = None) -> Response:
        """One request; connection errors and timeouts become :class:`Transient`.

        With a ``guard`` every socket wait is cut to the deadline's remainder and the socket is
        shut down when it passes, so neither a silent server nor a drip outlasts it.
        """
        payload = None if body is None else json.dumps(body).encode()
        all_headers = dict(headers)
        if payload is not None:
            all_headers["Content-Type"] = "application/json"
        origin, target = self._origin(url)
        where = describe or "the server"
        for reused_attempt in (True, False):
            if guard is not None:
                guard.check()  # before taking a connection: a good one stays pooled
            connection = self._checkout(origin)
            reused = connection.sock is not None
            sock = None
            try:
                if guard is not None:
                    connection.timeout = guard.timeout(self.timeout)
                    if connection.sock is not None:
                        connection.sock.settimeout(connection.timeout)
                connection.request(method, target, body=payload, headers=all_headers)
                sock = connection.sock
                if guard is not None:
                    guard.track(sock)
                raw = connection.getresponse()
                data = self._body(raw, connection, where, guard)
            except ssl.SSLError as exc:
                connection.close()
                if guard is not None:
                    guard.check()
                # A certificate problem does not fix itself: fail now, saying which check failed.
                raise ProviderUnavailableError(
                    f"TLS error talking to {where}: {_short(exc)}") from None
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                if guard is not None:
                    guard.check()  # the deadline shut the socket: say that, not "reset"
                if reused and reused_attempt and method == "GET":
                    continue  # the server closed an idle keep-alive connection: use a fresh one
                raise Transient(ProviderUnavailableError(
                    f"cannot reach {where}: {_short(exc)}")) from None
            except BaseException:
                connection.close()
                raise
            finally:
                if guard is not None:
                    guard.untrack(sock)
            if raw.will_close:
                connection.close()
            else:
                self._checkin(origin, connection)
            location = raw.getheader("Location")
            if raw.status in (307, 308) and location and redirects > 0:
                # A standby node pointing at the active one.
                target = urllib.parse.urljoin(url, location)
                check_redirect(url, target)
                return self.request(method, target, headers=headers, body=body,
                                    describe=describe, redirects=redirects - 1, guard=guard)
            try:
                parsed = parse_json(data) if data.strip() else None
            except ValueError:
                parsed = None
            return Response(raw.status, parsed, _seconds(raw.getheader("Retry-After")))
        raise AssertionError("unreachable")

    def _body(self, raw: http.client.HTTPResponse, connection: http.client.HTTPConnection,
              where: str, guard: Guard | None) -> bytes:
        """The body in pieces under the cap, each wait (with a guard) cut to the deadline."""
        def pieces() -> Iterator[bytes]:
            while True:
                if guard is not None and connection.sock is not None:
                    connection.sock.settimeout(guard.timeout(self.timeout))
                chunk = raw.read1(_CHUNK)
                if not chunk:
                    raw.close()  # read1 leaves a complete response open; the connection needs it closed
                    return
                yield chunk

        return read_capped(pieces(), declared=raw.getheader("Content-Length"), where=where,
                           cap=self.max_response_bytes, guard=guard)

    def close(self) -> None:
        with self._lock:
            for idle in self._idle.values():
                while idle:
                    idle.pop().close()
            self._idle.clear()


def check_redirect(source: str, target: str) -> None:
    """Refuse a redirect that would leave TLS (or HTTP altogether): the request carries the
    token, and a write the secret, so following one from https to http hands both, in the
    clear, to whoever the Location names, and trusts their answer as the secret. Vault's own
    client refuses the same ("redirect would cause protocol downgrade")."""
    before, after = urllib.parse.urlsplit(source), urllib.parse.urlsplit(target)
    if after.scheme not in ("http", "https") or (before.scheme == "https"
                                                 and after.scheme != "https"):
        raise ProviderError(f"{_host(before)} redirected to {after.scheme}://{_host(after)}: "
                            "refused, it would send the token without TLS; point the provider "
                            "at its https address")


def _host(parts: urllib.parse.SplitResult) -> str:
    """Host and port only: a URL's netloc may carry ``user:password@``."""
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


def read_capped(pieces: Iterable[bytes], *, declared: str | None, where: str, cap: int,
                guard: Guard | None) -> bytes:
    """A body from its pieces, refused as soon as it passes ``cap`` bytes (or declares more),
    and, with a guard, as soon as the deadline passes or the breaker opens."""
    if declared and declared.isdigit() and int(declared) > cap:
        raise ProviderError(f"{where} answered {int(declared):,} bytes, more than the {cap:,}-byte "
                            "limit (the provider's 'max_response_bytes')")
    chunks: list[bytes] = []
    size = 0
    for chunk in pieces:
        if guard is not None:
            guard.check()
        size += len(chunk)
        if size > cap:
            raise ProviderError(f"{where} answered more than the {cap:,}-byte limit (the "
                                "provider's 'max_response_bytes'); nothing was kept")
        chunks.append(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _seconds(value: str | None) -> float | None:
    try:
        return None if value is None else float(value)
    except ValueError:
        return None


def _short(exc: BaseException) -> str:
    return scrub(f"{type(exc).__name__}: {exc}")


def capped_session(max_response_bytes: int, guard: Callable[[], Guard | None]) -> requests.Session:
    """A ``requests`` session (for hvac and azure-core) whose bodies are read in pieces under
    the same cap and deadline as the pool's: a response hook runs before requests reads the
    body, so an oversize or dripping answer is refused while it arrives, not after."""
    import requests

    def read_body(response: requests.Response, **_: Any) -> requests.Response:
        current = guard()
        raw = response.raw
        sock = getattr(getattr(raw, "connection", None), "sock", None)
        if current is not None:
            current.track(sock)
        where = urllib.parse.urlsplit(response.url).netloc or "the server"
        try:
            data = read_capped(raw.stream(_CHUNK, decode_content=True),
                               declared=response.headers.get("Content-Length"), where=where,
                               cap=max_response_bytes, guard=current)
        except ProviderError:
            response.close()  # the rest of an oversize body is not read: drop the connection
            raise
        except Exception as exc:  # urllib3's errors for a cut-short or timed-out body, OSError
            if current is not None:
                current.check()  # the deadline shut the socket: say that instead
            raise requests.exceptions.ChunkedEncodingError(_short(exc)) from None
        finally:
            if current is not None:
                current.untrack(sock)
        response._content = data
        response._content_consumed = True
        return response

    class Session(requests.Session):
        def rebuild_auth(self, prepared_request: requests.PreparedRequest,
                         response: requests.Response) -> None:
            # Called for every redirect hop before it is sent: requests keeps X-Vault-Token
            # on it (it strips only Authorization), so a downgrade is refused here.
            check_redirect(str(response.request.url), str(prepared_request.url))
            super().rebuild_auth(prepared_request, response)

        def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
            current = guard()
            if current is not None:  # no wait longer than what is left of the deadline
                timeout = kwargs.get("timeout")
                parts = timeout if isinstance(timeout, tuple) else (timeout, timeout)  # (connect, read)
                kwargs["timeout"] = tuple(current.timeout(MAX_DEADLINE if t is None else float(t))
                                          for t in parts)
            return super().send(request, **kwargs)

    session = Session()
    session.hooks["response"].append(read_body)
    return session
