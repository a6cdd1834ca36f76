"""Drive nemo-mcp from Python the way an MCP host does: over stdio, with the official MCP client.

    python examples/drive_server.py                      # makes a 12-second test clip first
    python examples/drive_server.py lecture.mp4 --out exports

It starts ``nemo-mcp --backend local`` (the offline ffmpeg engine: no account, no network),
lists the tools, uploads the clip, sends one plain-language edit while printing progress as it
arrives, shows the timeline, and exports the finished MP4 into the output folder.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters
from mcp.types import CallToolResult

EDIT = 'Cut the first 2 seconds, cut out silences and add a title "Lesson 1"'


def make_clip(folder: Path) -> Path:
    """A 12-second 720p test pattern with a tone that goes quiet from 5 s to 8 s."""
    import imageio_ffmpeg  # installed with nemo-mcp; it ships an ffmpeg binary

    ffmpeg = os.environ.get("NEMO_FFMPEG") or imageio_ffmpeg.get_ffmpeg_exe()
    clip = folder / "sample-clip.mp4"
    subprocess.run(
        [
            ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30:duration=12",
            "-f", "lavfi", "-i", "sine=frequency=440:duration=12",
            "-af", "volume=enable='between(t,5,8)':volume=0",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
            str(clip),
        ],
        check=True,
    )  # fmt: skip
    return clip


def server(clip_folder: Path) -> StdioServerParameters:
    """``nemo-mcp --backend local``, allowed to read the clip's folder."""
    command = shutil.which("nemo-mcp")
    args = ["--backend", "local"]
    if command is None:  # not on PATH: run the package with this same Python
        command, args = sys.executable, ["-m", "nemo_mcp", *args]
    # The client hands the server only a few variables (PATH, HOME, …), as MCP hosts do, so pass
    # the NEMO_* settings on explicitly. NEMO_TOKEN is a cloud token: the local engine issues its own.
    env = {k: v for k, v in os.environ.items() if k.startswith("NEMO_") and k != "NEMO_TOKEN"}
    roots = [env.get("NEMO_UPLOAD_ROOTS", ""), str(clip_folder)]
    env["NEMO_UPLOAD_ROOTS"] = os.pathsep.join(r for r in roots if r)
    return StdioServerParameters(command=command, args=args, env=env)


def data(result: CallToolResult) -> dict[str, Any]:
    """The tool's structured answer, or exit with the text of its error."""
    if result.is_error:
        text = " ".join(getattr(block, "text", "") for block in result.content)
        raise SystemExit(f"The tool reported an error: {text}")
    return dict(result.structured_content or {})


async def show_progress(progress: float, total: float | None, message: str | None) -> None:
    if message:
        print(f"    … {message}", flush=True)


async def main(clip: Path, out: Path) -> None:
    """Talk to the server: ``clip`` and ``out`` are absolute, and ``out`` exists."""
    async with Client(server(clip.parent)) as client:
        tools = (await client.list_tools()).tools
        print("Tools:", ", ".join(t.name for t in tools))

        print(f"\nupload_media {clip.name}")
        up = data(
            await client.call_tool("upload_media", {"paths": [str(clip)]}, progress_callback=show_progress)
        )
        for f in up["files"]:
            print(
                f"    {f['name']}: {f.get('type')}, {f.get('duration_s')} s, {f.get('width')}x{f.get('height')}"
            )

        print(f"\nsend_edit {EDIT!r}")
        edit = data(
            await client.call_tool("send_edit", {"instruction": EDIT}, progress_callback=show_progress)
        )
        print(textwrap.indent(f"reply: {edit['reply']}", "    "))
        for change in edit["changes"]:
            print(f"    changed: {change}")

        print("\nget_timeline")
        timeline = data(await client.call_tool("get_timeline", {}))
        print(f"    {timeline['summary']}")

        print(f"\nexport_video to {out}")
        args: dict[str, Any] = {"download_to": str(out), "wait_seconds": 120}
        while True:
            export = data(await client.call_tool("export_video", args, progress_callback=show_progress))
            if export["finished"]:
                break
            # A long render is not lost: ask again with its id, which waits without starting another.
            print(f"    still rendering; resuming with render_id={export['render_id']}")
            args = {**args, "render_id": export["render_id"]}
        print(f"    {export['message']}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("clip", nargs="?", type=Path, help="a video to edit (default: a generated test clip)")
    parser.add_argument("--out", type=Path, default=Path("nemo-example"), help="folder for the export")
    options = parser.parse_args()
    out = options.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    clip = options.clip
    if clip is None:
        clip = make_clip(out)
        print(f"Made a test clip: {clip}")
    anyio.run(main, clip.resolve(), out)
