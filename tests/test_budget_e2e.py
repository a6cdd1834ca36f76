"""A 4-minute 1080p clip through the local engine, with clients that stop waiting at 60 s.

The official TypeScript SDK client (tests/ts/session.mjs, its default 60 s request timeout) and
the Python ``mcp`` client (read timeout 60 s) each upload the clip, edit it and export it. The
server's wait budget is lowered so the export certainly outlasts it: the first export call
returns unfinished and later calls pick the render up. Every call must succeed, return in under
60 s and send progress at least every 5 s; exactly one render is started and one MP4 written.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from nemo_mcp.engine.media import probe
from tests.engine.helpers import ffmpeg

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
TS_DIR = ROOT / "tests" / "ts"
CLIP_S = 240
#: Lower than the 40 s default so the export of the clip outlasts it and must be picked up.
BUDGET_S = 8
HOST_TIMEOUT_S = 60.0
MAX_PROGRESS_GAP_S = 5.0
INSTRUCTION = "Cut out silences"
# A tone with two pauses, so the edit changes the timeline.
PAUSES = ((60.0, 63.0), (150.0, 152.0))


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4-minute 1080p clip that is cheap to make: a flat picture and a tone, ultrafast x264."""
    folder = tmp_path_factory.mktemp("budget-media")
    path = folder / "lecture.mp4"
    mute = ",".join(f"volume=enable='between(t,{a},{b})':volume=0" for a, b in PAUSES)
    ffmpeg(
        "-f", "lavfi", "-i", f"color=c=navy:s=1920x1080:r=15:d={CLIP_S}",
        "-f", "lavfi", "-i", f"sine=f=440:sample_rate=48000:d={CLIP_S},{mute}",
        "-c:v", "libx264", "-preset", "ultrafast", "-g", "150", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-shortest", str(path),
    )  # fmt: skip
    return path


def server_env(tmp: Path, clip: Path) -> dict[str, str]:
    env = {
        "NEMO_MCP_HOME": str(tmp / "home"),
        "NEMO_UPLOAD_ROOTS": str(clip.parent),
        # export_video saves only into the download folder, the upload folders or these.
        "NEMO_DOWNLOAD_ROOTS": str(tmp),
        "NEMO_BACKEND": "local",
        "NEMO_WAIT_BUDGET": str(BUDGET_S),
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
        "PATH": os.environ.get("PATH", ""),
    }
    if os.environ.get("NEMO_FFMPEG"):
        env["NEMO_FFMPEG"] = os.environ["NEMO_FFMPEG"]
    return env


async def check_session(calls: list[dict[str, Any]], projects: dict[str, Any], out: Path) -> None:
    """What both clients must have seen: quick successful calls, steady progress, one render, one MP4."""
    for c in calls:
        assert "thrown" not in c and not c["isError"], c
        assert c["ms"] < HOST_TIMEOUT_S * 1000, c
        if c["tool"] != "list_projects":
            assert c["longestGapMs"] <= MAX_PROGRESS_GAP_S * 1000, c
    exports = [c for c in calls if c["tool"] == "export_video"]
    assert len(exports) >= 2 and not exports[0]["out"]["finished"], "the export was not picked up"
    assert exports[-1]["out"]["finished"] and exports[-1]["out"]["status"] == "completed"
    assert len({c["out"]["render_id"] for c in exports}) == 1
    edit = [c for c in calls if c["tool"] == "send_edit"][-1]["out"]
    assert edit["finished"] and edit["changes"], edit
    (project,) = projects["projects"]
    assert project["renders"] == [exports[-1]["out"]["render_id"]], "more than one render was started"
    (mp4,) = list(out.glob("*.mp4"))
    assert Path(exports[-1]["out"]["file"]) == mp4
    info = await probe(mp4)
    assert (info.width, info.height) == (1920, 1080)
    assert CLIP_S - 10 < info.duration_ms / 1000 < CLIP_S - 1  # the pauses were cut


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
async def test_the_typescript_sdk_client_gets_every_answer_in_time(tmp_path: Path, clip: Path) -> None:
    """The official TS client at its default timeout: upload, edit, export picked up; one render, one MP4."""
    assert (TS_DIR / "node_modules" / "@modelcontextprotocol" / "sdk").is_dir(), (
        "run `npm ci --prefix tests/ts` first (.ci/run does)"
    )
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "cwd").mkdir()
    plan = {
        "command": sys.executable,
        "args": ["-m", "nemo_mcp", "--backend", "local"],
        "env": server_env(tmp_path, clip),
        "cwd": str(tmp_path / "cwd"),
        "clip": str(clip),
        "out": str(out),
        "instruction": INSTRUCTION,
        "quality": "high",
    }
    node = shutil.which("node")
    assert node is not None
    done = await anyio.to_thread.run_sync(
        lambda: subprocess.run(
            [node, str(TS_DIR / "session.mjs"), json.dumps(plan)],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    await check_session(report["calls"], report["projects"], out)


async def test_the_python_client_gets_every_answer_in_time(tmp_path: Path, clip: Path) -> None:
    """The Python mcp client with a 60 s read timeout: the same session, the same checks."""
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "cwd").mkdir()
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "nemo_mcp", "--backend", "local"],
        env=server_env(tmp_path, clip),
        cwd=tmp_path / "cwd",
    )
    calls: list[dict[str, Any]] = []

    async def call(client: Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
        started = last = time.monotonic()
        gap = 0.0

        async def on_progress(_p: float, _t: float | None, _m: str | None) -> None:
            nonlocal last, gap
            gap = max(gap, time.monotonic() - last)
            last = time.monotonic()

        result = await client.call_tool(tool, args, progress_callback=on_progress)
        ended = time.monotonic()
        data = result.structured_content
        assert isinstance(data, dict), result
        calls.append(
            {
                "tool": tool,
                "ms": (ended - started) * 1000,
                "longestGapMs": max(gap, ended - last) * 1000,
                "isError": result.is_error,
                "out": data,
            }
        )
        return data

    with (tmp_path / "server.log").open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog), read_timeout_seconds=HOST_TIMEOUT_S) as client:
            await call(client, "upload_media", {"paths": [str(clip)]})
            edit = await call(client, "send_edit", {"instruction": INSTRUCTION})
            for _ in range(20):
                if edit["finished"]:
                    break
                edit = await call(
                    client, "send_edit", {"instruction": INSTRUCTION, "pick_up": edit["pick_up"]}
                )
            args = {"download_to": str(out), "quality": "high"}
            exp = await call(client, "export_video", args)
            for _ in range(40):
                if exp["finished"]:
                    break
                exp = await call(client, "export_video", {**args, "render_id": exp["render_id"]})
            projects = await call(client, "list_projects", {})
    await check_session(calls, projects, out)
