"""Measuring media in tests: ffmpeg's own meters and raw frames, independent of the code under test."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from nemo_mcp.engine.ffmpeg import find_ffmpeg


def ffmpeg(*args: str) -> str:
    """Run ffmpeg synchronously; return its stderr (where it reports)."""
    done = subprocess.run(
        [find_ffmpeg(), "-hide_banner", "-nostdin", "-y", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stderr


def mean_volume_db(path: Path) -> float:
    """The mean volume of a file's sound, by ffmpeg's volumedetect."""
    report = ffmpeg("-i", str(path), "-map", "0:a:0", "-af", "volumedetect", "-f", "null", "-")
    match = re.search(r"mean_volume: (-?\d+(?:\.\d+)?) dB", report)
    assert match, report[-1000:]
    return float(match.group(1))


def integrated_loudness(path: Path) -> float:
    """Integrated loudness (LUFS) by ffmpeg's ebur128 meter."""
    report = ffmpeg("-i", str(path), "-map", "0:a:0", "-af", "ebur128", "-f", "null", "-")
    summary = report[report.rindex("Summary:") :]
    match = re.search(r"I:\s+(-?\d+(?:\.\d+)?) LUFS", summary)
    assert match, summary
    return float(match.group(1))


def frame_rgb(path: Path, at_s: float, width: int, height: int) -> bytes:
    """One decoded frame as packed RGB24 bytes."""
    argv = [find_ffmpeg(), "-hide_banner", "-nostdin", "-v", "error", "-ss", f"{at_s:.3f}", "-i", str(path)]
    argv += ["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    done = subprocess.run(argv, capture_output=True, check=True, timeout=60)
    assert len(done.stdout) == width * height * 3
    return done.stdout


def pixel(frame: bytes, width: int, x: int, y: int) -> tuple[int, int, int]:
    """The RGB value at (x, y)."""
    i = (y * width + x) * 3
    return frame[i], frame[i + 1], frame[i + 2]


def drawtext_escape(text: str) -> str:
    """``text`` as a value of drawtext's ``text=`` option inside a filter graph."""
    return text.replace("\\", "\\\\\\\\").replace("'", "'\\\\\\''").replace(":", "\\\\:").replace(",", "\\,")


def slides_video(
    out: Path, font: Path, slides: list[tuple[float, str, list[str]]], audio: Path | None = None
) -> Path:
    """A slide show: each slide (seconds, heading, body lines) a plain colour with a large heading on
    top and smaller body lines under it, as a lecture's slides look; ``audio`` (if given) under it."""
    colours = ["navy", "darkgreen", "black", "saddlebrown", "indigo"]
    inputs: list[str] = []
    chains: list[str] = []
    for i, (seconds, heading, body) in enumerate(slides):
        inputs += ["-f", "lavfi", "-i", f"color=c={colours[i % len(colours)]}:s=640x360:r=10:d={seconds}"]
        draws = [
            f"drawtext=fontfile={font}:text={drawtext_escape(heading)}:fontsize=40:fontcolor=white:x=30:y=30"
        ]
        draws += [
            f"drawtext=fontfile={font}:text={drawtext_escape(line)}:fontsize=20:fontcolor=white:x=30:y={140 + 40 * j}"
            for j, line in enumerate(body)
        ]
        chains.append(f"[{i}:v]{','.join(draws)}[s{i}]")
    n = len(slides)
    graph = ";".join(chains) + ";" + "".join(f"[s{i}]" for i in range(n)) + f"concat=n={n}:v=1:a=0[v]"
    args = [*inputs]
    if audio is not None:
        args += ["-i", str(audio)]
    args += ["-filter_complex", graph, "-map", "[v]"]
    if audio is not None:
        args += ["-map", f"{n}:a", "-c:a", "aac", "-shortest"]
    ffmpeg(*args, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(out))
    return out


ZH_SLIDES = Path(__file__).resolve().parents[1] / "fixtures" / "ocr"
ZH_HEADINGS = ["第一部分光合作用", "第二部分光反应", "第三部分卡尔文循环"]


def zh_slides_video(out: Path, seconds: float) -> Path:
    """The three committed Chinese slides (tests/fixtures/ocr), ``seconds`` each, as one silent video."""
    inputs: list[str] = []
    for i in (1, 2, 3):
        inputs += ["-loop", "1", "-framerate", "5", "-t", str(seconds)]
        inputs += ["-i", str(ZH_SLIDES / f"zh_slide_{i}.png")]
    ffmpeg(
        *inputs, "-filter_complex", "[0:v][1:v][2:v]concat=n=3:v=1:a=0,format=yuv420p[v]", "-map", "[v]",
        "-c:v", "libx264", "-preset", "ultrafast", str(out),
    )  # fmt: skip
    return out


def bare(text: str) -> str:
    """``text`` without spaces: OCR may keep or drop the space in "第一部分 光合作用"."""
    return "".join(text.split())
