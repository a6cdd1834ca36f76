"""The wait budget for byte transfers: a slow upload or export download returns in time and is picked up.

The server runs in this process with respx standing in for the NemoVideo API (see test_server).
A transfer is held on an event the test releases, so the budget (real time) runs out first.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import respx

from .helpers import API, SID, ProgressRecorder, ok
from .test_budget_retries import RENDER, export, render_answer
from .test_server import DRAFT_10S, STATE, connected, state

pytestmark = pytest.mark.anyio

UPLOAD = f"/api/upload-video/nemo_agent/me/{SID}"
CLIP_BYTES = b"\x00\x00\x00\x18ftypmp42" + bytes(300_000)
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"V" * 200_000
CDN = "https://cdn.test/clip.mp4"
FILES = {"files": [{"filename": "talk.mp4", "file_type": "video", "duration": 240.0}]}


def clip(tmp_path: Path) -> Path:
    path = tmp_path / "media" / "talk.mp4"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(CLIP_BYTES)
    return path


def open_descriptors(path: Path) -> int:
    """How many of this process's file descriptors point at ``path`` (Linux /proc)."""
    target = str(path.resolve())
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}") == target
        except OSError:
            continue
    return count


async def call(client: Any, tool: str, args: dict[str, Any], **kw: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, args, **kw)
    assert not result.is_error, result.content
    data: dict[str, Any] = result.structured_content
    return data


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors through /proc")
async def test_a_slow_upload_returns_unfinished_and_the_pick_up_returns_its_files(tmp_path: Path) -> None:
    """Past the budget the call succeeds with a pick-up id; asking again attaches; the pick-up gets the files."""
    gate = anyio.Event()
    arrived: list[int] = []  # respx counts a call only once it is answered

    async def slow_upload(request: httpx.Request) -> httpx.Response:
        arrived.append(len(await request.aread()))
        await gate.wait()
        return ok(FILES)

    path = clip(tmp_path)
    async with respx.mock(base_url=API, assert_all_called=False) as router:
        router.get(STATE).mock(return_value=state(DRAFT_10S))
        route = router.post(UPLOAD).mock(side_effect=slow_upload)
        async with connected(tmp_path, router, wait_budget=0.5) as client:
            with anyio.fail_after(5):
                first = await call(client, "upload_media", {"paths": [str(path)]})
                again = await call(client, "upload_media", {"paths": [str(path)]})
            assert (first["finished"], again["finished"]) == (False, False)
            assert first["pick_up"] and again["pick_up"] == first["pick_up"] and first["files"] == []
            assert first["pick_up"] in first["message"] and len(arrived) == 1
            # Only the running upload still holds the file open: the attached call closed its own.
            assert open_descriptors(path) == 1
            gate.set()
            rec = ProgressRecorder()
            picked = await call(client, "upload_media", {"pick_up": first["pick_up"]}, progress_callback=rec)
            with anyio.fail_after(2):
                while open_descriptors(path):
                    await anyio.sleep(0.02)
    assert picked["finished"] and picked["pick_up"] is None and picked["project"] == SID
    assert [f["name"] for f in picked["files"]] == ["talk.mp4"] and picked["files"][0]["duration_s"] == 240.0
    assert route.call_count == 1 and len(arrived) == 1


async def test_an_unknown_upload_pick_up_id_is_an_error_that_names_get_timeline(tmp_path: Path) -> None:
    """A pick-up id this server never issued (or an edit's id) says how to check what the project holds."""
    async with (
        respx.mock(base_url=API, assert_all_called=False) as router,
        connected(tmp_path, router) as client,
    ):
        result = await client.call_tool("upload_media", {"pick_up": "upload_000000000000"})
    assert result.is_error and "get_timeline" in result.content[0].text  # type: ignore[union-attr]


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors through /proc")
async def test_a_cancelled_upload_stops_the_transfer_and_closes_the_file(tmp_path: Path) -> None:
    """The user pressing stop ends the upload request and releases the checked file at once."""
    stopped = anyio.Event()
    arrived: list[int] = []

    async def endless_upload(request: httpx.Request) -> httpx.Response:
        arrived.append(len(await request.aread()))
        try:
            await anyio.sleep(3600)
        finally:
            stopped.set()
        return ok(FILES)  # pragma: no cover

    path = clip(tmp_path)
    async with respx.mock(base_url=API, assert_all_called=False) as router:
        router.get(STATE).mock(return_value=state(DRAFT_10S))
        router.post(UPLOAD).mock(side_effect=endless_upload)
        async with connected(tmp_path, router, wait_budget=30) as client:
            with anyio.move_on_after(0.5):
                await client.call_tool("upload_media", {"paths": [str(path)]})
            with anyio.fail_after(2):
                await stopped.wait()
                while open_descriptors(path):
                    await anyio.sleep(0.02)
            # Stopped, not parked: the same upload asked again is a new request to the backend.
            with anyio.move_on_after(0.5):
                await client.call_tool("upload_media", {"paths": [str(path)]})
    assert len(arrived) == 2 and arrived[0] == arrived[1] > len(CLIP_BYTES)


