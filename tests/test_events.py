"""Tests for nemo_mcp.api.events: frame decoding, the streaming layer and reply building."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import aclosing, asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nemo_mcp import errors
from nemo_mcp.api.adk import (
    Event,
    Heartbeat,
    ReplyBuilder,
    StateDelta,
    StreamError,
    Text,
    ToolCall,
    ToolResult,
    decode_data,
)
from nemo_mcp.api.events import iter_events

from .helpers import ADK_FIXTURES

FIXTURES = ADK_FIXTURES
SSE_HEADERS = {"content-type": "text/event-stream; charset=utf-8"}
LIMITS: dict[str, Any] = {"idle_timeout": 5.0, "total_timeout": 60.0, "max_event_bytes": 1 << 20}


@asynccontextmanager
async def sse_response(
    body: bytes | list[bytes] | AsyncIterable[bytes], headers: dict[str, str] | None = None
) -> AsyncIterator[httpx.Response]:
    """An open streaming response from a fake /run_sse behind httpx.MockTransport."""
    if isinstance(body, bytes):
        body = [body]

    async def chunks() -> AsyncIterator[bytes]:
        if isinstance(body, list):
            for chunk in body:
                yield chunk
        else:
            async for chunk in body:
                yield chunk

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=headers or SSE_HEADERS, content=chunks())

    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client,
        client.stream("POST", "https://nemo.test/run_sse") as response,
    ):
        yield response


async def collect(body: bytes | list[bytes] | AsyncIterable[bytes], **limits: Any) -> list[Event]:
    async with sse_response(body) as response:
        return [event async for event in iter_events(response, **(LIMITS | limits))]


async def drain(response: httpx.Response, into: list[Event], **limits: Any) -> None:
    """Iterate to the end, keeping what arrived before a failure."""
    async for event in iter_events(response, **(LIMITS | limits)):
        into.append(event)


def cut(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def adk(
    parts: list[dict[str, Any]], *, role: str = "model", partial: bool | None = None, **extra: Any
) -> str:
    event: dict[str, Any] = {"content": {"parts": parts, "role": role}, "author": "nemo_agent", **extra}
    if partial is not None:
        event["partial"] = partial
    return json.dumps(event)


# --- the captured ADK fixtures --------------------------------------------------------------

A = "nemo_agent"
DRAFT = {"t": [{"tt": 0, "sg": [{"d": 5000}]}]}
TRIM = {"start_ms": 0, "end_ms": 5000}
TRIMMED = {"ok": True, "duration_ms": 5000}
DONE = "Done! Trimmed to 5s."
BOTH = "Trimming now.\n\nDone! Trimmed to 5s."


def trim(call_id: str) -> list[Event]:
    return [ToolCall("trim_video", TRIM, call_id), ToolResult("trim_video", TRIMMED, call_id)]


# fixture name -> (the exact event sequence, ReplyBuilder.final_text)
EXPECTED: dict[str, tuple[list[Event], str]] = {
    "v1_boom": ([StreamError("model exploded")], ""),
    "v1_hi_stream": (
        [
            Text("Hello", True, A),
            Text(" there!", True, A),
            Text("Hello there!", False, A),
            StateDelta({"last_reply": "Hello there!"}),
        ],
        "Hello there!",
    ),
    "v1_silent": ([*trim("adk-fc-1"), StateDelta({"draft": DRAFT})], ""),
    "v1_trim_nostream": (
        [
            Text("Trimming now.", False, A),
            *trim("adk-00ea935d-c8e3-4b8f-a99f-7294ff49ef34"),
            StateDelta({"draft": DRAFT}),
            Text(DONE, False, A),
            StateDelta({"last_reply": DONE}),
        ],
        BOTH,
    ),
    "v1_trim_stream": (
        [
            Text("Trimming now.", True, A),
            Text("Trimming now.", False, A),
            *trim("adk-861ff749-2580-4871-ae7f-25927f2c86fd"),
            StateDelta({"draft": DRAFT}),
            Text("Done! ", True, A),
            Text("Trimmed to 5s.", True, A),
            Text(DONE, False, A),
            StateDelta({"last_reply": DONE}),
        ],
        BOTH,
    ),
    # The error event ends the stream; the {"error": ...} frame after it is never read.
    "v2_boom": ([StreamError("model exploded", code="RuntimeError")], ""),
    "v2_silent": (
        [
            *trim("adk-fc-1"),
            StateDelta({"draft": DRAFT}),
            Text(DONE, False, A),
            StateDelta({"last_reply": DONE}),
        ],
        DONE,
    ),
    # ADK 2.x puts state deltas on partial events too; ADK never applies those, nor do we.
    "v2_trim_stream": (
        [
            Text("Trimming now.", True, A),
            Text("Trimming now.", False, A),
            ToolCall("trim_video", TRIM, "adk-ebf5b0fe-883e-41ed-b5f8-6be0a4ba6e3b"),
            StateDelta({"last_reply": "Trimming now."}),
            ToolResult("trim_video", TRIMMED, "adk-ebf5b0fe-883e-41ed-b5f8-6be0a4ba6e3b"),
            StateDelta({"draft": DRAFT}),
            Text("Done! ", True, A),
            Text("Trimmed to 5s.", True, A),
            Text(DONE, False, A),
            StateDelta({"last_reply": "Trimming now.Done! Trimmed to 5s."}),
        ],
        BOTH,
    ),
}


def read_capture(name: str) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of a captured exchange."""
    path = FIXTURES / f"{name}.http"
    head, _, body = path.read_bytes().partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    # The captures keep "Transfer-Encoding: chunked" but show the body de-chunked, as the
    # client sees it; drop the header so nothing tries to de-chunk it again.
    headers.pop("transfer-encoding", None)
    return int(status_line.split()[1]), headers, body


