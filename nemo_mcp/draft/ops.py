"""Pure timeline algebra on draft dicts, for the local engine's interpreter.

The draft format is in ``docs/draft-format.md``. Everything here works on plain JSON dicts
and never drops a key it does not know: segments are copied with :func:`copy.deepcopy`
and only the fields named in the format are rewritten.

The main video track is the spine. An edit that changes it (a trim, a silence cut, a card
inserted) returns a :class:`TimeMap` from old timeline times to new ones, and every other
timed thing (text, voice audio, chapter and segment markers) is carried through that map,
so an overlay stays over the picture it was put on. Captions are rebuilt from their source
cues instead, and background music is stretched to the new length.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from nemo_mcp.draft.intervals import (
    MIN_PIECE_MS,
    Interval,
    TimeMap,
    chunk_stretches,
    complement,
    normalise,
    pick_highlights,
    total_length,
)
from nemo_mcp.draft.model import AUDIO, TEXT, VIDEO, as_int
from nemo_mcp.draft.text import clock

__all__ = [
    "AUDIO",
    "CARD_BG",
    "MIN_CAPTION_MS",
    "MIN_PIECE_MS",
    "TEXT",
    "VIDEO",
    "YOUTUBE_MIN_CHAPTERS",
    "YOUTUBE_MIN_CHAPTER_MS",
    "Interval",
    "Piece",
    "TimeMap",
    "TimedText",
    "YouTubeChapters",
    "as_int",
    "caption_segments",
    "chunk_stretches",
    "clock",
    "complement",
    "ensure_track",
    "find_track",
    "follow",
    "insert_card",
    "keep_ranges",
    "main_track",
    "map_source_intervals",
    "map_source_points",
    "meta",
    "normalise",
    "peek_meta",
    "pick_highlights",
    "pieces",
    "plan_sections",
    "project_meta",
    "remove_track",
    "role_of",
    "segments",
    "sync_bgm",
    "timeline_cues",
    "timeline_ms",
    "total_length",
    "tracks",
    "update_duration",
    "youtube_chapters",
]

MIN_CAPTION_MS: Final = 200
CARD_BG: Final = "#101828"


# -- small accessors ----------------------------------------------------------------------


def tracks(draft: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The track objects of a draft dict (junk skipped)."""
    raw = draft.get("t")
    return [t for t in raw if isinstance(t, dict)] if isinstance(raw, list) else []


