"""Smart render against the full re-encode of the same cut-only timeline, side by side in one run.

The lecture is a still slide (SMPTE bars) with a moving speaker box (testsrc2, a quarter of the
picture) in a corner and a tone, encoded the way a screen recorder writes it (x264 veryfast,
CRF 23, a keyframe every 2 s, B-frames; full: 10 minutes of 1080p at 30 fps, quick: 60 s of
640x360), cached in ``bench/.cache/media``. The timeline trims the first 10 s (quick: 2 s) and
cuts 20 silences (quick: 6) of 1.5 s (quick: 0.8 s) each, none on a keyframe, with music mixed
in at 20 % (``--minutes`` shortens the lecture, keeping two cuts a minute): the picture only cuts, so ``render_draft`` takes the smart path. The full re-encode is
the same ``render_draft`` with the smart path switched off. Both use ``--quality`` (default
standard: veryfast/23).

Also printed: the cut accuracy of the smart path (the bar-coded clip of
``tests/engine/test_render_cuts.py`` re-encoded with B-frames, cut off its keyframes: first and
last frame of each kept piece read back), and the A/V drift at the end of the smart output.
"""

from __future__ import annotations

import functools
import importlib
import math
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from _common import CACHE, Row, arg_parser, banner, emit, secs

from nemo_mcp.engine import render as render_mod
from nemo_mcp.engine.ffmpeg import find_ffmpeg
from nemo_mcp.engine.media import probe
from tests.engine.test_render_cuts import FPS, H, W, frame_numbers, numbered_video

smart = importlib.import_module("nemo_mcp.engine.render.smart")
smart_mux = importlib.import_module("nemo_mcp.engine.render.smart_mux")
MEDIA = CACHE / "media"
BAR_SPEEDUP = 10.0


