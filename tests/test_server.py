"""The MCP server in-process, with respx standing in for the NemoVideo API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import respx
from mcp import Client

from nemo_mcp.mcp import build_server
from nemo_mcp.service import SessionManager
from nemo_mcp.service.uploads import UploadPolicy

from .helpers import (
    ADK_FIXTURES,
    API,
    SID,
    TOOLS,
    FakeSleep,
    ProgressRecorder,
    make_settings,
    ok,
    session_response,
    token_response,
)

pytestmark = pytest.mark.anyio

FIXTURES = ADK_FIXTURES
STATE = f"/api/state/nemo_agent/me/{SID}/latest"
DRAFT_10S = {"t": [{"tt": 0, "sg": [{"d": 10000, "m": {"name": "lecture"}}]}]}
DRAFT_5S = {"t": [{"tt": 0, "sg": [{"d": 5000, "m": {"name": "lecture"}}]}]}


def fixture_body(name: str) -> bytes:
    path = FIXTURES / name
    raw = path.read_bytes()
    return raw.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[1]


def sse(body: bytes) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)


def state(draft: Any, **extra: Any) -> httpx.Response:
    return ok({"session_id": SID, "state": {"draft": draft, "video_infos": extra.get("media", [])}})


async def public_dns(host: str, port: int) -> list[str]:
    """Resolve every test host name to a public documentation address, without real DNS."""
    return ["93.184.216.34"]


@asynccontextmanager
async def connected(
    tmp_path: Path, router: respx.Router, *, sleep: FakeSleep | None = None, **settings: Any
) -> AsyncIterator[Client]:
    """An in-process client of a server whose manager talks to respx and never really sleeps."""
    router.post("/api/auth/anonymous-token").mock(return_value=token_response())
    router.post("/api/tasks/me/with-session/nemo_agent").mock(return_value=session_response())
    cfg = make_settings(
        tmp_path / "home", heartbeat_interval=settings.pop("heartbeat_interval", 15.0), **settings
    )
    fake = sleep or FakeSleep()
    media = tmp_path / "media"
    media.mkdir(exist_ok=True)

    def factory(base: str) -> SessionManager:
        mgr = SessionManager(cfg, api_base=base, sleep=fake, clock=fake.clock)
        mgr.client.resolve = public_dns
        return mgr

    server = build_server(cfg, manager_factory=factory, policy=UploadPolicy([media]))
    async with Client(server) as client:
        yield client


async def test_tools_list_names_annotations_and_size(tmp_path: Path) -> None:
    """Exactly our tools are listed, read-only ones say so, and tools/list stays within 10 KB."""
    async with (
        respx.mock(base_url=API, assert_all_called=False) as router,
        connected(tmp_path, router) as client,
    ):
        tools = (await client.list_tools()).tools
    # Measured as sent: the SDK writes each message with pydantic's model_dump_json, compact JSON
    # in UTF-8 (no spaces after separators), so that is the size a client reads on every turn.
    listed = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]
    size = len(json.dumps(listed, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    print(f"tools/list JSON size: {size} bytes")
    assert {t.name for t in tools} == TOOLS
    by_name = {t.name: t for t in tools}
    for name in ("get_timeline", "check_credits", "list_projects", "preview"):
        assert by_name[name].annotations is not None and by_name[name].annotations.read_only_hint is True
    for name in ("upload_media", "send_edit", "export_video"):
        ann = by_name[name].annotations
        assert ann is not None and ann.read_only_hint is False and ann.open_world_hint is True
    assert all(t.output_schema for t in tools)
    assert size <= 10 * 1024


async def test_upload_media_reports_byte_progress_and_file_details(tmp_path: Path) -> None:
    """A local clip is uploaded with bytes-sent progress; the result names its type, duration and size."""
    async with respx.mock(base_url=API, assert_all_called=False) as router:
        route = router.post(f"/api/upload-video/nemo_agent/me/{SID}").mock(
            return_value=ok(
                {
                    "files": [
                        {
                            "filename": "talk.mp4",
                            "file_type": "video",
                            "duration": 12.5,
                            "width": 1920,
                            "height": 1080,
                            "fps": 30,
                        }
                    ]
                }
            )
        )
        async with connected(tmp_path, router) as client:
            clip = tmp_path / "media" / "talk.mp4"
            clip.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(200_000))
            rec = ProgressRecorder()
            result = await client.call_tool("upload_media", {"paths": [str(clip)]}, progress_callback=rec)
    assert not result.is_error, result.content
    out = result.structured_content
    assert out is not None and out["project"] == SID
    assert out["files"] == [
        {"name": "talk.mp4", "type": "video", "duration_s": 12.5, "width": 1920, "height": 1080, "fps": 30.0}
    ]
    assert route.call_count == 1
    byte_reports = [(p, t) for p, t, m in rec.seen if m and m.startswith("Uploaded")]
    assert byte_reports[-1] == (clip.stat().st_size, clip.stat().st_size)


async def test_upload_outside_allowed_folders_is_refused_before_any_request(tmp_path: Path) -> None:
    """A file outside the allowed roots is a tool error naming the rule; no HTTP request is made."""
    secret = tmp_path / "id_rsa.mp4"
    secret.write_bytes(b"\x00\x00\x00\x18ftypmp42")
    async with respx.mock(base_url=API, assert_all_called=False) as router:
        async with connected(tmp_path, router) as client:
            result = await client.call_tool("upload_media", {"paths": [str(secret)]})
        assert not router.calls
    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    assert "NEMO_UPLOAD_ROOTS" in text


async def test_send_edit_streams_text_tool_lines_and_returns_reply_with_diff(tmp_path: Path) -> None:
    """Progress gets the streamed fragments and a tool line in order; the reply carries the diff."""
    async with respx.mock(base_url=API, assert_all_called=False) as router:
        router.get(STATE).mock(side_effect=[state(DRAFT_10S), state(DRAFT_5S)])
        router.post("/run_sse").mock(return_value=sse(fixture_body("v1_trim_stream.http")))
        async with connected(tmp_path, router) as client:
            rec = ProgressRecorder()
            result = await client.call_tool(
                "send_edit", {"instruction": "trim to 5 seconds"}, progress_callback=rec
            )
    assert not result.is_error, result.content
    out = result.structured_content
    assert out is not None
    assert "Trimming now." in out["reply"] and "Done! Trimmed to 5s." in out["reply"]
    assert out["backend_steps"] == ["trim_video"]
    assert out["changes"] and "0-10s" in out["changes"][0] and "0-5s" in out["changes"][0]
    msgs = rec.messages
    assert msgs[0] == "Sending the edit…"
    # Fragments arriving faster than the transport writes may be merged into one message.
    joined = " | ".join(msgs)
    order = [joined.index(t) for t in ("Trimming now.", "Running trim_video…", "Done!", "Trimmed to 5s.")]
    assert order == sorted(order)
    values = [p for p, _, _ in rec.seen]
    assert values == sorted(values) and len(set(values)) == len(values)


async def test_silent_edit_reports_the_timeline_change_itself(tmp_path: Path) -> None:
    """A stream with no text: the tool fetches the state, diffs it and says what changed."""
    async with respx.mock(base_url=API, assert_all_called=False) as router:
        router.get(STATE).mock(side_effect=[state(DRAFT_10S), state(DRAFT_5S)])
        router.post("/run_sse").mock(return_value=sse(fixture_body("v1_silent.http")))
        async with connected(tmp_path, router) as client:
            result = await client.call_tool("send_edit", {"instruction": "trim"})
    out = result.structured_content
    assert out is not None
    assert out["reply"].startswith("The edit was applied.")
    assert "0-5s" in out["reply"]


async def test_silent_edit_with_no_change_says_so_plainly(tmp_path: Path) -> None:
    """No text and an unchanged timeline (after re-checking) gives a plain 'did not change' reply."""
    sleep = FakeSleep()
    async with respx.mock(base_url=API, assert_all_called=False) as router:
        route = router.get(STATE).mock(return_value=state(DRAFT_10S))
        router.post("/run_sse").mock(return_value=sse(b": ping\n\n"))
        async with connected(tmp_path, router, sleep=sleep) as client:
            result = await client.call_tool("send_edit", {"instruction": "do something"})
    out = result.structured_content
    assert out is not None and "did not change" in out["reply"] and out["changes"] == []
    assert route.call_count == 4 and sleep.delays == [1.0, 1.0]


async def test_still_working_lines_arrive_during_long_silence(tmp_path: Path) -> None:
    """With the backend quiet past the heartbeat interval, progress says 'Still working'."""

    async def slow_stream() -> AsyncIterator[bytes]:
        yield b'data: {"content":{"parts":[{"functionCall":{"id":"1","name":"cut_silences","args":{}}}],"role":"model"}}\n\n'
        await anyio.sleep(0.5)
        yield b'data: {"content":{"parts":[{"text":"Cut 3 silences."}],"role":"model"}}\n\n'

    async with respx.mock(base_url=API, assert_all_called=False) as router:
        router.get(STATE).mock(side_effect=[state(DRAFT_10S), state(DRAFT_5S)])
        router.post("/run_sse").mock(
            side_effect=lambda _: httpx.Response(
                200, headers={"content-type": "text/event-stream"}, content=slow_stream()
            )
        )
        async with connected(tmp_path, router, heartbeat_interval=0.15) as client:
            rec = ProgressRecorder()
            await client.call_tool("send_edit", {"instruction": "cut silences"}, progress_callback=rec)
    msgs = rec.messages
    first_still = next(i for i, m in enumerate(msgs) if m.startswith("Still working"))
    assert msgs.index("Running cut_silences…") < first_still < msgs.index("Cut 3 silences.")


async def test_error_frame_becomes_a_tool_error_with_the_backend_reason(tmp_path: Path) -> None:
    """An ADK error frame ends the call with a tool error quoting the backend's message."""
    async with respx.mock(base_url=API, assert_all_called=False) as router:
        router.get(STATE).mock(return_value=state(DRAFT_10S))
        router.post("/run_sse").mock(return_value=sse(fixture_body("v2_boom.http")))
        async with connected(tmp_path, router) as client:
            result = await client.call_tool("send_edit", {"instruction": "boom"})
    assert result.is_error
    assert "model exploded" in result.content[0].text  # type: ignore[union-attr]


