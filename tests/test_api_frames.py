"""The engine's frames, read back by the client's decoder: one wire shape for both sides."""

from __future__ import annotations

import json
from typing import Any

from nemo_mcp.api.adk import (
    Event,
    ReplyBuilder,
    StateDelta,
    StreamError,
    Text,
    ToolCall,
    ToolResult,
    decode_data,
)
from nemo_mcp.api.frames import AdkFrames, RunRequest, call_part, response_part, sse_data, text_part


def _decode(frame: dict[str, Any]) -> list[Event]:
    raw = sse_data(frame).decode()
    assert raw.startswith("data: ") and raw.endswith("\n\n")
    return list(decode_data(raw[len("data: ") : -2]))


def test_run_request_body_is_what_the_engine_validates() -> None:
    """The client's request body validates back into the same request, text included."""
    body = RunRequest.for_text("5529798706024415232", "trim the first 5 seconds").body()
    assert body["app_name"] == "nemo_agent" and body["user_id"] == "me" and body["streaming"] is True
    assert body["new_message"] == {"role": "user", "parts": [{"text": "trim the first 5 seconds"}]}
    again = RunRequest.model_validate(json.loads(json.dumps(body)))
    assert again.session_id == "5529798706024415232"
    assert again.text() == "trim the first 5 seconds"


def test_text_frames_decode_to_text_events() -> None:
    """A partial and a final text frame decode to Text events with the same flags."""
    frames = AdkFrames()
    assert _decode(frames.event([text_part("Cutting…")], partial=True)) == [
        Text("Cutting…", True, "nemo_agent")
    ]
    final = _decode(frames.event([text_part("Done.")], partial=False, finish=True, state_delta={"k": 1}))
    assert final == [Text("Done.", False, "nemo_agent"), StateDelta({"k": 1})]


def test_tool_frames_decode_to_calls_results_and_state() -> None:
    """A functionCall frame and its functionResponse frame decode to ToolCall, ToolResult and the delta."""
    frames = AdkFrames()
    call = _decode(frames.event([call_part("c1", "trim_video", {"mode": "start"})], function_call=True))
    assert call == [ToolCall("trim_video", {"mode": "start"}, "c1")]
    draft = {"t": [{"tt": 0, "sg": [{"d": 5000}]}]}
    result = _decode(
        frames.event(
            [response_part("c1", "trim_video", {"ok": True})], role="user", state_delta={"draft": draft}
        )
    )
    assert result == [ToolResult("trim_video", {"ok": True}, "c1"), StateDelta({"draft": draft})]


def test_error_frames_decode_to_one_stream_error() -> None:
    """ADK 2.x's pair of error frames ends the reply with the message, secrets redacted."""
    builder = ReplyBuilder()
    for frame in AdkFrames().errors(RuntimeError("render failed for nmv_local_abcdefgh")):
        for event in _decode(frame):
            builder.feed(event)
    assert builder.error is not None
    assert isinstance(builder.error, StreamError)
    assert builder.error.code == "RuntimeError"
    assert "nmv_local_abcdefgh" not in builder.error.message
