"""Previews: the timeline as it will export, or a file, as one JPEG with its layout and context.

Used by the engine's preview endpoint and, on the cloud, by the MCP server itself for files it
uploaded from this computer (``service/previews``). The timeline goes through the export's own
renderer (:mod:`engine.render.preview`), so titles, captions, crops and the canvas shape are
what the export will show; a file is read with PyAV (:mod:`engine.media.preview`).
"""

from __future__ import annotations

import base64
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import anyio
import anyio.to_thread

from nemo_mcp.draft import TEXT, lenient_int, peek_meta, segments, tracks
from nemo_mcp.engine.media.frames import fit
from nemo_mcp.engine.media.preview import Ask, PreviewError, choose_times, file_sheet, spread_tolerance
from nemo_mcp.engine.media.sheet import Sheet, cell_box, make_sheet

#: The longest the frames of a timeline may take to render before the preview gives up.
RENDER_LIMIT_S: Final = 40.0
#: Captions listed beside a sheet, at most (the rest are counted in a note).
MAX_CAPTIONS: Final = 60


@dataclass
class Preview:
    """A finished preview: the JPEG, where each frame is in it, and what the timeline holds there."""

    source: str
    sheet: Sheet
    kind: Literal["sheet", "frame"]
    duration_s: float
    chapters: list[dict[str, Any]] = field(default_factory=list)
    captions: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def layout(self) -> dict[str, Any]:
        """Everything but the picture, as plain JSON."""
        return {
            "source": self.source,
            "kind": self.kind,
            "duration_s": round(self.duration_s, 3),
            "width": self.sheet.width,
            "height": self.sheet.height,
            "bytes": len(self.sheet.jpeg),
            "frames": [
                {"time_s": c.time_s, "x": c.x, "y": c.y, "w": c.w, "h": c.h} for c in self.sheet.cells
            ],
            "chapters": self.chapters,
            "captions": self.captions,
            "notes": self.notes,
        }

    def to_wire(self) -> dict[str, Any]:
        """The preview as the engine's endpoint sends it: the layout plus the JPEG in base64."""
        return {**self.layout(), "jpeg": base64.b64encode(self.sheet.jpeg).decode("ascii")}


def _kind(ask: Ask, count: int) -> Literal["sheet", "frame"]:
    return "frame" if ask.single or count == 1 else "sheet"


async def preview_file(path: Path, ask: Ask, *, name: str) -> Preview:
    """A sheet (or one frame) of the video or picture at ``path``, shown as ``name``."""
    sheet, times, duration = await anyio.to_thread.run_sync(lambda: file_sheet(path, ask, name=name))
    return Preview(name, sheet, _kind(ask, len(times)), duration)


def captions_between(draft: Mapping[str, Any], lo_s: float, hi_s: float) -> tuple[list[dict[str, Any]], int]:
    """The caption-track texts overlapping ``lo_s``…``hi_s`` (at most :data:`MAX_CAPTIONS`), and how many in all."""
    found: list[dict[str, Any]] = []
    for track in tracks(draft):
        if (
            lenient_int(track.get("tt")) != TEXT
            or str(peek_meta(track).get("role") or "caption") != "caption"
        ):
            continue
        for segment in segments(track):
            start, length = lenient_int(segment.get("s")) or 0, lenient_int(segment.get("d")) or 0
            text = " ".join(str(peek_meta(segment).get("text") or "").split())
            if text and length > 0 and start / 1000 <= hi_s and (start + length) / 1000 >= lo_s:
                found.append(
                    {
                        "start_s": round(start / 1000, 2),
                        "end_s": round((start + length) / 1000, 2),
                        "text": text,
                    }
                )
    found.sort(key=lambda c: c["start_s"])
    return found[:MAX_CAPTIONS], len(found)


def snap_timeline(plan: Any, times: list[float], tolerance_s: float) -> list[float]:
    """Each time moved back (at most ``tolerance_s``, never out of its piece) to a keyframe of its clip.

    The export's graph seeks each moment's clip to its source time: at a keyframe that costs one
    decoded frame instead of every frame since the last keyframe (seconds of 1080p each).
    """
    from nemo_mcp.engine.media.frames import keyframes_before

    # path -> (index, source time, how far back the piece's in-point is)
    wanted: dict[Path, list[tuple[int, float, float]]] = {}
    for index, t in enumerate(times):
        frame = min(plan.frame_at(t * 1000), plan.total_frames - 1)
        piece = next((p for p in plan.pieces if p.start_frame <= frame < p.start_frame + p.frames), None)
        if piece is None or piece.source is None or piece.source.info.kind != "video":
            continue
        into_s = t - plan.ms_at(piece.start_frame) / 1000
        wanted.setdefault(piece.source.path, []).append((index, piece.in_ms / 1000 + into_s, into_s))
    snapped = list(times)
    for path, items in wanted.items():
        keys = keyframes_before(path, [source_t for _, source_t, _ in items])
        for (index, source_t, into_s), key in zip(items, keys, strict=True):
            if key is not None and 0 <= source_t - key <= min(tolerance_s, into_s):
                snapped[index] = round(times[index] - (source_t - key), 3)
    return snapped


