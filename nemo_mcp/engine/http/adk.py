"""The ADK side of ``/run_sse``: its request model, its validation errors, and the event frames it streams."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

from pydantic import AliasGenerator, BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel
from starlette.requests import Request
from starlette.responses import JSONResponse

from nemo_mcp.config import APP_NAME
from nemo_mcp.engine.ffmpeg import scrub_paths
from nemo_mcp.engine.http.envelopes import ApiFailure, adk_detail
from nemo_mcp.redact import redact

MAX_RUN_BODY_BYTES = 1024 * 1024
HEARTBEAT = b": ping\n\n"


class _AdkModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=AliasGenerator(validation_alias=to_camel), populate_by_name=True, extra="allow"
    )


class AdkPart(_AdkModel):
    text: str | None = None


class AdkContent(_AdkModel):
    parts: list[AdkPart] | None = None
    role: str | None = None


class RunRequest(_AdkModel):
    """ADK's ``RunAgentRequest``: snake_case or camelCase, like ADK's own validation."""

    app_name: str
    user_id: str
    session_id: str
    new_message: AdkContent
    streaming: bool = False
    state_delta: dict[str, Any] | None = None

    def text(self) -> str:
        """The message's text parts, one per line."""
        return "\n".join(p.text for p in (self.new_message.parts or []) if p.text).strip()


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


def _actions(state_delta: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "stateDelta": state_delta or {},
        "artifactDelta": {},
        "requestedAuthConfigs": {},
        "requestedToolConfirmations": {},
    }


class AdkFrames:
    """Builds ADK-shaped events for one invocation."""

    def __init__(self) -> None:
        self.invocation_id = f"e-{uuid.uuid4()}"

    def event(
        self,
        parts: list[dict[str, Any]],
        *,
        role: str = "model",
        partial: bool | None = None,
        state_delta: dict[str, Any] | None = None,
        finish: bool = False,
        function_call: bool = False,
    ) -> dict[str, Any]:
        """One event carrying ``parts``, its fields in the order ADK writes them."""
        event: dict[str, Any] = {"content": {"parts": parts, "role": role}}
        if partial is not None:
            event["partial"] = partial
        if finish:
            event["finishReason"] = "STOP"
        event.update(
            {"invocationId": self.invocation_id, "author": APP_NAME, "actions": _actions(state_delta)}
        )
        if function_call:
            event["longRunningToolIds"] = []
        event["id"] = str(uuid.uuid4())
        event["timestamp"] = time.time()
        return event

    def errors(self, exc: BaseException) -> list[dict[str, Any]]:
        """ADK 2.x's pair: an event with errorCode/errorMessage, then the bare error object."""
        message = redact(scrub_paths(str(exc) or type(exc).__name__))[:500]
        name = type(exc).__name__
        return [
            {
                "errorCode": name,
                "errorMessage": message,
                "invocationId": self.invocation_id,
                "author": APP_NAME,
                "actions": _actions(),
                "id": str(uuid.uuid4()),
                "timestamp": time.time(),
            },
            {
                "error": f"{name}: {message}",
                "error_details": {"error_type": name, "error_message": message, "timestamp": time.time()},
            },
        ]


def sse_data(obj: Mapping[str, Any]) -> bytes:
    """One server-sent event carrying ``obj`` as compact JSON."""
    return b"data: " + json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode() + b"\n\n"