async def test_progress_keeps_coming_while_an_upload_waits(tmp_path: Path) -> None:
    """A silent upload still reports progress at least every heartbeat until the budget returns the call."""
    gate = anyio.Event()
    stamps: list[float] = []

    async def on_progress(_p: float, _t: float | None, _m: str | None) -> None:
        stamps.append(time.monotonic())

    async def slow_upload(request: httpx.Request) -> httpx.Response:
        await request.aread()
        await gate.wait()
        return ok(FILES)

    path = clip(tmp_path)
    async with respx.mock(base_url=API, assert_all_called=False) as router:
        router.get(STATE).mock(return_value=state(DRAFT_10S))
        router.post(UPLOAD).mock(side_effect=slow_upload)
        async with connected(tmp_path, router, wait_budget=2.0, heartbeat_interval=0.4) as client:
            began = time.monotonic()
            out = await call(client, "upload_media", {"paths": [str(path)]}, progress_callback=on_progress)
            ended = time.monotonic()
            gate.set()
    assert not out["finished"] and 1.9 < ended - began < 5
    points = [began, *stamps, ended]
    assert max(b - a for a, b in itertools.pairwise(points)) <= 0.4 + 0.3


def finished(render_id: str) -> httpx.Response:
    """A poll answer: the render is done and its MP4 is at :data:`CDN`."""
    data = {"id": render_id, "status": "completed", "progress": 100, "outputUrl": CDN}
    return httpx.Response(200, json={"success": True, "data": data})


def held_download(gate: anyio.Event) -> httpx.Response:
    """An MP4 whose first bytes arrive at once and the rest once ``gate`` is set."""

    class Held(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield MP4[:1024]
            await gate.wait()
            yield MP4[1024:]

    headers = {"content-type": "video/mp4", "content-length": str(len(MP4))}
    return httpx.Response(200, headers=headers, stream=Held())


async def test_a_slow_download_is_picked_up_without_a_second_download(tmp_path: Path) -> None:
    """A finished render whose MP4 is still downloading returns unfinished; pick-ups attach, then get the file."""
    gate = anyio.Event()
    out_dir = tmp_path / "exports"
    out_dir.mkdir()
    async with respx.mock(base_url=API, assert_all_called=False) as router:
        router.get(STATE).mock(return_value=state(DRAFT_10S))
        start = router.post(RENDER).mock(
            side_effect=lambda request: render_answer(json.loads(request.content)["id"], "pending", 0)
        )
        router.get(url__regex=rf"{RENDER}/[^/]+$").mock(
            side_effect=lambda request: finished(request.url.path.rsplit("/", 1)[-1])
        )
        cdn = router.get(CDN).mock(side_effect=lambda _: held_download(gate))
        async with connected(tmp_path, router, wait_budget=0.5, download_dir=out_dir) as client:
            first = await export(client, download_to=str(out_dir))
            rid = first["render_id"]
            again = await export(client, download_to=str(out_dir), render_id=rid)
            retried = await export(client, download_to=str(out_dir))
            assert [o["status"] for o in (first, again, retried)] == ["downloading"] * 3
            assert not any(o["finished"] for o in (first, again, retried)) and rid in first["message"]
            assert {again["render_id"], retried["render_id"]} == {rid} and cdn.call_count == 1
            gate.set()
            with anyio.fail_after(5):
                picked = await export(client, download_to=str(out_dir), render_id=rid)
            later = await export(client, download_to=str(out_dir), render_id=rid)
    assert picked["finished"] and picked["file"] and later["file"] == picked["file"]
    assert Path(picked["file"]).read_bytes() == MP4 and list(out_dir.iterdir()) == [Path(picked["file"])]
    assert cdn.call_count == 1 and start.call_count == 1


async def test_a_cancelled_export_download_stops_and_leaves_no_partial_file(tmp_path: Path) -> None:
    """Pressing stop while the MP4 downloads closes the transfer and writes nothing into download_to."""
    closed = anyio.Event()
    out_dir = tmp_path / "exports"
    out_dir.mkdir()

    class Endless(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield MP4[:1024]
            await anyio.sleep(3600)
            yield b""  # pragma: no cover

        async def aclose(self) -> None:
            closed.set()

    async with respx.mock(base_url=API, assert_all_called=False) as router:
        router.get(STATE).mock(return_value=state(DRAFT_10S))
        router.post(RENDER).mock(
            side_effect=lambda request: render_answer(json.loads(request.content)["id"], "pending", 0)
        )
        router.get(url__regex=rf"{RENDER}/[^/]+$").mock(
            side_effect=lambda request: finished(request.url.path.rsplit("/", 1)[-1])
        )
        router.get(CDN).mock(
            side_effect=lambda _: httpx.Response(200, headers={"content-type": "video/mp4"}, stream=Endless())
        )
        async with connected(tmp_path, router, wait_budget=30, download_dir=out_dir) as client:
            with anyio.move_on_after(0.5):
                await client.call_tool("export_video", {"download_to": str(out_dir)})
            with anyio.fail_after(2):
                await closed.wait()
    assert list(out_dir.iterdir()) == []
