"""The review view (an MCP App): what the server advertises, and the view itself in headless Chromium.

Until the real `preview` tool is merged, a test-only `preview` with the same contract stands in: it
draws a real contact sheet (a JPEG made by Pillow, one flat colour per frame, the timestamps written on)
and real single frames, so the view crops real cells and the pixels can be checked in the screenshot.
"""

from __future__ import annotations

import base64
import colorsys
import io
import json
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
import respx
from anyio.abc import Process
from anyio.streams.buffered import BufferedByteReceiveStream
from mcp import Client
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp_types import CallToolResult, ImageContent, TextContent

from nemo_mcp.mcp import build_server
from nemo_mcp.mcp import server as server_module
from nemo_mcp.mcp.apps import REVIEW_URI
from nemo_mcp.mcp.tools import TOOLS, ToolSpec
from nemo_mcp.service.uploads import UploadPolicy

from .helpers import API, make_settings

pytestmark = pytest.mark.anyio

APPS_DIR = Path(__file__).resolve().parent / "apps"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DURATION = 60.0
CELL = (192, 108)
CHAPTERS = [
    {"start_s": 0.0, "title": "Why fractions matter"},
    {"start_s": 20.0, "title": "Adding fractions"},
    {"start_s": 40.0, "title": "Practice problems"},
]
CAPTIONS = [
    {"start_s": 1.0, "end_s": 4.5, "text": "Today we look at fractions."},
    {"start_s": 21.0, "end_s": 25.0, "text": "To add them, find a common denominator."},
    {"start_s": 41.0, "end_s": 44.0, "text": "Try these three on your own."},
]


def _colour(t: float) -> tuple[int, int, int]:
    """The flat colour the stand-in renders at time t: distinct per frame, so a wrong crop shows."""
    r, g, b = colorsys.hls_to_rgb((t / DURATION) % 1.0, 0.45, 0.7)
    return round(r * 255), round(g * 255), round(b * 255)


def _frame_image(t: float, size: tuple[int, int]) -> Any:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, _colour(t))
    ImageDraw.Draw(image).text((6, size[1] - 16), f"{t:.1f}s", fill=(255, 255, 255))
    return image


