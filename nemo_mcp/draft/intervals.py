"""Time intervals on the timeline, the map from old times to new ones, and the highlight picker.

Times are integer milliseconds; an :data:`Interval` is half-open ``[start, end)``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

__all__ = [
    "MIN_PIECE_MS",
    "Interval",
    "TimeMap",
    "chunk_stretches",
    "complement",
    "normalise",
    "pick_highlights",
    "total_length",
]

Interval = tuple[int, int]

# Pieces shorter than this are dropped when a track is rebuilt: a few frames of picture
# are a glitch to the viewer, not content.
MIN_PIECE_MS: Final = 80


# -- intervals ---------------------------------------------------------------------


def normalise(intervals: Iterable[Interval], lo: int, hi: int) -> list[Interval]:
    """Clip to ``[lo, hi)``, drop empty ones, sort and merge overlapping or touching ones."""
    clipped = sorted((max(lo, a), min(hi, b)) for a, b in intervals if min(hi, b) > max(lo, a))
    merged: list[Interval] = []
    for a, b in clipped:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def complement(intervals: Iterable[Interval], lo: int, hi: int) -> list[Interval]:
    out: list[Interval] = []
    cursor = lo
    for a, b in normalise(intervals, lo, hi):
        if a > cursor:
            out.append((cursor, a))
        cursor = max(cursor, b)
    if cursor < hi:
        out.append((cursor, hi))
    return out


def total_length(intervals: Iterable[Interval]) -> int:
    return sum(b - a for a, b in intervals)


# -- time maps ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TimeMap:
    """Old timeline time → new timeline time, as kept spans ``(old_start, old_end, new_start)``."""

    spans: tuple[tuple[int, int, int], ...]

    @staticmethod
    def identity(total: int) -> TimeMap:
        return TimeMap(((0, total, 0),)) if total > 0 else TimeMap(())

    def point(self, t: int) -> int | None:
        """Where ``t`` lands, or None if it was cut away."""
        for a, b, n in self.spans:
            if a <= t < b:
                return n + (t - a)
        if self.spans and t == self.spans[-1][1]:
            a, b, n = self.spans[-1]
            return n + (b - a)
        return None

    def forward(self, t: int) -> int | None:
        """Where ``t`` lands, or where the first kept moment after it lands."""
        for a, b, n in self.spans:
            if t < a:
                return n
            if a <= t < b:
                return n + (t - a)
        return None

    def backward(self, t: int) -> int | None:
        """Where ``t`` lands, or where the last kept moment before it ends."""
        best: int | None = None
        for a, b, n in self.spans:
            if t <= a:
                break
            best = n + (min(t, b) - a)
        return best

    def interval(self, start: int, end: int) -> Interval | None:
        """The new extent of ``[start, end)``: from its first kept moment to its last."""
        first: int | None = None
        last: int | None = None
        for a, b, n in self.spans:
            lo, hi = max(a, start), min(b, end)
            if hi > lo:
                if first is None:
                    first = n + (lo - a)
                last = n + (hi - a)
        if first is None or last is None or last <= first:
            return None
        return first, last


# -- highlight reel -----------------------------------------------------------------------


def chunk_stretches(stretches: Sequence[Interval], cuts: Sequence[int], *, max_ms: int) -> list[Interval]:
    """Split each stretch at the cut points inside it, then evenly into pieces of at most ``max_ms``."""
    out: list[Interval] = []
    for a, b in stretches:
        bounds = [a, *[t for t in cuts if a < t < b], b]
        for lo, hi in itertools.pairwise(bounds):
            n = max(1, math.ceil((hi - lo) / max_ms))
            step = (hi - lo) / n
            for i in range(n):
                out.append((lo + round(i * step), lo + round((i + 1) * step)))
    return out


def pick_highlights(
    active: Sequence[Interval],
    loud: Sequence[Interval],
    scenes: Sequence[int],
    target_ms: int,
    *,
    chunk_ms: int = 8000,
    min_chunk_ms: int = 1500,
) -> list[Interval]:
    """The most lively stretches, in timeline order, adding up to ``target_ms``.

    ``active`` is the non-silent material; ``loud`` the part of it that is still above a
    stricter loudness threshold; ``scenes`` the scene changes. Each chunk (a piece of an
    active stretch, split at scene changes, at most ``chunk_ms`` long) scores by the share
    of it that is loud plus how often the picture changes in it. The best chunks are taken
    until the target is reached; the last one taken is shortened to land on it exactly.
    """
    if target_ms <= 0:
        return []
    chunks = [c for c in chunk_stretches(active, scenes, max_ms=chunk_ms) if c[1] - c[0] >= min_chunk_ms]
    if not chunks:
        chunks = chunk_stretches(active, scenes, max_ms=chunk_ms)
    if total_length(chunks) <= target_ms:
        return normalise(chunks, 0, max((b for _, b in chunks), default=0))

    def score(chunk: Interval) -> float:
        a, b = chunk
        length = max(1, b - a)
        loud_share = total_length(normalise(loud, a, b)) / length
        cuts_per_10s = sum(1 for t in scenes if a <= t < b) * 10_000 / length
        return loud_share + 0.5 * min(cuts_per_10s, 2.0)

    ranked = sorted(chunks, key=lambda c: (-score(c), c[0]))
    picked: list[Interval] = []
    total = 0
    for chunk in ranked:
        if total >= target_ms:
            break
        room = target_ms - total
        a, b = chunk
        if b - a > room:
            b = a + room
        if b - a < MIN_PIECE_MS:
            break
        picked.append((a, b))
        total += b - a
    return normalise(picked, 0, max(b for _, b in picked)) if picked else []
