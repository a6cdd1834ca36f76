"""The API client against respx mocks: every endpoint, every envelope, every error code."""

from __future__ import annotations

import json
import os
import tracemalloc
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from nemo_mcp import errors
from nemo_mcp.api.adk import StateDelta, Text, ToolCall
from nemo_mcp.api.client import NemoClient
from nemo_mcp.api.envelopes import unwrap
from nemo_mcp.api.multipart import MultipartUpload, PathSource
from nemo_mcp.config import SKILLS

from .helpers import API, SID, TOKEN, FakeSleep, app_error, discard_server, ok

pytestmark = pytest.mark.anyio

TOK = SecretStr(TOKEN)


def make_client(sleep: FakeSleep | None = None, base: str = API) -> NemoClient:
    return NemoClient(
        base_url=base,
        profile=SKILLS["chapter-generator"],
        client_id="11111111-2222-3333-4444-555555555555",
        platform="cursor",
        sleep=sleep or FakeSleep(),
    )


def envelopes(data: dict[str, Any]) -> list[httpx.Response]:
    return [
        httpx.Response(200, json={"code": 0, "message": "ok", "data": data}),
        httpx.Response(200, json={"success": True, "data": data}),
        httpx.Response(200, json=data),
    ]


@pytest.mark.parametrize("variant", range(3))
async def test_acquire_token_accepts_every_envelope_and_sends_client_id_without_auth(variant: int) -> None:
    """The anonymous-token call carries X-Client-Id and attribution, never Authorization."""
    data = {"token": TOKEN, "user_id": "anon_1", "expires_at": "2026-03-18T00:00:00Z", "credits": 100}
    async with respx.mock(base_url=API) as router:
        route = router.post("/api/auth/anonymous-token").mock(return_value=envelopes(data)[variant])
        async with make_client() as client:
            grant = await client.acquire_token()
    assert grant.token.get_secret_value() == TOKEN
    assert grant.user_id == "anon_1" and grant.credits == 100
    sent = route.calls.last.request.headers
    assert sent["X-Client-Id"] == "11111111-2222-3333-4444-555555555555"
    assert "authorization" not in sent
    assert (sent["X-Skill-Source"], sent["X-Skill-Platform"]) == ("chapter-generator", "cursor")
    assert sent["X-Skill-Version"] == SKILLS["chapter-generator"].version


async def test_create_session_posts_task_name_and_language_and_reads_numeric_ids() -> None:
    """A session id sent as a JSON number becomes the same digits as a string."""
    async with respx.mock(base_url=API) as router:
        route = router.post("/api/tasks/me/with-session/nemo_agent").mock(
            return_value=ok({"task_id": "task_9", "session_id": 5529798706024415232, "user_id": "anon_1"})
        )
        async with make_client() as client:
            info = await client.create_session(TOK, task_name="lecture", language="zh")
    assert info.session_id == "5529798706024415232" and info.task_id == "task_9"
    request = route.calls.last.request
    assert json.loads(request.content) == {"task_name": "lecture", "language": "zh"}
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["X-Skill-Source"] == "chapter-generator"


@pytest.mark.parametrize("variant", range(3))
async def test_credits_in_every_envelope_keep_unknown_fields(variant: int) -> None:
    """Credits parse from each envelope; a sibling gateway's extra fields are kept."""
    data = {"available": 25000, "frozen": 40, "total": 25040, "total_granted": 30000, "plan": "free"}
    async with respx.mock(base_url=API) as router:
        router.get("/api/credits/balance/simple").mock(return_value=envelopes(data)[variant])
        async with make_client() as client:
            credits = await client.get_credits(TOK)
    assert (credits.available, credits.frozen, credits.total, credits.total_granted) == (
        25000,
        40,
        25040,
        30000,
    )
    assert credits.model_extra == {"plan": "free"}


