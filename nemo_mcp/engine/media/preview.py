"""What a preview asks for (times, a range and a count, or one frame), checked; and a file's sheet.

Both backends and the demo preview a file the same way: :func:`file_sheet` reads its length,
picks the times, grabs the pictures (:mod:`.frames`) and lays them out (:mod:`.sheet`). The
timeline's preview (``engine.previews``) picks its times with the same :func:`choose_times`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nemo_mcp.engine.media.errors import REEXPORT, MediaError
from nemo_mcp.engine.media.frames import grab_frames, snap_to_keyframes
from nemo_mcp.engine.media.sheet import Sheet, cell_box, clock, make_sheet

#: A sheet holds 1 to MAX_COUNT pictures; more would make each too small to read.
MAX_COUNT = 16
DEFAULT_COUNT = 12
#: The furthest a spread-out frame moves back to a keyframe.
MAX_SNAP_S = 10.0


class PreviewError(MediaError):
    """The preview asked for cannot be made; ``str(exc)`` names the fix."""


@dataclass(frozen=True)
class Ask:
    """What to show: ``times_s`` exactly, else ``count`` times spread over ``start_s``…``end_s``.

    ``single``: one larger frame (at ``times_s[0]``, else ``start_s``, else the range's middle).
    """

    times_s: tuple[float, ...] | None = None
    start_s: float | None = None
    end_s: float | None = None
    count: int = DEFAULT_COUNT
    single: bool = False


def _range(duration_s: float, ask: Ask, what: str) -> tuple[float, float]:
    lo = 0.0 if ask.start_s is None else ask.start_s
    hi = duration_s if ask.end_s is None else min(ask.end_s, duration_s)
    if lo < 0 or lo >= duration_s:
        raise PreviewError(
            f"start_s {lo:g} is outside {what}, which is {duration_s:.1f} s long: give a start from 0 to "
            f"{max(0.0, duration_s - 0.1):.1f}"
        )
    if hi <= lo:
        raise PreviewError(f"end_s {ask.end_s:g} is not after start_s {lo:g}: give an end_s after the start")
    return lo, hi


def choose_times(duration_s: float, ask: Ask, *, what: str = "the timeline") -> list[float]:
    """The times to show, each inside ``0 … duration_s``; :class:`PreviewError` naming the fix otherwise."""
    if duration_s <= 0:
        raise PreviewError(f"{what} has no length yet: add a clip first")
    if ask.times_s is not None:
        times = list(ask.times_s)
        if not 1 <= len(times) <= MAX_COUNT:
            raise PreviewError(f"give 1 to {MAX_COUNT} times, not {len(times)}")
        for t in times:
            if not math.isfinite(t) or t < 0 or t > duration_s:
                raise PreviewError(
                    f"the time {t:g} s is outside {what}, which is {duration_s:.1f} s long: give times from "
                    f"0 to {duration_s:.1f}"
                )
        # The very end shows the last frame, not one past it.
        times = [min(t, max(0.0, duration_s - 0.05)) for t in times]
        return times[:1] if ask.single else times
    if not 1 <= ask.count <= MAX_COUNT:
        raise PreviewError(f"count must be 1 to {MAX_COUNT}, not {ask.count}: use 12 for a contact sheet")
    lo, hi = _range(duration_s, ask, what)
    if ask.single:
        return [lo if ask.start_s is not None and ask.end_s is None else (lo + hi) / 2]
    # The middle of each of count equal parts: no black first frame, no frame past the end.
    step = (hi - lo) / ask.count
    return [round(lo + (i + 0.5) * step, 3) for i in range(ask.count)]


def spread_tolerance(ask: Ask, times: Sequence[float]) -> float:
    """How far a spread-out frame may move back to a keyframe (0 for exact times or one frame).

    A contact sheet samples a range, so a frame a few seconds earlier shows it as well, and a
    frame at a keyframe decodes in a fraction of the time (its time is labelled as it is).
    """
    if ask.times_s is not None or ask.single or len(times) < 2:
        return 0.0
    return min(MAX_SNAP_S, (times[1] - times[0]) / 2)


def duration_of(path: Path) -> float:
    """The length of a video file in seconds (0 for a picture), read from its container."""
    import av

    try:
        with av.open(str(path)) as container:
            if container.duration is not None and container.duration > 0:
                return float(container.duration / 1_000_000)
            streams = container.streams.video
            if streams and streams[0].duration is not None and streams[0].time_base is not None:
                return float(streams[0].duration * streams[0].time_base)
            return 0.0
    except Exception as exc:  # PyAV raises its own errors for unreadable files
        raise MediaError(f"could not open {path.name} ({type(exc).__name__}): {REEXPORT}") from exc


def file_sheet(path: Path, ask: Ask, *, name: str | None = None) -> tuple[Sheet, list[float], float]:
    """A contact sheet (or one frame) of the video or picture at ``path``, its times and the file's length. Blocking."""
    what = name or path.name
    duration = duration_of(path)
    if duration <= 0:  # a picture: one frame, at 0
        times: Sequence[float] = [0.0]
    else:
        times = choose_times(duration, ask, what=what)
        if tolerance := spread_tolerance(ask, times):
            times = snap_to_keyframes(path, times, tolerance)
    single = ask.single or len(times) == 1
    import av

    with av.open(str(path)) as container:
        video = container.streams.video
        size = (video[0].width, video[0].height) if video else (16, 9)
    box = cell_box(len(times), *size, single=single)
    pictures = grab_frames(path, times, box)
    return make_sheet(list(zip(times, pictures, strict=True)), single=single), list(times), duration


def contact_sheet_of_file(path: Path, count: int = DEFAULT_COUNT) -> bytes:
    """A contact sheet of ``count`` frames spread over the file at ``path``: JPEG bytes, at most 1 MB."""
    sheet, _, _ = file_sheet(Path(path), Ask(count=count))
    return sheet.jpeg


__all__ = [
    "DEFAULT_COUNT",
    "MAX_COUNT",
    "Ask",
    "PreviewError",
    "choose_times",
    "clock",
    "contact_sheet_of_file",
    "file_sheet",
]
