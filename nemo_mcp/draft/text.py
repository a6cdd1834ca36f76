"""The draft in words: a one-line summary, a structured view, a diff, and the time formats.

Text rules:

- times under a minute read ``10s``/``2.5s`` (one decimal, only when not whole); from a
  minute on they read ``1:35``/``1:02:03`` (``1:35.5`` when not whole). A range is
  formatted as a unit, so ``0-10s`` or ``0:50-1:35``, never mixed;
- names and texts are squeezed to one line and cut to 40 characters with ``…``;
- a name taken from a text (caption, card) is quoted, other names are not.

The time formats are one family, all written ``7.3s`` (no space): :func:`format_seconds`
and :func:`format_span` for summaries and diffs (tenths); :func:`format_length` for a
length in an edit's reply (hundredths under 10 s, so a 0.15s padding reads as asked);
:func:`clock` for a point in time in whole seconds, the form YouTube chapter stamps need.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from nemo_mcp.draft.model import Draft, DraftLike, parse_draft
from nemo_mcp.draft.views import (
    MAX_NAME,
    TrackView,
    duration_of,
    shorten,
    track_views,
    views_of,
)

__all__ = [
    "EMPTY_SUMMARY",
    "MAX_NAME",
    "NO_CHANGE",
    "clock",
    "describe_diff",
    "diff",
    "format_length",
    "format_percent",
    "format_seconds",
    "format_span",
    "structured",
    "summarize",
]

EMPTY_SUMMARY: Final = "Timeline is empty (no tracks yet)."
NO_CHANGE: Final = "No change to the timeline."


# --------------------------------------------------------------------------- time formats


def _split(ms: int, places: int) -> tuple[int, str]:
    """Whole seconds and the decimals (``places`` at most, trailing zeros dropped), rounded half up."""
    unit = 10 ** (3 - places)
    steps = (max(0, ms) + unit // 2) // unit
    whole, frac = divmod(steps, 10**places)
    return whole, (f"{frac:0{places}d}".rstrip("0") if places else "")


def _dotted(text: str, decimals: str) -> str:
    return f"{text}.{decimals}" if decimals else text


def _hms(seconds: int, *, hours: bool = False) -> str:
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if hours or h else f"{m}:{s:02d}"


def clock(ms: int, *, hours: bool = False) -> str:
    """``M:SS`` (or ``H:MM:SS``) with whole seconds rounded down, as YouTube reads them."""
    return _hms(max(0, ms) // 1000, hours=hours)


def _clock_tenths(whole: int, decimals: str) -> str:
    return _dotted(_hms(whole), decimals)


def format_seconds(ms: int) -> str:
    """``8s``, ``2.5s`` under a minute; ``1:35``, ``1:02:03``, ``1:35.5`` from a minute on."""
    whole, decimals = _split(ms, 1)
    return f"{_dotted(str(whole), decimals)}s" if whole < 60 else _clock_tenths(whole, decimals)


def format_span(start_ms: int, end_ms: int) -> str:
    """``0-10s`` when the span ends under a minute, else ``0:50-1:35`` (both ends as clocks)."""
    start, end = _split(start_ms, 1), _split(end_ms, 1)
    if max(start[0], end[0]) < 60:
        return f"{_dotted(str(start[0]), start[1])}-{_dotted(str(end[0]), end[1])}s"
    return f"{_clock_tenths(*start)}-{_clock_tenths(*end)}"


def format_length(ms: int) -> str:
    """``0.15s``, ``4.3s``, ``12.5s`` under a minute; ``1:30`` (whole seconds) from a minute on."""
    if ms >= 60_000:
        return clock(ms)
    whole, decimals = _split(ms, 2 if ms < 10_000 else 1)
    return f"{_dotted(str(whole), decimals)}s"


def format_percent(volume: float) -> str:
    """``35%`` for 0.35."""
    return f"{round(volume * 100):d}%"


def _percent(volume: float | None) -> str:
    return "mixed" if volume is None else format_percent(volume)


# --------------------------------------------------------------------------- summary


def _track_line(view: TrackView) -> str:
    parts = [p for p in (view.display_name, _count_phrase(view)) if p]
    head = f"{view.index}. {view.label}" + (f": {', '.join(parts)}" if parts else "")
    if not view.segments:
        return f"{head} (empty)"
    details = format_span(view.start_ms, view.end_ms)
    if view.kind != "text" and view.volume is not None and view.volume != 1.0:
        details += f", {_percent(view.volume)}"
    return f"{head} ({details})"


def _count_phrase(view: TrackView) -> str | None:
    count = len(view.segments)
    return f"{count} segments" if count > 1 else None


def summarize(draft: DraftLike) -> str:
    """One line: ``Timeline (3 tracks): 1. Video: city timelapse (0-10s) 2. BGM: …``."""
    return _summary(track_views(draft))


def _summary(views: Sequence[TrackView]) -> str:
    if not views:
        return EMPTY_SUMMARY
    noun = "track" if len(views) == 1 else "tracks"
    return f"Timeline ({len(views)} {noun}): " + " ".join(_track_line(v) for v in views)


def _seconds(ms: int) -> float:
    return round(ms / 1000, 3)


def structured(draft: DraftLike) -> dict[str, Any]:
    """The timeline as JSON-ready data for a tool's structured output."""
    parsed = parse_draft(draft)
    views = track_views(parsed)
    return {
        "summary": _summary(views),
        "track_count": len(views),
        "duration_s": _seconds(duration_of(parsed, views)),
        "tracks": [
            {
                "index": view.index,
                "type": view.kind,
                "label": view.label,
                "name": view.name,
                "start_s": _seconds(view.start_ms),
                "end_s": _seconds(view.end_ms),
                "segments": len(view.segments),
                "volume": None if view.volume is None else round(view.volume, 3),
            }
            for view in views
        ],
        "metadata": copy.deepcopy(parsed.meta) if parsed else {},
    }


