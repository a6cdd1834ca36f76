"""Preview speed: a 12-frame contact sheet of a 10-minute 1080p source and of a 10-minute timeline.

The source is made with ffmpeg's lavfi sources (testsrc2 with a tone; full: 10 minutes of
1920x1080 at 30 fps with x264's default keyframe interval of 250 frames, quick: 1 minute of
640x360) and cached in ``bench/.cache/media``. Measured, alternating, median of the runs:

* ours, file: ``engine.previews.preview_file`` (keyframe seeks with PyAV, Pillow sheet);
* ours, timeline: ``engine.previews.preview_timeline`` of a 10-minute timeline of that source
  (two pieces with a 10 s cut between them, a 10 s title card at the end, a title on 0-3 s and a
  caption every 4 s), rendered through the export's graph one frame per asked time;
* the reference: the naive command that decodes the whole source to pick 12 frames,
  ``ffmpeg -i src -vf fps=12/duration,scale=480:-2,tile=4x3 -frames:v 1 sheet.jpg``.

The bar is 3 s for each sheet on 2 cores. The sheets are written next to the cache so a person
can look at them (``bench/.cache/preview-*.jpg``).

    python bench/preview.py [--quick] [--runs N]
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import anyio
from _common import CACHE, Row, arg_parser, banner, emit, median, secs

from nemo_mcp.engine.ffmpeg import find_ffmpeg
from nemo_mcp.engine.media import probe
from nemo_mcp.engine.media.preview import Ask
from nemo_mcp.engine.previews import preview_file, preview_timeline
from nemo_mcp.engine.render import SourceMedia

BAR_S = 3.0
COUNT = 12


def source(quick: bool) -> tuple[Path, float]:
    """The cached test source and its length in seconds."""
    seconds, size = (60, "640x360") if quick else (600, "1920x1080")
    out = CACHE / "media" / f"preview-{size}-{seconds}s.mp4"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        print(f"making {out.name} (once)…", flush=True)
        subprocess.run(
            [find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-y",
             "-f", "lavfi", "-i", f"testsrc2=s={size}:r=30:d={seconds}",
             "-f", "lavfi", "-i", f"sine=frequency=440:d={seconds}",
             "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
             str(out)],
            check=True,
        )  # fmt: skip
    return out, float(seconds)


def timeline(seconds: float) -> dict[str, Any]:
    """A timeline as long as the source: two pieces around a 10 s cut, a closing card, title and captions."""
    half = int(seconds * 1000) // 2
    total = int(seconds * 1000)
    captions = [{"s": t, "d": 3500, "m": {"text": f"Caption number {t // 4000} of the lecture"}}
                for t in range(4000, total - 4000, 4000)]  # fmt: skip
    return {
        "t": [
            {"tt": 0, "m": {"role": "main"}, "sg": [
                {"d": half - 10_000, "m": {"src": "s"}},
                {"d": half - 10_000, "m": {"src": "s", "in": half}},
                {"d": 20_000, "m": {"card": {"text": "Thanks for watching", "bg": "navy"}}},
            ]},
            {"tt": 7, "m": {"role": "title"}, "sg": [{"s": 0, "d": 3000, "m": {"text": "Lecture 4: Fractions"}}]},
            {"tt": 7, "m": {"role": "caption"}, "sg": captions},
        ],
        "m": {"chapters": [{"s": 0, "title": "Start"}, {"s": half, "title": "Second half"}]},
    }  # fmt: skip


def naive(src: Path, seconds: float, out: Path) -> float:
    began = time.perf_counter()
    subprocess.run(
        [find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(src),
         "-vf", f"fps={COUNT}/{seconds:g},scale=480:-2,tile=4x3", "-frames:v", "1", str(out)],
        check=True,
    )  # fmt: skip
    return time.perf_counter() - began


async def ours_file(src: Path, out: Path) -> float:
    began = time.perf_counter()
    result = await preview_file(src, Ask(count=COUNT), name=src.name)
    took = time.perf_counter() - began
    await anyio.Path(out).write_bytes(result.sheet.jpeg)
    return took


async def ours_timeline(src: Path, seconds: float, out: Path) -> float:
    media = {"s": SourceMedia(src, await probe(src))}
    began = time.perf_counter()
    result = await preview_timeline(
        timeline(seconds), media, Ask(count=COUNT), work_dir=CACHE / "preview-work"
    )
    took = time.perf_counter() - began
    await anyio.Path(out).write_bytes(result.sheet.jpeg)
    return took


def main() -> None:
    parser = arg_parser(__doc__ or "")
    parser.add_argument("--runs", type=int, default=0, help="repeats (default: 3, quick: 1)")
    args = parser.parse_args()
    banner("preview", args.quick)
    src, seconds = source(args.quick)
    runs = args.runs or (1 if args.quick else 3)
    times: dict[str, list[float]] = {"file": [], "timeline": [], "naive": []}
    for _ in range(runs):
        times["file"].append(anyio.run(ours_file, src, CACHE / "preview-file.jpg"))
        times["timeline"].append(anyio.run(ours_timeline, src, seconds, CACHE / "preview-timeline.jpg"))
        times["naive"].append(naive(src, seconds, CACHE / "preview-naive.jpg"))
    file_s, timeline_s, naive_s = (median(times[k]) for k in ("file", "timeline", "naive"))
    label = f"{seconds / 60:g}-min {'640x360' if args.quick else '1080p'}"
    print(f"12-frame sheet of a {label} source:   ours {secs(file_s)}   naive full decode {secs(naive_s)}"
          f"   ratio {naive_s / file_s:.1f}x")  # fmt: skip
    print(f"12-frame sheet of a {label} timeline: ours {secs(timeline_s)}   (naive full decode of the source "
          f"{secs(naive_s)}, ratio {naive_s / timeline_s:.1f}x)")  # fmt: skip
    print(f"sheets written to {CACHE}/preview-*.jpg")
    emit(
        [
            Row(f"preview: 12-frame sheet, {label} source", secs(file_s), secs(naive_s),
                round(naive_s / file_s, 1), f"≤ {BAR_S:g} s", file_s <= BAR_S, "reference: ffmpeg fps+tile"),
            Row(f"preview: 12-frame sheet, {label} timeline", secs(timeline_s), secs(naive_s),
                round(naive_s / timeline_s, 1), f"≤ {BAR_S:g} s", timeline_s <= BAR_S,
                "as it will export; reference: full decode of the source"),
        ]
    )  # fmt: skip


if __name__ == "__main__":
    main()
