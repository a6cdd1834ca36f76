"""Pictures of the timeline as it will export, rendered by the export's own graph, a frame at a time.

Rendering a ten-minute timeline to look at twelve moments would take minutes; instead the plan
is cut down to one frame per asked time: each becomes a one-frame piece of the same clip at the
same source time (or the same card), with the texts on screen at that moment, on a canvas scaled
down to the sheet's cell. :func:`compose` then builds the very graph an export uses (the same
letterboxing, text styles and positions, scaled with the canvas), each piece seeking to its own
time, and ffmpeg writes the frames as raw pictures instead of an MP4.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

from nemo_mcp.engine.ffmpeg import ffmpeg_command
from nemo_mcp.engine.render.assets import AssetFile, Font, plan_assets
from nemo_mcp.engine.render.command import graph_args
from nemo_mcp.engine.render.compose import compose
from nemo_mcp.engine.render.plan import Piece, Plan, Text

# One frame per asked time at this rate: each lasts 100 ms, far more than ASS's centisecond
# timing needs to tell one moment's texts from the next's.
PREVIEW_FPS = Fraction(10)
# Pieces of one source further apart than this seek afresh; nearer ones are decoded through.
PREVIEW_SEEK_GAP_MS = 2000


@dataclass(frozen=True)
class FramesCommand:
    """The argv writing the frames as raw RGB to ``out``, the files it needs, and the frame size."""

    argv: list[str]
    files: tuple[AssetFile, ...]
    width: int
    height: int
    count: int


def _piece_at(plan: Plan, frame: int) -> Piece:
    for piece in plan.pieces:
        if piece.start_frame <= frame < piece.start_frame + piece.frames:
            return piece
    return plan.pieces[-1]


def _moment(plan: Plan, index: int, ms: int) -> tuple[Piece, list[Text]]:
    """The one-frame piece ``index`` showing timeline time ``ms``, and the texts on screen then."""
    frame = min(max(0, plan.frame_at(ms)), plan.total_frames - 1)
    piece = _piece_at(plan, frame)
    at_ms = plan.ms_at(frame)
    # Rounded up: a seek to a hair before a keyframe (333.333 for 333.3333…) lands on the keyframe
    # before it and decodes seconds of frames; a hair after costs one more frame.
    into_ms = math.ceil((frame - piece.start_frame) * 1000 / plan.fps)
    still = piece.source is None or piece.source.info.kind == "image"
    one = replace(piece, start_frame=index, frames=1, in_ms=piece.in_ms + (0 if still else into_ms))
    # Centred on the frame's own time (index x 100 ms) and well clear of its neighbours: libass
    # rounds event times, and a text must never spill onto the next moment's frame.
    start, end = max(0, index * 100 - 40), index * 100 + 40
    texts = [replace(t, start_ms=start, end_ms=end) for t in plan.texts if t.start_ms <= at_ms < t.end_ms]
    return one, texts


def preview_plan(plan: Plan, times_ms: Sequence[int], width: int, height: int) -> Plan:
    """The plan of one frame per time in ``times_ms``, on a ``width`` x ``height`` canvas (same shape).

    Texts keep their size relative to the canvas, soft captions drawn like the others; sound,
    chapters, loudness and fades are left out (a frame has no sound, and the caller says when a frame lies inside a fade).
    """
    scale = width / plan.width
    pieces: list[Piece] = []
    texts: list[Text] = []
    for index, ms in enumerate(times_ms):
        piece, shown = _moment(plan, index, ms)
        pieces.append(piece)
        # Captions that ship as a subtitle track are drawn as a player shows them with captions on.
        texts += [replace(t, size=max(6, round(t.size * scale)), soft=False) for t in shown]
    return Plan(
        width=width,
        height=height,
        fps=PREVIEW_FPS,
        pieces=tuple(pieces),
        texts=tuple(texts),
        seek_gap_ms=PREVIEW_SEEK_GAP_MS,
    )


def frames_command(plan: Plan, out: Path, *, work_dir: Path, font: Font | None) -> FramesCommand:
    """The command rendering every frame of ``plan`` (a :func:`preview_plan`) as raw RGB into ``out``."""
    assets = plan_assets(plan, work_dir, font)
    composition = compose(plan, assets)
    args, graph_files = graph_args(composition.graph, work_dir)
    argv = ffmpeg_command(
        "-y", "-loglevel", "error",
        *composition.inputs.argv(),
        *args,
        "-map", "[vout]", "-frames:v", str(len(plan.pieces)),
        "-f", "rawvideo", "-pix_fmt", "rgb24", str(out),
        # The graph's sound has to go somewhere; it is thrown away.
        "-map", "[aout]", "-f", "null", "-",
    )  # fmt: skip
    return FramesCommand(argv, assets.files + graph_files, plan.width, plan.height, len(plan.pieces))