def test_every_captured_event_stream_has_an_expectation() -> None:
    """Each 200 text/event-stream capture in the fixtures is covered by EXPECTED."""
    streams = set()
    for path in FIXTURES.glob("*.http"):
        status, headers, _ = read_capture(path.stem)
        if status == 200 and headers.get("content-type", "").startswith("text/event-stream"):
            streams.add(path.stem)
    assert streams == set(EXPECTED)


@pytest.mark.anyio
@pytest.mark.parametrize("chunk_size", [None, 7], ids=["whole", "7-byte-chunks"])
@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_captured_stream_decodes_to_the_exact_events_and_text(
    name: str, chunk_size: int | None
) -> None:
    """A real ADK capture decodes to its exact event sequence and final text, however it is chunked."""
    status, headers, body = read_capture(name)
    assert status == 200
    events, final_text = EXPECTED[name]
    async with sse_response(cut(body, chunk_size) if chunk_size else body, headers) as response:
        got = [event async for event in iter_events(response, **LIMITS)]
    assert got == events
    reply = ReplyBuilder()
    for event in got:
        reply.feed(event)
    assert reply.final_text == final_text


@pytest.mark.anyio
async def test_silent_edit_yields_tool_call_and_draft_but_no_text() -> None:
    """v1_silent: no text, one trim_video call, and the new draft in the state."""
    _, headers, body = read_capture("v1_silent")
    reply = ReplyBuilder()
    async with sse_response(body, headers) as response:
        async for event in iter_events(response, **LIMITS):
            reply.feed(event)
    assert (reply.final_text, reply.tool_calls, reply.state, reply.error) == (
        "",
        ["trim_video"],
        {"draft": DRAFT},
        None,
    )


@pytest.mark.anyio
@pytest.mark.parametrize("name", ["v1_boom", "v2_boom"])
async def test_boom_captures_end_the_reply_with_the_model_error(name: str) -> None:
    """The v1 and v2 error captures both leave "model exploded" as the reply's error."""
    _, headers, body = read_capture(name)
    reply = ReplyBuilder()
    async with sse_response(body, headers) as response:
        async for event in iter_events(response, **LIMITS):
            reply.feed(event)
    assert reply.error is not None
    assert reply.error.message == "model exploded"


