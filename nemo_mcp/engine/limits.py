"""How much the engine will make and render: bounds that keep one request from taking the machine.

A lecture is rarely longer than a couple of hours, so a timeline may be at most
:data:`MAX_TIMELINE_MS` long: an edit that would make it longer is refused when it is asked
for (so "a title card for 1000 hours" never reaches ffmpeg), and so is an export of a longer
draft. Each export gets a wall-clock limit that grows with what it renders.
"""

from __future__ import annotations

MAX_TIMELINE_HOURS = 4
MAX_TIMELINE_MS = MAX_TIMELINE_HOURS * 3_600_000
#: An export may take this long at least, whatever it renders (start-up, tiny drafts on slow disks)…
RENDER_FLOOR_S = 300.0
#: …plus this many seconds per second of timeline (slow machines encode 1080p at about real time).
RENDER_SECONDS_PER_SECOND = 6.0


def too_long(duration_ms: float) -> str | None:
    """Why a timeline of ``duration_ms`` is refused, or None when it is within the cap."""
    if duration_ms <= MAX_TIMELINE_MS:
        return None
    hours = duration_ms / 3_600_000
    return (
        f"that would make the timeline {hours:,.1f} h long, and the local engine makes and exports "
        f"timelines of at most {MAX_TIMELINE_HOURS} h; ask for something shorter"
    )


def render_time_limit_s(duration_s: float) -> float:
    """The wall-clock limit of one export of ``duration_s`` seconds of timeline."""
    return RENDER_FLOOR_S + RENDER_SECONDS_PER_SECOND * max(0.0, duration_s)
