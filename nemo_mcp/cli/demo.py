"""``nemo-mcp demo``: edit a generated sample lecture end to end, offline, in about a minute.

What it does, in order:

1. makes a sample lecture in ``<out>/sample`` with ffmpeg: three 1280x720 slides on
   photosynthesis (a heading and bullet points each), the narration shipped in
   ``nemo_mcp/assets`` (nine sentences with pauses between them, a longer one where the slide
   changes), its ``.srt``, and a generated background melody;
2. starts ``nemo-mcp --backend local`` as a subprocess and talks to it over stdio with the
   official MCP client, exactly as an MCP host would (state in a temporary folder, uploads
   allowed from the output folder only);
3. runs two headline workflows through the tools, showing each call's progress as a bar:
   a captioned highlight reel of whole sentences (silences cut, music at 20 %, 20 seconds),
   and learning segments with chapter titles, captions and a YouTube chapter list;
4. exports both as MP4 (each export checked for length, sound and black, frozen or silent
   stretches) with a 12-frame contact sheet beside each (``<name>.jpg``), writes the chapter
   list to ``chapters.txt``, and prints what it did and where the files are. The chapter titles are the slide headings, read off the video.

The sample is made by :mod:`nemo_mcp.cli.sample`; :mod:`nemo_mcp.cli.console` draws the steps.
Nothing needs the network or espeak-ng at run time. Returns 0 on success, 1 on failure (with
a message saying what failed) and 130 when stopped with Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.stdio import stdio_client

import nemo_mcp
from nemo_mcp.cli.console import Console, DemoError, StepProgress
from nemo_mcp.cli.sample import SAMPLE_SIZE, Sample, make_sample, slide_changes
from nemo_mcp.config import Settings
from nemo_mcp.draft import as_int, draft_duration_ms, peek_meta, youtube_chapters
from nemo_mcp.engine import media
from nemo_mcp.engine.ffmpeg import FFmpegError, ffmpeg_command, run_ffmpeg

__all__ = ["DemoError", "mp4_chapters", "run_demo", "slide_changes"]

DEFAULT_OUT = "nemo-demo"
# "standard" is x264's veryfast preset at CRF 23: on two cores the two 1080p exports take about
# 15 s, no longer than "draft" (decoding and scaling dominate), and the files are half the size.
EXPORT_QUALITY = "standard"
#: Frames in the contact sheet written beside each export.
SHEET_FRAMES = 12
REEL_SECONDS = 20
SEGMENT_SECONDS = 15
MUSIC_VOLUME = 20
# Generous limits: the whole demo takes about a minute on two cores.
CALL_TIMEOUT_S = 300.0
EXPORT_WAIT_S = 280
TOTAL_TIMEOUT_S = 900.0


# -- talking to the server ------------------------------------------------------------------


def server_environment(home: Path, upload_root: Path, settings: Settings) -> dict[str, str]:
    """What the demo's server needs: its own state folder, the output folder as the upload root."""
    env = {
        "NEMO_MCP_HOME": str(home),
        "NEMO_UPLOAD_ROOTS": str(upload_root),
        "NEMO_BACKEND": "local",
        "NEMO_HEARTBEAT_INTERVAL": "5",
        "PYTHONUNBUFFERED": "1",
    }
    if settings.debug:
        env["NEMO_DEBUG"] = "1"
    for name in ("NEMO_FFMPEG", "SYSTEMROOT", "TMPDIR", "TEMP", "TMP", "LANG", "LC_ALL"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    # Run the nemo_mcp this process runs, even from a source checkout that is not installed.
    root = Path(nemo_mcp.__file__).resolve().parent.parent
    if root.name not in ("site-packages", "dist-packages"):
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH", "")) if p)
    return env


def _result_text(result: Any) -> str:
    parts = [getattr(c, "text", "") for c in getattr(result, "content", None) or []]
    return " ".join(p for p in parts if p).strip() or "(no message)"


@dataclass
class Tools:
    """The MCP client, with a progress bar per call and failures turned into :class:`DemoError`."""

    client: Client
    console: Console

    async def call(self, tool: str, args: dict[str, Any], label: str) -> dict[str, Any]:
        """Call ``tool`` as a step of the demo, its progress shown under ``label``."""
        bar = StepProgress(self.console, label)
        try:
            data = await self._call(tool, args, label, bar)
        except BaseException:
            bar.fail()
            raise
        bar.done()
        return data

    async def read(self, tool: str, args: dict[str, Any]) -> dict[str, Any]:
        """Call a quick read-only ``tool`` that is not shown as a step."""
        return await self._call(tool, args, f"Reading with {tool}", None)

    async def _call(
        self, tool: str, args: dict[str, Any], label: str, progress: StepProgress | None
    ) -> dict[str, Any]:
        try:
            result = await self.client.call_tool(
                tool, args, read_timeout_seconds=CALL_TIMEOUT_S, progress_callback=progress
            )
        except MCPError as exc:
            raise DemoError(
                f"{label}: the server answered with an error ({exc.message})", server_trouble=True
            ) from None
        if result.is_error:
            raise DemoError(f"{label}: {_result_text(result)}")
        data = result.structured_content
        if not isinstance(data, dict):
            raise DemoError(f"{label}: {tool} returned no structured result")
        return data


@dataclass
class Export:
    path: Path
    info: media.MediaInfo
    size: int
    chapters: list[tuple[float, str]]
    #: What the server's check of the export found (export_video's ``check``).
    check: dict[str, Any] = field(default_factory=dict)
    #: The contact sheet of the export written beside it (``<name>.jpg``).
    sheet: Path | None = None


@dataclass
class Workflow:
    """What one headline workflow did, for the summary."""

    title: str
    skill: str
    instructions: list[str] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    timeline: str = ""
    export: Export | None = None


async def mp4_chapters(path: Path) -> list[tuple[float, str]]:
    """The chapters stored in an MP4: (start seconds, title)."""
    lines: list[str] = []

    async def on_line(line: str) -> None:
        lines.append(line)

    await run_ffmpeg(
        ffmpeg_command("-v", "error", "-i", str(path), "-f", "ffmetadata", "-"), on_stdout_line=on_line
    )
    chapters: list[tuple[float, str]] = []
    start, base, title = None, 1e-3, ""
    for line in [*lines, "[END]"]:
        if line.startswith("["):
            if start is not None:
                chapters.append((start * base, title))
            start, base, title = (0, 1e-3, "") if line.strip() == "[CHAPTER]" else (None, 1e-3, "")
            continue
        key, _, value = line.partition("=")
        if start is None:
            continue
        if key == "TIMEBASE" and "/" in value:
            num, _, den = value.partition("/")
            base = int(num) / int(den)
        elif key == "START":
            start = int(value)
        elif key == "title":
            title = re.sub(r"\\(.)", r"\1", value)  # ffmetadata escapes = ; # \ with a backslash
    return chapters


async def export(tools: Tools, folder: Path, name: str, label: str) -> Export:
    """Render the current project as an MP4 (``EXPORT_QUALITY``), save it as ``folder/name``, probe it."""
    args: dict[str, Any] = {"download_to": str(folder), "quality": EXPORT_QUALITY}
    deadline = time.monotonic() + EXPORT_WAIT_S
    data = await tools.call("export_video", args, label)
    while not data.get("finished") and data.get("render_id") and time.monotonic() < deadline:
        # Each call returns within the server's wait budget while the render goes on: pick it up.
        data = await tools.call("export_video", {**args, "render_id": data["render_id"]}, label)
    if not data.get("finished") or not data.get("file"):
        raise DemoError(f"{label}: the render did not finish: {data.get('message', '')}")
    target = folder / name
    os.replace(data["file"], target)
    srt = (data.get("render") or {}).get("srt")
    if srt:  # captions shipped as a track come with an .srt beside the MP4: it follows the new name
        os.replace(srt, target.with_suffix(".srt"))
    try:
        info = await media.probe(target)
        chapters = await mp4_chapters(target)
        # A contact sheet beside the MP4, so the result can be seen at a glance without a player.
        # Decoding and Pillow are blocking work: off the event loop, where the progress bar lives.
        jpeg = await anyio.to_thread.run_sync(lambda: media.contact_sheet_of_file(target, count=SHEET_FRAMES))
    except (media.MediaError, FFmpegError) as exc:
        raise DemoError(f"the exported {name} does not read back as a video: {exc}") from None
    sheet = target.with_suffix(".jpg")
    sheet.write_bytes(jpeg)
    return Export(target, info, target.stat().st_size, chapters, dict(data.get("check") or {}), sheet)


def chapter_pairs(draft: Any) -> list[tuple[int, str]]:
    """The chapters an edit stored in the draft's metadata: (start ms, title), in order."""
    found = peek_meta(draft).get("chapters") if isinstance(draft, dict) else None
    if not isinstance(found, list):
        return []
    return [(as_int(c.get("s")), str(c.get("title", ""))) for c in found if isinstance(c, dict)]


async def youtube_chapter_list(tools: Tools, reply: str) -> list[tuple[int, str]]:
    """The project's chapters, once the draft says they make a valid YouTube list."""
    data = await tools.read("get_timeline", {"include_draft": True})
    draft = data.get("draft")
    pairs = chapter_pairs(draft)
    listing = youtube_chapters(pairs, draft_duration_ms(draft))
    if not pairs or listing.text is None:
        why = "; ".join(listing.problems) if pairs else "the draft holds no chapters"
        raise DemoError(
            f"the engine gave no YouTube chapter list for the sample lecture ({why}); its reply was:\n"
            + _indent(reply, "    ")
        )
    return pairs


async def highlight_reel(tools: Tools, sample: Sample, folder: Path) -> Workflow:
    flow = Workflow("Highlight reel", "video-making-ai")
    await tools.call("new_project", {"title": "Highlight reel"}, "New project")
    await tools.call(
        "upload_media",
        {"paths": [str(sample.video), str(sample.subtitles), str(sample.music)]},
        "Uploading video + .srt + music",
    )
    # Captions first: offline (no speech model) their cues are what keeps the reel to whole sentences.
    for instruction, label in (
        ("Add captions", "Captions"),
        (
            f"Cut out silences, add background music at {MUSIC_VOLUME}%, and export as a "
            f"{REEL_SECONDS}-second highlight reel",
            "Editing",
        ),
    ):
        flow.instructions.append(instruction)
        edit = await tools.call("send_edit", {"instruction": instruction}, label)
        flow.replies.append(str(edit.get("reply", "")))
        flow.timeline = str(edit.get("timeline", ""))
    flow.export = await export(tools, folder, "highlight-reel.mp4", "Exporting the reel")
    return flow


async def learning_segments(tools: Tools, sample: Sample, folder: Path) -> tuple[Workflow, list[str]]:
    flow = Workflow("Learning segments with chapters and captions", "best-video-learn + chapter-generator")
    await tools.call("new_project", {"title": "Lecture segments"}, "New project")
    await tools.call(
        "upload_media", {"paths": [str(sample.video), str(sample.subtitles)]}, "Uploading video + .srt"
    )
    for instruction, label in (
        (
            f"Break this lecture into {SEGMENT_SECONDS}-second learning segments with chapter titles and captions",
            "Segments, titles, captions",
        ),
        ("Generate chapters with timestamps and titles for my YouTube video", "YouTube chapters"),
    ):
        flow.instructions.append(instruction)
        edit = await tools.call("send_edit", {"instruction": instruction}, label)
        flow.replies.append(str(edit.get("reply", "")))
        flow.timeline = str(edit.get("timeline", ""))
    pairs = await youtube_chapter_list(tools, flow.replies[-1])
    flow.export = await export(tools, folder, "lecture-segments.mp4", "Exporting the lecture")
    # The rules again, against the length of the file that will be uploaded.
    listing = youtube_chapters(pairs, flow.export.info.duration_ms)
    if listing.text is None:
        raise DemoError("the chapter list breaks YouTube's rules: " + "; ".join(listing.problems))
    (folder / "chapters.txt").write_text(listing.text + "\n", encoding="utf-8")
    return flow, listing.text.splitlines()


# -- the run --------------------------------------------------------------------------------


def _indent(text: str, prefix: str, limit: int = 24) -> str:
    lines = text.strip().splitlines() or [""]
    if len(lines) > limit:
        lines = [*lines[: limit - 1], f"… ({len(lines) - limit + 1} more lines)"]
    return "\n".join(prefix + line for line in lines)


def _describe(export: Export) -> str:
    info = export.info
    codecs = "/".join(c for c in (info.video_codec, info.audio_codec) if c) or "unknown codecs"
    chapters = f", {len(export.chapters)} chapters" if export.chapters else ""
    return (
        f"{info.duration_ms / 1000:.1f} s, {info.width}x{info.height}, {codecs}, "
        f"{export.size / 2**20:.1f} MB{chapters}"
    )


def _describe_check(check: dict[str, Any]) -> str:
    """The server's check of an export, in a line: clean, or each problem with its times."""
    if not check:
        return "not checked"
    problems = [
        f"{p.get('kind')} {p.get('start_s', 0):.1f}-{p.get('end_s', 0):.1f} s"
        for p in check.get("problems") or []
    ]
    sound = "with sound" if check.get("audio") else "NO SOUND"
    found = "; ".join(problems) if problems else "no black, frozen or silent stretches"
    return f"{check.get('duration_s', 0):.1f} s for a {check.get('timeline_s', 0):.1f} s timeline, {sound}, {found}"


def _log_tail(log: Path, lines: int = 25) -> str:
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    return _indent(text[-4000:] or "(the server wrote nothing)", "    ", lines)


@contextlib.asynccontextmanager
async def demo_server(folder: Path, settings: Settings, console: Console) -> AsyncIterator[Tools]:
    """``nemo-mcp --backend local`` as a stdio subprocess with a throwaway state folder.

    The server's stderr goes to a log file; when the server cannot be started or stops
    answering, the error carries the end of that log.
    """
    with tempfile.TemporaryDirectory(prefix="nemo-demo-", ignore_cleanup_errors=True) as tmp:
        home = Path(tmp) / "home"
        log = Path(tmp) / "server.log"
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "nemo_mcp", "--backend", "local"],
            env=server_environment(home, folder, settings),
            cwd=str(folder),
        )
        entered = False
        with log.open("w", encoding="utf-8") as errlog:
            try:
                async with Client(
                    stdio_client(params, errlog=errlog), read_timeout_seconds=CALL_TIMEOUT_S
                ) as client:
                    entered = True
                    yield Tools(client, console)
            except Exception as raised:  # the client's task groups wrap what the body raised
                exc = _essential(raised)
                errlog.flush()
                if isinstance(exc, DemoError):
                    if exc.server_trouble:
                        raise DemoError(f"{exc}\nThe server's log ends with:\n{_log_tail(log)}") from None
                    raise exc from None
                if entered:
                    raise
                raise DemoError(
                    f"the nemo-mcp server could not be started ({type(exc).__name__}: {exc}). "
                    f"Its log ends with:\n{_log_tail(log)}"
                ) from None


