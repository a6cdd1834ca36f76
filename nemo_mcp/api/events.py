"""The ``/run_sse`` stream as typed events: SSE framing (:mod:`.sse`) then ADK decoding (:mod:`.adk`)."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable

import httpx

from nemo_mcp.api.adk import Event, Heartbeat, StreamError, decode_data
from nemo_mcp.api.sse import iter_frames

__all__ = ["iter_events"]


async def iter_events(
    response: httpx.Response,
    *,
    idle_timeout: float,
    total_timeout: float,
    max_event_bytes: int,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncGenerator[Event, None]:
    """Decode an open text/event-stream httpx response into Events, under the limits of :func:`iter_frames`.

    A comment line becomes ``Heartbeat("comment")``. Stops after yielding a :class:`StreamError`.
    The caller owns ``response`` and closes it; wrap the iteration in ``contextlib.aclosing``
    when it may stop early, so that the generator is closed at once rather than by the GC.
    """
    frames = iter_frames(
        response,
        idle_timeout=idle_timeout,
        total_timeout=total_timeout,
        max_event_bytes=max_event_bytes,
        clock=clock,
    )
    try:
        async for data in frames:
            if data is None:  # a comment line
                yield Heartbeat("comment")
                continue
            for event in decode_data(data):
                yield event
                if isinstance(event, StreamError):
                    return
    finally:
        await frames.aclose()
