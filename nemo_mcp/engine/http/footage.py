"""``GET /api/footage/<app>/me/<sid>``: what the session's media says and shows, for the assistant to read.

An extension of the contract (the cloud has no such endpoint; the MCP server reads its cloud
uploads itself). The answer holds one reading per file (``engine.footage``, in the file's own
milliseconds) and, for the timeline, the draft, so the caller lays the readings onto it.

Recognising a long lecture outlasts a request: the first request starts the analysis in the
engine's task group and waits at most ``wait`` seconds; later requests find it running (with its
progress) or finished. A finished reading is not kept here: the analysis cache keeps what is
costly, and a reading is rebuilt from it in moments.
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass, field
from typing import Any, Final

import anyio
from starlette.requests import Request
from starlette.responses import Response

from nemo_mcp.draft import pieces
from nemo_mcp.engine import media as media_mod
from nemo_mcp.engine.analysis import ProgressNotes, SessionAnalyzer
from nemo_mcp.engine.edit import MediaRef
from nemo_mcp.engine.footage import read_media
from nemo_mcp.engine.http.auth import session_for, user_for
from nemo_mcp.engine.http.engine import Engine, engine_of
from nemo_mcp.engine.http.envelopes import coded, ok
from nemo_mcp.engine.http.sessions import draft_of
from nemo_mcp.engine.store import SessionRecord

logger = logging.getLogger(__name__)

#: The longest a request waits for the analysis before answering "not finished yet".
MAX_WAIT_S: Final = 20.0


@dataclass
class _Reading:
    """One file's reading in the making: its progress, then its result or the error it ended with."""

    notes: ProgressNotes = field(default_factory=ProgressNotes)
    said: str = ""
    result: dict[str, Any] | None = None
    error: str | None = None
    done: anyio.Event = field(default_factory=anyio.Event)

    def progress(self) -> str:
        fresh = self.notes.fresh()
        if fresh is not None:
            self.said = fresh
        return self.said


_running: weakref.WeakKeyDictionary[Engine, dict[tuple[str, str], _Reading]] = weakref.WeakKeyDictionary()


async def _work(engine: Engine, record: SessionRecord, ref: MediaRef, reading: _Reading) -> None:
    analyzer = SessionAnalyzer(
        {}, language=record.language, cache_dir=engine.root / "analysis", on_progress=reading.notes.report
    )
    try:
        reading.result = await read_media(analyzer, ref)
    except media_mod.MediaError as exc:
        reading.error = str(exc)
    except Exception as exc:  # kept for the caller: a failure in the background is never silent
        logger.warning("reading %s failed", ref.filename, exc_info=True)
        reading.error = f"reading {ref.filename} failed ({type(exc).__name__}); try again"
    finally:
        reading.done.set()


def _start(engine: Engine, record: SessionRecord, ref: MediaRef) -> _Reading:
    """The reading of ``ref`` running or finished and not yet collected, else a new one started."""
    table = _running.setdefault(engine, {})
    key = (record.session_id, ref.media_id)
    reading = table.get(key)
    if reading is None:
        if engine.task_group is None:
            raise coded(503, "The local engine is stopping; try again.", status=503)
        reading = table[key] = _Reading()
        engine.task_group.start_soon(_work, engine, record, ref, reading)
    return reading


def _targets(engine: Engine, record: SessionRecord, draft: dict[str, Any], wanted: str) -> list[MediaRef]:
    """The file named by ``wanted`` (its media id or file name; the latest of that name), else the timeline's."""
    refs = engine.media_refs(record.session_id)
    if wanted:
        found = [r for r in refs.values() if wanted in (r.media_id, r.filename)]
        if not found:
            names = ", ".join(r.filename for r in refs.values()) or "none yet"
            raise coded(400, f"This project holds no file {wanted[:80]!r}. Its files: {names}.", status=400)
        return found[-1:]
    used = [p.src for p in pieces(draft) if p.src in refs]
    return [refs[m] for m in dict.fromkeys(used) if refs[m].kind in ("video", "audio")]


def _wait_s(request: Request) -> float:
    try:
        return min(MAX_WAIT_S, max(0.0, float(request.query_params.get("wait", "0"))))
    except ValueError:
        raise coded(400, "`wait` must be a number of seconds.", status=400) from None


async def read_footage(request: Request) -> Response:
    """The readings of one file (``media``: its id or file name) or of the files on the timeline, or how far they got."""
    engine = engine_of(request)
    record = session_for(engine, user_for(engine, request), request.path_params["sid"])
    state, _ = engine.store.load_state(record.session_id)
    wait_s = _wait_s(request)
    wanted = request.query_params.get("media", "")
    refs = _targets(engine, record, draft_of(state), wanted)
    # One file is read on its own clock; the timeline's reading carries the draft to lay it out by.
    draft = None if wanted else draft_of(state)
    readings = [_start(engine, record, ref) for ref in refs]
    with anyio.move_on_after(wait_s):
        for reading in readings:
            await reading.done.wait()
    if not all(r.done.is_set() for r in readings):
        said = [r.progress() for r in readings if not r.done.is_set()]
        return ok(
            {"finished": False, "progress": next((s for s in said if s), ""), "media": [], "draft": draft}
        )
    table = _running.get(engine, {})
    for ref in refs:  # collected: the next request reads the (cached) analysis afresh
        table.pop((record.session_id, ref.media_id), None)
    failed = [r.error for r in readings if r.error]
    if failed:
        return ok({"finished": True, "error": failed[0], "media": [], "draft": draft})
    return ok({"finished": True, "media": [r.result for r in readings], "draft": draft})
