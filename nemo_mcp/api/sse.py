"""Server-Sent Events framing with limits: bytes in, the data of each event out.

:func:`iter_frames` reads an open ``text/event-stream`` response and yields the data of each
event, enforcing an idle limit, a total limit and a per-event size limit. Lines are split
here, on CR, LF and CRLF at the byte level, and fields are parsed here too (the SSE spec's
few rules need no library): only ``data`` matters to the ADK stream, and a comment line is
reported because it proves the server is alive.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable
from typing import cast

import anyio
import httpx

from nemo_mcp.errors import EventTooLarge, StreamIdle, StreamTooLong

_BOM = b"\xef\xbb\xbf"


class _LineSplitter:
    """Complete lines out of a byte stream's chunks, without terminators.

    Lines are split on CR, LF and CRLF only, at the byte level: UTF-8 never puts those bytes
    inside a multi-byte character, and U+2028 or U+0085 must not end a line. The unterminated
    tail is the only thing kept between chunks, and it is checked against the size limit
    before it grows, so a huge line costs at most one chunk beyond the limit.
    """

    def __init__(self, max_line_bytes: int) -> None:
        self.max_line_bytes = max_line_bytes
        self.head: list[bytes] = []
        self.head_len = 0
        self.skip_lf = False  # the previous chunk ended in CR; a leading LF completes that CRLF
        self.first = True

    def feed(self, chunk: bytes) -> list[bytes] | None:
        """The lines this chunk completes, or None when it completes none."""
        if self.skip_lf:
            self.skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        cut = max(chunk.rfind(b"\n"), chunk.rfind(b"\r")) + 1
        if not cut:
            if chunk:
                self.head_len += len(chunk)
                if self.head_len > self.max_line_bytes:
                    raise EventTooLarge()
                self.head.append(chunk)
            return None
        if self.head:
            self.head.append(chunk[:cut])
            block = b"".join(self.head)
        else:
            block = chunk[:cut] if cut < len(chunk) else chunk
        tail = chunk[cut:]
        self.head = [tail] if tail else []
        self.head_len = len(tail)
        if self.head_len > self.max_line_bytes:
            raise EventTooLarge()
        self.skip_lf = block[-1] == 0x0D
        if self.first:
            self.first = False
            block = block.removeprefix(_BOM)
        return block.splitlines()

    def rest(self) -> list[bytes]:
        """The end of the body ends its last line and its last event.

        (The SSE spec drops an event that lacks its blank line, but a closed connection cannot
        complete it, and a line that was cut short simply fails to parse.)
        """
        last = b"".join(self.head)
        return [last.removeprefix(_BOM) if self.first else last, b""] if last else [b""]


async def _line_batches(
    response: httpx.Response,
    *,
    idle_timeout: float,
    deadline: float,
    max_line_bytes: int,
    clock: Callable[[], float],
) -> AsyncGenerator[list[bytes], None]:
    """Yield the complete lines of each chunk; at the end, the rest and a blank line."""
    chunks = cast(AsyncGenerator[bytes, None], response.aiter_bytes())
    splitter = _LineSplitter(max_line_bytes)
    try:
        while True:
            remaining = deadline - clock()
            if remaining <= 0:
                raise StreamTooLong()
            wait = min(idle_timeout, remaining)
            # anyio.fail_after, minus its context-manager wrapper: that wrapper is a quarter of
            # the cost of a read when every chunk carries one small event.
            try:
                with anyio.CancelScope(deadline=anyio.current_time() + wait) as scope:
                    chunk = await anext(chunks)
            except StopAsyncIteration:
                break
            if scope.cancelled_caught:
                raise StreamTooLong() if wait < idle_timeout else StreamIdle()
            lines = splitter.feed(chunk)
            if lines is not None:
                yield lines
        yield splitter.rest()
    finally:
        await chunks.aclose()


async def iter_frames(
    response: httpx.Response,
    *,
    idle_timeout: float,
    total_timeout: float,
    max_event_bytes: int,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncGenerator[str | None, None]:
    """Yield the data of each event of an open text/event-stream response; None for a comment line.

    Raises :class:`~nemo_mcp.errors.StreamIdle` when no bytes arrive for ``idle_timeout``
    seconds, :class:`~nemo_mcp.errors.StreamTooLong` once ``total_timeout`` seconds (by
    ``clock``) have passed, and :class:`~nemo_mcp.errors.EventTooLarge` when one event's
    lines add up to more than ``max_event_bytes``. The caller owns ``response``.

    An event is dispatched only if it had a ``data`` field, as the SSE spec says (``event``,
    ``id`` and ``retry`` fields are read past: the ADK stream does not use them). A last event
    that the server did not end with a blank line is still dispatched.
    """
    batches = _line_batches(
        response,
        idle_timeout=idle_timeout,
        deadline=clock() + total_timeout,
        max_line_bytes=max_event_bytes,
        clock=clock,
    )
    data: list[bytes] = []
    has_data = False
    size = 0  # bytes of the current event's lines
    try:
        async for lines in batches:
            for raw in lines:
                if not raw:
                    size = 0
                    if has_data:
                        yield b"\n".join(data).decode("utf-8", "replace")
                        data.clear()
                        has_data = False
                    continue
                size += len(raw)
                if size > max_event_bytes:
                    raise EventTooLarge()
                if raw[0] == 0x3A:  # ":" starts a comment
                    yield None
                elif raw.startswith(b"data"):
                    field, _, value = raw.partition(b":")
                    if field == b"data":
                        has_data = True
                        data.append(value[1:] if value[:1] == b" " else value)
    finally:
        await batches.aclose()