def test_v2_error_frame_keeps_its_error_details() -> None:
    """ADK 2.x's trailing {"error", "error_details"} frame keeps the details."""
    _, _, body = read_capture("v2_boom")
    frame = body.split(b"\n\n")[1].decode().removeprefix("data: ")
    details = {
        "error_type": "RuntimeError",
        "error_message": "model exploded",
        "timestamp": 1795238277.4136796,
    }
    assert decode_data(frame) == [StreamError("RuntimeError: model exploded", details=details)]


# --- decode_data ----------------------------------------------------------------------------


def test_adk1_unescaped_error_frame_is_an_error_with_the_raw_message() -> None:
    """ADK 1.x's invalid-JSON error frame becomes a StreamError carrying the pasted message."""
    frame = '{"error": "429 RESOURCE_EXHAUSTED. {"error": {"code": 429}}"}'
    assert decode_data(frame) == [StreamError('429 RESOURCE_EXHAUSTED. {"error": {"code": 429}}')]


def test_truncated_error_frame_is_still_an_error() -> None:
    """A frame starting with {"error" that is cut off is an error, not a heartbeat."""
    assert decode_data('  {"error": "quota exceeded wh') == [StreamError("quota exceeded wh")]


def test_error_object_gives_message_code_and_details() -> None:
    """An error given as an object yields its message and code, and keeps it as details."""
    error = {"code": 429, "message": "slow down", "status": "RESOURCE_EXHAUSTED"}
    assert decode_data(json.dumps({"error": error})) == [StreamError("slow down", code="429", details=error)]


def test_adk2_error_event_without_message_uses_the_code() -> None:
    """An errorCode with no errorMessage still ends the reply, with the code as the message."""
    assert decode_data('{"errorCode": "MAX_TOKENS", "author": "a"}') == [
        StreamError("MAX_TOKENS", code="MAX_TOKENS")
    ]


def test_null_error_key_is_not_an_error() -> None:
    """{"error": null} alongside an ADK event is ignored, not treated as a failure."""
    assert decode_data(adk([{"text": "ok"}], error=None)) == [Text("ok", False, A)]


def test_thought_parts_are_hidden() -> None:
    """Parts marked "thought": true produce nothing."""
    frame = adk([{"text": "let me think", "thought": True}, {"text": "Answer."}])
    assert decode_data(frame) == [Text("Answer.", False, A)]


def test_user_role_text_is_not_shown() -> None:
    """Text in a role "user" content (the echoed instruction) is skipped."""
    assert decode_data(adk([{"text": "trim it"}], role="user")) == []


def test_parts_keep_their_order_and_adjacent_texts_join() -> None:
    """Adjacent text parts join into one Text; calls stay in part order; the state delta comes last."""
    frame = adk(
        [
            {"text": "Trim"},
            {"text": "ming."},
            {"functionCall": {"id": "c1", "name": "trim_video", "args": TRIM}},
            {"text": "Then captions."},
            {"functionCall": {"name": "add_captions"}},
        ],
        actions={"stateDelta": {"draft": DRAFT}},
    )
    assert decode_data(frame) == [
        Text("Trimming.", False, A),
        ToolCall("trim_video", TRIM, "c1"),
        Text("Then captions.", False, A),
        ToolCall("add_captions", {}),
        StateDelta({"draft": DRAFT}),
    ]


def test_partial_event_yields_only_its_text() -> None:
    """A partial event's function call (a preview) and state delta (never committed) are dropped."""
    frame = adk(
        [{"text": "Trim"}, {"functionCall": {"name": "trim_video", "args": {}}}],
        partial=True,
        actions={"stateDelta": {"x": 1}},
    )
    assert decode_data(frame) == [Text("Trim", True, A)]


