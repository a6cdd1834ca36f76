"""What can be heard and seen along a file: silences and scene changes, by ffmpeg's filters.

Each pass runs ffmpeg's ``silencedetect`` or ``scdet`` filter over the whole file and reads
its log lines as they come, so memory stays flat however long the file is.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from nemo_mcp.engine.ffmpeg import FFmpegError, LineHandler, ffmpeg_command, run_ffmpeg
from nemo_mcp.engine.media.errors import MediaError, analysis_error
from nemo_mcp.engine.media.probe import probe

_SILENCE_START = re.compile(r"silence_start: (-?\d+(?:\.\d+)?)")
_SILENCE_END = re.compile(r"silence_end: (-?\d+(?:\.\d+)?)")
_SCENE = re.compile(r"lavfi\.scd\.score: (\d+(?:\.\d+)?), lavfi\.scd\.time: (-?\d+(?:\.\d+)?)")


async def _filter_pass(
    path: Path, what: str, stream: Literal["a", "v"], chain: str, on_line: LineHandler
) -> None:
    """Run ``chain`` over the first audio or video stream of ``path``, its log lines to ``on_line``."""
    drop_other = "-vn" if stream == "a" else "-an"
    argv = ffmpeg_command(
        "-i", str(path), "-map", f"0:{stream}:0", f"-{stream}f", chain,
        drop_other, "-sn", "-dn", "-f", "null", "-",
    )  # fmt: skip
    try:
        await run_ffmpeg(argv, on_stderr_line=on_line)
    except FFmpegError as exc:
        raise analysis_error(path, what, exc) from exc


async def detect_silences(
    path: Path, *, noise_db: float = -35.0, min_silence_ms: int = 600
) -> list[tuple[int, int]]:
    """Stretches quieter than ``noise_db`` for at least ``min_silence_ms``, as (start, end) ms."""
    info = await probe(path)
    if not info.has_audio:
        raise MediaError(f"{path.name} has no sound, so it has no silences to find")
    silences: list[tuple[int, int]] = []
    start: int | None = None

    async def on_line(line: str) -> None:
        nonlocal start
        if m := _SILENCE_START.search(line):
            start = max(0, round(float(m.group(1)) * 1000))
        elif (m := _SILENCE_END.search(line)) and start is not None:
            end = min(info.duration_ms, round(float(m.group(1)) * 1000))
            if end > start:
                silences.append((start, end))
            start = None

    detector = f"asetpts=PTS-STARTPTS,silencedetect=noise={noise_db:.1f}dB:duration={max(min_silence_ms, 1) / 1000:.3f}"
    await _filter_pass(path, "look for silences", "a", detector, on_line)
    # A silence still open at the end of the file lasts until the end.
    if start is not None and info.duration_ms - start >= min_silence_ms:
        silences.append((start, info.duration_ms))
    return silences


async def detect_scenes(path: Path, *, threshold: float = 10.0) -> list[int]:
    """Times (ms) where the picture changes scene: ffmpeg's ``scdet`` score above ``threshold`` (0-100)."""
    info = await probe(path)
    if info.kind != "video":
        raise MediaError(f"{path.name} is not a video, so it has no scenes to find")
    found: set[int] = set()

    async def on_line(line: str) -> None:
        if m := _SCENE.search(line):
            found.add(max(0, round(float(m.group(2)) * 1000)))

    # A small picture scores scene changes about as well as a full one, at a fraction of the cost.
    chain = f"setpts=PTS-STARTPTS,scale=320:-2:flags=fast_bilinear,scdet=threshold={threshold:g}"
    await _filter_pass(path, "look for scene changes", "v", chain, on_line)
    return sorted(t for t in found if t > 0)
