"""The ADK wire shapes both sides of ``/run_sse`` agree on: the run request and the event frames.

The client builds its request with :class:`RunRequest`; the embedded engine validates the same
model and streams frames built by :class:`AdkFrames`, which :func:`nemo_mcp.api.adk.decode_data`
reads back. A test round-trips every kind of frame through the decoder, so the two cannot drift.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import AliasGenerator, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from nemo_mcp.config import APP_NAME
from nemo_mcp.redact import redact

HEARTBEAT = b": ping\n\n"
"""An SSE comment: what the backend sends while an edit is quiet."""

_ERROR_CHARS = 500


class _AdkModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=AliasGenerator(validation_alias=to_camel),
        populate_by_name=True,
        extra="allow",
        defer_build=True,
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

    @classmethod
    def for_text(cls, session_id: str, text: str, *, user_id: str = "me") -> RunRequest:
        """A streaming request carrying one user message."""
        message = AdkContent(role="user", parts=[AdkPart(text=text)])
        return cls(
            app_name=APP_NAME, user_id=user_id, session_id=session_id, new_message=message, streaming=True
        )

    def body(self) -> dict[str, Any]:
        """The JSON body, in the snake_case field names ADK documents."""
        return self.model_dump(exclude_none=True)

    def text(self) -> str:
        """The message's text parts, one per line."""
        return "\n".join(p.text for p in (self.new_message.parts or []) if p.text).strip()


def text_part(text: str) -> dict[str, Any]:
    return {"text": text}


def call_part(call_id: str, name: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """A tool call the agent makes (``functionCall``)."""
    return {"functionCall": {"id": call_id, "args": dict(args), "name": name}}


def response_part(call_id: str, name: str, response: Any) -> dict[str, Any]:
    """The result of a tool call (``functionResponse``)."""
    return {"functionResponse": {"id": call_id, "name": name, "response": response}}


def _actions(state_delta: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {
        "stateDelta": dict(state_delta or {}),
        "artifactDelta": {},
        "requestedAuthConfigs": {},
        "requestedToolConfirmations": {},
    }


class AdkFrames:
    """Builds ADK-shaped events for one invocation.

    ``scrub`` cleans an error's text before it is sent (the engine takes file paths out);
    secrets are always redacted.
    """

    def __init__(self, *, scrub: Callable[[str], str] | None = None) -> None:
        self.invocation_id = f"e-{uuid.uuid4()}"
        self._scrub = scrub

    def event(
        self,
        parts: list[dict[str, Any]],
        *,
        role: str = "model",
        partial: bool | None = None,
        state_delta: Mapping[str, Any] | None = None,
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
        text = str(exc) or type(exc).__name__
        message = redact(self._scrub(text) if self._scrub else text)[:_ERROR_CHARS]
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