def test_function_response_becomes_tool_result() -> None:
    """A functionResponse part is a ToolResult with the raw response."""
    frame = adk([{"functionResponse": {"id": "c1", "name": "trim_video", "response": TRIMMED}}], role="user")
    assert decode_data(frame) == [ToolResult("trim_video", TRIMMED, "c1")]


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        ('{"type":"text","content":"Hi"}', [Text("Hi", False)]),
        ('{"type":"tool_call","name":"trim","args":{"a":1}}', [ToolCall("trim", {"a": 1})]),
        (
            '{"type":"tool_call","tool":"trim","arguments":"{\\"a\\": 1}","id":7}',
            [ToolCall("trim", {"a": 1}, "7")],
        ),
        ('{"type":"tool_result","name":"trim","result":{"ok":true}}', [ToolResult("trim", {"ok": True})]),
        ('{"type":"state_delta","delta":{"draft":{}}}', [StateDelta({"draft": {}})]),
        ('{"type":"state","state":{"x":1}}', [StateDelta({"x": 1})]),
        ('{"type":"heartbeat"}', [Heartbeat("heartbeat-frame")]),
        ('{"type":"error","message":"boom","code":500}', [StreamError("boom", code="500")]),
        ('{"type":"progress","percent":40}', [Heartbeat("unknown")]),
    ],
    ids=[
        "text",
        "tool-call",
        "tool-call-json-args",
        "tool-result",
        "state-delta",
        "state",
        "heartbeat",
        "error",
        "unknown-type",
    ],
)
def test_simplified_frames_decode(frame: str, expected: list[Event]) -> None:
    """The vendor's simplified {"type": ...} frames decode to the matching events."""
    assert decode_data(frame) == expected


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("", "empty"),
        ("  ", "empty"),
        ("ping", "non-json"),
        ("[DONE]", "non-json"),
        ("42", "unknown"),
        ("[1, 2]", "unknown"),
        ("null", "unknown"),
        ('"still working"', "unknown"),
    ],
)
def test_payloads_without_content_are_heartbeats(data: str, reason: str) -> None:
    """Empty, non-JSON and non-object payloads mean "still working"."""
    assert decode_data(data) == [Heartbeat(reason)]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
# Values shaped like ADK events, so that the fuzzing reaches past the first isinstance check.
ADK_LIKE = st.fixed_dictionaries(
    {},
    optional={
        "content": st.fixed_dictionaries(
            {},
            optional={
                "parts": st.lists(
                    JSON
                    | st.dictionaries(
                        st.sampled_from(["text", "thought", "functionCall", "functionResponse"]), JSON
                    ),
                    max_size=3,
                ),
                "role": JSON,
            },
        )
        | JSON,
        "partial": JSON,
        "author": JSON,
        "actions": st.fixed_dictionaries({}, optional={"stateDelta": JSON}) | JSON,
        "error": JSON,
        "errorCode": JSON,
        "type": st.sampled_from(["text", "tool_call", "tool_result", "state", "error", "heartbeat"]) | JSON,
        "content_": JSON,
    },
)


@settings(max_examples=150, deadline=None)
@given(value=JSON | ADK_LIKE)
def test_decode_data_never_raises_on_any_json(value: Any) -> None:
    """Whatever JSON arrives, decode_data returns events and does not raise."""
    events = decode_data(json.dumps(value))
    assert isinstance(events, list)


@settings(max_examples=200, deadline=None)
@given(data=st.text())
def test_decode_data_never_raises_on_any_text(data: str) -> None:
    """Whatever text arrives, decode_data returns events and does not raise."""
    assert isinstance(decode_data(data), list)


def test_deeply_nested_json_is_not_a_crash() -> None:
    """JSON nested deeper than the recursion limit is a heartbeat, not a RecursionError."""
    assert decode_data("[" * 100_000 + "]" * 100_000) == [Heartbeat("non-json")]


# --- the streaming layer --------------------------------------------------------------------


@pytest.mark.anyio
async def test_comments_and_empty_data_are_heartbeats() -> None:
    """A ": ping" comment and an empty data: line each yield a Heartbeat."""
    body = b': ping\n\ndata:\n\ndata: {"type":"text","content":"hi"}\n\n'
    assert await collect(body) == [Heartbeat("comment"), Heartbeat("empty"), Text("hi", False)]