async def test_get_timeline_gives_summary_and_structure_but_no_draft_unless_asked(tmp_path: Path) -> None:
    """The summary and tracks come back; the raw draft only with include_draft=true."""
    media = [{"id": "v1", "filename": "lecture.mp4", "duration": 10, "secret_internal": "x"}]
    async with respx.mock(base_url=API, assert_all_called=False) as router:
        router.get(STATE).mock(return_value=state(DRAFT_10S, media=media))
        async with connected(tmp_path, router) as client:
            plain = (await client.call_tool("get_timeline", {})).structured_content
            full = (await client.call_tool("get_timeline", {"include_draft": True})).structured_content
    assert plain is not None and full is not None
    assert plain["summary"].startswith("Timeline (1 track")
    assert plain["duration_s"] == 10 and plain["draft"] is None
    assert plain["media"] == [{"id": "v1", "filename": "lecture.mp4", "duration": 10}]
    assert full["draft"] == DRAFT_10S


async def test_check_credits_explains_the_balance(tmp_path: Path) -> None:
    """Credits come back with advice that frozen credits are held, and exports cost none."""
    async with respx.mock(base_url=API, assert_all_called=False) as router:
        router.get("/api/credits/balance/simple").mock(
            return_value=ok({"available": 25000, "frozen": 40, "total": 25040})
        )
        async with connected(tmp_path, router) as client:
            out = (await client.call_tool("check_credits", {})).structured_content
    assert out is not None and (out["available"], out["frozen"], out["total"]) == (25000, 40, 25040)
    assert "held" in out["advice"] and "exporting costs none" in out["advice"]


