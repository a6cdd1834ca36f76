"""Sessions: creating one, reading its state, and the credit balance (the local engine charges none)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from nemo_mcp.engine.http.auth import LOCAL_CREDITS, session_for, user_for
from nemo_mcp.engine.http.engine import engine_of
from nemo_mcp.engine.http.envelopes import json_body, ok

logger = logging.getLogger(__name__)


def initial_state() -> dict[str, Any]:
    """A new session's public state: an empty draft and empty lists, as the cloud starts one."""
    return {
        "draft": {"t": [], "d": 0},
        "video_infos": [],
        "generated_media": [],
        "canvas_config": {},
        "video_analyses": [],
    }


def draft_of(state: Mapping[str, Any]) -> dict[str, Any]:
    """The state's draft, or an empty one when it holds none."""
    draft = state.get("draft")
    return draft if isinstance(draft, dict) else {"t": [], "d": 0}


def list_of(state: Mapping[str, Any], key: str) -> list[Any]:
    """The state's list under ``key``, or an empty one."""
    value = state.get(key)
    return value if isinstance(value, list) else []


def _text(value: Any, limit: int, default: str) -> str:
    return value.strip()[:limit] if isinstance(value, str) and value.strip() else default


async def create_session(request: Request) -> Response:
    """``POST /api/tasks/me/with-session/<app>``: a new session with an empty timeline."""
    engine = engine_of(request)
    user_id = user_for(engine, request)
    body = await json_body(request, limit=64 * 1024)
    body = body if isinstance(body, dict) else {}
    title = _text(body.get("task_name"), 200, "project")
    language = _text(body.get("language"), 20, "en")
    record = engine.store.create_session(
        user_id, title=title, language=language, state=initial_state(), private={}
    )
    logger.info("local engine: new session %s", record.session_id)
    return ok(
        {"task_id": record.task_id, "session_id": record.session_id, "user_id": user_id, "task_name": title}
    )


async def credits(request: Request) -> Response:
    """``GET /api/credits/balance/simple``: an unlimited balance."""
    user_for(engine_of(request), request)
    return ok(
        {
            "available": LOCAL_CREDITS,
            "frozen": 0,
            "total": LOCAL_CREDITS,
            "total_granted": LOCAL_CREDITS,
            "total_consumed": 0,
            "unlimited": True,
            "note": "local engine: edits and exports use no credits",
        }
    )


async def session_state(request: Request) -> Response:
    """``GET /api/state/<app>/me/<sid>/latest``: the session's public state."""
    engine = engine_of(request)
    user_id = user_for(engine, request)
    record = session_for(engine, user_id, request.path_params["sid"])
    state, _ = engine.store.load_state(record.session_id)
    return ok(
        {
            "session_id": record.session_id,
            "task_id": record.task_id,
            "task_name": record.title,
            "user_id": user_id,
            "state": state,
        }
    )
