"""The demo's sample lecture, made with ffmpeg: slides with a camera inset, speech, subtitles, music."""

from __future__ import annotations

import contextlib
import importlib.resources
import itertools
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import anyio

from nemo_mcp.cli.console import Console, DemoError, StepProgress
from nemo_mcp.engine import media
from nemo_mcp.engine.ffmpeg import FFmpegError, ffmpeg_command, run_ffmpeg

SAMPLE_SIZE = (1280, 720)
SAMPLE_FPS = 25
# The number of slide changes, placed in the longest pauses between cues (the topic breaks).
SLIDE_CHANGES = 2
_SLIDE_COLOURS = ("0x1d3557", "0x2a9d8f", "0x6d597a", "0x9c6644", "0x386641")


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