def _ffmpeg(*args: str, out: Path) -> Path:
    """Run ffmpeg into ``out`` (via a part file), unless ``out`` is already cached."""
    if not out.exists():
        print(f"making {out.name} …", flush=True)
        part = out.with_name(out.name + ".part.mp4")
        subprocess.run(
            [find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", *args, str(part)], check=True
        )
        os.replace(part, out)
    return out


def make_media(width: int, height: int, seconds: int) -> tuple[Path, Path]:
    MEDIA.mkdir(parents=True, exist_ok=True)
    # A still slide with the speaker's moving picture in a corner, as a screen recording shows a lecture.
    speaker = f"{width // 4 // 2 * 2}x{height // 4 // 2 * 2}"
    lecture = _ffmpeg(
        "-f", "lavfi", "-i", f"smptehdbars=size={width}x{height}:rate=30:duration={seconds}",
        "-f", "lavfi", "-i", f"testsrc2=size={speaker}:rate=30:duration={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
        "-filter_complex", "[0:v][1:v]overlay=W-w-40:H-h-40,format=yuv420p[v]", "-map", "[v]", "-map", "2:a",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-g", "60",
        "-c:a", "aac", "-b:a", "128k", "-shortest",
        out=MEDIA / f"lecture-{width}x{height}-{seconds}s-slides-gop60.mp4",
    )  # fmt: skip
    music = _ffmpeg(
        "-f", "lavfi", "-i", f"sine=frequency=220:sample_rate=48000:duration={seconds}",
        "-c:a", "aac", "-b:a", "128k", "-f", "mp4",
        out=MEDIA / f"music-{seconds}s.m4a",
    )  # fmt: skip
    return lecture, music


def cut_draft(seconds: int, trim_s: float, cuts: int, gap_s: float, size: tuple[int, int]) -> dict[str, Any]:
    """The intro trimmed and ``cuts`` pauses of ``gap_s`` removed, evenly spread, off the keyframes."""
    span = (seconds - trim_s) / (cuts + 1)
    pieces, start = [], trim_s
    for n in range(cuts + 1):
        end = seconds if n == cuts else trim_s + span * (n + 1) + 0.37  # 0.37 s: between keyframes
        pieces.append((start, end))
        start = end + gap_s
    segments = [
        {"d": round((b - a) * 1000), "m": {"src": "lecture", "in": round(a * 1000)}} for a, b in pieces
    ]
    music = {"tt": 1, "sg": [{"s": 0, "m": {"src": "music", "volume": 0.2}}]}
    canvas = {"w": size[0], "h": size[1]}
    return {"t": [{"tt": 0, "sg": segments}, music], "m": {"canvas": canvas, "fps": 30}}


async def _render(draft: dict[str, Any], media: dict[str, Path], out: Path, quality: str, *, full: bool) -> tuple[float, Any]:  # fmt: skip
    sources = {k: render_mod.SourceMedia(p, await probe(p)) for k, p in media.items()}
    saved = smart.picture_reason
    if full:
        smart.picture_reason = lambda plan: "switched off by the benchmark"
    try:
        started = time.perf_counter()
        result = await render_mod.render_draft(
            draft, sources, out, quality=quality, work_dir=out.with_suffix(".work")
        )
        return time.perf_counter() - started, result
    finally:
        smart.picture_reason = saved


def _cpu_s() -> float:
    """CPU seconds of this process (its threads: the picture) and its finished children (ffmpeg)."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


async def smart_parts(draft: dict[str, Any], media: dict[str, Path], tmp: Path, quality: str) -> dict[str, tuple[float, float]]:  # fmt: skip
    """The smart render's steps one after another, each (wall s, CPU s): reading the source's packets,
    the picture (copied GOPs, re-encoded edges), the sound pass (or none when the source's is copied)."""
    from nemo_mcp.engine.ffmpeg import run_ffmpeg

    sources = {k: render_mod.SourceMedia(p, await probe(p)) for k, p in media.items()}
    plan = render_mod.make_plan(draft, sources)
    work, times = tmp / "parts", {}
    work.mkdir(exist_ok=True)

    def timed(name: str, started: tuple[float, float]) -> None:
        times[name] = (time.perf_counter() - started[0], _cpu_s() - started[1])

    started = (time.perf_counter(), _cpu_s())
    _, job = smart.smart_job(plan)
    assert job is not None
    timed("index", started)
    started = (time.perf_counter(), _cpu_s())
    crf = render_mod.QUALITY_PRESETS[quality][1]
    job.write(work / "picture.mp4", size=(plan.width, plan.height), crf=crf, stop=lambda: False)
    timed("picture", started)
    started = (time.perf_counter(), _cpu_s())
    if smart_mux.sound_to_copy(plan) is None:
        await run_ffmpeg(smart_mux.sound_command(plan, work / "sound.m4a", work_dir=work))
    timed("sound", started)
    return times


def _drift_ms(path: Path) -> float:
    """How far apart the picture's and the sound's ends are, in ms."""
    import av

    with av.open(str(path)) as container:
        ends = [
            float((s.start_time or 0) * s.time_base) + float(s.duration * s.time_base)
            for s in (container.streams.video[0], container.streams.audio[0])
        ]
    return abs(ends[0] - ends[1]) * 1000


async def cut_accuracy(tmp: Path, cuts: int) -> tuple[int, int]:
    """Pieces of the bar-coded clip (B-frames, keyframe each second) exact at both ends, smart path."""
    plain = numbered_video(tmp / "numbered.mp4", 2 * cuts + 2)
    source = _ffmpeg("-i", str(plain), "-c:v", "libx264", "-preset", "fast", "-bf", "3", "-g", str(FPS),
                     "-c:a", "copy", out=tmp / "numbered-bframes.mp4")  # fmt: skip
    pieces = [(2000 * n + 370, 1130 + 90 * n) for n in range(cuts)]
    draft = {
        "t": [{"tt": 0, "sg": [{"d": d, "m": {"src": "n", "in": i}} for i, d in pieces]}],
        "m": {"canvas": {"w": W, "h": H}, "fps": FPS},
    }
    _, result = await _render(draft, {"n": source}, tmp / "accuracy.mp4", "draft", full=False)
    assert result.path_taken == "smart", result.reason
    plan = render_mod.make_plan(draft, {"n": render_mod.SourceMedia(source, await probe(source))})
    frames, at, exact = frame_numbers(result.path), 0, 0
    for piece in plan.pieces:
        first = math.ceil(piece.in_ms * FPS / 1000)  # the first frame at or after the in-point
        got = frames[at : at + piece.frames]
        exact += len(got) == piece.frames and got[0] == first and got[-1] == first + piece.frames - 1
        at += piece.frames
    return exact, len(pieces)


def main() -> None:
    p = arg_parser(__doc__.split("\n\n")[0])
    p.add_argument("--quality", choices=sorted(render_mod.QUALITY_PRESETS), default="standard")
    p.add_argument("--minutes", type=int, default=10, help="length of the 1080p lecture; 2 cuts a minute")
    args = p.parse_args()
    width, height, seconds, trim, cuts, gap = (
        (640, 360, 60, 2.0, 6, 0.8)
        if args.quick
        else (1920, 1080, 60 * args.minutes, 10.0, 2 * args.minutes, 1.5)
    )
    banner(
        f"smart render vs full re-encode, {seconds} s {width}x{height}, {cuts} cuts, {args.quality}",
        args.quick,
    )
    lecture, music = make_media(width, height, seconds)
    draft = cut_draft(seconds, trim, cuts, gap, (width, height))
    media = {"lecture": lecture, "music": music}
    with tempfile.TemporaryDirectory(prefix="nemo-bench-smart-") as tmp_name:
        tmp = Path(tmp_name)
        cpu = _cpu_s()
        t_smart, smart_result = anyio.run(
            functools.partial(_render, draft, media, tmp / "smart.mp4", args.quality, full=False)
        )
        cpu_smart, cpu = _cpu_s() - cpu, _cpu_s()
        t_full, full_result = anyio.run(
            functools.partial(_render, draft, media, tmp / "full.mp4", args.quality, full=True)
        )
        cpu_full = _cpu_s() - cpu
        assert smart_result.path_taken == "smart", smart_result.reason
        assert full_result.path_taken == "full"
        parts = anyio.run(smart_parts, draft, media, tmp, args.quality)
        drift = _drift_ms(smart_result.path)
        exact, n = anyio.run(cut_accuracy, tmp, 6 if args.quick else 20)
    speedup = t_full / t_smart
    frame_ms = 1000 / 30
    what = f"{seconds / 60:.0f} min {height}p, {cuts} cuts, music"
    print(f"CPU (user+sys, with ffmpeg): smart {secs(cpu_smart)} vs full {secs(cpu_full)}: "
          f"{cpu_full / cpu_smart:.1f}x")  # fmt: skip
    print(f"smart {secs(t_smart)} vs full {secs(t_full)}: {speedup:.1f}x; A/V drift {drift:.1f} ms; "
          f"cut accuracy {exact}/{n}")  # fmt: skip
    print("smart render's steps one after another (in the render, picture and sound run side by side):")
    for name, (wall, cpu) in parts.items():
        print(f"  {name:8s} wall {secs(wall):>8s}  CPU {secs(cpu):>8s}")
    picture, sound = parts["picture"], parts["sound"]
    emit([
        Row(f"Smart render vs full re-encode ({what}, {args.quality})", secs(t_smart),
            f"{secs(t_full)} (full)", speedup, f"≥ {BAR_SPEEDUP:.0f}× faster", speedup >= BAR_SPEEDUP,
            f"keyframe every 2 s; picture {secs(picture[0])} ({secs(picture[1])} CPU), sound "
            f"{secs(sound[0])} ({secs(sound[1])} CPU) apart; machine shared"),
        Row("Smart render A/V drift at the end", f"{drift:.1f} ms", "–", None, f"≤ 1 frame ({frame_ms:.0f} ms)",
            drift <= frame_ms),
        Row(f"Smart render cut accuracy: first and last frame of each kept piece ({n} cuts, B-frames)",
            f"{exact}/{n} exact", "–", None, "all exact", exact == n),
    ])  # fmt: skip


if __name__ == "__main__":
    main()