async def test_state_parses_draft_and_keeps_unknown_keys() -> None:
    """The state's draft comes back untouched, unknown keys included."""
    draft = {"t": [{"tt": 0, "sg": [{"d": 5000, "zz": 1}]}], "d": 5000, "weird": {"x": [1, 2]}}
    data = {
        "session_id": SID,
        "task_id": "task_1",
        "task_name": "project",
        "state": {"draft": draft, "video_infos": [{"id": "v1"}], "generated_media": None, "extra_key": 7},
    }
    async with respx.mock(base_url=API) as router:
        router.get(f"/api/state/nemo_agent/me/{SID}/latest").mock(return_value=ok(data))
        async with make_client() as client:
            state = await client.get_state(TOK, SID)
    assert state.state.draft == draft
    assert state.state.video_infos == [{"id": "v1"}] and state.state.generated_media == []
    assert state.state.model_extra == {"extra_key": 7}


async def test_upload_urls_sends_the_url_form() -> None:
    """Remote files go as JSON {"urls": [...], "source_type": "url"}."""
    files = [
        {
            "filename": "a.mp4",
            "file_type": "video",
            "cdn_url": "https://cdn/a.mp4",
            "duration": 30.5,
            "width": 1920,
            "height": 1080,
            "fps": 30,
            "hash": "h",
        }
    ]
    async with respx.mock(base_url=API) as router:
        route = router.post(f"/api/upload-video/nemo_agent/me/{SID}").mock(
            return_value=ok({"files": files, "session_state_applied": True})
        )
        async with make_client() as client:
            result = await client.upload_urls(
                TOK, SID, ["https://example.com/a.mp4", "https://example.com/b.mp4"]
            )
    assert json.loads(route.calls.last.request.content) == {
        "urls": ["https://example.com/a.mp4", "https://example.com/b.mp4"],
        "source_type": "url",
    }
    assert result.files[0].duration == 30.5 and result.files[0].width == 1920 and result.session_state_applied


async def test_upload_files_sends_several_files_in_one_multipart_request(tmp_path: Path) -> None:
    """Each file is a `files` part with its name and type; Content-Length matches the body."""
    a = tmp_path / "clip one.mp4"
    a.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"A" * 3000)
    b = tmp_path / "song.mp3"
    b.write_bytes(b"ID3" + b"B" * 10)
    seen: list[tuple[int, int]] = []

    async def progress(sent: int, total: int) -> None:
        seen.append((sent, total))

    async with respx.mock(base_url=API) as router:
        route = router.post(f"/api/upload-video/nemo_agent/me/{SID}").mock(
            return_value=ok({"files": [{"filename": "clip one.mp4"}, {"filename": "song.mp3"}]})
        )
        async with make_client() as client:
            result = await client.upload_files(TOK, SID, [PathSource(a), PathSource(b)], on_progress=progress)
    request = route.calls.last.request
    body = request.content
    assert int(request.headers["Content-Length"]) == len(body)
    assert body.count(b'name="files"') == 2
    assert b'filename="clip one.mp4"' in body and b"Content-Type: video/mp4" in body
    assert b"A" * 3000 in body and b"ID3" + b"B" * 10 in body
    assert [f.filename for f in result.files] == ["clip one.mp4", "song.mp3"]
    assert seen[-1] == (a.stat().st_size + b.stat().st_size,) * 2


async def test_render_start_and_poll_accept_both_status_shapes() -> None:
    """Start (success envelope) and poll (bare taskId/output.url) both parse to one RenderStatus."""
    async with respx.mock(base_url=API) as router:
        start = router.post("/api/render/proxy/lambda").mock(
            return_value=httpx.Response(
                200, json={"success": True, "data": {"id": "render_1", "status": "pending", "progress": 5}}
            )
        )
        router.get("/api/render/proxy/lambda/render_1").mock(
            side_effect=[
                httpx.Response(
                    200,
                    json={
                        "success": True,
                        "data": {"id": "render_1", "status": "processing", "progress": 40},
                    },
                ),
                httpx.Response(
                    200,
                    json={
                        "taskId": "render_1",
                        "status": "completed",
                        "progress": 100,
                        "output": {"url": "https://cdn.test/r.mp4", "duration": 30.5, "size": 15728640},
                    },
                ),
            ]
        )
        async with make_client() as client:
            started = await client.start_render(TOK, SID, {"t": []}, render_id="render_1", quality="high")
            mid = await client.get_render(TOK, "render_1")
            done = await client.get_render(TOK, "render_1")
    assert json.loads(start.calls.last.request.content) == {
        "id": "render_1",
        "sessionId": SID,
        "draft": {"t": []},
        "output": {"format": "mp4", "quality": "high"},
    }
    assert (started.status, started.progress) == ("pending", 5)
    assert (mid.status, mid.progress) == ("processing", 40)
    assert (done.status, done.output_url, done.size, done.duration) == (
        "completed",
        "https://cdn.test/r.mp4",
        15728640,
        30.5,
    )


