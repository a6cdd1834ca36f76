"""The stdio transport, hardened against broken input.

``MCPServer.run_stdio_async`` in mcp 2.3 serves stdio through ``mcp.server.stdio.stdio_server``,
which reads stdin line by line and (checked against 2.3.0):

* decodes invalid UTF-8 with U+FFFD replacement characters and carries on — fine;
* drops a line that is not JSON, or JSON that is not a JSON-RPC message, with only a debug
  log: no ``-32700 Parse error`` / ``-32600 Invalid Request`` answer, so a client whose
  request was mangled waits for its own timeout;
* buffers a line of any length: a 200 MB line cost about 1 GB of memory (5x).

:func:`run_stdio` keeps the SDK's transport and adds what is missing: lines longer than
``max_line_bytes`` are skipped as they stream in (memory stays bounded) and refused with
``-32600``; unparsable lines get ``-32700``; a JSON value that is not a message gets
``-32600``. Each answer carries the request's id when one can be read, else ``null``.
Blank lines and malformed *responses* are ignored, as JSON-RPC requires.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sys
from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import Any, Self

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp.types import (
    INVALID_REQUEST,
    PARSE_ERROR,
    ErrorData,
    JSONRPCError,
    JSONRPCNotification,
    JSONRPCRequest,
    JSONRPCResponse,
)
from pydantic import ValidationError

log = logging.getLogger(__name__)

#: The SDK's streamable-HTTP transport refuses request bodies over 4 MiB; stdio matches it.
DEFAULT_MAX_LINE_BYTES = 4 * 1024 * 1024
_CHUNK = 64 * 1024
_OVERSIZE = "\x00nemo-mcp:oversize\x00"
_BAD_ID = "\x00nemo-mcp:bad-id\x00"
_ID_NEAR_START = re.compile(rb'"id"\s*:\s*(-?\d{1,18}|"(?:[^"\\]|\\.){0,200}")')


class CappedLines:
    """Decoded lines (without the newline) from a binary file descriptor, each at most ``max_bytes``.

    A longer line is read through and thrown away as it arrives; in its place comes a marker
    line that :class:`_AnsweringReader` turns into a ``-32600`` answer.
    """

    def __init__(self, fd: int, max_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self._fd = fd
        self._max = max_bytes

    def __aiter__(self) -> AsyncIterator[str]:
        return self._lines()

    async def _read(self) -> bytes:
        # abandon_on_cancel: a blocked read must not hold up shutdown; EOF or exit ends it.
        return await anyio.to_thread.run_sync(os.read, self._fd, _CHUNK, abandon_on_cancel=True)

    async def _lines(self) -> AsyncIterator[str]:
        buf = bytearray()
        skipped_id: bytes | None = None  # the id of the line being skipped, or b"" when it has none
        while True:
            chunk = await self._read()
            if not chunk:
                if buf and skipped_id is None:
                    yield screen_id(buf.decode("utf-8", "replace"))
                return
            start = 0
            while True:
                end = chunk.find(b"\n", start)
                piece = chunk[start:] if end < 0 else chunk[start:end]
                if skipped_id is None:
                    buf += piece
                    if len(buf) > self._max:
                        found = _ID_NEAR_START.search(bytes(buf[:4096]))
                        skipped_id = found.group(1) if found else b""
                        buf.clear()
                if end < 0:
                    break
                if skipped_id is not None:
                    log.warning("refused a stdin line longer than %d bytes", self._max)
                    yield _OVERSIZE + skipped_id.decode("utf-8", "replace")
                    skipped_id = None
                else:
                    yield screen_id(buf.decode("utf-8", "replace"))
                buf.clear()
                start = end + 1


def screen_id(line: str) -> str:
    """``line``, or a marker when it is a request whose id is neither a string nor an integer.

    The SDK reads such a request as a notification (the id is dropped as an unknown field),
    so it would run without an answer; the marker makes :func:`error_for` answer ``-32600``.
    """
    if '"id"' not in line or '"method"' not in line:
        return line
    try:
        body = json.loads(line)
    except ValueError:
        return line  # the SDK answers -32700 for it
    if isinstance(body, dict) and "method" in body and "id" in body and _request_id(body["id"]) is None:
        log.warning("refused a request whose id is %s", type(body["id"]).__name__)
        return _BAD_ID
    return line


def _request_id(value: Any) -> int | str | None:
    return value if isinstance(value, (int, str)) and not isinstance(value, bool) else None


def error_for(exc: Exception) -> JSONRPCError | None:
    """The answer owed for a line the SDK could not turn into a message (None: owe nothing)."""
    if not isinstance(exc, ValidationError):
        return None
    problems = exc.errors()
    raw = problems[0].get("input") if problems else None
    if isinstance(raw, str) and raw.startswith(_OVERSIZE):
        rid: Any = None
        with contextlib.suppress(ValueError):
            rid = json.loads(raw[len(_OVERSIZE) :] or "null")
        message = "Message too large for this server's stdio transport; send less data per request"
        return _error(_request_id(rid), INVALID_REQUEST, message)
    if raw == _BAD_ID:
        return _error(None, INVALID_REQUEST, "Invalid Request: the id must be a string or an integer")
    if problems and problems[0].get("type") == "json_invalid":
        if isinstance(raw, str) and not raw.strip():
            return None  # a blank line: nothing was asked
        return _error(None, PARSE_ERROR, "Parse error")
    body = next((p.get("input") for p in problems if isinstance(p.get("input"), (dict, list))), None)
    if isinstance(body, dict) and "method" not in body and ("result" in body or "error" in body):
        return None  # a malformed response to us: never answer a response
    rid = _request_id(body.get("id")) if isinstance(body, dict) else None
    return _error(rid, INVALID_REQUEST, "Invalid Request: not a JSON-RPC 2.0 request or notification")


def _error(rid: int | str | None, code: int, message: str) -> JSONRPCError:
    return JSONRPCError(jsonrpc="2.0", id=rid, error=ErrorData(code=code, message=message))


class _Wrapper:
    """Closing and ``async with`` for a stream that wraps one of the SDK's (``_inner``)."""

    _inner: Any

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


