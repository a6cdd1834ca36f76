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
