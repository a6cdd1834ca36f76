"""The preview tool end to end: an image first, its layout as structured content, on both backends."""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import respx
from mcp import Client
from mcp.types import CallToolResult, ImageContent
from PIL import Image

from nemo_mcp.mcp import build_server
from nemo_mcp.service import backend_key
from nemo_mcp.service.store import RenderRecord, Store
from nemo_mcp.service.uploads import UploadPolicy
from tests.engine.helpers import ffmpeg

from .helpers import API, SID, make_settings, ok
from .test_server import STATE, connected, state

pytestmark = pytest.mark.anyio

UPLOAD = f"/api/upload-video/nemo_agent/me/{SID}"
CDN = "https://cdn.test/lesson.mp4"
KEYS = {
    "project",
    "source",
    "kind",
    "width",
    "height",
    "bytes",
    "duration_s",
    "frames",
    "chapters",
    "captions",
}


@pytest.fixture(scope="module")
def lesson(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("media") / "lesson.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=8", "-f", "lavfi", "-i", "sine=d=8",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(out),
    )  # fmt: skip
    return out


def _image(result: CallToolResult) -> Image.Image:
    """The JPEG of content item 0, checked against the structured size."""
    assert not result.is_error, result.content
    first = result.content[0]
    assert isinstance(first, ImageContent) and first.mime_type == "image/jpeg"
    data = base64.b64decode(first.data)
    out = result.structured_content or {}
    assert set(out) >= KEYS and out["bytes"] == len(data)
    image = Image.open(io.BytesIO(data))
    assert image.size == (out["width"], out["height"])
    return image


def _error(result: CallToolResult) -> str:
    assert result.is_error
    return " ".join(getattr(c, "text", "") for c in result.content)


@asynccontextmanager
async def local(tmp_path: Path, lesson: Path) -> AsyncIterator[Client]:
    media = tmp_path / "media"
    media.mkdir()
    (media / lesson.name).write_bytes(lesson.read_bytes())
    server = build_server(make_settings(tmp_path / "home", backend="local"), policy=UploadPolicy([media]))
    async with Client(server) as client:
        done = await client.call_tool("upload_media", {"paths": [str(media / lesson.name)]})
        assert not done.is_error, done.content
        yield client


async def test_local_timeline_sheet_and_a_file_frame(tmp_path: Path, lesson: Path) -> None:
    """The timeline gives a sheet of the asked count with each cell inside the image; a file gives one frame."""
    async with local(tmp_path, lesson) as client:
        sheet = await client.call_tool("preview", {"count": 6})
        image = _image(sheet)
        out = sheet.structured_content or {}
        assert out["source"] == "timeline" and out["kind"] == "sheet" and len(out["frames"]) == 6
        assert all(f["x"] + f["w"] <= image.width and f["y"] + f["h"] <= image.height for f in out["frames"])
        assert out["duration_s"] == pytest.approx(8.0, abs=0.1)
        frame = await client.call_tool("preview", {"source": lesson.name, "times": [2.0], "single": True})
        _image(frame)
        assert (frame.structured_content or {})["kind"] == "frame"


@pytest.mark.parametrize(
    ("args", "fix"),
    [
        ({"count": 0}, "count must be 1 to 16"),
        ({"times": [3, 99]}, "give times from 0 to 8"),
        ({"source": "nope.mp4"}, "Its files: lesson.mp4"),
    ],
)
async def test_local_bad_input_names_the_fix(
    tmp_path: Path, lesson: Path, args: dict[str, Any], fix: str
) -> None:
    """A count of 0, a time past the end and an unknown source are refused with what to give instead."""
    async with local(tmp_path, lesson) as client:
        assert fix in _error(await client.call_tool("preview", args))


def _draft(src: str) -> dict[str, Any]:
    return {
        "t": [
            {"tt": 0, "m": {"role": "main"}, "sg": [{"d": 6000, "m": {"src": src}}]},
            {"tt": 7, "m": {"role": "caption"}, "sg": [{"s": 1000, "d": 2000, "m": {"text": "Hello class"}}]},
        ]
    }


