"""``nemo-mcp demo``: edit a generated sample lecture end to end, offline, in about a minute.

What it does, in order:

1. makes a sample lecture in ``<out>/sample`` with ffmpeg: 1280x720 slides with a moving
   "camera" inset, the spoken lecture shipped in ``nemo_mcp/assets`` (seven sentences with
   pauses between them), its ``.srt``, and a generated background melody;
2. starts ``nemo-mcp --backend local`` as a subprocess and talks to it over stdio with the
   official MCP client, exactly as an MCP host would (state in a temporary folder, uploads
   allowed from the output folder only);
3. runs two headline workflows through the tools, showing each call's progress as a bar:
   a highlight reel (silences cut, music at 20 %, 20 seconds), and learning segments with
   chapter titles, captions and a YouTube chapter list;
4. exports both as MP4, writes the chapter list to ``chapters.txt``, and prints what it did
   and where the files are.

Nothing needs the network or espeak-ng at run time. Returns 0 on success, 1 on failure (with
a message saying what failed) and 130 when stopped with Ctrl-C.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import itertools
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import anyio
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.stdio import stdio_client

import nemo_mcp
from nemo_mcp.config import Settings
from nemo_mcp.engine import media
from nemo_mcp.engine.ffmpeg import FFmpegError, ffmpeg_command, run_ffmpeg

DEFAULT_OUT = "nemo-demo"
SAMPLE_SIZE = (1280, 720)
SAMPLE_FPS = 25
# "standard" is x264's veryfast preset at CRF 23: on two cores the two 1080p exports take about
# 15 s, no longer than "draft" (decoding and scaling dominate), and the files are half the size.
EXPORT_QUALITY = "standard"
REEL_SECONDS = 20
SEGMENT_SECONDS = 15
MUSIC_VOLUME = 20
# Generous limits: the whole demo takes about a minute on two cores.
CALL_TIMEOUT_S = 300.0
EXPORT_WAIT_S = 280
TOTAL_TIMEOUT_S = 900.0
# The number of slide changes, placed in the longest pauses between cues (the topic breaks).
SLIDE_CHANGES = 2
_SLIDE_COLOURS = ("0x1d3557", "0x2a9d8f", "0x6d597a", "0x9c6644", "0x386641")
_CHAPTER_LINE = re.compile(r"^\s*((?:\d+:)?\d{1,2}:\d{2})\s+(\S.*)$")
_CHAPTER_HEADER = "YouTube chapter list"


class DemoError(Exception):
    """A step of the demo failed; ``str()`` says which and why.

    ``server_trouble`` marks failures of the server itself (not of an edit), whose log helps.
    """

    def __init__(self, message: str, *, server_trouble: bool = False) -> None:
        super().__init__(message)
        self.server_trouble = server_trouble


# -- output ---------------------------------------------------------------------------------


class Console:
    """Where the demo talks: stdout, with characters the terminal cannot show replaced."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._encoding = getattr(self.stream, "encoding", None) or "utf-8"

    def safe(self, text: str) -> str:
        return text.encode(self._encoding, "replace").decode(self._encoding, "replace")

    def write(self, text: str) -> None:
        self.stream.write(self.safe(text))
        self.stream.flush()

    def line(self, text: str = "") -> None:
        self.write(text + "\n")

    @property
    def columns(self) -> int:
        return shutil.get_terminal_size((100, 24)).columns


