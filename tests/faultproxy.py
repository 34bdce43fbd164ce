"""A fault-injecting TCP proxy on 127.0.0.1 for tests and benchmarks against real servers.

Put it between vaultline and OpenBao, moto_server or the Key Vault fake, then choose how the
connections it accepts from now on misbehave::

    with FaultProxy(openbao.url) as proxy:
        proxy.fault("drip", interval=0.5)        # the answer, one byte every 0.5 s
        ... resolve against proxy.url ...

Modes (``fault(mode, ...)``; ``passing`` connections are forwarded untouched first):

    pass       forward both ways
    reset      accept, then reset the connection (RST) before any answer
    hang       accept and read, never answer
    delay      forward, but hold the answer back ``seconds``
    drip       forward the request; send the answer one byte every ``interval`` seconds
    truncate   forward the first ``limit`` bytes of the answer (of its body with ``in_body``), close
    status     answer ``status`` itself (a JSON ``errors`` body, or ``body``), without the server
    huge       answer 200 with a ``size``-byte body (declared, or chunked if ``declare`` is off)
    echo       answer ``status`` with the request's own head in the error body, as a broken
               server or proxy would (the body has Vault's ``errors`` and AWS's ``message``)

Modes that answer by themselves speak HTTP/1.1 and close after the answer; the others are
byte-level and work for TLS too (the Key Vault fake speaks HTTPS).
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
import urllib.parse
from contextlib import suppress
from dataclasses import dataclass
from types import TracebackType
from typing import Any

MODES = ("pass", "reset", "hang", "delay", "drip", "truncate", "status", "huge", "echo")


@dataclass
class Fault:
    mode: str = "pass"
    seconds: float = 0.0
    interval: float = 0.5
    limit: int = 64  # bytes of the answer ``truncate`` lets through
    in_body: bool = False  # ``limit`` counts from the end of the head, not the start
    status: int = 503
    size: int = 300 * 1024 * 1024
    declare: bool = True
    body: bytes | None = None  # for ``status``: the answer's body (default: a JSON error)
    passing: int = 0  # connections still forwarded untouched before the fault applies


class FaultProxy:
    def __init__(self, target: str):
        parts = urllib.parse.urlsplit(target)
        self.scheme = parts.scheme or "http"
        self.target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._fault = Fault()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._closed = threading.Event()
        self.accepted = 0  # connections accepted, for the tests' own assertions
        self.sent = 0  # bytes forwarded or sent (both ways), to time a fault mid-transfer
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self.url = f"{self.scheme}://127.0.0.1:{self.port}"
        threading.Thread(target=self._accept, daemon=True, name="faultproxy").start()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def fault(self, mode: str, *, passing: int = 0, **options: Any) -> None:
        """Apply ``mode`` to connections accepted from now on (after ``passing`` good ones);
        open connections are cut, so a keep-alive pool cannot dodge the fault."""
        if mode not in MODES:
            raise ValueError(f"unknown fault mode {mode!r}; one of {', '.join(MODES)}")
        with self._lock:
            self._fault = Fault(mode=mode, passing=passing, **options)
        if mode != "pass":
            self.cut()

    def cut(self) -> None:
        """Close every open connection (as a server that dies would)."""
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            _close(sock)

    def close(self) -> None:
        self._closed.set()
        _close(self._listener)
        self.cut()

    # -- connections -----------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.accepted += 1
                fault = self._fault
                if fault.passing > 0:
                    fault.passing -= 1
                    fault = Fault()
                self._sockets.add(client)
            threading.Thread(target=self._serve, args=(client, fault), daemon=True).start()

    def _serve(self, client: socket.socket, fault: Fault) -> None:
        try:
            handler = getattr(self, f"_{fault.mode}")
            handler(client, fault)
        except OSError:
            pass
        finally:
            _close(client)

    def _upstream(self) -> socket.socket:
        sock = socket.create_connection(self.target, timeout=10)
        sock.settimeout(None)
        with self._lock:
            self._sockets.add(sock)
        return sock

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
                self.sent += len(data)
        with suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def _forward(self, client: socket.socket, fault: Fault, answer: Any) -> None:
        """Request bytes go up as they come; ``answer(upstream, client)`` sends the reply."""
        upstream = self._upstream()
        try:
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            answer(upstream, client)
        finally:
            _close(upstream)

    def _pass(self, client: socket.socket, fault: Fault) -> None:
        self._forward(client, fault, self._pump)

    def _delay(self, client: socket.socket, fault: Fault) -> None:
        def late(upstream: socket.socket, sink: socket.socket) -> None:
            self._closed.wait(fault.seconds)
            self._pump(upstream, sink)
        self._forward(client, fault, late)

    def _drip(self, client: socket.socket, fault: Fault) -> None:
        def drip(upstream: socket.socket, sink: socket.socket) -> None:
            while not self._closed.is_set() and (data := upstream.recv(65536)):
                for i in range(len(data)):
                    sink.sendall(data[i:i + 1])
                    self.sent += 1
                    if self._closed.wait(fault.interval):
                        return
        self._forward(client, fault, drip)

    def _truncate(self, client: socket.socket, fault: Fault) -> None:
        def cut_short(upstream: socket.socket, sink: socket.socket) -> None:
            answer = b""
            while data := upstream.recv(65536):
                answer += data
                head, blank, _ = answer.partition(b"\r\n\r\n")
                end = len(head) + len(blank) + fault.limit if fault.in_body and blank else fault.limit
                if len(answer) >= end and (blank or not fault.in_body):
                    break
            sink.sendall(answer[:end])
        self._forward(client, fault, cut_short)

    def _reset(self, client: socket.socket, fault: Fault) -> None:
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()

    def _hang(self, client: socket.socket, fault: Fault) -> None:
        with suppress(OSError):
            while not self._closed.is_set() and client.recv(65536):
                pass

    # -- modes that answer by themselves ---------------------------------------------------

    @staticmethod
    def _head(client: socket.socket) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 1 << 20:
            chunk = client.recv(65536)
            if not chunk:
                break
            data += chunk
        return data.partition(b"\r\n\r\n")[0]

    @staticmethod
    def _respond(client: socket.socket, status: int, body: bytes,
                 content_type: str = "application/json") -> None:
        client.sendall(f"HTTP/1.1 {status} Injected\r\nContent-Type: {content_type}\r\n"
                       f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)

    def _status(self, client: socket.socket, fault: Fault) -> None:
        self._head(client)
        body = fault.body if fault.body is not None else b'{"errors": ["injected failure"]}'
        self._respond(client, fault.status, body,
                      "application/json" if fault.body is None else "text/html")

    def _echo(self, client: socket.socket, fault: Fault) -> None:
        head = self._head(client).decode("latin-1")
        text = f"bad request: {head}"
        body = {"errors": [text], "__type": "InvalidRequestException", "message": text}
        status = fault.status if fault.status < 500 else 400
        self._respond(client, status, json.dumps(body).encode(), "application/x-amz-json-1.1")

    def _huge(self, client: socket.socket, fault: Fault) -> None:
        self._head(client)
        chunk = b"x" * 65536
        length = f"Content-Length: {fault.size}" if fault.declare else "Transfer-Encoding: chunked"
        client.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{length}\r\n\r\n"
                       .encode())
        left = fault.size
        started = time.monotonic()
        while left > 0 and not self._closed.is_set() and time.monotonic() - started < 60:
            piece = chunk[:left]
            client.sendall(piece if fault.declare else b"%x\r\n%s\r\n" % (len(piece), piece))
            self.sent += len(piece)
            left -= len(piece)


def _close(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with suppress(OSError):
        sock.close()