async def _run(folder: Path, settings: Settings, console: Console) -> None:
    started = time.monotonic()
    console.line(f"nemo-mcp demo: editing a sample lecture offline. Output folder: {folder}")
    console.line()
    console.line("1. The sample lecture (generated now with ffmpeg)")
    sample = await make_sample(folder / "sample", console)
    console.line()
    console.line("2. Starting `nemo-mcp --backend local` over stdio")
    bar = StepProgress(console, "Connecting")
    async with demo_server(folder, settings, console) as tools:
        tools_list = await tools.client.list_tools()
        bar.done(f"{len(tools_list.tools)} tools")
        console.line()
        console.line(f"3. Workflow: a {REEL_SECONDS}-second highlight reel (Video Making AI)")
        reel = await highlight_reel(tools, sample, folder)
        console.line()
        console.line(
            "4. Workflow: learning segments, chapter titles, captions (Best Video Learn, Chapter Generator)"
        )
        lecture, chapters = await learning_segments(tools, sample, folder)
    elapsed = time.monotonic() - started

    console.line()
    console.line("Summary")
    console.line(
        f"  Sample in {sample.video.parent}: {sample.video.name} ({sample.duration_s:.1f} s, "
        f"{SAMPLE_SIZE[0]}x{SAMPLE_SIZE[1]}), {sample.subtitles.name}, {sample.music.name}"
    )
    for flow in (reel, lecture):
        console.line()
        console.line(f"  {flow.title} [{flow.skill}]")
        for instruction, reply in zip(flow.instructions, flow.replies, strict=True):
            console.line(f'    You said: "{instruction}"')
            console.line("    Reply:")
            console.line(_indent(reply, "      "))
        console.line(f"    Timeline: {flow.timeline}")
        if flow.export is not None:
            console.line(f"    Output: {flow.export.path} ({_describe(flow.export)})")
            console.line(f"    Check: {_describe_check(flow.export.check)}")
            if flow.export.sheet is not None:
                console.line(f"    Contact sheet: {flow.export.sheet}")
    console.line()
    console.line(f"  YouTube chapters: {folder / 'chapters.txt'}")
    console.line(_indent("\n".join(chapters), "    "))
    console.line()
    console.line(f"Done in {elapsed:.0f} s. Open the MP4s in {folder} to watch the results.")