@asynccontextmanager
async def cloud(
    tmp_path: Path, lesson: Path, draft: dict[str, Any]
) -> AsyncIterator[tuple[Client, respx.Router]]:
    media = tmp_path / "media"
    media.mkdir()
    local_copy = media / lesson.name
    local_copy.write_bytes(lesson.read_bytes())
    files = {"files": [{"filename": lesson.name, "file_type": "video", "cdn_url": CDN}]}
    async with respx.mock(base_url=API, assert_all_called=False) as router:
        router.post(UPLOAD).mock(return_value=ok(files))
        router.get(STATE).mock(return_value=state(draft))
        async with connected(tmp_path, router, backend="cloud") as client:
            done = await client.call_tool("upload_media", {"paths": [str(local_copy)]})
            assert not done.is_error, done.content
            yield client, router


async def test_cloud_previews_an_uploaded_file_and_its_timeline_here(tmp_path: Path, lesson: Path) -> None:
    """On the cloud the uploaded file and a timeline of it are rendered here, captions listed."""
    async with cloud(tmp_path, lesson, _draft(CDN)) as (client, _):
        _image(await client.call_tool("preview", {"source": lesson.name, "count": 4}))
        timeline = await client.call_tool("preview", {"count": 3})
        _image(timeline)
        out = timeline.structured_content or {}
        assert out["source"] == "timeline" and out["captions"][0]["text"] == "Hello class"


async def test_cloud_says_plainly_when_the_timeline_cannot_be_previewed(tmp_path: Path, lesson: Path) -> None:
    """A timeline of clips not uploaded from here gives no image, kind "none" and a message naming the way out."""
    async with cloud(tmp_path, lesson, _draft("https://cdn.test/elsewhere.mp4")) as (client, _):
        result = await client.call_tool("preview", {})
    assert not result.is_error
    out = result.structured_content or {}
    assert out["kind"] == "none" and out["frames"] == [] and out["bytes"] == 0
    assert not any(isinstance(c, ImageContent) for c in result.content)
    assert "not uploaded from this computer" in out["message"] and "render_id" in out["message"]


async def test_cloud_previews_a_downloaded_export_by_render_id(tmp_path: Path, lesson: Path) -> None:
    """An export downloaded here is previewed from its file by its render id; one not downloaded is named."""
    async with cloud(tmp_path, lesson, _draft(CDN)) as (client, _):
        settings = make_settings(tmp_path / "home", backend="cloud")
        store = Store(settings.store_path)
        exported = tmp_path / "lesson-export.mp4"
        exported.write_bytes(lesson.read_bytes())
        try:
            for rid, file in (("r_done", str(exported)), ("r_away", None)):
                store.save_render(
                    RenderRecord(rid, backend_key(settings, API), SID, "completed", 100.0, local_file=file)
                )
        finally:
            store.close()
        result = await client.call_tool("preview", {"source": "r_done", "count": 2})
        _image(result)
        assert (result.structured_content or {})["source"] == exported.name
        assert "download them with export_video first" in _error(
            await client.call_tool("preview", {"source": "r_away"})
        )


async def test_local_previews_an_export_by_its_render_id(tmp_path: Path, lesson: Path) -> None:
    """After export_video, the MP4 it made is previewed by the render id it returned."""
    async with local(tmp_path, lesson) as client:
        exported = await client.call_tool("export_video", {"quality": "draft"})
        assert not exported.is_error, exported.content
        render_id = (exported.structured_content or {})["render_id"]
        result = await client.call_tool("preview", {"source": render_id, "count": 3})
        # The review view steps with the name the result gave: that name finds the export too.
        named = (result.structured_content or {})["source"]
        again = await client.call_tool("preview", {"source": named, "times": [0.5], "single": True})
    _image(result)
    out = result.structured_content or {}
    assert out["source"].endswith(".mp4") and len(out["frames"]) == 3 and out["chapters"] == []
    assert not again.is_error and (again.structured_content or {})["kind"] == "frame"
