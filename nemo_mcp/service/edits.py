"""One plain-language edit: stream → settle → diff → translate.

:func:`begin` reads the draft before the edit; :meth:`Edit.stream` sends the instruction and
yields the backend's events (the caller only shows them) while they are folded into the
reply; :meth:`Edit.finish` raises the stream's error if it sent one, lets a silent change
settle, compares the drafts and turns GUI-only advice into tool advice.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nemo_mcp.api.adk import Event, ReplyBuilder, StreamError
from nemo_mcp.draft import describe_diff, diff, summarize
from nemo_mcp.errors import BackendStreamError

if TYPE_CHECKING:
    from nemo_mcp.service.projects import Notes, SessionManager

Draft = dict[str, Any] | None

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
