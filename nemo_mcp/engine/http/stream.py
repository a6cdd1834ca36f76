"""A ``text/event-stream`` response as a plain ASGI app, with heartbeats and clean cancellation."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio
import anyio.abc
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from nemo_mcp.api.frames import HEARTBEAT, sse_data
from nemo_mcp.engine.http.adk import engine_frames

logger = logging.getLogger(__name__)

Emit = Callable[[Mapping[str, Any]], Awaitable[None]]
Producer = Callable[[Emit], Awaitable[None]]
_SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


class EventStream:
    """Streams the events ``produce`` emits; a failure becomes ADK's error frames, not a broken connection.

    Three tasks: the producer, a writer that sends its frames (and a ``: ping`` comment whenever
    nothing was sent for ``heartbeat_s``), and a watcher that stops both when the client
    disconnects. No async generator is involved, so cancellation is clean.
    """

    def __init__(self, produce: Producer, *, heartbeat_s: float) -> None:
        self.produce = produce
        self.heartbeat_s = heartbeat_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
        sender, receiver = anyio.create_memory_object_stream[bytes](max_buffer_size=64)

        async def produce() -> None:
            async with sender:

                async def emit(event: Mapping[str, Any]) -> None:
                    await sender.send(sse_data(event))

                try:
                    await self.produce(emit)
                except Exception as exc:
                    logger.warning("local engine: edit failed: %s", exc, exc_info=True)
                    for event in engine_frames().errors(exc):
                        await sender.send(sse_data(event))

        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(produce)
                tg.start_soon(self._write, receiver, send, tg)
                tg.start_soon(_watch, receive, tg)
        except OSError:
            logger.debug("local engine: client went away during an edit stream")

    async def _write(
        self, receiver: anyio.abc.ObjectReceiveStream[bytes], send: Send, tg: anyio.abc.TaskGroup
    ) -> None:
        async with receiver:
            while True:
                with anyio.move_on_after(self.heartbeat_s) as waited:
                    try:
                        chunk = await receiver.receive()
                    except anyio.EndOfStream:
                        break
                if waited.cancelled_caught:
                    chunk = HEARTBEAT
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        tg.cancel_scope.cancel()


async def _watch(receive: Receive, tg: anyio.abc.TaskGroup) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            tg.cancel_scope.cancel()
            return


class AsgiResponse(Response):
    """Lets a Starlette endpoint hand the request over to a plain ASGI callable."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        super().__init__()
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)
