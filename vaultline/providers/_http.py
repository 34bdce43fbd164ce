"""A lean pooled keep-alive HTTP client for bulk reads (urllib3 underneath).

Measured on the issue's 2-core machine, hvac's per-request Python overhead holds the GIL, so
threads around hvac barely help (0.9x); a few threads sharing keep-alive connections with little
per-request work do (0.25x). This module is that path: one PoolManager per provider, sized to
the provider's worker count, JSON in and out, and connection failures reported as
:class:`Transient` so the caller's retry policy decides what happens next.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import urllib3

from vaultline.errors import ProviderUnavailableError
from vaultline.providers._retry import Transient


@dataclass(frozen=True, slots=True)
class TLSOptions:
    ca_cert: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    skip_verify: bool = False

    @property
    def requests_verify(self) -> bool | str:
        """The same choice in the form ``requests`` (hvac) takes it."""
        if self.skip_verify:
            return False
        return self.ca_cert or True

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
    def __init__(self, *, max_connections: int, timeout: float, tls: TLSOptions):
        kwargs: dict[str, Any] = {}
        if tls.skip_verify:
            kwargs["cert_reqs"] = "CERT_NONE"
        elif tls.ca_cert:
            kwargs["ca_certs"] = tls.ca_cert
        if tls.client_cert:
            kwargs["cert_file"] = tls.client_cert
            kwargs["key_file"] = tls.client_key
        if tls.skip_verify:
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        self._pool = urllib3.PoolManager(
            num_pools=8,  # one pool per node address of an HA cluster
            maxsize=max_connections,
            block=True,  # a worker waits for a free connection rather than opening extra ones
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
            # No retries here (the provider's policy owns them); follow a standby's redirect
            # to the active node.
            retries=urllib3.Retry(total=None, connect=0, read=0, status=0, other=0, redirect=3,
                                  raise_on_redirect=True, raise_on_status=False),
            **kwargs,
        )
        self.requests = 0  # HTTP requests sent, for the benchmark's request counts

    def request(self, method: str, url: str, *, headers: Mapping[str, str],
                body: Any = None, describe: str = "") -> Response:
        """One request; connection errors and timeouts become :class:`Transient`."""
        payload = None if body is None else json.dumps(body).encode()
        all_headers = dict(headers)
        if payload is not None:
            all_headers["Content-Type"] = "application/json"
        self.requests += 1
        try:
            raw = self._pool.request(method, url, headers=all_headers, body=payload)
        except urllib3.exceptions.SSLError as exc:
            # A certificate problem does not fix itself: fail now, saying which check failed.
            raise ProviderUnavailableError(f"TLS error talking to {describe or 'the server'}: "
                                           f"{_short(exc)}") from None
        except urllib3.exceptions.HTTPError as exc:
            raise Transient(ProviderUnavailableError(
                f"cannot reach {describe or 'the server'}: {_short(exc)}")) from None
        data = raw.data
        try:
            parsed = json.loads(data) if data.strip() else None
        except ValueError:
            parsed = None
        retry_after = raw.headers.get("Retry-After")
        return Response(raw.status, parsed, _seconds(retry_after))

    def close(self) -> None:
        self._pool.clear()


def _seconds(value: str | None) -> float | None:
    try:
        return None if value is None else float(value)
    except ValueError:
        return None


def _short(exc: BaseException) -> str:
    """The innermost reason of a urllib3 error (``MaxRetryError`` wraps the real one)."""
    reason = getattr(exc, "reason", None)
    if isinstance(reason, BaseException):
        exc = reason
    text = str(exc)
    # urllib3 prefixes connection objects' reprs ("<HTTPConnection object at 0x..>: ..."): drop them.
    if ">: " in text:
        text = text.split(">: ", 1)[1]
    return f"{type(exc).__name__}: {text}"[:200]