@pytest.mark.anyio
@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
async def test_every_sse_line_ending_works(newline: bytes) -> None:
    """LF, CRLF and CR all end lines, even when a CRLF is split between chunks."""
    event = b'data: {"type":"text",' + newline + b'data: "content":"a"}' + newline * 2
    body = (event + b": c" + newline) * 2
    for size in (len(body), 1, 2, 3):
        assert await collect(cut(body, size)) == [Text("a", False), Heartbeat("comment")] * 2


@pytest.mark.anyio
async def test_unicode_line_separators_inside_json_do_not_split_lines() -> None:
    """U+2028, U+2029, U+0085 and friends inside a JSON string stay in the text."""
    text = "a\u2028b\u2029c\x85d\x0be\x0cf\x1cg\x1dh\x1ei"
    body = f"data: {json.dumps({'type': 'text', 'content': text}, ensure_ascii=False)}\n\n".encode()
    assert await collect(cut(body, 3)) == [Text(text, False)]


@pytest.mark.anyio
async def test_multi_line_data_joins_with_newlines() -> None:
    """Several data: lines of one event are joined with "\\n" before decoding."""
    body = b'data: {"type": "text",\ndata:  "content":\ndata: "x"}\n\n'
    assert await collect(body) == [Text("x", False)]


@pytest.mark.anyio
async def test_blank_lines_after_an_id_do_not_make_events() -> None:
    """A block with only id: or event: fields (no data) dispatches nothing, as the SSE spec says."""
    body = b'id: 1\ndata: {"type":"text","content":"a"}\n\n\n\nevent: ping\n\nretry: 10\n\n: c\n\n\n'
    assert await collect(body) == [Text("a", False), Heartbeat("comment")]


@pytest.mark.anyio
async def test_iteration_stops_after_an_error_event() -> None:
    """Frames after a StreamError are not decoded: the stream is over."""
    body = b'data: {"error": "model exploded"}\n\ndata: {"type":"text","content":"late"}\n\n'
    assert await collect(body) == [StreamError("model exploded")]


@pytest.mark.anyio
async def test_last_event_without_a_blank_line_is_still_delivered() -> None:
    """A final event the server closed without a blank line (or newline) is dispatched."""
    assert await collect(b'data: {"type":"text","content":"a"}\n') == [Text("a", False)]
    assert await collect(b'data: {"type":"text","content":"a"}') == [Text("a", False)]


@pytest.mark.anyio
async def test_a_cut_off_final_frame_is_a_heartbeat() -> None:
    """A connection closed mid-JSON leaves a heartbeat, not a crash."""
    assert await collect(b'data: {"content": {"parts": [{"te') == [Heartbeat("non-json")]


@pytest.mark.anyio
async def test_a_leading_byte_order_mark_is_ignored() -> None:
    """A UTF-8 BOM at the start of the stream does not hide the first field."""
    body = b'\xef\xbb\xbfdata: {"type":"text","content":"a"}\n\n'
    assert await collect(cut(body, 2)) == [Text("a", False)]


@pytest.mark.anyio
async def test_invalid_utf8_is_replaced_not_fatal() -> None:
    """Bytes that are not UTF-8 become U+FFFD instead of ending the stream."""
    body = b'data: {"type":"text","content":"a\xff"}\n\n'
    assert await collect(body) == [Text("a\ufffd", False)]


@pytest.mark.anyio
async def test_a_10_mb_line_is_refused_without_being_buffered() -> None:
    """A 10 MB data: line raises EventTooLarge long before the body has been read."""
    chunk, total = 64 * 1024, 160  # 160 x 64 KiB = 10 MiB
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b"data: "
        for _ in range(total):
            sent += 1
            yield b"x" * chunk

    with pytest.raises(errors.EventTooLarge):
        await collect(body(), max_event_bytes=1 << 20)
    assert sent < 20  # 1 MiB plus a chunk, not 10 MiB