async def test_export_polls_until_completed_then_downloads_the_file(tmp_path: Path) -> None:
    """pending → processing → completed over several polls; the URL is returned and the MP4 saved."""
    sleep = FakeSleep()
    video = b"\x00\x00\x00\x18ftypmp42" + b"V" * 5000
    out_dir = tmp_path / "exports"
    out_dir.mkdir()
    async with respx.mock(base_url=API, assert_all_called=False) as router:
        router.get(STATE).mock(return_value=state(DRAFT_10S))
        start = router.post("/api/render/proxy/lambda").mock(
            return_value=httpx.Response(
                200, json={"success": True, "data": {"id": "render_1", "status": "pending", "progress": 0}}
            )
        )
        poll = router.get("/api/render/proxy/lambda/render_1").mock(
            side_effect=[
                httpx.Response(200, json={"success": True, "data": {"id": "render_1", "status": "pending"}}),
                httpx.Response(
                    200,
                    json={
                        "success": True,
                        "data": {"id": "render_1", "status": "processing", "progress": 50},
                    },
                ),
                httpx.Response(
                    200,
                    json={
                        "taskId": "render_1",
                        "status": "completed",
                        "output": {"url": "https://cdn.test/render_1.mp4"},
                    },
                ),
            ]
        )
        cdn = router.get("https://cdn.test/render_1.mp4").mock(
            return_value=httpx.Response(200, content=video)
        )
        async with connected(tmp_path, router, sleep=sleep, download_dir=out_dir) as client:
            rec = ProgressRecorder()
            result = await client.call_tool(
                "export_video", {"download_to": str(out_dir)}, progress_callback=rec
            )
    assert not result.is_error, result.content
    out = result.structured_content
    assert out is not None and out["finished"] and out["download_url"] == "https://cdn.test/render_1.mp4"
    assert start.call_count == 1 and poll.call_count == 3 and cdn.call_count == 1
    assert "authorization" not in cdn.calls.last.request.headers
    saved = Path(out["file"])
    assert saved.parent == out_dir and saved.read_bytes() == video
    assert sleep.delays and sleep.delays[0] <= 3.0
    assert any(m and "50%" in m for m in rec.messages)