@pytest.mark.parametrize(
    ("raw", "status", "url", "progress"),
    [
        (
            {"id": "r", "status": "completed", "progress": 100, "outputUrl": "https://c/x.mp4"},
            "completed",
            "https://c/x.mp4",
            100,
        ),
        ({"overallProgress": 0.25, "done": False, "fatalErrorEncountered": False}, "processing", None, 25),
        (
            {"overallProgress": 1, "done": True, "outputFile": "https://c/y.mp4"},
            "completed",
            "https://c/y.mp4",
            100,
        ),
        (
            {"overallProgress": 0.3, "fatalErrorEncountered": True, "errors": [{"message": "OOM"}]},
            "failed",
            None,
            30,
        ),
        ({"id": "r", "status": "failed", "error": "bad draft"}, "failed", None, 0),
    ],
)
def test_render_status_normalises_known_variants(
    raw: dict[str, Any], status: str, url: str | None, progress: float
) -> None:
    """Documented and Remotion-native render shapes all map to status/progress/url."""
    from nemo_mcp.api.models import RenderStatus

    parsed = RenderStatus.model_validate(raw)
    assert (parsed.status, parsed.output_url, parsed.progress) == (status, url, progress)


def test_render_status_reads_how_the_local_engine_rendered() -> None:
    """The engine's route (smart/full and why) and the sidecar captions' URL become typed fields."""
    from nemo_mcp.api.models import RenderStatus

    raw = {
        "id": "r1",
        "status": "completed",
        "output": {
            "url": "http://127.0.0.1:1/files/r/k/r1.mp4",
            "captionsUrl": "http://127.0.0.1:1/files/r/k/r1.srt",
        },
        "render": {"path": "full", "reason": "text is drawn on the picture", "captions": "track"},
    }
    parsed = RenderStatus.model_validate(raw)
    assert (parsed.render_path, parsed.render_reason, parsed.captions) == (
        "full",
        "text is drawn on the picture",
        "track",
    )
    assert parsed.captions_url == "http://127.0.0.1:1/files/r/k/r1.srt"
    bare = RenderStatus.model_validate({"id": "r2", "status": "completed", "outputUrl": "https://cdn/x.mp4"})
    assert (bare.render_path, bare.captions, bare.captions_url) == (None, None, None)


async def test_run_sse_yields_typed_events_and_sends_the_adk_body() -> None:
    """The edit stream is decoded into typed events; the request body has ADK's shape."""
    body = (
        b'data: {"content":{"parts":[{"text":"Trimming."},{"functionCall":{"id":"f1","name":"trim_video",'
        b'"args":{"end_ms":5000}}}],"role":"model"},"partial":false}\n\n'
        b'data: {"content":{"parts":[{"functionResponse":{"id":"f1","name":"trim_video","response":{"ok":true}}}],'
        b'"role":"user"},"actions":{"stateDelta":{"draft":{"t":[]}}}}\n\n'
    )
    async with respx.mock(base_url=API) as router:
        route = router.post("/run_sse").mock(
            return_value=httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)
        )
        async with make_client() as client, client.stream_edit(TOK, SID, "trim to 5s") as events:
            got = [e async for e in events]
    sent = json.loads(route.calls.last.request.content)
    assert sent["app_name"] == "nemo_agent" and sent["user_id"] == "me" and sent["session_id"] == SID
    assert sent["new_message"]["parts"] == [{"text": "trim to 5s"}]
    assert route.calls.last.request.headers["Accept"] == "text/event-stream"
    assert Text("Trimming.", partial=False, author=None) in got or any(
        isinstance(e, Text) and e.text == "Trimming." for e in got
    )
    assert any(isinstance(e, ToolCall) and e.name == "trim_video" for e in got)
    assert any(isinstance(e, StateDelta) and e.delta == {"draft": {"t": []}} for e in got)