def _range_of(ask: Ask, times: list[float], duration_s: float) -> tuple[float, float]:
    if ask.times_s is not None or ask.single:
        return min(times), max(times)
    return ask.start_s or 0.0, duration_s if ask.end_s is None else min(ask.end_s, duration_s)


async def preview_timeline(
    draft: Mapping[str, Any], media: Mapping[str, Any], ask: Ask, *, work_dir: Path
) -> Preview:
    """The timeline ``draft`` (its media: id → :class:`SourceMedia`) as it will export, at the asked times.

    Raises :class:`PreviewError` (or the renderer's :class:`RenderError`) naming the fix.
    """
    from nemo_mcp.engine import render

    plan = render.make_plan(draft, media)
    times = choose_times(plan.duration_s, ask)
    if tolerance := spread_tolerance(ask, times):
        times = await anyio.to_thread.run_sync(lambda: snap_timeline(plan, times, tolerance))
    single = ask.single or len(times) == 1
    width, height = fit(
        plan.width, plan.height, *cell_box(len(times), plan.width, plan.height, single=single)
    )
    pictures = await render_frames(plan, times, width, height, work_dir)
    sheet = await anyio.to_thread.run_sync(
        lambda: make_sheet(list(zip(times, pictures, strict=True)), single=single)
    )
    result = Preview("timeline", sheet, _kind(ask, len(times)), plan.duration_s)
    result.chapters = [{"start_s": round(c.start_ms / 1000, 2), "title": c.title} for c in plan.chapters]
    lo, hi = _range_of(ask, times, plan.duration_s)
    result.captions, total = captions_between(draft, lo, hi)
    if total > len(result.captions):
        result.notes.append(f"{total} captions in this range; the first {len(result.captions)} are listed.")
    if any(text.soft for text in plan.texts):
        result.notes.append(
            "Captions ship as a subtitle track and an .srt; they are drawn here as a player shows them."
        )
    fades = [t for t in times if t * 1000 < plan.fade_in_ms or t * 1000 > plan.duration_ms - plan.fade_out_ms]
    if fades:
        result.notes.append("Frames inside the fade-in or fade-out are shown without the fade.")
    return result


async def render_frames(plan: Any, times: list[float], width: int, height: int, work_dir: Path) -> list[Any]:
    """The frames of ``plan`` at ``times`` on a ``width`` x ``height`` canvas, rendered by the export's graph."""
    from PIL import Image

    from nemo_mcp.engine.ffmpeg import FFmpegError, run_ffmpeg
    from nemo_mcp.engine.render import RenderError, find_font
    from nemo_mcp.engine.render.assets import write_assets
    from nemo_mcp.engine.render.preview import frames_command, preview_plan

    small = preview_plan(plan, [round(t * 1000) for t in times], width, height)
    await anyio.Path(work_dir).mkdir(parents=True, exist_ok=True)
    folder = Path(await anyio.to_thread.run_sync(lambda: tempfile.mkdtemp(prefix="preview-", dir=work_dir)))
    try:
        out = folder / "frames.rgb"
        command = frames_command(small, out, work_dir=folder, font=find_font() if small.texts else None)
        await anyio.to_thread.run_sync(write_assets, command.files)
        try:
            with anyio.fail_after(RENDER_LIMIT_S):
                await run_ffmpeg(command.argv)
        except FFmpegError as exc:
            raise RenderError(f"the preview could not be rendered: {exc}") from exc
        except TimeoutError:
            raise PreviewError(
                f"the preview took over {RENDER_LIMIT_S:.0f} s: ask for fewer frames"
            ) from None
        raw = await anyio.Path(out).read_bytes()
    finally:
        await anyio.to_thread.run_sync(lambda: shutil.rmtree(folder, ignore_errors=True))
    size = command.width * command.height * 3
    if len(raw) < size * command.count:
        raise PreviewError("the preview rendered fewer frames than asked: try again, or ask for other times")
    return [
        Image.frombytes("RGB", (command.width, command.height), raw[i * size : (i + 1) * size])
        for i in range(command.count)
    ]