async def test_export_past_its_budget_returns_a_resumable_id_and_resuming_starts_nothing_new(
    tmp_path: Path,
) -> None:
    """A render outlasting wait_seconds returns its id; calling again with it polls the same render."""
    sleep = FakeSleep()

    def processing() -> httpx.Response:
        return httpx.Response(
            200, json={"success": True, "data": {"id": "render_7", "status": "processing", "progress": 10}}
        )

    async with respx.mock(base_url=API, assert_all_called=False) as router:
        router.get(STATE).mock(return_value=state(DRAFT_10S))
        start = router.post("/api/render/proxy/lambda").mock(
            return_value=httpx.Response(
                200, json={"success": True, "data": {"id": "render_7", "status": "pending"}}
            )
        )
        poll = router.get("/api/render/proxy/lambda/render_7").mock(
            side_effect=[
                *(processing() for _ in range(4)),
                httpx.Response(
                    200, json={"id": "render_7", "status": "completed", "outputUrl": "https://cdn.test/7.mp4"}
                ),
            ]
        )
        async with connected(tmp_path, router, sleep=sleep) as client:
            first = (await client.call_tool("export_video", {"wait_seconds": 6})).structured_content
            assert first is not None and not first["finished"] and first["render_id"] == "render_7"
            assert "render_id='render_7'" in first["message"]
            second = (await client.call_tool("export_video", {"render_id": "render_7"})).structured_content
            listed = (await client.call_tool("list_projects", {})).structured_content
    assert second is not None and second["finished"] and second["download_url"] == "https://cdn.test/7.mp4"
    assert start.call_count == 1 and poll.call_count == 5
    assert listed is not None and listed["projects"][0]["renders"] == ["render_7"]


async def test_export_of_an_empty_timeline_says_what_to_do_first(tmp_path: Path) -> None:
    """With no draft, export is a tool error pointing at upload_media and send_edit; no render starts."""
    async with respx.mock(base_url=API, assert_all_called=False) as router:
        router.get(STATE).mock(return_value=state(None))
        async with connected(tmp_path, router) as client:
            result = await client.call_tool("export_video", {})
    assert result.is_error and "upload_media" in result.content[0].text  # type: ignore[union-attr]


async def test_new_project_becomes_current_and_the_old_one_stays_listed(tmp_path: Path) -> None:
    """new_project creates a session and makes it current; list_projects shows both."""
    async with respx.mock(base_url=API, assert_all_called=False) as router:
        router.get(STATE).mock(return_value=state(DRAFT_10S))
        async with connected(tmp_path, router) as client:
            await client.call_tool("get_timeline", {})
            router.post("/api/tasks/me/with-session/nemo_agent").mock(return_value=session_response("999"))
            made = (await client.call_tool("new_project", {"title": "Week 2"})).structured_content
            listed = (await client.call_tool("list_projects", {})).structured_content
    assert made is not None and made["project"] == "999" and made["title"] == "Week 2"
    assert listed is not None and listed["current"] == "999"
    assert {p["project"] for p in listed["projects"]} == {SID, "999"}


async def test_resources_give_formats_and_a_project_timeline(tmp_path: Path) -> None:
    """nemo://formats lists accepted types; the timeline template returns summary and JSON."""
    async with respx.mock(base_url=API, assert_all_called=False) as router:
        router.get(STATE).mock(return_value=state(DRAFT_10S))
        async with connected(tmp_path, router) as client:
            formats = await client.read_resource("nemo://formats")
            tl = await client.read_resource(f"nemo://projects/{SID}/timeline")
            templates = (await client.list_resource_templates()).resource_templates
    fmt = json.loads(formats.contents[0].text)  # type: ignore[union-attr]
    assert "mp4" in fmt["upload_types"] and fmt["max_upload_mb"] == 500
    body = json.loads(tl.contents[0].text)  # type: ignore[union-attr]
    assert body["draft"] == DRAFT_10S and body["summary"].startswith("Timeline (1 track")
    assert [t.uri_template for t in templates] == ["nemo://projects/{session_id}/timeline"]