class ProgressBar:
    """One step's progress: a bar redrawn in place on a terminal, a few plain lines otherwise.

    It is an MCP progress callback (``await bar(progress, total, message)``). With a total it
    shows a filled bar and a percentage; without one (edits report steps, not fractions) a
    block moves along the bar at each report. Reports arriving after :meth:`done` are ignored:
    over JSON-RPC a notification can trail the result it belongs to.
    """

    WIDTH = 24

    def __init__(self, console: Console, label: str) -> None:
        self.console = console
        self.label = label
        self.started = time.monotonic()
        self.reports = 0
        self._closed = False
        self._drawn = 0
        self._last_message: str | None = None
        self._last_line = ""
        self._last_quarter = -1

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self.update(progress, total, message)

    def update(self, progress: float, total: float | None, message: str | None) -> None:
        if self._closed:
            return
        self.reports += 1
        text = " ".join((message or "").split())
        if total and total > 0:
            fraction = max(0.0, min(1.0, progress / total))
            filled = round(fraction * self.WIDTH)
            bar = "#" * filled + "." * (self.WIDTH - filled)
            percent = f"{fraction * 100:3.0f}%"
            quarter = int(fraction * 4)
        else:
            span = 2 * (self.WIDTH - 4)
            pos = self.reports % span
            pos = pos if pos <= self.WIDTH - 4 else span - pos
            bar = "." * pos + "####" + "." * (self.WIDTH - 4 - pos)
            percent = "    "
            quarter = self._last_quarter
        if self.console.tty:
            self._redraw(f"  {self.label:<26} [{bar}] {percent} {text}")
        elif text != self._last_message or quarter != self._last_quarter:
            # Logs and pipes: one line per new message or quarter, not one per report.
            line = f"  {self.label:<26} {percent.strip() or '...':>4}  {text}"
            if line != self._last_line:
                self.console.line(line)
                self._last_line = line
        self._last_message = text
        self._last_quarter = quarter

    def _redraw(self, text: str) -> None:
        text = self.console.safe(text)[: max(20, self.console.columns - 1)]
        pad = " " * max(0, self._drawn - len(text))
        self.console.write("\r" + text + pad)
        self._drawn = len(text)

    def done(self, note: str = "") -> float:
        """Finish the line; returns the seconds the step took."""
        elapsed = time.monotonic() - self.started
        if not self._closed:
            self._closed = True
            tail = f"done in {elapsed:.1f} s" + (f" - {note}" if note else "")
            if self.console.tty:
                self._redraw(f"  {self.label:<26} [{'#' * self.WIDTH}] {tail}")
                self.console.write("\n")
            else:
                self.console.line(f"  {self.label:<26} {tail}")
        return elapsed

    def fail(self) -> None:
        if not self._closed:
            self._closed = True
            if self.console.tty:
                self._redraw(f"  {self.label:<26} failed")
                self.console.write("\n")
            else:
                self.console.line(f"  {self.label:<26} failed")


# -- the sample lecture ---------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """The generated inputs: a lecture video, its subtitles and a music track."""

    video: Path
    subtitles: Path
    music: Path
    duration_s: float
    cues: tuple[media.Cue, ...]
    slide_changes_s: tuple[float, ...]


@contextlib.contextmanager
def _asset(name: str) -> Iterator[Path]:
    resource = importlib.resources.files("nemo_mcp.assets").joinpath(name)
    if not resource.is_file():
        raise DemoError(f"the demo asset {name} is missing from the installed package: reinstall nemo-mcp")
    with importlib.resources.as_file(resource) as path:
        yield path


def slide_changes(cues: Sequence[media.Cue], count: int = SLIDE_CHANGES) -> tuple[float, ...]:
    """Seconds at which the slides change: the middle of the ``count`` longest pauses between cues."""
    gaps = sorted(
        ((b.start_ms - a.end_ms, (a.end_ms + b.start_ms) / 2000) for a, b in itertools.pairwise(cues)),
        reverse=True,
    )
    return tuple(sorted(mid for _, mid in gaps[:count]))


def _slides_graph(duration_s: float, cues: Sequence[media.Cue], changes: Sequence[float]) -> str:
    """A lavfi graph of lecture slides: a colour per topic, a header, a bar per spoken sentence, a camera inset."""
    w, h = SAMPLE_SIZE
    d = f"{duration_s:.3f}"
    bounds = [0.0, *changes, duration_s + 1]
    chain = [f"color=c={_SLIDE_COLOURS[0]}:s={w}x{h}:r={SAMPLE_FPS}:d={d}"]
    for i, start in enumerate(changes, start=1):
        colour = _SLIDE_COLOURS[i % len(_SLIDE_COLOURS)]
        chain.append(f"drawbox=x=0:y=0:w=iw:h=ih:c={colour}:t=fill:enable='gte(t,{start:.3f})'")
    chain.append("drawbox=x=0:y=0:w=iw:h=110:c=black@0.35:t=fill")
    for i, (a, b) in enumerate(itertools.pairwise(bounds)):
        # An accent square in the header; the engine writes chapter titles beside it.
        accent = _SLIDE_COLOURS[(i + 2) % len(_SLIDE_COLOURS)]
        chain.append(f"drawbox=x=40:y=30:w=50:h=50:c={accent}:t=fill:enable='between(t,{a:.3f},{b:.3f})'")
        inside = [c for c in cues if a <= c.start_ms / 1000 < b]
        for row, cue in enumerate(inside):
            width = 520 + (len(cue.text) * 7) % 280
            until = f"{b:.3f}"
            chain.append(
                f"drawbox=x=80:y={190 + 80 * row}:w={width}:h=36:c=white@0.85:t=fill:"
                f"enable='between(t,{cue.start_ms / 1000:.3f},{until})'"
            )
    slides = ",".join(chain)
    return (
        f"{slides}[slides];testsrc2=s=320x180:r={SAMPLE_FPS}:d={d}[cam];"
        f"[slides][cam]overlay=x=W-w-60:y=170,format=yuv420p[v]"
    )