@pytest.mark.parametrize(
    ("response", "exc"),
    [
        (httpx.Response(404, json={"detail": "Session not found"}), errors.SessionNotFound),
        (httpx.Response(404, json={"detail": "Session not found: 55"}), errors.SessionNotFound),
        (
            httpx.Response(422, json={"detail": [{"type": "missing", "loc": ["body", "userId"]}]}),
            errors.InvalidRequest,
        ),
        (httpx.Response(401, json={"code": 1001, "message": "token expired"}), errors.AuthError),
        (
            httpx.Response(200, json={"code": 1002, "message": "session not found", "data": None}),
            errors.SessionNotFound,
        ),
    ],
)
async def test_run_sse_errors_before_the_stream_map_to_exceptions(
    response: httpx.Response, exc: type[Exception]
) -> None:
    """ADK-style HTTP errors and JSON envelopes before the stream become typed errors."""
    async with respx.mock(base_url=API) as router:
        router.post("/run_sse").mock(return_value=response)
        async with make_client() as client:
            with pytest.raises(exc):
                async with client.stream_edit(TOK, SID, "x") as events:
                    [e async for e in events]


@pytest.mark.parametrize(
    ("code", "exc", "must_contain"),
    [
        (1001, errors.AuthError, "token"),
        (1010, errors.AuthError, "token"),
        (1011, errors.AuthError, "token"),
        (1002, errors.SessionNotFound, "timeline is gone"),
        (2001, errors.InsufficientCredits, "Register at"),
        (4001, errors.UnsupportedFileType, "mp4, mov, avi, webm, mkv"),
        (4002, errors.FileTooLarge, "500 MB"),
        (9999, errors.APIError, "backend said: nope"),
    ],
)
def test_every_application_code_maps_to_its_class_and_advice(
    code: int, exc: type[errors.APIError], must_contain: str
) -> None:
    """Each code of the contract's table raises its own class whose message names the next step."""
    with pytest.raises(exc) as info:
        unwrap(app_error(code))
    assert type(info.value) is exc
    assert info.value.code == code
    assert must_contain in str(info.value)


@pytest.mark.parametrize(
    ("status", "body", "exc", "must_contain"),
    [
        (400, {"detail": "missing X-Client-Id header"}, errors.MissingClientId, "client id"),
        (400, {"detail": "bad"}, errors.BadRequest, "malformed"),
        (401, {"detail": "unauthorized"}, errors.AuthError, "token"),
        (402, {"message": "payment required"}, errors.ExportNotAllowed, "upgrade the plan"),
        (413, {"message": "too big"}, errors.FileTooLarge, "500 MB"),
        (422, {"detail": []}, errors.InvalidRequest, "validate"),
        (429, {"message": "slow down"}, errors.RateLimited, "Wait"),
        (500, {"message": "boom"}, errors.ServerError, "temporary"),
        (503, "<html>down</html>", errors.ServerError, "temporary"),
    ],
)
def test_every_http_status_maps_to_its_class_and_advice(
    status: int, body: Any, exc: type[errors.APIError], must_contain: str
) -> None:
    """Each HTTP status of the contract's table raises its own class with a next step."""
    response = (
        httpx.Response(status, json=body) if not isinstance(body, str) else httpx.Response(status, text=body)
    )
    with pytest.raises(exc) as info:
        unwrap(response)
    assert type(info.value) is exc and info.value.status == status
    assert must_contain in str(info.value)


def test_export_not_allowed_is_not_described_as_out_of_credits() -> None:
    """402 is about the plan: the advice never says the user is out of credits."""
    text = str(errors.ExportNotAllowed(status=402)).lower()
    assert "out of credits" not in text and "upgrade" in text and "not about credits" in text


def test_rate_limit_reads_retry_after_seconds_and_dates() -> None:
    """Retry-After is honoured as seconds or as an HTTP date."""
    with pytest.raises(errors.RateLimited) as info:
        unwrap(httpx.Response(429, headers={"Retry-After": "7"}, json={}))
    assert info.value.retry_after == 7
    with pytest.raises(errors.RateLimited) as info:
        unwrap(httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, json={}))
    assert info.value.retry_after == 0