def segments(track: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The segment objects of a track dict (junk skipped)."""
    raw = track.get("sg")
    return [s for s in raw if isinstance(s, dict)] if isinstance(raw, list) else []


def meta(node: dict[str, Any]) -> dict[str, Any]:
    """The node's ``m`` dict, created if it is missing or not a dict."""
    value = node.get("m")
    if not isinstance(value, dict):
        value = {}
        node["m"] = value
    return value


def peek_meta(node: Mapping[str, Any]) -> Mapping[str, Any]:
    value = node.get("m")
    return value if isinstance(value, dict) else {}


def role_of(track: Mapping[str, Any]) -> str | None:
    value = peek_meta(track).get("role")
    return value if isinstance(value, str) else None


def find_track(draft: Mapping[str, Any], tt: int, role: str) -> dict[str, Any] | None:
    for track in tracks(draft):
        if track.get("tt") == tt and role_of(track) == role:
            return track
    return None


def main_track(draft: Mapping[str, Any]) -> dict[str, Any] | None:
    """The spine: the video track with role ``main``, else the first video track."""
    video = [t for t in tracks(draft) if t.get("tt") == VIDEO]
    for track in video:
        if role_of(track) == "main":
            return track
    return video[0] if video else None


def ensure_track(draft: dict[str, Any], tt: int, role: str, name: str) -> dict[str, Any]:
    existing = main_track(draft) if (tt == VIDEO and role == "main") else find_track(draft, tt, role)
    if existing is not None:
        existing.setdefault("sg", [])
        if not isinstance(existing["sg"], list):
            existing["sg"] = []
        return existing
    track: dict[str, Any] = {"tt": tt, "sg": [], "m": {"name": name, "role": role}}
    if not isinstance(draft.get("t"), list):
        draft["t"] = []
    if tt == VIDEO and role == "main":
        draft["t"].insert(0, track)
    else:
        draft["t"].append(track)
    return track


def remove_track(draft: dict[str, Any], tt: int, role: str) -> bool:
    raw = draft.get("t")
    if not isinstance(raw, list):
        return False
    kept = [t for t in raw if not (isinstance(t, dict) and t.get("tt") == tt and role_of(t) == role)]
    changed = len(kept) != len(raw)
    draft["t"] = kept
    return changed


def project_meta(draft: dict[str, Any]) -> dict[str, Any]:
    return meta(draft)


# -- the spine ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Piece:
    """One segment of the main track as laid out on the timeline."""

    index: int
    start: int
    end: int
    src: str | None
    in_ms: int
    card: bool

    @property
    def duration(self) -> int:
        return self.end - self.start


def pieces(draft: Mapping[str, Any]) -> list[Piece]:
    track = main_track(draft)
    if track is None:
        return []
    out: list[Piece] = []
    cursor = 0
    for index, seg in enumerate(segments(track)):
        d = max(0, as_int(seg.get("d")))
        start = as_int(seg["s"]) if "s" in seg else cursor
        m = peek_meta(seg)
        src = m.get("src")
        out.append(
            Piece(
                index=index,
                start=start,
                end=start + d,
                src=src if isinstance(src, str) else None,
                in_ms=max(0, as_int(m.get("in"))),
                card=isinstance(m.get("card"), dict),
            )
        )
        cursor = start + d
    return out


def timeline_ms(draft: Mapping[str, Any]) -> int:
    """Length of the edited timeline: the end of the main track, else of anything timed."""
    spine = pieces(draft)
    if spine:
        return max(p.end for p in spine)
    end = 0
    for track in tracks(draft):
        for seg in segments(track):
            end = max(end, as_int(seg.get("s")) + max(0, as_int(seg.get("d"))))
    return end


def update_duration(draft: dict[str, Any]) -> int:
    total = timeline_ms(draft)
    draft["d"] = total
    return total


# -- time maps ----------------------------------------------------------------------------


def keep_ranges(draft: dict[str, Any], keep: Sequence[Interval]) -> TimeMap:
    """Rebuild the main track from the timeline ranges in ``keep``; other tracks follow."""
    track = main_track(draft)
    if track is None:
        return TimeMap(())
    total = timeline_ms(draft)
    keep = normalise(keep, 0, total)
    old_segments = segments(track)
    new_segments: list[dict[str, Any]] = []
    spans: list[tuple[int, int, int]] = []
    cursor = 0
    for piece in pieces(draft):
        for a, b in keep:
            lo, hi = max(a, piece.start), min(b, piece.end)
            if hi - lo < MIN_PIECE_MS:
                continue
            seg = copy.deepcopy(old_segments[piece.index])
            seg.pop("s", None)
            seg["d"] = hi - lo
            if not piece.card:
                meta(seg)["in"] = piece.in_ms + (lo - piece.start)
            new_segments.append(seg)
            spans.append((lo, hi, cursor))
            cursor += hi - lo
    track["sg"] = new_segments
    tmap = TimeMap(tuple(spans))
    follow(draft, tmap)
    return tmap


def insert_card(
    draft: dict[str, Any], *, at_end: bool, text: str, duration_ms: int, name: str, bg: str = CARD_BG
) -> TimeMap:
    """Put a generated still (title card, summary slide) at the start or the end of the spine."""
    track = ensure_track(draft, VIDEO, "main", "Main")
    total = timeline_ms(draft)
    card: dict[str, Any] = {"d": duration_ms, "m": {"name": name, "card": {"text": text, "bg": bg}}}
    if at_end:
        track["sg"].append(card)
        tmap = TimeMap.identity(total)
    else:
        track["sg"].insert(0, card)
        tmap = TimeMap(((0, total, duration_ms),)) if total > 0 else TimeMap(())
    follow(draft, tmap, anchored_start=True)
    return tmap


def follow(draft: dict[str, Any], tmap: TimeMap, *, anchored_start: bool = False) -> None:
    """Carry every timed thing off the spine through ``tmap``.

    Captions are skipped (they are rebuilt from cues) and background music is stretched by
    :func:`sync_bgm`. An opening title (a ``title`` text at 0) stays the opening title when
    what is under it is cut, unless ``anchored_start`` says a card was put before it; the
    first chapter and segment marker always stay at 0, as YouTube's first chapter must.
    """
    new_total = tmap.spans[-1][2] + tmap.spans[-1][1] - tmap.spans[-1][0] if tmap.spans else 0
    spine = main_track(draft)
    for track in tracks(draft):
        role = role_of(track)
        if track is spine:
            continue
        if role in ("caption", "bgm"):
            continue
        kept: list[dict[str, Any]] = []
        for seg in segments(track):
            s = max(0, as_int(seg.get("s")))
            d = max(0, as_int(seg.get("d")))
            if role == "title" and s == 0 and not anchored_start:
                # An opening title stays the opening title whatever was cut under it.
                span = (0, min(d, new_total)) if new_total > 0 else None
            else:
                span = tmap.interval(s, s + d)
            if span is None:
                continue
            seg["s"], seg["d"] = span[0], span[1] - span[0]
            if track.get("tt") == AUDIO and span[0] != s and "in" in peek_meta(seg):
                meta(seg)["in"] = as_int(peek_meta(seg).get("in")) + max(0, span[0] - s)
            kept.append(seg)
        track["sg"] = kept
    m = project_meta(draft)
    chapters = m.get("chapters")
    if isinstance(chapters, list):
        m["chapters"] = _follow_markers(chapters, tmap)
    seg_marks = m.get("segments")
    if isinstance(seg_marks, list):
        out: list[dict[str, Any]] = []
        for mark in seg_marks:
            if not isinstance(mark, dict):
                continue
            s0 = as_int(mark.get("s"))
            new_s = 0 if (s0 == 0 and tmap.spans) else tmap.forward(s0)
            new_e = tmap.backward(as_int(mark.get("e")))
            if new_s is None or new_e is None or new_e - new_s < MIN_PIECE_MS:
                continue
            mark = dict(mark)
            mark["s"], mark["e"] = new_s, new_e
            out.append(mark)
        if out:
            out[0]["s"] = 0
        m["segments"] = out


def _follow_markers(marks: Sequence[Any], tmap: TimeMap) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for mark in marks:
        if not isinstance(mark, dict):
            continue
        s = as_int(mark.get("s"))
        new_s = 0 if (s == 0 and tmap.spans) else tmap.forward(s)
        if new_s is None:
            continue
        if out and new_s - as_int(out[-1]["s"]) < 1000:
            continue  # two chapters squeezed together by a cut: keep the first
        mark = dict(mark)
        mark["s"] = new_s
        out.append(mark)
    if out:
        out[0]["s"] = 0
    return out


def sync_bgm(draft: dict[str, Any]) -> None:
    """Make the background music span the whole timeline (it loops when it is shorter)."""
    track = find_track(draft, AUDIO, "bgm")
    if track is None:
        return
    total = timeline_ms(draft)
    for seg in segments(track):
        seg["s"] = 0
        seg["d"] = total
    if total <= 0:
        track["sg"] = []


# -- captions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TimedText:
    start: int
    end: int
    text: str


def timeline_cues(
    draft: Mapping[str, Any], cues_by_src: Mapping[str, Sequence[TimedText]]
) -> list[TimedText]:
    """Source-time cues laid onto the timeline through the main track's pieces."""
    out: list[TimedText] = []
    for piece in pieces(draft):
        if piece.src is None:
            continue
        for cue in cues_by_src.get(piece.src, ()):
            lo = max(cue.start, piece.in_ms)
            hi = min(cue.end, piece.in_ms + piece.duration)
            if hi - lo < MIN_CAPTION_MS:
                continue
            out.append(TimedText(piece.start + lo - piece.in_ms, piece.start + hi - piece.in_ms, cue.text))
    out.sort(key=lambda c: (c.start, c.end))
    return out


def caption_segments(cues: Sequence[TimedText]) -> list[dict[str, Any]]:
    return [{"s": c.start, "d": c.end - c.start, "m": {"text": c.text, "position": "bottom"}} for c in cues]


# -- source analysis on the timeline ------------------------------------------------------


def map_source_intervals(
    draft: Mapping[str, Any], by_src: Mapping[str, Sequence[Interval]], *, min_ms: int = 0
) -> list[Interval]:
    """Source-time intervals (silences …) of each piece's source, laid onto the timeline."""
    out: list[Interval] = []
    for piece in pieces(draft):
        if piece.src is None:
            continue
        for a, b in by_src.get(piece.src, ()):
            lo = max(a, piece.in_ms)
            hi = min(b, piece.in_ms + piece.duration)
            if hi - lo > 0 and hi - lo >= min_ms:
                out.append((piece.start + lo - piece.in_ms, piece.start + hi - piece.in_ms))
    return sorted(out)


def map_source_points(draft: Mapping[str, Any], by_src: Mapping[str, Sequence[int]]) -> list[int]:
    out: list[int] = []
    for piece in pieces(draft):
        if piece.src is None:
            continue
        for t in by_src.get(piece.src, ()):
            if piece.in_ms < t < piece.in_ms + piece.duration:
                out.append(piece.start + t - piece.in_ms)
    return sorted(out)


# -- sections: chapters and learning segments ---------------------------------------------


def plan_sections(
    total: int,
    count: int,
    candidates: Sequence[tuple[int, float]],
    *,
    tolerance_ms: int,
    min_gap_ms: int,
) -> list[int]:
    """Start times of ``count`` sections of about equal length, snapped to good cut points.

    ``candidates`` are ``(time, weight)``: a scene change or a long pause is a natural place
    to start a section. Each ideal boundary moves to the best candidate within
    ``tolerance_ms`` (weight first, closeness second) as long as every section stays at least
    ``min_gap_ms`` long; otherwise it stays where it is. The first start is always 0.
    """
    if count <= 1 or total <= 0:
        return [0]
    starts = [0]
    for k in range(1, count):
        ideal = round(total * k / count)
        lo = starts[-1] + min_gap_ms
        hi = total - (count - k) * min_gap_ms
        if lo > hi:
            break
        best: tuple[float, int] | None = None
        for t, weight in candidates:
            if lo <= t <= hi and abs(t - ideal) <= tolerance_ms:
                score = weight - abs(t - ideal) / max(1, tolerance_ms)
                if best is None or score > best[0]:
                    best = (score, t)
        starts.append(best[1] if best else min(max(ideal, lo), hi))
    return starts


@dataclass(frozen=True)
class YouTubeChapters:
    text: str | None
    problems: tuple[str, ...]


YOUTUBE_MIN_CHAPTERS: Final = 3
YOUTUBE_MIN_CHAPTER_MS: Final = 10_000


def youtube_chapters(chapters: Sequence[tuple[int, str]], total_ms: int) -> YouTubeChapters:
    """A chapter list for a YouTube description, or the rules it breaks.

    YouTube's rules: the first chapter starts at 0:00, there are at least three, they are in
    ascending order and each lasts at least 10 seconds. Timestamps are whole seconds, so
    lengths are checked on the rounded-down times the viewer will see.
    """
    if total_ms < YOUTUBE_MIN_CHAPTERS * YOUTUBE_MIN_CHAPTER_MS:
        # Everything else follows from this one, so it is the only thing worth saying.
        return YouTubeChapters(
            None,
            (
                f"the video is {clock(total_ms)} long, and YouTube needs at least {YOUTUBE_MIN_CHAPTERS} "
                "chapters of 10 seconds or more, so a video must be at least 0:30 long to have chapters",
            ),
        )
    problems: list[str] = []
    if len(chapters) < YOUTUBE_MIN_CHAPTERS:
        problems.append(f"there are {len(chapters)} chapters; YouTube needs at least {YOUTUBE_MIN_CHAPTERS}")
    if chapters and chapters[0][0] // 1000 != 0:
        problems.append(f"the first chapter starts at {clock(chapters[0][0])}; YouTube needs 0:00")
    starts = [c[0] // 1000 * 1000 for c in chapters]
    ends = [*starts[1:], total_ms]
    for (start, title), s, e in zip(chapters, starts, ends, strict=True):
        if e < s:
            problems.append(f'"{title}" at {clock(start)} is out of order')
        elif e - s < YOUTUBE_MIN_CHAPTER_MS:
            problems.append(f'"{title}" at {clock(start)} lasts under 10 seconds')
    if problems:
        return YouTubeChapters(None, tuple(dict.fromkeys(problems)))
    hours = total_ms >= 3_600_000
    lines = [f"{clock(s, hours=hours)} {title}" for s, title in chapters]
    return YouTubeChapters("\n".join(lines), ())