class _AnsweringReader(_Wrapper):
    """A read stream over the SDK's that answers broken lines instead of dropping them.

    It also keeps the ids of the requests in flight: a second request with the id of one still
    running is answered with ``-32600`` under a null id and not run, so no id is answered twice
    (:class:`_TrackingWriter` frees an id once its answer is sent).
    """

    def __init__(self, inner: Any, write: Any) -> None:
        self._inner = inner
        self._write = write
        self.in_flight: set[int | str] = set()

    def _admit(self, message: Any) -> JSONRPCError | None:
        """Note a request's id; the answer owed instead when it is already in flight."""
        if isinstance(message, JSONRPCRequest):
            if message.id in self.in_flight:
                log.warning("refused a request that reuses the id of one still running")
                return _error(None, INVALID_REQUEST, f"Invalid Request: id {message.id!r} is already in use")
            self.in_flight.add(message.id)
        elif isinstance(message, JSONRPCNotification) and message.method == "notifications/cancelled":
            # A cancelled request gets no answer, so its id is free again once the cancel arrives.
            rid = (message.params or {}).get("requestId")
            if isinstance(rid, (int, str)):
                self.in_flight.discard(rid)
        return None

    @property
    def last_context(self) -> Any:  # the SDK propagates the sender's contextvars through this
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> SessionMessage | Exception:
        while True:
            item = await self._inner.receive()
            if not isinstance(item, Exception):
                reply = self._admit(item.message)
                if reply is None:
                    return item  # type: ignore[no-any-return]
            else:
                reply = error_for(item)
            if reply is None:
                continue
            with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):
                await self._write.send(SessionMessage(reply))

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None


class _TrackingWriter(_Wrapper):
    """The SDK's write stream, freeing a request's id in the reader once its answer goes out."""

    def __init__(self, inner: Any, reader: _AnsweringReader) -> None:
        self._inner = inner
        self._reader = reader

    async def send(self, item: SessionMessage) -> None:
        await self._inner.send(item)
        if isinstance(item.message, (JSONRPCResponse, JSONRPCError)) and item.message.id is not None:
            self._reader.in_flight.discard(item.message.id)


@contextlib.contextmanager
def _claimed_stdin() -> Iterator[int]:
    """Point fd 0 at the null device while serving (as the SDK does) and yield a private copy."""
    import fcntl

    private = fcntl.fcntl(0, fcntl.F_DUPFD_CLOEXEC, 3)
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        os.dup2(null, 0)  # child processes (ffmpeg) must never read the protocol stream
    finally:
        os.close(null)
    try:
        yield private
    finally:
        os.dup2(private, 0)  # `private` stays open: a worker thread may still be blocked on it


async def run_stdio(mcp: MCPServer[Any], *, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
    """Serve ``mcp`` on stdin/stdout like ``mcp.run_stdio_async()``, answering broken input."""
    if sys.platform == "win32":  # pragma: no cover - the fd juggling below is POSIX-only
        await mcp.run_stdio_async()
        return
    lowlevel = mcp._lowlevel_server  # what run_stdio_async drives too; no public handle in 2.3
    with _claimed_stdin() as fd:
        stdin = CappedLines(fd, max_line_bytes)
        async with stdio_server(stdin=stdin) as (read_stream, write_stream):  # type: ignore[arg-type]
            reader = _AnsweringReader(read_stream, write_stream)
            await lowlevel.run(
                reader,
                _TrackingWriter(write_stream, reader),
                lowlevel.create_initialization_options(),
            )
