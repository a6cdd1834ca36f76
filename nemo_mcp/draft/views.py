"""The draft as a reader sees it: tracks and segments placed on the timeline, with names.

Timing: video segments (``tt`` 0) play back to back in list order, so a segment starts
at the sum of the durations before it unless it has an explicit ``s``; audio, text and
unknown segments start at ``s`` (default 0). A segment without a usable ``d`` lasts 0 ms.
The draft's duration is its ``d`` when present, else the latest segment end.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from nemo_mcp.draft.model import (
    AUDIO,
    TEXT,
    VIDEO,
    Draft,
    DraftLike,
    Track,
    _Node,
    lenient_number,
    parse_draft,
)

__all__ = [
    "MAX_NAME",
    "SegmentView",
    "TrackView",
    "draft_duration_ms",
    "duration_of",
    "shorten",
    "squeeze",
    "track_views",
    "views_of",
]

MAX_NAME: Final = 40


def squeeze(value: Any) -> str | None:
    """A display string: whitespace squeezed to single spaces; None when blank or not text."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    squeezed = " ".join(str(value).split())
    return squeezed or None


def shorten(text: str, limit: int = MAX_NAME) -> str:
    """``text`` cut to ``limit`` characters with ``…``."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --------------------------------------------------------------------------- views


@dataclass(frozen=True, slots=True)
class SegmentView:
    """A segment as placed on the timeline."""

    index: int
    start_ms: int
    end_ms: int
    name: str | None
    name_is_text: bool
    volume: float | None
    data: Mapping[str, Any] = field(compare=False, repr=False)  # as dumped; read-only

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms

    @property
    def text(self) -> str | None:
        """The segment's text (caption, title, card), when its name comes from one."""
        return self.name if self.name_is_text else None


@dataclass(frozen=True, slots=True)
class TrackView:
    """A track as a reader sees it: kind, label, name, span, volume and its segments."""

    index: int
    tt: int | None
    kind: str
    label: str
    role: str | None
    name: str | None
    name_is_text: bool
    volume: float | None
    segments: tuple[SegmentView, ...]
    data: Mapping[str, Any] = field(compare=False, repr=False)  # as dumped; read-only

    @property
    def start_ms(self) -> int:
        return min((seg.start_ms for seg in self.segments), default=0)

    @property
    def end_ms(self) -> int:
        return max((seg.end_ms for seg in self.segments), default=0)

    @property
    def text(self) -> str | None:
        """The track's text when its name comes from one (a single caption or title)."""
        return self.name if self.name_is_text else None

    @property
    def display_name(self) -> str | None:
        """The name for a summary: shortened, quoted when it is a text."""
        if self.name is None:
            return None
        short = shorten(self.name)
        return f'"{short}"' if self.name_is_text else short


_KINDS: Final = {VIDEO: "video", AUDIO: "audio", TEXT: "text"}
_TEXT_ROLES: Final = ("title", "caption", "chapter", "overlay", "summary")
_MUSIC_HINT: Final = re.compile(
    r"music|\bbgm\b|song|soundtrack|lo-?fi|\bbeats?\b|melod|背景音乐|音乐|配乐", re.IGNORECASE
)


def _role(track: Track) -> str | None:
    role = squeeze(track.meta.get("role"))
    return role.lower() if role else None


def _label(tt: int | None, role: str | None, hints: Sequence[str]) -> str:
    if tt == VIDEO:
        return "Video"
    if tt == AUDIO:
        if role == "bgm" or (role is None and any(_MUSIC_HINT.search(h) for h in hints)):
            return "BGM"
        return "Voice" if role == "voice" else "Audio"
    if tt == TEXT:
        return role.capitalize() if role in _TEXT_ROLES else "Text"
    return "Track"


def _src_name(src: str) -> str:
    """The last path part of a media id or URL, without its query."""
    tail = src.split("?", 1)[0].split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return tail or src