@pytest.mark.anyio
async def test_an_event_of_many_small_lines_is_capped_too() -> None:
    """Many data: lines under the cap that add up to more than it raise EventTooLarge."""
    body = b"data: 0123456789\n" * 200 + b"\n"
    with pytest.raises(errors.EventTooLarge):
        await collect(body, max_event_bytes=1000)


@pytest.mark.anyio
async def test_the_size_cap_is_inclusive() -> None:
    """A line of exactly max_event_bytes passes; one byte more does not."""
    line = b'data: {"type":"text","content":"abc"}'
    assert await collect(cut(line + b"\n\n", 5), max_event_bytes=len(line)) == [Text("abc", False)]
    with pytest.raises(errors.EventTooLarge):
        await collect(cut(line + b"\n\n", 5), max_event_bytes=len(line) - 1)


async def one_event_then_silence() -> AsyncIterator[bytes]:
    yield b'data: {"type":"text","content":"working"}\n\n'
    await anyio.sleep_forever()


@pytest.mark.anyio
async def test_a_silent_stream_raises_stream_idle_and_can_be_closed() -> None:
    """No bytes for idle_timeout seconds raises StreamIdle; the response still closes cleanly."""
    got: list[Event] = []
    async with sse_response(one_event_then_silence()) as response:
        started = time.monotonic()
        with pytest.raises(errors.StreamIdle):
            await drain(response, got, idle_timeout=0.2)
        elapsed = time.monotonic() - started
        await response.aclose()
        assert response.is_closed
    assert got == [Text("working", False)]
    assert 0.15 < elapsed < 2


@pytest.mark.anyio
async def test_a_wait_is_bounded_by_the_remaining_total_time() -> None:
    """When the total limit comes before the idle limit, the stream stops with StreamTooLong."""
    started = time.monotonic()
    with pytest.raises(errors.StreamTooLong):
        await collect(one_event_then_silence(), idle_timeout=30, total_timeout=0.2)
    assert time.monotonic() - started < 2


@pytest.mark.anyio
async def test_the_total_cap_follows_the_injected_clock() -> None:
    """Once the clock passes total_timeout, the next read raises StreamTooLong."""
    got: list[Event] = []

    def clock() -> float:
        # Time stands still until the first event has arrived, then jumps past the cap.
        return 1000.0 + 901 * len(got)

    body = b'data: {"type":"text","content":"one"}\n\n'
    async with sse_response([body, body]) as response:
        with pytest.raises(errors.StreamTooLong):
            await drain(response, got, total_timeout=900, clock=clock)
    assert got == [Text("one", False)]


@pytest.mark.anyio
async def test_breaking_out_early_closes_the_iterator_cleanly() -> None:
    """A consumer may stop after the first event; closing the iterator raises nothing."""
    async with (
        sse_response(one_event_then_silence()) as response,
        aclosing(iter_events(response, **LIMITS)) as events,
    ):
        async for event in events:
            assert event == Text("working", False)
            break


# --- the property test ------------------------------------------------------------------------

SPICY = st.sampled_from(
    ["\u2028", "\u2029", "\x85", "\U0001f3ac", "é", '"', "\\", "\n", "\r", "\t", "\x00", "{"]
)
TEXTS = st.text(alphabet=st.characters(codec="utf-8") | SPICY, min_size=1, max_size=12)
NAMES = st.from_regex(r"[a-z][a-z_]{0,11}", fullmatch=True)
ARGS = st.dictionaries(st.text(max_size=6), st.integers() | TEXTS | st.booleans() | st.none(), max_size=3)


