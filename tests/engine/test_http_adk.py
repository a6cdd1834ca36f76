"""ADK request validation and event frames of ``/run_sse``, without a server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nemo_mcp.api.frames import AdkFrames, sse_data
from nemo_mcp.engine.http import engine_frames
from nemo_mcp.engine.http.adk import parse_run_request
from nemo_mcp.engine.http.envelopes import ApiFailure


def _detail(exc: ApiFailure) -> Any:
    assert exc.response.status_code == 422
    return json.loads(bytes(exc.response.body))["detail"]


def test_run_request_accepts_camel_and_snake_case() -> None:
    """Like ADK, the request validates in either spelling; its text joins the message's text parts."""
    camel = parse_run_request(
        b'{"appName": "nemo_agent", "userId": "me", "sessionId": "1", '
        b'"newMessage": {"role": "user", "parts": [{"text": "cut "}, {"inlineData": {}}, {"text": "it"}]}}'
    )
    snake = parse_run_request(
        b'{"app_name": "nemo_agent", "user_id": "me", "session_id": "1", "new_message": {"parts": [{"text": "x"}]}}'
    )
    assert (camel.app_name, camel.user_id, camel.session_id) == ("nemo_agent", "me", "1")
    assert camel.text() == "cut \nit"
    assert snake.text() == "x"


def test_invalid_json_is_fastapi_style_422() -> None:
    """A body that is not JSON is answered with FastAPI's json_invalid error."""
    with pytest.raises(ApiFailure) as caught:
        parse_run_request(b"{oops")
    [error] = _detail(caught.value)
    assert error["type"] == "json_invalid"
    assert error["loc"] == ["body", 0]
    assert error["msg"] == "JSON decode error"
    assert error["ctx"]["error"].startswith("Expecting property name")


def test_missing_fields_are_reported_in_camel_case() -> None:
    """Validation errors name fields as ADK does (camelCase), under "body"."""
    with pytest.raises(ApiFailure) as caught:
        parse_run_request(b'{"app_name": "nemo_agent", "session_id": "x"}')
    errors = _detail(caught.value)
    assert [(e["type"], e["loc"]) for e in errors] == [
        ("missing", ["body", "userId"]),
        ("missing", ["body", "newMessage"]),
    ]
    with pytest.raises(ApiFailure) as empty:
        parse_run_request(b"")
    assert [e["loc"] for e in _detail(empty.value)] == [["body"]]


def test_event_frame_fields_and_order() -> None:
    """An event lists content, flags, invocation, author and actions, then id and timestamp, in ADK's order."""
    frames = AdkFrames()
    event = frames.event(
        [{"text": "done"}], partial=False, finish=True, state_delta={"k": 1}, function_call=True
    )
    assert list(event) == [
        "content",
        "partial",
        "finishReason",
        "invocationId",
        "author",
        "actions",
        "longRunningToolIds",
        "id",
        "timestamp",
    ]
    assert event["content"] == {"parts": [{"text": "done"}], "role": "model"}
    assert event["invocationId"] == frames.invocation_id and frames.invocation_id.startswith("e-")
    assert event["author"] == "nemo_agent"
    assert event["actions"]["stateDelta"] == {"k": 1}
    assert frames.event([])["id"] != event["id"]
    assert "partial" not in frames.event([])


def test_error_frames_scrub_paths() -> None:
    """A failure becomes ADK 2.x's pair of error frames, with file paths taken out of the message."""
    frames = engine_frames()
    first, second = frames.errors(ValueError("cannot read /home/someone/secret/clip.mp4"))
    assert first["errorCode"] == "ValueError"
    assert "/home/someone" not in first["errorMessage"]
    assert first["invocationId"] == frames.invocation_id
    assert second["error"] == f"ValueError: {first['errorMessage']}"
    assert second["error_details"]["error_type"] == "ValueError"
    assert frames.errors(RuntimeError())[0]["errorMessage"] == "RuntimeError"


def test_sse_data_is_one_compact_event() -> None:
    """Each frame is one data line of compact JSON (non-ASCII kept), ended by a blank line."""
    assert sse_data({"a": [1, 2], "t": "été"}) == 'data: {"a":[1,2],"t":"été"}\n\n'.encode()
