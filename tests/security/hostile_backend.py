"""A loopback HTTP server that misbehaves the way a faulty or hostile backend would.

It speaks just enough HTTP/1.1 over a real socket, in a thread, to answer every request with
one of these shapes (chosen per server), streamed as the client reads and never built in
memory:

``huge``       200, ``Content-Length`` of 10 GB, then zeros until the client hangs up;
``chunked``    200 with chunked encoding and no length, 1 MiB of zeros per chunk, without end;
``drip``       200, a 1 KB JSON length, then one byte every ``drip_every`` seconds;
``flood``      200 ``text/event-stream``: ADK text frames of 60 KB each, without end;
``html``       200 with a small HTML page (a captive portal, say) instead of a video.

Used by the client-limit tests and by ``bench/client_limits.py``.
"""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

TEN_GB = 10 * 1000**3
_ZEROS = bytes(1024 * 1024)


def _frame(i: int) -> bytes:
    event = {"author": "agent", "content": {"role": "model", "parts": [{"text": f"{i} " + "x" * 60_000}]}}
    return b"data: " + json.dumps(event).encode() + b"\n\n"


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(30)
        request = b""
        while b"\r\n\r\n" not in request:  # the head is enough: bodies are ignored
            data = sock.recv(65536)
            if not data:
                return
            request += data
        self.server.requests += 1
        with contextlib.suppress(OSError):  # the client hung up: that is the point
            getattr(self, f"_{self.server.shape}")(sock)

    def _huge(self, sock: socket.socket) -> None:
        sock.sendall(
            f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {TEN_GB}\r\n\r\n".encode()
        )
        while True:
            sock.sendall(_ZEROS)
            self.server.sent += len(_ZEROS)

    def _chunked(self, sock: socket.socket) -> None:
        sock.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        piece = f"{len(_ZEROS):x}\r\n".encode() + _ZEROS + b"\r\n"
        while self.server.sent < TEN_GB:
            sock.sendall(piece)
            self.server.sent += len(_ZEROS)

    def _drip(self, sock: socket.socket) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1024\r\n\r\n")
        for _ in range(1024):
            sock.sendall(b" ")
            self.server.sent += 1
            time.sleep(self.server.drip_every)

    def _flood(self, sock: socket.socket) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n")
        i = 0
        while self.server.sent < TEN_GB:
            frame = _frame(i)
            sock.sendall(frame)
            self.server.sent += len(frame)
            i += 1

    def _html(self, sock: socket.socket) -> None:
        page = b"<!doctype html><html><body>Sign in to the Wi-Fi first</body></html>"
        sock.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: "
            + str(len(page)).encode()
            + b"\r\n\r\n"
            + page
        )


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, shape: str, drip_every: float) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.shape = shape
        self.drip_every = drip_every
        self.sent = 0  # body bytes handed to the socket
        self.requests = 0


@contextmanager
def hostile_backend(shape: str, *, drip_every: float = 2.0) -> Iterator[_Server]:
    """Serve ``shape`` on 127.0.0.1 (``server.server_address[1]`` is the port) until the block ends."""
    server = _Server(shape, drip_every)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def base_url(server: _Server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"
