"""The ffmpeg argv of a render, assembled from its plan, graph and side files; and its progress."""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nemo_mcp.engine.ffmpeg import ffmpeg_command, ffmpeg_version
from nemo_mcp.engine.render.assets import AssetFile, Assets, Font, find_font, plan_assets, write_assets
from nemo_mcp.engine.render.compose import compose
from nemo_mcp.engine.render.graph import Inputs, number
from nemo_mcp.engine.render.plan import SAMPLE_RATE, Plan, RenderError, SourceMedia, make_plan

ProgressCallback = Callable[[float], Awaitable[None]]
VersionProbe = Callable[[], tuple[int, int] | None]

# quality -> (x264 preset, CRF)
QUALITY_PRESETS: dict[str, tuple[str, int]] = {
    "high": ("medium", 20),
    "standard": ("veryfast", 23),
    "draft": ("ultrafast", 28),
}
AUDIO_BITRATE = "192k"
# ffmpeg reports progress this often; render_draft throttles what it passes on.
_STATS_PERIOD_S = 0.25
_PROGRESS_MIN_STEP = 0.01
_PROGRESS_MIN_INTERVAL_S = 0.5
# Longer filter graphs go to a file: Windows caps a whole command line at 32k characters.
_INLINE_GRAPH_CHARS = 20000


def check_quality(quality: str) -> str:
    """``quality`` as a key of :data:`QUALITY_PRESETS`, or :class:`RenderError` naming the choices."""
    key = quality.strip().lower()
    if key not in QUALITY_PRESETS:
        raise RenderError(f"unknown quality {quality!r}: use one of {', '.join(QUALITY_PRESETS)}")
    return key


@dataclass(frozen=True)
class Command:
    """An ffmpeg argv and the files that must be in place before it runs."""

    argv: list[str]
    files: tuple[AssetFile, ...]


def graph_args(
    graph: str, work_dir: Path, version: VersionProbe = ffmpeg_version
) -> tuple[list[str], tuple[AssetFile, ...]]:
    """The options passing ``graph`` to ffmpeg: inline, or in a file for a long one."""
    if len(graph) <= _INLINE_GRAPH_CHARS:
        return ["-filter_complex", graph], ()
    path = work_dir / "graph.txt"
    found = version()
    # ffmpeg 7 replaced -filter_complex_script with the "-/option file" form, and 8 dropped the old one.
    option = "-/filter_complex" if found is None or found >= (7, 0) else "-filter_complex_script"
    return [option, str(path)], (AssetFile(path, graph),)


def caption_track(inputs: Inputs, assets: Assets) -> list[str]:
    """The output options that carry soft captions as the MP4's subtitle track (none without them)."""
    if assets.captions is None:
        return []
    index = inputs.add(str(assets.captions), "-f", "srt").index
    return ["-map", f"{index}:s", "-c:s", "mov_text", "-metadata:s:s:0", "handler_name=Captions"]


def render_command(
    plan: Plan,
    out_path: Path,
    *,
    quality: str,
    work_dir: Path,
    font: Font | None,
    version: VersionProbe = ffmpeg_version,
) -> Command:
    """The command that renders ``plan`` to ``out_path``, with side files in ``work_dir``; writes nothing."""
    preset, crf = QUALITY_PRESETS[quality]
    assets = plan_assets(plan, work_dir, font)
    composition = compose(plan, assets)
    graph_opts, graph_files = graph_args(composition.graph, work_dir, version)
    metadata = str(composition.metadata_input)
    subtitles = caption_track(composition.inputs, assets)
    argv = ffmpeg_command(
        "-y", "-progress", "pipe:1", "-nostats", "-stats_period", number(_STATS_PERIOD_S),
        *composition.inputs.argv(),
        *graph_opts,
        "-map", "[vout]", "-map", "[aout]", *subtitles,
        # Never carry a source's tags (camera, location) or chapters into the export.
        "-map_metadata", metadata, "-map_chapters", metadata,
        "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", AUDIO_BITRATE, "-ar", str(SAMPLE_RATE), "-ac", "2",
        "-t", number(plan.duration_s),
        "-movflags", "+faststart", "-f", "mp4", str(out_path),
    )  # fmt: skip
    return Command(argv, assets.files + graph_files)


def prepare(plan: Plan, out_path: Path, *, quality: str, work_dir: Path) -> list[str]:
    """The argv rendering ``plan``, after writing the files it names into ``work_dir``."""
    font = find_font() if any(not text.soft for text in plan.texts) else None
    command = render_command(plan, out_path, quality=quality, work_dir=work_dir, font=font)
    write_assets(command.files)
    return command.argv


def build_command(
    draft: dict[str, Any],
    media: Mapping[str, SourceMedia],
    out_path: Path,
    *,
    quality: str = "high",
    work_dir: Path,
) -> list[str]:
    """The ffmpeg argv that renders ``draft`` to ``out_path`` (an MP4, whatever its suffix).

    Writes the text (ASS), chapter and, for very long graphs, filter-graph files it refers
    to into ``work_dir``, which must outlive the run. Raises :class:`RenderError`
    for a draft that cannot be rendered.
    """
    plan = make_plan(draft, media)
    return prepare(plan, out_path, quality=check_quality(quality), work_dir=work_dir)


class Progress:
    """Turns ffmpeg's ``-progress`` lines into a throttled, rising 0..1 for the caller."""

    def __init__(self, duration_s: float, callback: ProgressCallback | None) -> None:
        self._duration_us = max(1.0, duration_s * 1_000_000)
        self._callback = callback
        self._sent = 0.0
        self._sent_at = -math.inf

    async def line(self, line: str) -> None:
        key, sep, value = line.partition("=")
        if not sep or self._callback is None:
            return
        key, value = key.strip(), value.strip()
        # out_time_ms is also in microseconds: a naming mistake ffmpeg keeps for compatibility.
        if key not in ("out_time_us", "out_time_ms") or not value.lstrip("-").isdigit():
            return
        # 1.0 is kept for the moment the finished file is in place.
        fraction = min(0.999, max(0.0, int(value) / self._duration_us))
        now = time.monotonic()
        if fraction <= self._sent:
            return
        if fraction - self._sent >= _PROGRESS_MIN_STEP or now - self._sent_at >= _PROGRESS_MIN_INTERVAL_S:
            self._sent, self._sent_at = fraction, now
            await self._callback(fraction)

    async def done(self) -> None:
        if self._callback is not None:
            await self._callback(1.0)
