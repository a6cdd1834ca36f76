"""MCP progress for the long tools: merged streamed text, 'still working' lines, monotonic values."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from mcp.server.mcpserver import Context

from nemo_mcp.api.adk import Event, Heartbeat, StateDelta, StreamError, Text, ToolCall, ToolResult
from nemo_mcp.api.models import RenderStatus
from nemo_mcp.errors import NemoError

#: Minimum spacing of streamed-text progress reports (0: only merge what queues up while one is being sent).
FRAGMENT_WINDOW = 0.0

AnyCtx = Context[Any, Any]


def one_line(text: str, limit: int = 120) -> str:
    """Text flattened to one line, cut at ``limit`` characters keeping the start."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def tail_line(text: str, limit: int = 120) -> str:
    """Like :func:`one_line`, but keeps the end: the newest words of streamed text."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else "…" + flat[-(limit - 1) :]


class Progress:
    """Monotonic MCP progress with a 'still working' line after each quiet stretch.

    Streamed text goes through :meth:`fragment`, which only queues it: :meth:`keepalive`
    reports the queue as one message as soon as the previous report has been handed to the
    transport (and ``window`` has passed since it). An isolated fragment goes out at once;
    fragments that arrive faster than the transport writes are merged instead of queueing
    up one notification each, so the reader of the backend stream is never held back.
    """

    def __init__(
        self,
        ctx: AnyCtx,
        *,
        quiet_after: float,
        window: float = FRAGMENT_WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ctx = ctx
        self._n = 0.0
        self._clock = clock
        self._last = clock()
        self.quiet_after = quiet_after
        self.window = window
        self.started = clock()
        self._pending: list[str] = []
        self._total: float | None = None  # kept by 'still working' lines, so a bar does not jump
        self._arrived = anyio.Event()
        self._sending = anyio.Lock()  # one report at a time, so none is cut off mid-send

    @property
    def quiet_for(self) -> float:
        return self._clock() - self._last

    async def say(self, message: str, *, value: float | None = None, total: float | None = None) -> None:
        async with self._sending:
            await self._send_pending()  # queued fragments first, so reports keep the stream's order
            await self._report(message, value=value, total=total)

    async def fragment(self, text: str) -> None:
        """Queue streamed text for :meth:`keepalive` to report (merged with any text still queued)."""
        self._pending.append(text)
        self._arrived.set()

    async def flush(self) -> None:
        """Report queued fragments now; returns once any report in progress has been handed over."""
        async with self._sending:
            await self._send_pending()

    async def _send_pending(self) -> None:
        if self._pending:
            text = "".join(self._pending)
            self._pending.clear()
            await self._report(tail_line(text))

    async def _report(self, message: str, *, value: float | None = None, total: float | None = None) -> None:
        if total is not None:
            self._total = total
        elif self._total is not None:
            value, total = self._n + 1e-3, self._total
        self._n = max(self._n + 1e-3, value if value is not None else self._n + 1)
        self._last = self._clock()
        await self._ctx.report_progress(self._n, total, message)

    async def keepalive(self) -> None:
        """Run until cancelled: report queued fragments, and say that we are working after
        each ``quiet_after`` seconds without a report."""
        while True:
            if self._pending:
                if (wait := self._last + self.window - self._clock()) > 0:
                    await anyio.sleep(wait)
                await self.flush()
                continue
            with anyio.move_on_after(max(0.05, self.quiet_after - (self._clock() - self._last))):
                await self._arrived.wait()
            self._arrived = anyio.Event()
            if not self._pending and self._clock() - self._last >= self.quiet_after:
                elapsed = int(self._clock() - self.started)
                await self.say(f"Still working… ({elapsed} s)")


class EditProgress:
    """Turns the events of an edit stream into progress lines."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self._streamed = False  # whether the current turn's text already went out as fragments

    async def on_event(self, event: Event) -> None:
        progress = self.progress
        match event:
            case Text(partial=True):
                if event.text.strip():
                    self._streamed = True
                    await progress.fragment(event.text)
            case Text():
                # The final event repeats the fragments; show it only if nothing was streamed.
                if event.text.strip() and not self._streamed:
                    await progress.say(one_line(event.text))
                self._streamed = False
            case ToolCall():
                await progress.say(f"Running {event.name}…")
            case Heartbeat() if progress.quiet_for >= progress.quiet_after:
                await progress.say("Still working…")
            case StreamError() | StateDelta() | Heartbeat() | ToolResult():
                pass


async def with_keepalive(progress: Progress, work: Callable[[], Awaitable[Any]]) -> None:
    """Run ``work`` while ``progress`` reports merged text and quiet stretches; flush it at the end.

    A NemoError from ``work`` is raised as itself, not wrapped in an exception group, so the
    tool's error boundary sees it.
    """
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(progress.keepalive)
            await work()
            await progress.flush()
            tg.cancel_scope.cancel()
    except* NemoError as group:
        raise group.exceptions[0] from None


def render_reporter(progress: Progress) -> Callable[[RenderStatus], Awaitable[None]]:
    """A render-status callback on ``progress`` (whose values only ever rise), out of 100."""

    async def on_status(status: RenderStatus) -> None:
        value = min(status.progress, 100.0)
        await progress.say(f"Rendering… {status.progress:.0f}% ({status.status})", value=value, total=100)

    return on_status
