"""The review view (an MCP App): what the server advertises, and the view itself in headless Chromium.

The view is handed a real result of the real `preview` tool: a local-engine project of a clip whose colour
turns with time (so a wrong crop shows), captions from an uploaded .srt and chapters set by an edit.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from itertools import pairwise
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.abc import Process
from anyio.streams.buffered import BufferedByteReceiveStream
from mcp import Client
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID

from nemo_mcp.mcp import build_server
from nemo_mcp.mcp.apps import REVIEW_URI
from nemo_mcp.service.uploads import UploadPolicy
from tests.engine.helpers import ffmpeg

from .helpers import make_settings

pytestmark = pytest.mark.anyio

APPS_DIR = Path(__file__).resolve().parent / "apps"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DURATION = 36
CHAPTERS = "set the chapters to 0:00 Why fractions matter, 0:12 Adding fractions, 0:24 Practice problems"
SRT = """1
00:00:01,000 --> 00:00:04,500
Today we look at fractions.

2
00:00:13,000 --> 00:00:17,000
To add them, find a common denominator.

3
00:00:25,000 --> 00:00:28,000
Try these three on your own.
"""


@pytest.fixture(scope="module")
def lesson(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 36 s clip whose hue turns a full circle (each moment its own colour) and its .srt."""
    folder = tmp_path_factory.mktemp("lesson")
    video = folder / "fractions.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", f"color=c=0xc03030:s=640x360:r=25:d={DURATION},hue=H=2*PI*t/{DURATION}",
        "-f", "lavfi", "-i", f"sine=d={DURATION}",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(video),
    )  # fmt: skip
    subtitles = folder / "fractions.srt"
    subtitles.write_text(SRT, encoding="utf-8")
    return video, subtitles


@asynccontextmanager
async def connected(tmp_path: Path, lesson: tuple[Path, Path] | None = None) -> AsyncIterator[Client]:
    """An in-process client of the real server on the local engine; given the lesson, its project holds
    it with captions (from the .srt) and three chapters."""
    media = tmp_path / "media"
    media.mkdir()
    paths = [str(shutil.copy(f, media / f.name)) for f in lesson or ()]
    settings = make_settings(tmp_path / "home", backend="local")
    server = build_server(settings, policy=UploadPolicy([media], allow_subtitles=True))
    async with Client(server) as client:
        for name, arguments in (
            ()
            if lesson is None
            else (
                ("upload_media", {"paths": paths}),
                ("send_edit", {"instruction": "add captions"}),
                ("send_edit", {"instruction": CHAPTERS}),
            )
        ):
            done = await client.call_tool(name, arguments)
            assert not done.is_error, done.content
        yield client


def wire(result: Any) -> dict[str, Any]:
    """A tool result as it travels in JSON-RPC (camelCase, no nulls), which is what a host forwards."""
    dumped: dict[str, Any] = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dumped


async def test_preview_tool_names_the_review_view_which_is_served_as_an_app(tmp_path: Path) -> None:
    """tools/list gives preview `_meta.ui.resourceUri` (only it), and resources/read serves that uri as an MCP App."""
    async with connected(tmp_path) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        listed = {str(r.uri): r for r in (await client.list_resources()).resources}
        read = await client.read_resource(REVIEW_URI)
        extensions = client.server_capabilities.extensions or {}
    assert wire(tools["preview"]).get("_meta") == {"ui": {"resourceUri": REVIEW_URI}}
    assert all("_meta" not in wire(tool) for name, tool in tools.items() if name != "preview")
    assert listed[REVIEW_URI].mime_type == APP_MIME_TYPE
    assert EXTENSION_ID in extensions
    (content,) = read.contents
    assert content.mime_type == APP_MIME_TYPE
    html = content.text  # type: ignore[union-attr]
    assert html.lstrip().startswith("<!DOCTYPE html>")
    # Everything inline: the default CSP forbids any load from the network.
    assert "http://" not in html and "https://" not in html and "<script src" not in html


def _skip_without_chromium() -> None:
    """A missing browser skips, except where .ci/run (which installs it) asks for the test to run."""
    if not os.environ.get("NEMO_REQUIRE_BROWSER") and not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (apt-get install chromium); .ci/run always runs this test")