def _segment_name(meta: Mapping[str, Any]) -> tuple[str | None, bool]:
    """(name, is_text) from a segment's metadata: name, then text, then card text, then src."""
    if name := squeeze(meta.get("name")):
        return name, False
    card = meta.get("card")
    for text in (meta.get("text"), card.get("text") if isinstance(card, dict) else None):
        if value := squeeze(text):
            return value, True
    src = squeeze(meta.get("src"))
    return (_src_name(src), False) if src else (None, False)


def _default_volume(kind: str) -> float | None:
    return 1.0 if kind in ("video", "audio") else None


def _dumped_items(data: Mapping[str, Any], key: str, nodes: Sequence[_Node]) -> list[tuple[Any, Any]]:
    """(node, its dumped data) for the object nodes of a list field, from one dump of the parent."""
    dumped = data.get(key)
    items = dumped if isinstance(dumped, list) and len(dumped) == len(nodes) else [{}] * len(nodes)
    return [(node, item) for node, item in zip(nodes, items, strict=True) if not node.is_opaque]


def _segment_views(track: Track, kind: str, data: Mapping[str, Any]) -> tuple[SegmentView, ...]:
    views: list[SegmentView] = []
    elapsed = 0  # sum of the durations before, for back-to-back video
    track_volume = lenient_number(track.meta.get("volume"))
    for index, (seg, seg_data) in enumerate(_dumped_items(data, "sg", track.sg)):
        duration = seg.duration_ms or 0
        explicit = seg.start_ms
        start = explicit if explicit is not None else (elapsed if kind == "video" else 0)
        elapsed += duration
        name, is_text = _segment_name(seg.meta)
        volume = lenient_number(seg.meta.get("volume"))
        if volume is None:
            volume = track_volume if track_volume is not None else _default_volume(kind)
        views.append(SegmentView(index, start, start + duration, name, is_text, volume, seg_data))
    return tuple(views)


def _uniform(values: Sequence[float | None]) -> float | None:
    return values[0] if values and all(v == values[0] for v in values) else None


def _track_view(index: int, track: Track, data: Mapping[str, Any]) -> TrackView:
    tt = track.type_code
    kind = _KINDS.get(tt, "other") if tt is not None else "other"
    segments = _segment_views(track, kind, data)
    role = _role(track)
    own_name = squeeze(track.meta.get("name"))
    name, is_text = (own_name, False) if own_name else (None, False)
    if name is None and len(segments) == 1:
        name, is_text = segments[0].name, segments[0].name_is_text
    hints = [h for h in [own_name, *(seg.name for seg in segments)] if h]
    volume = _uniform([seg.volume for seg in segments])
    return TrackView(
        index=index,
        tt=tt,
        kind=kind,
        label=_label(tt, role, hints),
        role=role,
        name=name,
        name_is_text=is_text,
        volume=volume,
        segments=segments,
        data=data,
    )


def track_views(draft: DraftLike) -> list[TrackView]:
    """The draft's tracks as views, numbered from 1 in display order (junk entries skipped)."""
    parsed = parse_draft(draft)
    return views_of(parsed, parsed.model_dump(exclude_unset=True)) if parsed else []


def views_of(draft: Draft, data: Mapping[str, Any]) -> list[TrackView]:
    """The views of ``draft``, given its dump (so one dump serves the views and a diff)."""
    items = _dumped_items(data, "t", draft.t)
    return [_track_view(i, track, track_data) for i, (track, track_data) in enumerate(items, start=1)]


def duration_of(draft: Draft | None, views: Sequence[TrackView]) -> int:
    """The declared duration, else the latest end among ``views``."""
    if draft is not None and (declared := draft.duration_ms) is not None:
        return declared
    return max((view.end_ms for view in views), default=0)


def draft_duration_ms(draft: DraftLike) -> int:
    """The draft's ``d`` when usable, else the latest segment end (0 for an empty draft)."""
    parsed = parse_draft(draft)
    return duration_of(parsed, track_views(parsed))
