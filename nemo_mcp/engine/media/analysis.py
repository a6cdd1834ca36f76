"""What can be heard along a file: silences, by ffmpeg's filter, and the filter pass it runs.

A pass runs an ffmpeg filter (``silencedetect`` here, ``scdet`` for :mod:`.scenes`) over the
whole file and reads its log lines as they come, so memory stays flat however long the file is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from nemo_mcp.engine.ffmpeg import FFmpegError, LineHandler, ffmpeg_command, run_ffmpeg
from nemo_mcp.engine.media.errors import MediaError, analysis_error
from nemo_mcp.engine.media.probe import probe

_SILENCE_START = re.compile(r"silence_start: (-?\d+(?:\.\d+)?)")
_SILENCE_END = re.compile(r"silence_end: (-?\d+(?:\.\d+)?)")


async def filter_pass(
    path: Path,
    what: str,
    stream: Literal["a", "v"],
    chain: str,
    on_line: LineHandler,
    *,
    input_opts: Sequence[str] = (),
    output_opts: Sequence[str] = (),
) -> None:
    """Run ``chain`` over the first audio or video stream of ``path``, its log lines to ``on_line``.

    ``input_opts`` go before ``-i`` (seeking, skipping frames), ``output_opts`` after the chain.
    """
    drop_other = "-vn" if stream == "a" else "-an"
    argv = ffmpeg_command(
        *input_opts, "-i", str(path), "-map", f"0:{stream}:0", f"-{stream}f", chain, *output_opts,
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
    await filter_pass(path, "look for silences", "a", detector, on_line)
    # A silence still open at the end of the file lasts until the end.
    if start is not None and info.duration_ms - start >= min_silence_ms:
        silences.append((start, info.duration_ms))
    return silences