# --------------------------------------------------------------------------- diff


def _pair_tracks(before: Sequence[TrackView], after: Sequence[TrackView]) -> dict[int, TrackView]:
    """after.index → matched before track: by (tt, name), then (tt, label), then tt, in order."""
    matched: dict[int, TrackView] = {}
    used: set[int] = set()
    keys = (
        lambda v: (v.tt, v.name) if v.name else None,
        lambda v: (v.tt, v.label),
        lambda v: v.tt,
    )
    for key in keys:
        for new in after:
            if new.index in matched or (wanted := key(new)) is None:
                continue
            for old in before:
                if old.index not in used and key(old) == wanted:
                    matched[new.index] = old
                    used.add(old.index)
                    break
    return matched


def _base(view: TrackView) -> str:
    return view.label if view.label == "BGM" else view.label.lower()


def _subject(view: TrackView, peers: Sequence[TrackView]) -> str:
    base = _base(view)
    if sum(1 for p in peers if p.label == view.label) < 2:
        return base
    return f"{base} {_quoted(view)}" if view.name else f"{base} #{view.index}"


_SEGMENT_NOUNS: Final = {
    "caption": ("caption", "captions"),
    "title": ("title", "titles"),
    "chapter": ("chapter title", "chapter titles"),
    "overlay": ("overlay", "overlays"),
    "summary": ("summary text", "summary texts"),
}


def _segment_noun(view: TrackView, count: int) -> str:
    if view.kind == "text" and view.role in _SEGMENT_NOUNS:
        singular, plural = _SEGMENT_NOUNS[view.role]
    elif view.kind == "video":
        singular, plural = "clip", "clips"
    else:
        singular, plural = f"{_base(view)} segment", f"{_base(view)} segments"
    return singular if count == 1 else plural


def _quoted(view: TrackView) -> str | None:
    return f'"{shorten(view.name)}"' if view.name else None


def _kind_word(view: TrackView) -> str:
    return f"{view.kind} track" if view.kind != "other" else "track"


def _added_phrase(view: TrackView) -> str:
    words = [f"added {_kind_word(view)}"]
    if name := _quoted(view):
        words.append(name)
    if len(view.segments) > 1:
        words.append(f"with {len(view.segments)} {_segment_noun(view, len(view.segments))}")
    if view.segments:
        words.append(format_span(view.start_ms, view.end_ms))
    return " ".join(words)


def _removed_phrase(view: TrackView) -> str:
    what = _quoted(view) or f"#{view.index}"
    return f"removed {_kind_word(view)} {what}"


def _span_phrase(old: TrackView, new: TrackView, subject: str) -> str | None:
    if (old.start_ms, old.end_ms) == (new.start_ms, new.end_ms) or not (old.segments and new.segments):
        return None
    old_len, new_len = old.end_ms - old.start_ms, new.end_ms - new.start_ms
    verb = "trimmed" if new_len < old_len else "extended" if new_len > old_len else "moved"
    return (
        f"{subject} {verb} {format_span(old.start_ms, old.end_ms)} → {format_span(new.start_ms, new.end_ms)}"
    )


