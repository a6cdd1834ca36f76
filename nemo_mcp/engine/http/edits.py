"""Edit orchestration: plan → executor → ADK frames for ``/run_sse``, and uploads placed on the timeline.

Both hold the session's lock, keep the undo history and save the state after each step, so an
edit stopped half-way leaves a consistent state that can still be undone.
"""

from __future__ import annotations

import copy
import logging
import uuid
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response

from nemo_mcp.api.frames import call_part, response_part, text_part
from nemo_mcp.config import APP_NAME
from nemo_mcp.draft import peek_meta
from nemo_mcp.engine.analysis import ProgressNotes, SessionAnalyzer
from nemo_mcp.engine.edit import (
    EditState,
    Executor,
    compose_reply,
    describe_plan,
    place_uploads,
    plan,
    push_history,
)
from nemo_mcp.engine.http.adk import engine_frames, read_run_request
from nemo_mcp.engine.http.auth import user_for
from nemo_mcp.engine.http.engine import Engine, engine_of
from nemo_mcp.engine.http.envelopes import adk_detail
from nemo_mcp.engine.http.sessions import draft_of, list_of
from nemo_mcp.engine.http.stream import AsgiResponse, Emit, EventStream
from nemo_mcp.engine.store import MediaRecord, SessionRecord

logger = logging.getLogger(__name__)
# How often a step's analysis progress is sent, at most.
PROGRESS_EVERY_S = 2.0


@dataclass
class _Session:
    """One session's state while an edit holds its lock."""

    engine: Engine
    record: SessionRecord
    state: dict[str, Any]
    edit: EditState

    def save(self) -> None:
        """Write the draft, the operations' outputs and the canvas into the state, and store it."""
        state, draft = self.state, self.edit.draft
        state["draft"] = draft
        state.update(self.edit.outputs)
        canvas = peek_meta(draft).get("canvas")
        if isinstance(canvas, dict):
            state["canvas_config"] = {
                "width": canvas.get("w"),
                "height": canvas.get("h"),
                "platform": peek_meta(draft).get("platform"),
            }
        self.engine.store.save_state(self.record.session_id, state, self.edit.private)


def _open(engine: Engine, record: SessionRecord) -> _Session:
    state, private = engine.store.load_state(record.session_id)
    edit = EditState(
        draft=draft_of(state),
        media=engine.media_refs(record.session_id),
        title=record.title,
        outputs={},
        private=private,
    )
    return _Session(engine, record, state, edit)


def _drop_unused_history(edit: EditState) -> None:
    history = edit.private.get("history")
    if isinstance(history, list) and history:
        history.pop()  # nothing changed after all: nothing to undo


async def _relay_progress(notes: ProgressNotes, emit: Emit) -> None:
    """Send what slow analysis (a model download, recognition) has reached, every few seconds."""
    frames = engine_frames()
    while True:
        await anyio.sleep(PROGRESS_EVERY_S)
        if (sentence := notes.fresh()) is not None:
            await emit(frames.event([text_part(sentence)], partial=True))


async def run_instruction(engine: Engine, record: SessionRecord, text: str, emit: Emit) -> None:
    """Plan and execute one instruction, emitting ADK events; the state is saved after each step."""
    frames = engine_frames()
    async with engine.lock(record.session_id):
        session = _open(engine, record)
        edit = session.edit
        the_plan = plan(text, edit)
        intro = describe_plan(the_plan)
        if intro:
            await emit(frames.event([text_part(intro)], partial=True))
        notes = ProgressNotes()
        analyzer = SessionAnalyzer(
            session.state,
            language=record.language,
            cache_dir=engine.root / "analysis",
            on_progress=notes.report,
        )
        executor = Executor(edit, analyzer)
        ops = the_plan.operations
        # An undo restores history rather than adding to it; an edit that only looks adds nothing.
        keeps_history = not any(op.is_undo for op in ops) and any(op.changes_timeline for op in ops)
        before = copy.deepcopy(edit.draft)
        if keeps_history:
            # Kept before the first step, so an edit stopped half-way can still be undone.
            push_history(edit, before)
        results = []
        for index, op in enumerate(the_plan.operations):
            call_id = f"adk-{uuid.uuid4()}"
            parts = [call_part(call_id, op.name, op.args)]
            if index == 0 and intro:
                parts.insert(0, text_part(intro))
            await emit(frames.event(parts, partial=False, function_call=True))
            async with anyio.create_task_group() as tg:
                tg.start_soon(_relay_progress, notes, emit)
                result = await executor.run(op)
                tg.cancel_scope.cancel()
            results.append(result)
            session.save()
            delta = {"draft": edit.draft, **edit.outputs}
            response = response_part(call_id, op.name, result.response)
            await emit(frames.event([response], role="user", state_delta=delta))
        if keeps_history and edit.draft == before:
            _drop_unused_history(edit)
        reply = compose_reply(the_plan, results, edit)
        session.state["last_reply"] = reply
        session.save()
        await emit(
            frames.event([text_part(reply)], partial=False, finish=True, state_delta={"last_reply": reply})
        )


async def add_uploads(
    engine: Engine, record: SessionRecord, media: list[MediaRecord], files: list[dict[str, Any]]
) -> None:
    """Store new media, place it on the timeline (undoably) and list ``files`` in ``video_infos``."""
    async with engine.lock(record.session_id):
        engine.store.add_media(media)
        state, private = engine.store.load_state(record.session_id)
        draft = draft_of(state)
        edit = EditState(draft=draft, media=engine.media_refs(record.session_id), private=private)
        before = copy.deepcopy(draft)
        refs = [edit.media[m.media_id] for m in media if m.media_id in edit.media]
        if place_uploads(edit.draft, refs):
            push_history(edit, before)
        state["draft"] = edit.draft
        state["video_infos"] = [*list_of(state, "video_infos"), *files]
        engine.store.save_state(record.session_id, state, edit.private)


async def run_sse(request: Request) -> Response:
    """``POST /run_sse``: one instruction, answered as a stream of ADK events."""
    engine = engine_of(request)
    req = await read_run_request(request)
    user_id = user_for(engine, request, adk=True)
    record = engine.store.get_session(req.session_id)
    if (
        record is None
        or record.user_id != user_id
        or req.app_name != APP_NAME
        or req.user_id not in ("me", user_id)
    ):
        raise adk_detail(f"Session not found: {req.session_id[:100]}", status=404)
    text = req.text()

    async def produce(emit: Emit) -> None:
        await run_instruction(engine, record, text, emit)

    return AsgiResponse(EventStream(produce, heartbeat_s=engine.heartbeat_s))
