"""The engine's side of ``/run_sse``: reading and validating the request, the way ADK answers a bad one.

The request model and the event frames are the shared wire shapes of :mod:`nemo_mcp.api.frames`.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError
from pydantic.alias_generators import to_camel
from starlette.requests import Request
from starlette.responses import JSONResponse

from nemo_mcp.api.frames import AdkFrames, RunRequest
from nemo_mcp.engine.ffmpeg import scrub_paths
from nemo_mcp.engine.http.envelopes import ApiFailure, adk_detail

MAX_RUN_BODY_BYTES = 1024 * 1024


def _unprocessable(errors: list[dict[str, Any]]) -> ApiFailure:
    return ApiFailure(JSONResponse({"detail": errors}, status_code=422))


def parse_run_request(raw: bytes) -> RunRequest:
    """The request, or the 422 failure ADK (FastAPI) answers for invalid JSON or a wrong shape."""
    try:
        body = json.loads(raw) if raw.strip() else None
    except ValueError as exc:
        error = {"type": "json_invalid", "loc": ["body", 0], "msg": "JSON decode error", "input": {}}
        raise _unprocessable([{**error, "ctx": {"error": str(exc)[:200]}}]) from None
    try:
        return RunRequest.model_validate(body)
    except ValidationError as exc:
        errors = []
        for err in exc.errors(include_url=False, include_context=False):
            loc = [to_camel(p) if isinstance(p, str) else p for p in err["loc"]]
            errors.append(
                {"type": err["type"], "loc": ["body", *loc], "msg": err["msg"], "input": err["input"]}
            )
        raise _unprocessable(errors) from None


async def read_run_request(request: Request) -> RunRequest:
    """The ``/run_sse`` body, at most :data:`MAX_RUN_BODY_BYTES`, validated."""
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_RUN_BODY_BYTES:
            raise adk_detail("Request body too large", status=413)
    return parse_run_request(bytes(raw))


def engine_frames() -> AdkFrames:
    """The frames of one invocation, with file paths taken out of error text."""
    return AdkFrames(scrub=scrub_paths)
