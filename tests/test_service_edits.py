"""The edit pipeline of the service layer: stream, settle, diff, translate."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import respx

from nemo_mcp import errors
from nemo_mcp.api.adk import StreamError, Text
from nemo_mcp.service import SessionManager, edits

from .helpers import API, SID, FakeSleep, make_settings, ok, token_response

pytestmark = pytest.mark.anyio

STATE = f"/api/state/nemo_agent/me/{SID}/latest"
SSE = {"content-type": "text/event-stream"}
CLIP = {"t": [{"tt": 0, "sg": [{"d": 5000}]}]}


def stream(*frames: str) -> httpx.Response:
    return httpx.Response(200, headers=SSE, content="".join(f"data: {f}\n\n" for f in frames).encode())


async def run(tmp_path: Path, response: httpx.Response, drafts: list[object]) -> tuple[list[object], object]:
    """Run one edit against respx; returns the events shown and the result (or the error raised)."""
    sleep = FakeSleep()
    shown: list[object] = []
    async with respx.mock(base_url=API) as router:
        router.post("/api/auth/anonymous-token").mock(return_value=token_response())
        router.get(STATE).mock(side_effect=[ok({"state": {"draft": d}}) for d in drafts])
        router.post("/run_sse").mock(return_value=response)
        mgr = SessionManager(make_settings(tmp_path), sleep=sleep, clock=sleep.clock)
        edit = await edits.begin(mgr, "trim it", SID, notes=None)
        try:
            async with edit.stream() as events:
                shown += [event async for event in events]
            outcome: object = await edit.finish()
        except errors.NemoError as exc:
            outcome = exc
        await mgr.aclose()
    shown.append(sleep.delays)
    return shown, outcome


async def test_a_reply_is_translated_and_the_change_described(tmp_path: Path) -> None:
    """The reply's GUI advice gets a tool note; the diff of the drafts lists what changed."""
    response = stream('{"content":{"parts":[{"text":"Done. Click the Export button."}],"role":"model"}}')
    shown, result = await run(tmp_path, response, [None, CLIP])
    assert isinstance(result, edits.EditResult)
    assert result.project == SID and "export_video" in result.reply and result.changes
    assert isinstance(shown[0], Text) and shown[-1] == []


async def test_the_events_end_at_the_first_error_frame_which_finish_raises(tmp_path: Path) -> None:
    """After an error frame nothing more is shown, and finish raises the backend's message."""
    response = stream('{"error": "model overloaded"}', '{"content":{"parts":[{"text":"late"}]}}')
    shown, outcome = await run(tmp_path, response, [None])
    assert isinstance(shown[0], StreamError) and len(shown) == 2
    assert isinstance(outcome, errors.BackendStreamError) and "model overloaded" in str(outcome)


async def test_a_silent_stream_is_given_two_more_looks_before_saying_nothing_changed(tmp_path: Path) -> None:
    """No text and no change: the draft is read twice more, one second apart, then the reply says so."""
    shown, result = await run(tmp_path, stream("{}"), [CLIP, CLIP, CLIP, CLIP])
    assert isinstance(result, edits.EditResult)
    assert result.reply == edits.NO_CHANGE and result.changes == [] and shown[-1] == [1.0, 1.0]
