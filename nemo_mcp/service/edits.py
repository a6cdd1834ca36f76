"""One plain-language edit: stream → settle → diff → translate.

:func:`begin` reads the draft before the edit; :meth:`Edit.stream` sends the instruction and
yields the backend's events (the caller only shows them) while they are folded into the
reply; :meth:`Edit.finish` raises the stream's error if it sent one, lets a silent change
settle, compares the drafts and turns GUI-only advice into tool advice.

:func:`submit` runs all of that as an :class:`EditJob` owned by the session manager, not by
the tool call: a call that reaches its wait budget returns, the edit goes on, and its outcome
waits for the call that picks it up (by id, or by sending the same instruction again).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from nemo_mcp.api.adk import Event, ReplyBuilder, StreamError
from nemo_mcp.draft import describe_diff, diff, summarize
from nemo_mcp.errors import BackendStreamError, NemoError
from nemo_mcp.service.jobs import Job, forget_finished
from nemo_mcp.service.projects import Notes

if TYPE_CHECKING:
    from nemo_mcp.service.projects import SessionManager

log = logging.getLogger(__name__)

Draft = dict[str, Any] | None

#: Events buffered for one waiting caller; beyond this they are dropped (they only feed progress lines).
LISTEN_BUFFER = 256

#: Extra looks at the draft after a silent stream left it unchanged, and the wait before each.
SETTLE_LOOKS = 2
SETTLE_WAIT = 1.0

NO_CHANGE = (
    "The backend finished without a reply and the timeline did not change. Try a more concrete "
    "instruction (what to cut, where, how long)."
)


@dataclass(frozen=True)
class EditResult:
    """What one edit did: the project it ran in, the reply to show, and the timeline after it."""

    project: str
    reply: str
    changes: list[str]
    timeline: str
    backend_steps: list[str] = field(default_factory=list)


class Edit:
    """One instruction on its way through the backend (made by :func:`begin`)."""

    def __init__(
        self, mgr: SessionManager, instruction: str, session_id: str, before: Draft, notes: Notes | None
    ) -> None:
        self.mgr = mgr
        self.instruction = instruction
        self.session_id = session_id
        self.before = before
        self.notes = notes
        self.reply = ReplyBuilder()

    @contextlib.asynccontextmanager
    async def stream(self) -> AsyncIterator[AsyncGenerator[Event, None]]:
        """Open the stream; its events end after the first :class:`StreamError`. Leaving closes it."""
        async with (
            self.mgr.stream_edit(self.instruction, self.session_id, notes=self.notes) as (sid, events),
            contextlib.aclosing(events) as raw,
        ):
            self.session_id = sid
            async with contextlib.aclosing(self._folded(raw)) as folded:
                yield folded

    async def _folded(self, events: AsyncGenerator[Event, None]) -> AsyncGenerator[Event, None]:
        async for event in events:
            self.reply.feed(event)
            yield event
            if isinstance(event, StreamError):
                return

    async def finish(self) -> EditResult:
        """The outcome once the stream is over (raises the backend's stream error if it sent one)."""
        if self.reply.error is not None:
            error = self.reply.error
            raise BackendStreamError(backend_message=error.message, code=error.code)
        text = self.reply.final_text
        after = await self._settled(wait=not text)
        changes = diff(self.before, after)
        summary = summarize(after)
        if text:
            from nemo_mcp.service.translate import translate  # its rule table compiles ~30 ms of regexes

            text = translate(text, timeline_summary=summary)
        elif changes:
            text = "The edit was applied. " + describe_diff(self.before, after)
        else:
            text = NO_CHANGE
        return EditResult(
            project=self.session_id,
            reply=text,
            changes=changes,
            timeline=summary,
            backend_steps=self.reply.tool_calls,
        )

    async def _settled(self, *, wait: bool) -> Draft:
        """The draft after the edit; a silent stream may land its change a moment later, so look again."""
        after = await self._draft()
        if wait and after == self.before:
            for _ in range(SETTLE_LOOKS):
                await self.mgr.sleep(SETTLE_WAIT)
                after = await self._draft()
                if after != self.before:
                    break
        return after

    async def _draft(self) -> Draft:
        return (await self.mgr.state(self.session_id, notes=self.notes))[1].state.draft


async def begin(
    mgr: SessionManager, instruction: str, session_id: str | None, *, notes: Notes | None
) -> Edit:
    """Read the project's draft before the edit (creating the project on first use)."""
    sid, state = await mgr.state(session_id, notes=notes)
    return Edit(mgr, instruction, sid, state.state.draft, notes)


class EditStopped(NemoError):
    default_message = (
        "The edit was stopped before it finished. Call get_timeline to see what the project holds now, "
        "then send the edit again if it is still wanted."
    )


class UnknownEdit(NemoError):
    default_message = (
        "No edit with that pick-up id is running or waiting here (the server may have restarted). "
        "Call get_timeline to see whether it landed, then send the instruction again if not."
    )


class EditJob(Job[EditResult]):
    """One edit running in the background: the stream is consumed here, whoever is waiting."""

    prefix = "edit_"
    stopped_error = EditStopped

    def __init__(self, mgr: SessionManager, instruction: str, session_id: str | None) -> None:
        super().__init__(mgr, session_id or mgr.current_project_id() or "")
        self.instruction = instruction
        self.requested = session_id
        self._listeners: list[MemoryObjectSendStream[Event]] = []

    @contextlib.contextmanager
    def listen(self) -> Iterator[MemoryObjectReceiveStream[Event]]:
        """The events from now on, for a caller to show as progress; the stream ends with the edit."""
        send, receive = anyio.create_memory_object_stream[Event](LISTEN_BUFFER)
        if self.done.is_set():
            send.close()
        else:
            self._listeners.append(send)
        try:
            with receive:
                yield receive
        finally:
            if send in self._listeners:
                self._listeners.remove(send)
            send.close()

    def _publish(self, event: Event) -> None:
        for send in list(self._listeners):
            with contextlib.suppress(anyio.WouldBlock, anyio.BrokenResourceError, anyio.ClosedResourceError):
                send.send_nowait(event)

    async def work(self) -> EditResult:
        """Stream, settle and translate the edit."""
        edit = await begin(self.mgr, self.instruction, self.requested, notes=self.notes)
        self.project = edit.session_id
        async with edit.stream() as events:
            self.project = edit.session_id
            async for event in events:
                self._publish(event)
        return await edit.finish()

    def release(self) -> None:
        for send in self._listeners:
            send.close()
        self._listeners.clear()


def submit(mgr: SessionManager, instruction: str, session_id: str | None) -> tuple[EditJob, bool]:
    """Start an edit in the background, or attach to the same instruction in the same project that is
    still running (or finished, not yet picked up; never one a caller stopped); returns (job, attached)."""
    _forget_old(mgr)
    project = session_id or mgr.current_project_id() or ""
    for job in mgr.edit_jobs.values():
        if (
            not job.collected
            and not job.stopped
            and job.instruction == instruction
            and job.project == project
        ):
            return job, True
    job = EditJob(mgr, instruction, session_id)
    mgr.edit_jobs[job.id] = job
    mgr.spawn(job.run)
    return job, False


def pick_up(mgr: SessionManager, job_id: str) -> EditJob:
    """The edit a previous call left running, by the id it returned."""
    job = mgr.edit_jobs.get(job_id)
    if job is None:
        raise UnknownEdit()
    return job


def _forget_old(mgr: SessionManager) -> None:
    forget_finished(mgr.edit_jobs)