def _count_change(old: TrackView, new: TrackView, prefix: str) -> str | None:
    delta = len(new.segments) - len(old.segments)
    if delta == 0:
        return None
    verb = "added" if delta > 0 else "removed"
    return f"{prefix}{abs(delta)} {_segment_noun(new, abs(delta))} {verb}"


def _segment_edits(old: TrackView, new: TrackView, prefix: str) -> str | None:
    if len(old.segments) != len(new.segments):
        return None
    changed = sum(1 for a, b in zip(old.segments, new.segments, strict=True) if a.data != b.data)
    return f"{prefix}{changed} {_segment_noun(new, changed)} changed" if changed else None


def _track_changes(old: TrackView, new: TrackView, subject: str, ambiguous: bool) -> list[str]:
    prefix = f"{subject}: " if ambiguous else ""
    lines: list[str] = []
    if old.label != new.label:
        lines.append(f"track {new.index} {old.label} → {new.label}")
    if old.name and new.name and old.name != new.name:
        lines.append(f"{_base(new)} {_quoted(old)} → {_quoted(new)}")
    lines += [p for p in (_span_phrase(old, new, subject), _count_change(old, new, prefix)) if p]
    if _percent(old.volume) != _percent(new.volume) and (old.segments and new.segments):
        lines.append(f"{subject} volume {_percent(old.volume)} → {_percent(new.volume)}")
    if not lines and old.data != new.data:
        lines.append(_segment_edits(old, new, prefix) or f"{subject} edited")
    return lines


def _reordered(matched: Mapping[int, TrackView], after: Sequence[TrackView]) -> bool:
    order = [matched[v.index].index for v in after if v.index in matched]
    return order != sorted(order)


def _changed_keys(old: Mapping[str, Any], new: Mapping[str, Any], skip: tuple[str, ...] = ()) -> list[str]:
    keys = [k for k in {**old, **new} if k not in skip]
    missing = object()
    return sorted(k for k in keys if old.get(k, missing) != new.get(k, missing))


def _draft_lines(old: _Side, new: _Side) -> Iterator[str]:
    old_ms, new_ms = duration_of(old.draft, old.views), duration_of(new.draft, new.views)
    if _split(old_ms, 1) != _split(new_ms, 1):
        yield f"duration {format_seconds(old_ms)} → {format_seconds(new_ms)}"
    old_meta, new_meta = (side.draft.meta if side.draft else {} for side in (old, new))
    if keys := _changed_keys(old_meta, new_meta):
        yield f"metadata changed: {', '.join(keys)}"
    if keys := _changed_keys(old.data, new.data, skip=("t", "d", "m")):
        yield f"other draft fields changed: {', '.join(keys)}"


@dataclass(frozen=True, slots=True)
class _Side:
    """One side of a diff: the draft, its dump and its track views."""

    draft: Draft | None
    data: Mapping[str, Any]
    views: list[TrackView]

    @classmethod
    def of(cls, obj: DraftLike) -> _Side:
        draft = parse_draft(obj)
        if draft is None:
            return cls(None, {}, [])
        data = draft.model_dump(exclude_unset=True)
        return cls(draft, data, views_of(draft, data))

    def substance(self) -> dict[str, Any]:
        """Top-level keys without empty values (so None, {} and {"t": []} compare equal)."""
        return {key: value for key, value in self.data.items() if value not in (None, [], {})}


def diff(before: DraftLike, after: DraftLike) -> list[str]:
    """The changes from ``before`` to ``after`` in words, one per item (None counts as empty)."""
    first, last = _Side.of(before), _Side.of(after)
    old_views, new_views = first.views, last.views
    matched = _pair_tracks(old_views, new_views)
    paired = {v.index for v in matched.values()}
    lines = [_removed_phrase(v) for v in old_views if v.index not in paired]
    for view in new_views:
        if (old := matched.get(view.index)) is None:
            lines.append(_added_phrase(view))
            continue
        ambiguous = sum(1 for p in new_views if p.label == view.label) > 1
        lines += _track_changes(old, view, _subject(view, new_views), ambiguous)
    if _reordered(matched, new_views):
        lines.append("tracks reordered")
    lines += _draft_lines(first, last)
    # Left: a change only inside values we cannot read (junk where tracks should be).
    if not lines and first.substance() != last.substance():
        lines.append("timeline changed")
    return lines


def describe_diff(before: DraftLike, after: DraftLike) -> str:
    """The diff as one sentence, or ``No change to the timeline.``"""
    lines = diff(before, after)
    return f"Changes: {'; '.join(lines)}." if lines else NO_CHANGE