def test_success_false_envelope_raises_with_the_backend_reason() -> None:
    """{"success": false, "error": ...} is an error carrying the backend's reason."""
    with pytest.raises(errors.APIError) as info:
        unwrap(httpx.Response(200, json={"success": False, "error": "draft invalid"}))
    assert "draft invalid" in str(info.value)


async def test_get_is_retried_on_transient_503_with_capped_backoff() -> None:
    """A GET that meets 503, 502 then 200 succeeds after two jittered waits of at most 8 s."""
    sleep = FakeSleep()
    async with respx.mock(base_url=API) as router:
        route = router.get("/api/credits/balance/simple").mock(
            side_effect=[httpx.Response(503), httpx.Response(502), ok({"available": 1})]
        )
        async with make_client(sleep) as client:
            credits = await client.get_credits(TOK)
    assert credits.available == 1 and route.call_count == 3
    assert len(sleep.delays) == 2 and all(0 < d <= 8.25 for d in sleep.delays)


async def test_get_is_retried_after_a_connection_error() -> None:
    """A connection failure on a GET is retried; the second attempt's answer is returned."""
    async with respx.mock(base_url=API) as router:
        route = router.get(f"/api/state/nemo_agent/me/{SID}/latest").mock(
            side_effect=[httpx.ConnectError("refused"), ok({"state": {"draft": {"t": []}}})]
        )
        async with make_client() as client:
            state = await client.get_state(TOK, SID)
    assert route.call_count == 2 and state.state.draft == {"t": []}


async def test_render_start_is_never_retried_on_503() -> None:
    """Starting a render could double an effect, so a 503 surfaces after one request."""
    async with respx.mock(base_url=API) as router:
        route = router.post("/api/render/proxy/lambda").mock(return_value=httpx.Response(503))
        async with make_client() as client:
            with pytest.raises(errors.ServerError):
                await client.start_render(TOK, SID, {"t": []}, render_id="render_1")
    assert route.call_count == 1


async def test_transient_failures_give_up_after_the_attempt_limit() -> None:
    """Persistent 504s end in a ServerError after four attempts, not an endless loop."""
    async with respx.mock(base_url=API) as router:
        route = router.get("/api/credits/balance/simple").mock(return_value=httpx.Response(504))
        async with make_client() as client:
            with pytest.raises(errors.ServerError):
                await client.get_credits(TOK)
    assert route.call_count == 4


async def test_upload_retry_reopens_the_file_from_its_start(tmp_path: Path) -> None:
    """After a 503 the retried upload sends the whole file again, byte for byte."""
    f = tmp_path / "a.mp4"
    f.write_bytes(os.urandom(5000))
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        return httpx.Response(503) if len(bodies) == 1 else ok({"files": [{"filename": "a.mp4"}]})

    async with respx.mock(base_url=API) as router:
        router.post(f"/api/upload-video/nemo_agent/me/{SID}").mock(side_effect=handler)
        async with make_client() as client:
            await client.upload_files(TOK, SID, [PathSource(f)])
    assert len(bodies) == 2 and bodies[0] == bodies[1] and f.read_bytes() in bodies[1]


@pytest.mark.slow
async def test_a_500_mb_upload_is_streamed_not_read_into_memory(tmp_path: Path) -> None:
    """A 500 MB sparse file reaches a loopback server whole while Python's peak allocation stays tiny."""
    big = tmp_path / "lecture.mp4"
    with big.open("wb") as fh:
        fh.write(b"\x00\x00\x00\x18ftypmp42")
        fh.truncate(500 * 1024 * 1024)
    async with discard_server() as (base, stats), make_client(base=base) as client:
        tracemalloc.start()
        try:
            await client.upload_files(TOK, SID, [PathSource(big)])
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert stats.requests == 1
    assert stats.body_bytes == MultipartUpload([PathSource(big)]).content_length
    assert peak < 16 * 1024 * 1024, f"peak Python allocation {peak / 2**20:.1f} MiB"
