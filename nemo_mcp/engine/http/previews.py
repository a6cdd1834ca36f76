"""``POST /api/preview/<app>/me/<sid>``: pictures of the timeline as it will export, of a file, or of an export.

An extension of the contract (the cloud has no such endpoint; the MCP server previews its cloud
uploads itself). The body names the ``source`` (empty: the timeline; else a file's name or media
id, or a render id of this session) and what to show: exact ``times`` (seconds), or ``count``
frames over ``start_s``…``end_s``, or one ``single`` larger frame. The answer is the preview's
layout (``engine.previews.Preview.to_wire``) with the JPEG in base64.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from nemo_mcp.engine import media as media_mod
from nemo_mcp.engine import render as render_mod
from nemo_mcp.engine.ffmpeg import scrub_paths
from nemo_mcp.engine.http.auth import session_for, user_for
from nemo_mcp.engine.http.engine import Engine, engine_of
from nemo_mcp.engine.http.envelopes import coded, json_body, ok
from nemo_mcp.engine.http.renders import refuse_changed
from nemo_mcp.engine.http.sessions import draft_of
from nemo_mcp.engine.media.preview import Ask
from nemo_mcp.engine.pinning import FileChanged, Pin, check_pinned
from nemo_mcp.engine.previews import Preview, preview_file, preview_timeline

logger = logging.getLogger(__name__)

_TIMELINE = ("", "timeline")


def _number(body: dict[str, Any], key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise coded(400, f"`{key}` must be a number of seconds.", status=400)
    return float(value)


def _ask(body: dict[str, Any]) -> Ask:
    """The body's times, range, count and single flag, checked for type (ranges are checked later)."""
    times = body.get("times")
    if times is not None and (
        not isinstance(times, list)
        or not all(isinstance(t, int | float) and not isinstance(t, bool) for t in times)
    ):
        raise coded(400, "`times` must be a list of seconds, e.g. [1, 5.5].", status=400)
    count = body.get("count", 12)
    if isinstance(count, bool) or not isinstance(count, int):
        raise coded(400, "`count` must be a whole number of frames.", status=400)
    return Ask(
        times_s=None if times is None else tuple(float(t) for t in times),
        start_s=_number(body, "start_s"),
        end_s=_number(body, "end_s"),
        count=count,
        single=bool(body.get("single")),
    )


async def _timeline(engine: Engine, session_id: str, ask: Ask) -> Preview:
    state, _ = engine.store.load_state(session_id)
    draft = draft_of(state)
    refuse_changed(engine, session_id, draft)
    sources = {
        ref.media_id: render_mod.SourceMedia(ref.path, ref.info)
        for ref in engine.media_refs(session_id).values()
    }
    return await preview_timeline(draft, sources, ask, work_dir=engine.work_dir)


async def _file(engine: Engine, session_id: str, user_id: str, source: str, ask: Ask) -> Preview:
    refs = [r for r in engine.media_refs(session_id).values() if source in (r.media_id, r.filename)]
    if refs:
        ref = refs[-1]
        pin = Pin.decode(ref.pin)
        if pin is not None:
            check_pinned(ref.path, pin, ref.filename)
        return await preview_file(ref.path, ask, name=ref.filename)
    # An export is named by its render id, or by the name a preview of it answered with ("<id>.mp4").
    render = engine.store.get_render(source.removesuffix(".mp4"))
    if render is not None and render.user_id == user_id and render.session_id == session_id:
        if render.status != "completed" or not render.output_path:
            raise coded(
                409,
                f"The export {source} is {render.status}, not finished: preview it once it is.",
                status=409,
            )
        return await preview_file(Path(render.output_path), ask, name=f"{render.render_id}.mp4")
    names = ", ".join(r.filename for r in engine.media_refs(session_id).values()) or "none yet"
    raise coded(
        400,
        f"This project holds no file or export {source[:80]!r}. Its files: {names}. "
        "Leave `source` empty for the timeline, or give a render id from export_video.",
        status=400,
    )


async def preview(request: Request) -> Response:
    """A contact sheet or one frame of the timeline (as it will export), a file, or an export."""
    engine = engine_of(request)
    user_id = user_for(engine, request)
    record = session_for(engine, user_id, request.path_params["sid"])
    body = await json_body(request)
    if not isinstance(body, dict):
        raise coded(400, "Send a JSON object.", status=400)
    ask = _ask(body)
    source = str(body.get("source") or "").strip()
    try:
        if source.lower() in _TIMELINE:
            result = await _timeline(engine, record.session_id, ask)
        else:
            result = await _file(engine, record.session_id, user_id, source, ask)
    except FileChanged as exc:
        raise coded(409, f"{exc}.", status=409) from None
    except media_mod.MediaError as exc:  # RenderError and PreviewError included: each names its fix
        raise coded(400, f"No preview: {scrub_paths(str(exc))}.", status=400) from None
    return ok(result.to_wire())