async def test_one_prompt_per_skill_profile_with_parameters(tmp_path: Path) -> None:
    """Five prompts, one per skill, each rendering its headline workflow with the given parameters."""
    async with (
        respx.mock(base_url=API, assert_all_called=False) as router,
        connected(tmp_path, router) as client,
    ):
        prompts = (await client.list_prompts()).prompts
        lecture = await client.get_prompt("best-video-learn", {"segment_minutes": "4"})
        reel = await client.get_prompt("video-making-ai", {"seconds": "45"})
    assert {p.name for p in prompts} == {
        "best-video-learn",
        "tutor-video",
        "video-making-ai",
        "video-skill-online",
        "chapter-generator",
    }
    assert "segments of 4 minutes" in lecture.messages[0].content.text  # type: ignore[union-attr]
    assert "45-second highlight reel" in reel.messages[0].content.text  # type: ignore[union-attr]


async def test_cancelled_send_edit_closes_the_backend_stream_at_once(tmp_path: Path) -> None:
    """Cancelling the tool call closes the /run_sse response within moments, not when the backend ends."""
    closed = anyio.Event()

    class EndlessStream(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield b'data: {"content":{"parts":[{"text":"Working"}],"role":"model"},"partial":true}\n\n'
            await anyio.sleep(3600)
            yield b""  # pragma: no cover

        async def aclose(self) -> None:
            closed.set()

    async with respx.mock(base_url=API, assert_all_called=False) as router:
        router.get(STATE).mock(return_value=state(DRAFT_10S))
        router.post("/run_sse").mock(
            side_effect=lambda _: httpx.Response(
                200, headers={"content-type": "text/event-stream"}, stream=EndlessStream()
            )
        )
        async with connected(tmp_path, router) as client:
            with anyio.move_on_after(0.3):
                await client.call_tool("send_edit", {"instruction": "cut silences"})
            with anyio.fail_after(2):
                await closed.wait()


async def test_cancelled_export_leaves_the_render_recorded_for_resuming(tmp_path: Path) -> None:
    """An export cancelled while polling keeps its render id in the store; resuming finishes it without a new start."""
    sleep = FakeSleep()
    gate = anyio.Event()

    async def slow_poll(_: httpx.Request) -> httpx.Response:
        if not gate.is_set():
            await anyio.sleep(3600)
        return httpx.Response(
            200, json={"id": "render_9", "status": "completed", "outputUrl": "https://cdn.test/9.mp4"}
        )

    async with respx.mock(base_url=API, assert_all_called=False) as router:
        router.get(STATE).mock(return_value=state(DRAFT_10S))
        start = router.post("/api/render/proxy/lambda").mock(
            return_value=httpx.Response(
                200, json={"success": True, "data": {"id": "render_9", "status": "pending"}}
            )
        )
        router.get("/api/render/proxy/lambda/render_9").mock(side_effect=slow_poll)
        async with connected(tmp_path, router, sleep=sleep) as client:
            with anyio.move_on_after(0.3):
                await client.call_tool("export_video", {})
            listed = (await client.call_tool("list_projects", {})).structured_content
            gate.set()
            resumed = (await client.call_tool("export_video", {"render_id": "render_9"})).structured_content
    assert listed is not None and listed["projects"][0]["renders"] == ["render_9"]
    assert resumed is not None and resumed["finished"] and resumed["download_url"] == "https://cdn.test/9.mp4"
    assert start.call_count == 1


async def test_a_stream_failure_mid_edit_is_a_tool_error_that_names_it(tmp_path: Path) -> None:
    """An oversized event mid-stream ends send_edit with our own message, not a generic failure."""
    huge = b'data: {"content":{"parts":[{"text":"' + b"x" * 8000 + b'"}],"role":"model"}}\n\n'
    async with respx.mock(base_url=API, assert_all_called=False) as router:
        router.get(STATE).mock(return_value=state(DRAFT_10S))
        router.post("/run_sse").mock(return_value=sse(huge))
        async with connected(tmp_path, router, max_event_bytes=2048) as client:
            result = await client.call_tool("send_edit", {"instruction": "cut"})
    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    assert "larger than the size limit" in text