def _jpeg(image: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def render(times: list[float], *, single: bool) -> tuple[bytes, list[dict[str, Any]], tuple[int, int]]:
    """A real JPEG: one larger frame, or a 3-column contact sheet with each frame's cell recorded."""
    from PIL import Image

    if single:
        size = (640, 360)
        return (
            _jpeg(_frame_image(times[0], size)),
            [{"time_s": times[0], "x": 0, "y": 0, "w": 640, "h": 360}],
            size,
        )
    cols, gap = 3, 4
    rows = -(-len(times) // cols)
    size = (cols * CELL[0] + (cols - 1) * gap, rows * CELL[1] + (rows - 1) * gap)
    sheet = Image.new("RGB", size, (0, 0, 0))
    frames = []
    for i, t in enumerate(times):
        x, y = (i % cols) * (CELL[0] + gap), (i // cols) * (CELL[1] + gap)
        sheet.paste(_frame_image(t, CELL), (x, y))
        frames.append({"time_s": t, "x": x, "y": y, "w": CELL[0], "h": CELL[1]})
    return _jpeg(sheet), frames, size


async def preview(
    source: str = "timeline",
    start_s: float = 0.0,
    end_s: float | None = None,
    count: int = 6,
    times: list[float] | None = None,
    single: bool = False,
    session: str | None = None,
) -> CallToolResult:
    """Stand-in for the preview tool (test only): the same arguments and result shape."""
    end = DURATION if end_s is None else end_s
    picked = times or [round(start_s + i * (end - start_s) / count, 3) for i in range(count)]
    data, frames, (width, height) = render(picked[:1] if single else picked, single=single)
    structured = {
        "project": session or "p-review",
        "source": source,
        "kind": "frame" if single else "sheet",
        "width": width,
        "height": height,
        "bytes": len(data),
        "frames": frames,
        "chapters": CHAPTERS,
        "captions": CAPTIONS,
        "notes": [],
        "message": f"{len(frames)} frame(s) of {source}",
    }
    return CallToolResult(
        content=[
            ImageContent(type="image", data=base64.b64encode(data).decode(), mime_type="image/jpeg"),
            TextContent(type="text", text=structured["message"]),
        ],
        structured_content=structured,
    )


@asynccontextmanager
async def connected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Client]:
    """An in-process client of the real server, its TOOLS table holding the stand-in preview too."""
    monkeypatch.setattr(server_module, "TOOLS", (*TOOLS, ToolSpec(preview, "Preview", read_only=True)))
    server = build_server(make_settings(tmp_path / "home"), policy=UploadPolicy([tmp_path]))
    async with respx.mock(base_url=API, assert_all_called=False), Client(server) as client:
        yield client


def wire(result: Any) -> dict[str, Any]:
    """A tool result as it travels in JSON-RPC (camelCase, no nulls), which is what a host forwards."""
    dumped: dict[str, Any] = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dumped


async def test_preview_tool_names_the_review_view_which_is_served_as_an_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tools/list gives preview `_meta.ui.resourceUri` (only it), and resources/read serves that uri as an MCP App."""
    async with connected(tmp_path, monkeypatch) as client:
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


@pytest.mark.slow
async def test_review_view_in_headless_chromium_shows_frames_chapters_and_steps_to_a_frame(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a minimal Apps host, the view shows each frame (its pixels and time) and the chapters, follows the
    theme, loads nothing from the network, and a click on a frame calls preview for that time."""
    _skip_without_chromium()
    from PIL import Image

    async with connected(tmp_path, monkeypatch) as client:
        html = (await client.read_resource(REVIEW_URI)).contents[0].text  # type: ignore[union-attr]
        arguments = {"source": "timeline", "count": 6}
        sheet = wire(await client.call_tool("preview", arguments))
        plan = {"html": html, "input": arguments, "result": sheet, "theme": "light", "click": 2, "typed": "0:42.5",
                "failure": "No timeline yet: upload a video first.",
                "out": str(tmp_path), "chromium": CHROMIUM}  # fmt: skip
        with anyio.fail_after(120):
            report = await drive_view(client, plan)

    frames = sheet["structuredContent"]["frames"]
    times = [f["time_s"] for f in frames]
    assert report["errors"] == [] and report["requests"] == []
    assert report["frame_times"] == times
    assert report["frame_labels"] == ["0:00", "0:10", "0:20", "0:30", "0:40", "0:50"]
    assert [row.split(":", 1)[1][2:] for row in report["chapters"]] == [c["title"] for c in CHAPTERS]
    assert len(report["captions"]) == len(CAPTIONS)
    # The handshake in order: the view initializes first and reports its size only afterwards.
    from_view = [m for m in report["log"] if m["dir"] == "from-view"]
    assert [m["method"] for m in from_view[:2]] == ["ui/initialize", "ui/notifications/initialized"]
    sizes = [m["params"] for m in from_view if m["method"] == "ui/notifications/size-changed"]
    # host.html starts the iframe at 900 px, taller than the view: the view still reports its own height.
    assert sizes and all(size["height"] < 900 for size in sizes) and sizes[-1]["height"] > 300
    # The click asked the server for that moment as one larger frame, and the view shows it.
    clicked = times[2]
    assert report["calls"][0] == (
        {"name": "preview", "arguments": {"times": [clicked], "single": True, "source": "timeline",
                                           "session": sheet["structuredContent"]["project"]}}
    )  # fmt: skip
    assert report["still"]["time"] == clicked and report["still"]["natural"] == [640, 360]
    assert report["pressed"] == [clicked]
    assert report["current_chapter"] and "Adding fractions" in report["current_chapter"][0]
    # A typed time: nonsense is refused without a call, 0:42.5 is fetched and its chapter and caption lit.
    assert report["refused"]["error"] == 1 and report["refused"]["calls"] == 1
    assert [c["arguments"]["times"] for c in report["calls"][1:]] == [[42.5]]
    assert report["typed"]["time"] == 42.5
    assert "Practice problems" in report["typed"]["chapter"][0]
    assert "Try these three" in report["typed"]["caption"][0]
    # Pixels: each tile shows its own cell of the sheet, and the large frame the image the click fetched
    # (compared with the JPEGs the tool returned, so this holds for any footage).
    shot, sheet_jpeg = Image.open(report["screenshots"]["sheet"]), _jpeg_of(sheet)
    at = report["iframe"]
    for tile, cell in zip(report["tiles"], frames, strict=True):
        assert _close(_mean(shot, tile, at["x"], at["y"]), _mean(sheet_jpeg, cell)), cell["time_s"]
    framed, still_jpeg = Image.open(report["screenshots"]["frame"]), _jpeg_of(report["answers"][0])
    whole = {"x": 0, "y": 0, "w": still_jpeg.width, "h": still_jpeg.height}
    assert _close(_mean(framed, report["still"]["box"], at["x"], at["y"]), _mean(still_jpeg, whole))
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