async def _line(stream: BufferedByteReceiveStream) -> dict[str, Any]:
    line = await stream.receive_until(b"\n", 64 * 1024 * 1024)
    parsed: dict[str, Any] = json.loads(line)
    return parsed


async def drive_view(client: Client, plan: dict[str, Any]) -> dict[str, Any]:
    """Run review.mjs: send the plan, answer each tools/call the view makes from the MCP server, return
    the driver's report, with the results the view was given under "answers"."""
    node = shutil.which("node")
    assert node is not None, "Node.js is needed to drive Chromium (CI installs it)"
    assert (APPS_DIR / "node_modules" / "playwright-core").is_dir(), "run `npm ci --prefix tests/apps` first"
    process: Process = await anyio.open_process([node, str(APPS_DIR / "review.mjs")], stderr=None)
    async with process:
        assert process.stdin is not None and process.stdout is not None
        stdout = BufferedByteReceiveStream(process.stdout)
        await process.stdin.send(json.dumps(plan).encode() + b"\n")
        answers: list[dict[str, Any]] = []
        while True:
            message = await _line(stdout)
            if "report" in message:
                report: dict[str, Any] = {**message["report"], "answers": answers}
                break
            call = message["call"]
            answers.append(wire(await client.call_tool(call["name"], call["arguments"])))
            await process.stdin.send(json.dumps({"result": answers[-1]}).encode() + b"\n")
        assert await process.wait() == 0
    return report


def _mean(image: Any, box: dict[str, float], dx: float = 0.0, dy: float = 0.0) -> tuple[float, ...]:
    """The mean colour of the middle of a box (the timestamp sits in a corner, out of the way)."""
    from PIL import ImageStat

    left, top = dx + box["x"] + box["w"] * 0.3, dy + box["y"] + box["h"] * 0.25
    crop = image.convert("RGB").crop(
        (round(left), round(top), round(left + box["w"] * 0.4), round(top + box["h"] * 0.4))
    )
    return tuple(ImageStat.Stat(crop).mean)


def _jpeg_of(result: dict[str, Any]) -> Any:
    """The image a preview result carries, decoded."""
    from PIL import Image

    (image,) = [c for c in result["content"] if c["type"] == "image"]
    return Image.open(io.BytesIO(base64.b64decode(image["data"])))


def _close(got: tuple[float, ...], want: tuple[float, ...], tolerance: float = 24.0) -> bool:
    return all(abs(g - w) <= tolerance for g, w in zip(got, want, strict=True))


def _clock(seconds: float) -> str:
    """A time as the view writes it: m:ss, tenths only when there are any."""
    tenths = round(seconds * 10)
    minutes, rest = divmod(tenths, 600)
    return f"{minutes}:{rest // 10:02d}" + (f".{rest % 10}" if rest % 10 else "")


def _at(rows: list[dict[str, Any]], t: float) -> dict[str, Any]:
    """The chapter playing at t: the last to start at or before it."""
    return [row for row in rows if row["start_s"] <= t][-1]


