"""The demo's sample lecture, made with ffmpeg: titled slides with bullet points, narration, subtitles, music."""

from __future__ import annotations

import contextlib
import importlib.resources
import itertools
import math
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import anyio

from nemo_mcp.cli.console import Console, DemoError, StepProgress
from nemo_mcp.engine import media, render
from nemo_mcp.engine.ffmpeg import FFmpegError, ffmpeg_command, run_ffmpeg
from nemo_mcp.engine.render import graph

SAMPLE_SIZE = (1280, 720)
SAMPLE_FPS = 25
# The number of slide changes, placed in the longest pauses between cues (the topic breaks).
SLIDE_CHANGES = 2


@dataclass(frozen=True)
class Slide:
    heading: str
    bullets: tuple[str, ...]


# What each part of the narration (nemo_mcp/assets, made by tools/make_demo_speech.py) is about.
LECTURE_TITLE = "Photosynthesis"
SLIDES = (
    Slide(
        "What is photosynthesis?",
        (
            "How green plants make their own food",
            "The energy comes from light",
            "It happens in the chloroplasts",
        ),
    ),
    Slide(
        "What goes in, what comes out",
        ("In: water and carbon dioxide", "Powered by sunlight", "Out: sugar and oxygen"),
    ),
    Slide(
        "Why it matters",
        ("Sugar feeds the plant", "Oxygen is the air we breathe", "Food for animals and people"),
    ),
)
# A calm palette: paper and ink for the text, a leaf-green accent, and a colour per part for the side
# panel (leaf, sun, sky). The panels differ enough in brightness that each slide change is a scene change.
_PAPER, _INK, _ACCENT, _MUTED = "0xF7F5EF", "0x1F2933", "0x40916C", "0x52606D"
_PANELS = ("0x2D6A4F", "0xE9C46A", "0x457B9D")


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


def _fonts() -> tuple[str | None, str | None]:
    """The engine's font file for the body and its bold face for headings (the same file when there is none)."""
    found = render.find_font()
    if found is None:
        return None, None  # ffmpeg's own default font
    regular = found[0]
    bold = regular.with_name(regular.stem + "-Bold" + regular.suffix)
    return str(regular), str(bold if bold.is_file() else regular)


def _text(stream: graph.Stream, text: str, font: str | None, **options: graph.Value) -> graph.Stream:
    fontfile: dict[str, graph.Value] = {"fontfile": font} if font else {}
    return stream.filter("drawtext", text=text, expansion="none", **fontfile, **options)


def _slide(index: int, slide: Slide, seconds: float) -> graph.Stream:
    """One slide, drawn once a second and repeated: part and heading, bullets, the part's number in a side panel."""
    w, h = SAMPLE_SIZE
    panel_x = 880
    regular, bold = _fonts()
    # Drawn at one frame a second (a whole second more than needed), then repeated and cut to length.
    v = graph.source("color", "v", c=_PAPER, s=f"{w}x{h}", r=1, d=math.ceil(seconds) + 1)
    v = v.filter("drawbox", x=panel_x, y=0, w=w - panel_x, h=h, c=_PANELS[index % len(_PANELS)], t="fill")
    v = _text(v, str(index + 1), bold, x=f"{panel_x}+({w - panel_x}-text_w)/2", y="(h-text_h)/2 - 40",
              fontsize=320, fontcolor=f"{_PAPER}@0.85")  # fmt: skip
    kicker = f"PART {index + 1} OF {len(SLIDES)}  \N{MIDDLE DOT}  {LECTURE_TITLE.upper()}"
    v = _text(v, kicker, bold, x=80, y=112, fontsize=22, fontcolor=_ACCENT)
    v = _text(v, slide.heading, bold, x=80, y=152, fontsize=44, fontcolor=_INK)
    v = v.filter("drawbox", x=80, y=224, w=110, h=6, c=_ACCENT, t="fill")
    for row, bullet in enumerate(slide.bullets):
        y = 296 + 84 * row
        v = v.filter("drawbox", x=84, y=y + 11, w=13, h=13, c=_ACCENT, t="fill")
        v = _text(v, bullet, regular, x=120, y=y, fontsize=34, fontcolor=_INK)
    v = v.filter("fps", SAMPLE_FPS).filter("trim", duration=graph.number(seconds))
    return v.filter("setpts", "PTS-STARTPTS")


def _slides_graph(duration_s: float, changes: Sequence[float]) -> str:
    """A lavfi graph of the lecture's slides, each shown from one change to the next, as ``[v]``."""
    bounds = [0.0, *changes, duration_s]
    spans = itertools.pairwise(bounds)
    shown = [_slide(i, slide, b - a) for i, (slide, (a, b)) in enumerate(zip(SLIDES, spans, strict=True))]
    (joined,) = graph.join("concat", shown, ["v"], n=len(shown), v=1, a=0)
    return graph.serialise({"v": joined.filter("format", "yuv420p")}, separator=";")


# A plucked arpeggio over a low drone: four notes a second, eight to a bar.
_NOTE = "mod(floor(t*4),8)"
_STEPS = "+".join(f"{semi}*eq({_NOTE},{i})" for i, semi in enumerate((0, 4, 7, 12, 9, 7, 4, 2)) if semi)
MELODY = (
    f"0.3*sin(2*PI*t*220*pow(2,({_STEPS})/12))*exp(-3*mod(t*4,1))+0.1*sin(2*PI*t*110)+0.05*sin(2*PI*t*165)"
)
MUSIC_SECONDS = 16


async def _ffmpeg_with_progress(
    args: Sequence[str],
    bar: StepProgress,
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
    bar = StepProgress(console, "Making the sample lecture")
    try:
        with _asset("lecture_speech.srt") as srt, _asset("lecture_speech.m4a") as speech:
            cues = tuple(media.parse_subtitles(srt.read_text(encoding="utf-8")))
            if len(cues) < 3:
                raise DemoError("the demo's subtitle asset has too few cues: reinstall nemo-mcp")
            shutil.copyfile(srt, subtitles)
            info = await media.probe(speech)
            duration_s = info.duration_ms / 1000
            changes = slide_changes(cues, len(SLIDES) - 1)
            # The music takes a small share of the bar: it encodes about 50 times faster than the video.
            total = duration_s + 1
            await _ffmpeg_with_progress(
                [
                    "-filter_complex", _slides_graph(duration_s, changes),
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