@st.composite
def frames(draw: st.DrawFn) -> tuple[list[str], list[Event]]:
    """One SSE event as its lines (a comment, or data: lines), and the events it must decode to."""
    kind = draw(st.sampled_from(["adk", "adk", "adk", "comment", "empty"]))
    if kind == "comment":
        return [":" + draw(st.text(alphabet="abc xyz", max_size=8))], [Heartbeat("comment")]
    if kind == "empty":
        return ["data:"], [Heartbeat("empty")]
    partial = draw(st.booleans())
    text, call, delta = draw(st.none() | TEXTS), draw(st.none() | st.tuples(NAMES, ARGS)), draw(ARGS)
    parts: list[dict[str, Any]] = []
    expected: list[Event] = []
    if draw(st.booleans()):
        parts.append({"text": draw(TEXTS), "thought": True})
    if text is not None:
        parts.append({"text": text})
        expected.append(Text(text, partial, A))
    if call is not None:
        parts.append({"functionCall": {"id": "fc", "name": call[0], "args": call[1]}})
        if not partial:
            expected.append(ToolCall(call[0], call[1], "fc"))
    if delta and not partial:
        expected.append(StateDelta(delta))
    payload = adk(parts, partial=partial, actions={"stateDelta": delta})
    if draw(st.booleans()):  # re-serialise over several lines, to exercise multi-line data
        payload = json.dumps(json.loads(payload), indent=1, ensure_ascii=draw(st.booleans()))
    return ["data: " + line for line in payload.split("\n")], expected


@st.composite
def streams(draw: st.DrawFn) -> tuple[list[bytes], list[Event]]:
    """A whole stream of random events with random line endings, cut at random places."""
    events = draw(st.lists(frames(), max_size=8))
    lines = [line for event_lines, _ in events for line in [*event_lines, ""]]
    endings = draw(st.lists(st.sampled_from(["\n", "\r\n"]), min_size=len(lines), max_size=len(lines)))
    body = "".join(map(str.__add__, lines, endings)).encode()
    cuts = sorted(draw(st.sets(st.integers(0, len(body)), max_size=12)))
    chunks = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    return chunks, [event for _, expected in events for event in expected]


@pytest.mark.anyio
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stream=streams())
async def test_any_stream_decodes_to_the_events_it_carries(stream: tuple[list[bytes], list[Event]]) -> None:
    """Random events with random line endings and chunk boundaries decode exactly."""
    chunks, expected = stream
    assert await collect(chunks) == expected


# --- ReplyBuilder ------------------------------------------------------------------------------


def build(*events: Event) -> ReplyBuilder:
    reply = ReplyBuilder()
    for event in events:
        reply.feed(event)
    return reply


def test_final_text_joins_complete_turns_with_a_blank_line() -> None:
    """Non-partial texts are stripped and joined as paragraphs; the partials before them are dropped."""
    reply = build(
        Text("Trim", True), Text("Trimming now. ", False), Text("Done!", True), Text("\nDone!", False)
    )
    assert reply.final_text == "Trimming now.\n\nDone!"


def test_final_text_falls_back_to_the_partials() -> None:
    """A stream with only partial text gives those fragments concatenated."""
    assert build(Text("Hello", True), Text(" there!", True)).final_text == "Hello there!"


def test_final_text_keeps_fragments_after_the_last_complete_turn() -> None:
    """Partial text after the last non-partial text (a cut-off stream) is appended."""
    assert (
        build(Text("Trimming.", False), Text("Done", True), Text("! Now", True)).final_text
        == "Trimming.\n\nDone! Now"
    )


def test_final_text_is_empty_without_text() -> None:
    """No text at all (about 30% of edits) gives an empty final text."""
    assert build(Heartbeat("comment"), ToolCall("trim_video", {})).final_text == ""


def test_reply_collects_tool_calls_state_and_first_error() -> None:
    """Tool names in order, state merged key by key (shallowly), and the first error kept."""
    reply = build(
        ToolCall("trim_video", {}),
        StateDelta({"draft": {"t": [1]}, "a": 1}),
        ToolResult("trim_video", {}),
        ToolCall("add_music", {}),
        StateDelta({"draft": {"t": [2]}}),
        StreamError("model exploded", code="RuntimeError"),
        StreamError("RuntimeError: model exploded"),
    )
    assert reply.tool_calls == ["trim_video", "add_music"]
    assert reply.state == {"draft": {"t": [2]}, "a": 1}
    assert reply.error == StreamError("model exploded", code="RuntimeError")