@pytest.mark.slow
async def test_review_view_in_headless_chromium_shows_frames_chapters_and_steps_to_a_frame(
    tmp_path: Path, lesson: tuple[Path, Path]
) -> None:
    """Given a real preview of a timeline, the view in a minimal Apps host shows each frame (its pixels and
    time), the chapters and captions, follows the theme, loads nothing from the network, and a click on a
    frame or a typed time calls preview for that moment, which the view then shows."""
    _skip_without_chromium()
    from PIL import Image

    async with connected(tmp_path, lesson) as client:
        html = (await client.read_resource(REVIEW_URI)).contents[0].text  # type: ignore[union-attr]
        arguments = {"source": "timeline", "count": 6}
        sheet = wire(await client.call_tool("preview", arguments))
        assert not sheet.get("isError"), sheet["content"]
        plan = {"html": html, "input": arguments, "result": sheet, "theme": "light", "click": 2, "typed": "0:26.5",
                "failure": "No timeline yet: upload a video first.",
                "out": str(tmp_path), "chromium": CHROMIUM}  # fmt: skip
        with anyio.fail_after(120):
            report = await drive_view(client, plan)

    out = sheet["structuredContent"]
    frames, chapters, captions = out["frames"], out["chapters"], out["captions"]
    times = [f["time_s"] for f in frames]
    # What the real timeline holds, as the tool reported it: the view is checked against this.
    assert (
        out["kind"] == "sheet" and len(frames) == 6 and out["duration_s"] == pytest.approx(DURATION, abs=0.1)
    )
    assert [c["title"] for c in chapters] == ["Why fractions matter", "Adding fractions", "Practice problems"]
    assert [c["start_s"] for c in captions] == [1.0, 13.0, 25.0]
    assert report["errors"] == [] and report["requests"] == []
    assert report["frame_times"] == times
    assert report["frame_labels"] == [_clock(t) for t in times]
    assert [row.split(":", 1)[1][2:] for row in report["chapters"]] == [c["title"] for c in chapters]
    assert [row for row in report["captions"] if captions[1]["text"] in row] and len(report["captions"]) == 3
    # The handshake in order: the view initializes first and reports its size only afterwards.
    from_view = [m for m in report["log"] if m["dir"] == "from-view"]
    assert [m["method"] for m in from_view[:2]] == ["ui/initialize", "ui/notifications/initialized"]
    sizes = [m["params"] for m in from_view if m["method"] == "ui/notifications/size-changed"]
    # host.html starts the iframe at 900 px, taller than the view: the view still reports its own height.
    assert sizes and all(size["height"] < 900 for size in sizes) and sizes[-1]["height"] > 300
    # The click asked the server, in this project, for that moment as one larger frame, and the view shows it.
    clicked = times[2]
    assert report["calls"][0] == (
        {"name": "preview", "arguments": {"times": [clicked], "single": True, "source": "timeline",
                                           "session": out["project"]}}
    )  # fmt: skip
    still = report["answers"][0]
    assert not still.get("isError") and still["structuredContent"]["project"] == out["project"]
    assert still["structuredContent"]["kind"] == "frame"
    size = [still["structuredContent"]["width"], still["structuredContent"]["height"]]
    assert report["still"]["time"] == clicked and report["still"]["natural"] == size
    assert report["pressed"] == [clicked]
    assert report["current_chapter"] and _at(chapters, clicked)["title"] in report["current_chapter"][0]
    # A typed time: nonsense is refused without a call, 0:26.5 is fetched and its chapter and caption lit.
    assert report["refused"]["error"] == 1 and report["refused"]["calls"] == 1
    assert [c["arguments"]["times"] for c in report["calls"][1:]] == [[26.5]]
    assert report["typed"]["time"] == 26.5
    assert "Practice problems" in report["typed"]["chapter"][0]
    assert "Try these three" in report["typed"]["caption"][0]
    # Pixels: each tile shows its own cell of the sheet (each moment has its own colour), and the large
    # frame the image the click fetched; both compared with the JPEGs the tool returned.
    shot, sheet_jpeg = Image.open(report["screenshots"]["sheet"]), _jpeg_of(sheet)
    at = report["iframe"]
    for tile, cell in zip(report["tiles"], frames, strict=True):
        assert _close(_mean(shot, tile, at["x"], at["y"]), _mean(sheet_jpeg, cell)), cell["time_s"]
    framed, still_jpeg = Image.open(report["screenshots"]["frame"]), _jpeg_of(still)
    whole = {"x": 0, "y": 0, "w": still_jpeg.width, "h": still_jpeg.height}
    assert _close(_mean(framed, report["still"]["box"], at["x"], at["y"]), _mean(still_jpeg, whole))
    # The colours differ from cell to cell, so the comparison above would catch a tile showing another cell.
    means = [_mean(sheet_jpeg, cell) for cell in frames]
    assert all(not _close(a, b) for a, b in pairwise(means))
    # The theme: a light background, then a dark one after host-context-changed.
    light = [int(v) for v in report["background"]["light"].strip("rgb()").split(",")[:3]]
    dark = [int(v) for v in report["background"]["dark"].strip("rgb()").split(",")[:3]]
    assert min(light) > 200 and max(dark) < 60
    # A failed preview is said in the status line; the frames and the large frame stay.
    assert report["failure"] == {"status": plan["failure"], "frames": len(frames), "still": True}
    keep = os.environ.get("NEMO_REVIEW_SCREENSHOTS")
    if keep:  # to look at the view by eye
        for path in report["screenshots"].values():
            shutil.copy(path, Path(keep) / Path(path).name)