def run_demo(settings: Settings, *, out: str | None) -> int:
    """Run the demo into ``out`` (default ./nemo-demo); 0 on success, 1 on failure, 130 on Ctrl-C."""
    console = Console()
    folder = Path(out or DEFAULT_OUT).expanduser().resolve()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _fail(f"cannot create the output folder {folder}: {exc.strerror or exc}")
        return 1

    async def main() -> None:
        with anyio.fail_after(TOTAL_TIMEOUT_S):
            await _run(folder, settings, console)

    try:
        anyio.run(main)
    except BaseException as raised:  # each kind gets its own message in _report
        return _report(_essential(raised), folder, settings)
    return 0


def _report(exc: BaseException, folder: Path, settings: Settings) -> int:
    """Say why the demo stopped and return the exit code; re-raise what is not ours to explain."""
    if isinstance(exc, KeyboardInterrupt):
        _fail(f"stopped (Ctrl-C). The server was shut down; partial files may remain in {folder}.")
        return 130
    if isinstance(exc, DemoError):
        _fail(f"failed: {exc}")
    elif isinstance(exc, TimeoutError):
        _fail(f"failed: it did not finish within {TOTAL_TIMEOUT_S:.0f} s.")
    elif isinstance(exc, FFmpegError):
        _fail(f"failed: ffmpeg is needed and did not work: {exc}")
    elif isinstance(exc, Exception) and not settings.debug:
        _fail(f"failed unexpectedly ({type(exc).__name__}: {exc}). Run it again with --debug for details.")
    else:
        raise exc
    return 1


def _fail(message: str) -> None:
    sys.stdout.flush()
    print(f"nemo-mcp demo {message}", file=sys.stderr, flush=True)


def _essential(exc: BaseException) -> BaseException:
    """The exception that explains a failure, looking inside (nested) exception groups."""
    while isinstance(exc, BaseExceptionGroup):
        for kind in (KeyboardInterrupt, DemoError, TimeoutError, FFmpegError):
            match, _ = exc.split(kind)
            if match is not None:
                exc = match.exceptions[0]
                break
        else:
            exc = exc.exceptions[0]
    return exc
