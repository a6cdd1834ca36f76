"""Domain steps the tools still run themselves: each one moves to service/ (edits.py, exports.py).

Nothing here knows MCP. They are kept apart, small and named after what they do, so the service
functions that replace them can be swapped in one at a time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nemo_mcp.api.events import Event, ReplyBuilder, StreamError
from nemo_mcp.api.models import RenderStatus
from nemo_mcp.config import Settings
from nemo_mcp.draft import model as timeline
from nemo_mcp.errors import BackendStreamError, RenderFailed, UploadRefused
from nemo_mcp.service.session import Notes, SessionManager
from nemo_mcp.service.store import RenderRecord

Draft = dict[str, Any] | None

# -- edits: moves to service/edits.py ------------------------------------------------------------


async def stream_edit(
    mgr: SessionManager,
    instruction: str,
    session: str | None,
    notes: Notes,
    on_event: Callable[[Event], Awaitable[None]],
) -> tuple[str, ReplyBuilder]:
    """Run one edit stream to its end (or its first error frame), handing each event to ``on_event``."""
    reply = ReplyBuilder()
    # aclosing: leaving on an error frame finalises the decoder at once.
    async with (
        mgr.stream_edit(instruction, session, notes=notes) as (sid, stream),
        contextlib.aclosing(stream) as events,
    ):
        async for event in events:
            reply.feed(event)
            await on_event(event)
            if isinstance(event, StreamError):
                break
    return sid, reply


def stream_failure(error: StreamError) -> BackendStreamError:
    """The error to raise for an error frame the backend sent mid-edit."""
    return BackendStreamError(backend_message=error.message, code=error.code)


async def settled_draft(
    mgr: SessionManager, sid: str, before: Draft, *, replied: bool, notes: Notes
) -> Draft:
    """The draft after an edit; a silent edit that changed nothing yet is looked at twice more."""
    after = (await mgr.state(sid, notes=notes))[1].state.draft
    if not replied and after == before:
        # A silent stream may land its change a moment later: look twice more before saying "nothing".
        for _ in range(2):
            await mgr.sleep(1.0)
            after = (await mgr.state(sid, notes=notes))[1].state.draft
            if after != before:
                break
    return after


@dataclass(frozen=True)
class EditOutcome:
    reply: str
    changes: list[str]
    summary: str


def edit_outcome(before: Draft, after: Draft, text: str) -> EditOutcome:
    """The reply, the list of changes and the timeline summary of a finished edit."""
    changes = timeline.diff(before, after)
    summary = timeline.summarize(after)
    if text:
        from nemo_mcp.service.translate import translate  # its rule table compiles ~30 ms of regexes

        text = translate(text, timeline_summary=summary)
    elif changes:
        text = "The edit was applied. " + timeline.describe_diff(before, after)
    else:
        text = (
            "The backend finished without a reply and the timeline did not change. Try a more concrete "
            "instruction (what to cut, where, how long)."
        )
    return EditOutcome(reply=text, changes=changes, summary=summary)


# -- exports: moves to service/exports.py (and downloads.py) -------------------------------------


def download_dir(download_to: str, settings: Settings) -> Path:
    """The existing folder an export should be saved in; relative paths start at the download folder."""
    if "\x00" in download_to:
        raise UploadRefused("The download folder path contains a NUL character; pass a plain folder path.")
    folder = Path(download_to).expanduser()
    if not folder.is_absolute():
        base = settings.download_dir or Path.cwd()
        folder = base / folder
    try:
        is_dir = folder.is_dir()
    except OSError:  # a name too long or otherwise unusable for this filesystem
        is_dir = False
    if not is_dir:
        raise UploadRefused(
            f"The download folder {str(folder)!r} does not exist or is not a folder. Create it first, or pass "
            "an existing folder."
        )
    return folder


def resume_record(mgr: SessionManager, render_id: str, session: str | None) -> RenderRecord:
    """The stored record of an earlier render, or a pending one to poll when this store never saw it."""
    return mgr.find_render(render_id) or RenderRecord(
        render_id=render_id,
        backend=mgr.backend,
        session_id=session or mgr.current_project_id() or "",
        status="pending",
    )


def check_rendered(status: RenderStatus) -> None:
    """Raise RenderFailed unless a finished render completed."""
    if status.status != "completed":
        raise RenderFailed(
            f"The render {status.status}"
            + (f": {status.error}" if status.error else "")
            + ". Check the timeline with get_timeline, then export again."
        )


# -- projects: moves to service/ (projects) ------------------------------------------------------


def render_ids(mgr: SessionManager, session_id: str) -> list[str]:
    """The ids of the renders this store knows for one project."""
    return [r.render_id for r in mgr.store.list_renders(mgr.backend, session_id)]
