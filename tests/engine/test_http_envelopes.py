"""The engine's JSON envelopes and request-body reader, without a server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.requests import Request
from starlette.types import Message

from nemo_mcp.engine.http.envelopes import ApiFailure, adk_detail, coded, iso, json_body, ok, render_ok


def _body(response: Any) -> Any:
    return json.loads(bytes(response.body))


def _request(*chunks: bytes) -> Request:
    messages: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]

    async def receive() -> Message:
        return messages.pop(0)

    return Request({"type": "http", "method": "POST", "headers": []}, receive)


def test_ok_envelopes() -> None:
    """Most endpoints wrap data in code/message/data; the render proxy in success/data."""
    assert _body(ok({"a": 1})) == {"code": 0, "message": "ok", "data": {"a": 1}}
    assert _body(render_ok([1])) == {"success": True, "data": [1]}


def test_coded_failure_in_each_shape() -> None:
    """A coded failure keeps HTTP 200 unless told; the render proxy's carries success false and error."""
    plain = coded(1002, "Session not found: x.")
    assert plain.response.status_code == 200
    assert _body(plain.response) == {"code": 1002, "message": "Session not found: x.", "data": None}
    render = coded(409, "taken", status=409, render=True)
    assert render.response.status_code == 409
    assert _body(render.response) == {"success": False, "error": "taken", "code": 409, "message": "taken"}


def test_adk_detail_with_and_without_code() -> None:
    """ADK failures are {"detail": …}; the token failure adds code and message for our client."""
    bare = adk_detail("Session not found: 1", status=404)
    assert (bare.response.status_code, _body(bare.response)) == (404, {"detail": "Session not found: 1"})
    coded_401 = adk_detail("expired", status=401, code=1001)
    assert coded_401.response.status_code == 401
    assert _body(coded_401.response) == {"detail": "expired", "code": 1001, "message": "expired"}


def test_iso_timestamps() -> None:
    """Epoch seconds become UTC ISO-8601 with a Z; None stays None."""
    assert iso(0) == "1970-01-01T00:00:00Z"
    assert iso(1_700_000_000.9) == "2023-11-14T22:13:20Z"
    assert iso(None) is None


@pytest.mark.anyio
async def test_json_body_reads_chunks_and_empty_body() -> None:
    """The body is assembled from its chunks; an empty or blank body reads as {}."""
    assert await json_body(_request(b'{"a": ', b"[1, 2]}")) == {"a": [1, 2]}
    assert await json_body(_request(b"  ")) == {}


@pytest.mark.anyio
async def test_json_body_limits_and_bad_json() -> None:
    """Over the limit is 413 (checked while reading); invalid JSON is 400; both in the coded envelope."""
    with pytest.raises(ApiFailure) as big:
        await json_body(_request(b"[" + b"1," * 10, b"1]"), limit=16)
    assert big.value.response.status_code == 413
    assert _body(big.value.response)["message"] == "The request body is too large."
    with pytest.raises(ApiFailure) as bad:
        await json_body(_request(b"{nope"))
    assert bad.value.response.status_code == 400
    assert _body(bad.value.response) == {
        "code": 400,
        "message": "The request body is not valid JSON.",
        "data": None,
    }