# A plucked arpeggio over a low drone: four notes a second, eight to a bar.
_NOTE = "mod(floor(t*4),8)"
_STEPS = "+".join(f"{semi}*eq({_NOTE},{i})" for i, semi in enumerate((0, 4, 7, 12, 9, 7, 4, 2)) if semi)
MELODY = (
    f"0.3*sin(2*PI*t*220*pow(2,({_STEPS})/12))*exp(-3*mod(t*4,1))+0.1*sin(2*PI*t*110)+0.05*sin(2*PI*t*165)"
)
MUSIC_SECONDS = 16


async def _ffmpeg_with_progress(
    args: Sequence[str],
    bar: ProgressBar,
    what: str,
    *,
    seconds: float,
    offset: float,
    share: float,
    total: float,
) -> None:
    """Run ffmpeg writing ``seconds`` of output, moving ``bar`` from ``offset`` to ``offset + share`` of ``total``."""

    async def on_line(line: str) -> None:
        key, _, value = line.partition("=")
        if key == "out_time_us" and value.strip().lstrip("-").isdigit():
            done = min(1.0, max(0, int(value)) / 1e6 / seconds)
            bar.update(offset + done * share, total, f"encoding the {what}")

    try:
        await run_ffmpeg(
            ffmpeg_command("-y", "-v", "error", "-progress", "pipe:1", "-nostats", *args),
            on_stdout_line=on_line,
        )
    except FFmpegError as exc:
        raise DemoError(f"ffmpeg could not make the sample {what}: {exc}") from None


async def make_sample(folder: Path, console: Console) -> Sample:
    """Write lecture.mp4, lecture.srt and music.m4a into ``folder``."""
    await anyio.Path(folder).mkdir(parents=True, exist_ok=True)
    video, subtitles, music = folder / "lecture.mp4", folder / "lecture.srt", folder / "music.m4a"
    bar = ProgressBar(console, "Making the sample lecture")
    try:
        with _asset("lecture_speech.srt") as srt, _asset("lecture_speech.m4a") as speech:
            cues = tuple(media.parse_subtitles(srt.read_text(encoding="utf-8")))
            if len(cues) < 3:
                raise DemoError("the demo's subtitle asset has too few cues: reinstall nemo-mcp")
            shutil.copyfile(srt, subtitles)
            info = await media.probe(speech)
            duration_s = info.duration_ms / 1000
            changes = slide_changes(cues)
            # The music takes a small share of the bar: it encodes about 50 times faster than the video.
            total = duration_s + 1
            await _ffmpeg_with_progress(
                [
                    "-filter_complex", _slides_graph(duration_s, cues, changes),
                    "-i", str(speech),
                    "-map", "[v]", "-map", "0:a",
                    "-c:v", "libx264", "-preset", "ultrafast", "-crf", "30", "-g", str(2 * SAMPLE_FPS),
                    "-c:a", "aac", "-b:a", "64k", "-ar", "48000", "-ac", "1",
                    "-t", f"{duration_s:.3f}", "-movflags", "+faststart", str(video),
                ],
                bar, "video", seconds=duration_s, offset=0, share=duration_s, total=total,
            )  # fmt: skip
            await _ffmpeg_with_progress(
                [
                    "-f", "lavfi", "-i", f"aevalsrc='{MELODY}':s=44100:d={MUSIC_SECONDS}",
                    "-c:a", "aac", "-b:a", "96k", "-movflags", "+faststart", str(music),
                ],
                bar, "music", seconds=MUSIC_SECONDS, offset=duration_s, share=1, total=total,
            )  # fmt: skip
    except media.MediaError as exc:
        bar.fail()
        raise DemoError(f"the demo's speech asset cannot be read ({exc}): reinstall nemo-mcp") from None
    except BaseException:
        bar.fail()
        raise
    bar.done(f"{duration_s:.0f} s at {SAMPLE_SIZE[0]}x{SAMPLE_SIZE[1]}, {len(cues)} subtitles, music")
    return Sample(video, subtitles, music, duration_s, cues, changes)


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
        bar = ProgressBar(self.console, label)
        try:
            result = await self.client.call_tool(
                tool, args, read_timeout_seconds=CALL_TIMEOUT_S, progress_callback=bar
            )
        except MCPError as exc:
            bar.fail()
            raise DemoError(
                f"{label}: the server answered with an error ({exc.message})", server_trouble=True
            ) from None
        except BaseException:
            bar.fail()
            raise
        if result.is_error:
            bar.fail()
            raise DemoError(f"{label}: {_result_text(result)}")
        data = result.structured_content
        if not isinstance(data, dict):
            bar.fail()
            raise DemoError(f"{label}: {tool} returned no structured result")
        bar.done()
        return data


@dataclass
class Export:
    path: Path
    info: media.MediaInfo
    size: int
    chapters: list[tuple[float, str]]


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
    data = await tools.call(
        "export_video",
        {"download_to": str(folder), "quality": EXPORT_QUALITY, "wait_seconds": EXPORT_WAIT_S},
        label,
    )
    if not data.get("finished") or not data.get("file"):
        raise DemoError(f"{label}: the render did not finish: {data.get('message', '')}")
    target = folder / name
    os.replace(data["file"], target)
    try:
        info = await media.probe(target)
        chapters = await mp4_chapters(target)
    except (media.MediaError, FFmpegError) as exc:
        raise DemoError(f"the exported {name} does not read back as a video: {exc}") from None
    return Export(target, info, target.stat().st_size, chapters)


def youtube_list(reply: str) -> list[str]:
    """The YouTube chapter list in an edit's reply: the timestamp lines after its heading."""
    lines = reply.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(_CHAPTER_HEADER):
            found = []
            for item in lines[i + 1 :]:
                if not _CHAPTER_LINE.match(item):
                    break
                found.append(item.strip())
            return found
    return []


def _seconds(stamp: str) -> int:
    total = 0
    for part in stamp.split(":"):
        total = total * 60 + int(part)
    return total


def youtube_problems(lines: Sequence[str], duration_s: float) -> list[str]:
    """How a chapter list breaks YouTube's rules (0:00 first, three or more, ascending, each >= 10 s)."""
    starts = []
    for line in lines:
        m = _CHAPTER_LINE.match(line)
        if m is None:
            return [f"{line!r} is not 'M:SS Title'"]
        starts.append(_seconds(m.group(1)))
    problems = []
    if len(starts) < 3:
        problems.append(f"{len(starts)} chapters, YouTube needs at least 3")
    if starts and starts[0] != 0:
        problems.append("the first chapter does not start at 0:00")
    ends = [*starts[1:], duration_s]
    for start, end in zip(starts, ends, strict=True):
        if end - start < 10:
            problems.append(f"the chapter at {start} s lasts {end - start:.1f} s, under 10 s")
    return problems


async def highlight_reel(tools: Tools, sample: Sample, folder: Path) -> Workflow:
    flow = Workflow("Highlight reel", "video-making-ai")
    await tools.call("new_project", {"title": "Highlight reel"}, "New project")
    await tools.call(
        "upload_media", {"paths": [str(sample.video), str(sample.music)]}, "Uploading video + music"
    )
    instruction = (
        f"Cut out silences, add background music at {MUSIC_VOLUME}%, and export as a "
        f"{REEL_SECONDS}-second highlight reel"
    )
    flow.instructions.append(instruction)
    edit = await tools.call("send_edit", {"instruction": instruction}, "Editing")
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
    chapters = youtube_list(flow.replies[-1])
    if not chapters:
        raise DemoError(
            "the engine gave no YouTube chapter list for the sample lecture; its reply was:\n"
            + _indent(flow.replies[-1], "    ")
        )
    flow.export = await export(tools, folder, "lecture-segments.mp4", "Exporting the lecture")
    problems = youtube_problems(chapters, flow.export.info.duration_ms / 1000)
    if problems:
        raise DemoError("the chapter list breaks YouTube's rules: " + "; ".join(problems))
    (folder / "chapters.txt").write_text("\n".join(chapters) + "\n", encoding="utf-8")
    return flow, chapters


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
    bar = ProgressBar(console, "Connecting")
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
