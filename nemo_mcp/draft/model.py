"""The draft (timeline) model, its human summary and a diff in words.

The backend's draft uses short keys (see ``docs/draft-format.md``): ``t`` tracks, ``tt``
track type (0 video, 1 audio, 7 text), ``sg`` segments, ``d`` duration in ms, ``s`` start
in ms, ``m`` metadata. The full schema is unpublished, so the models here keep **every**
key they do not know, and ``Draft.model_validate(x).to_json_dict() == x`` for any JSON
object ``x``: same keys, same values, same key order, no defaults added.

Junk never raises. A declared field whose value has the wrong shape (``"d": "5000"``,
``"sg": null``) is kept verbatim beside the model and read leniently through the
properties (``Segment.duration_ms`` parses ``"5000"`` and ``5000.0``); a list item that
is not an object (``"t": [7]``) becomes an *opaque* node that dumps back as itself and
is skipped by the views.

Timing: video segments (``tt`` 0) play back to back in list order, so a segment starts
at the sum of the durations before it unless it has an explicit ``s``; audio, text and
unknown segments start at ``s`` (default 0). A segment without a usable ``d`` lasts 0 ms.
The draft's duration is its ``d`` when present, else the latest segment end.

Text rules (:func:`summarize`, :func:`diff`):

- times under a minute read ``10s``/``2.5s`` (one decimal, only when not whole); from a
  minute on they read ``1:35``/``1:02:03`` (``1:35.5`` when not whole). A range is
  formatted as a unit, so ``0-10s`` or ``0:50-1:35``, never mixed;
- names and texts are squeezed to one line and cut to 40 characters with ``…``;
- a name taken from a text (caption, card) is quoted, other names are not.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    ValidationError,
    ValidatorFunctionWrapHandler,
    model_serializer,
    model_validator,
)

__all__ = [
    "Draft",
    "Segment",
    "SegmentView",
    "Track",
    "TrackView",
    "describe_diff",
    "diff",
    "draft_duration_ms",
    "format_seconds",
    "format_span",
    "lenient_number",
    "parse_draft",
    "structured",
    "summarize",
    "track_views",
]

VIDEO: Final = 0
AUDIO: Final = 1
TEXT: Final = 7

EMPTY_SUMMARY: Final = "Timeline is empty (no tracks yet)."
NO_CHANGE: Final = "No change to the timeline."
MAX_NAME: Final = 40


# --------------------------------------------------------------------------- models


class _Node(BaseModel):
    """A draft object: declared fields typed strictly, everything else kept verbatim."""

    model_config = ConfigDict(extra="allow", strict=True)

    # Declared fields whose input had the wrong shape, kept as sent.
    _misfits: dict[str, Any] = PrivateAttr(default_factory=dict)
    # The input's key order, restored on output.
    _order: tuple[str, ...] = PrivateAttr(default=())
    # A list item that was not an object at all; dumped back unchanged.
    _opaque: Any = PrivateAttr(default=None)
    _is_opaque: bool = PrivateAttr(default=False)

    @model_validator(mode="wrap")
    @classmethod
    def _tolerate(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if isinstance(data, cls):
            return data
        if not isinstance(data, dict):
            return cls._wrap_opaque(data, handler)
        clean = dict(data)
        misfits: dict[str, Any] = {}
        while True:  # at most once per declared field: each round sets one or more aside
            try:
                node = handler(clean)
                break
            except ValidationError as exc:
                bad = cls._misfit_keys(exc, clean)
                if not bad:  # not a field shape problem (cannot happen with JSON input)
                    return cls._wrap_opaque(data, handler)
                misfits.update({key: clean.pop(key) for key in bad})
        node._misfits = misfits
        node._order = tuple(data)
        return node

    @classmethod
    def _misfit_keys(cls, exc: ValidationError, clean: dict[str, Any]) -> set[str]:
        """The declared fields the errors are about (nested nodes never fail on their own)."""
        heads = {str(err["loc"][0]) for err in exc.errors() if err["loc"]}
        return {key for key in heads if key in cls.model_fields and key in clean}

    @classmethod
    def _wrap_opaque(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        node = handler({})
        node._opaque = data
        node._is_opaque = True
        return node

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> Any:
        if self.is_opaque:
            return self._opaque
        out: dict[str, Any] = handler(self)
        for key, value in self._misfits.items():
            if key not in self.model_fields_set:  # an assignment since parsing wins
                out[key] = value
        if not self._order:
            return out
        ordered = {key: out[key] for key in self._order if key in out}
        ordered.update((key, value) for key, value in out.items() if key not in ordered)
        return ordered

    @property
    def is_opaque(self) -> bool:
        """True when the draft had something other than an object in this place."""
        return self._is_opaque

    def raw(self, key: str) -> Any:
        """The value of ``key`` as the draft has it (declared, misfit or unknown), else None."""
        if key in self._misfits and key not in self.model_fields_set:
            return self._misfits[key]
        if key in type(self).model_fields:
            return getattr(self, key)
        return (self.model_extra or {}).get(key)

    @property
    def meta(self) -> dict[str, Any]:
        """The ``m`` object, or an empty dict when it is missing or not an object."""
        value = self.raw("m")
        return value if isinstance(value, dict) else {}

    def to_json_dict(self) -> Any:
        """The object as JSON-ready data, exactly as parsed plus any assignments made since."""
        return copy.deepcopy(self.model_dump(exclude_unset=True))


class Segment(_Node):
    """One segment: ``d`` duration ms, ``s`` timeline start ms, ``m`` metadata."""

    d: int | None = None
    s: int | None = None
    m: dict[str, Any] = Field(default_factory=dict)

    @property
    def duration_ms(self) -> int | None:
        """``d`` read leniently (ints, floats, numeric strings); None when unusable."""
        return _to_ms(self.raw("d"))

    @property
    def start_ms(self) -> int | None:
        """``s`` read leniently; None when absent or unusable."""
        return _to_ms(self.raw("s"))


class Track(_Node):
    """One track: ``tt`` type (0 video, 1 audio, 7 text), ``sg`` segments, ``m`` metadata."""

    tt: int | None = None
    sg: list[Segment] = Field(default_factory=list)
    m: dict[str, Any] = Field(default_factory=dict)

    @property
    def type_code(self) -> int | None:
        """``tt`` read leniently (``"7"`` and ``7.0`` count as 7)."""
        return _to_int(self.raw("tt"))

    @property
    def segments(self) -> list[Segment]:
        """The segments that are objects, in order."""
        return [seg for seg in self.sg if not seg.is_opaque]


class Draft(_Node):
    """The whole draft: ``t`` tracks, ``d`` total duration ms, ``m`` project metadata."""

    t: list[Track] = Field(default_factory=list)
    d: int | None = None
    m: dict[str, Any] = Field(default_factory=dict)

    def to_json_dict(self) -> dict[str, Any]:
        """The draft as a JSON object, exactly as parsed plus any assignments made since."""
        data = super().to_json_dict()
        return data if isinstance(data, dict) else {}

    @property
    def tracks(self) -> list[Track]:
        """The tracks that are objects, in display order."""
        return [track for track in self.t if not track.is_opaque]

    @property
    def duration_ms(self) -> int | None:
        """``d`` read leniently; None when absent (see :func:`draft_duration_ms`)."""
        return _to_ms(self.raw("d"))


DraftLike = Draft | Mapping[str, Any] | None


def parse_draft(obj: Any) -> Draft | None:
    """A :class:`Draft` for any JSON object (never raises); None for anything else."""
    if isinstance(obj, Draft):
        return obj
    if not isinstance(obj, Mapping):
        return None
    return Draft.model_validate(dict(obj))


# --------------------------------------------------------------------------- lenient scalars


def lenient_number(value: Any) -> float | None:
    """A finite number from a draft field (numbers or numeric strings); booleans and junk are None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _to_ms(value: Any) -> int | None:
    number = lenient_number(value)
    return None if number is None else max(0, round(number))


def _to_int(value: Any) -> int | None:
    number = lenient_number(value)
    return None if number is None or not number.is_integer() else int(number)


def _text(value: Any) -> str | None:
    """A display string: whitespace squeezed to single spaces; None when blank or not text."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    squeezed = " ".join(str(value).split())
    return squeezed or None


def _shorten(text: str, limit: int = MAX_NAME) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --------------------------------------------------------------------------- time formatting


def _tenths(ms: int) -> int:
    return (max(0, ms) + 50) // 100


def _plain(tenths: int) -> str:
    whole, frac = divmod(tenths, 10)
    return str(whole) if frac == 0 else f"{whole}.{frac}"


def _clock(tenths: int) -> str:
    whole, frac = divmod(tenths, 10)
    hours, rest = divmod(whole, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
    return text if frac == 0 else f"{text}.{frac}"


def format_seconds(ms: int) -> str:
    """``8s``, ``2.5s`` under a minute; ``1:35``, ``1:02:03``, ``1:35.5`` from a minute on."""
    tenths = _tenths(ms)
    return f"{_plain(tenths)}s" if tenths < 600 else _clock(tenths)


def format_span(start_ms: int, end_ms: int) -> str:
    """``0-10s`` when the span ends under a minute, else ``0:50-1:35`` (both ends as clocks)."""
    start, end = _tenths(start_ms), _tenths(end_ms)
    if max(start, end) < 600:
        return f"{_plain(start)}-{_plain(end)}s"
    return f"{_clock(start)}-{_clock(end)}"


def _percent(volume: float | None) -> str:
    return "mixed" if volume is None else f"{round(volume * 100)}%"


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
        short = _shorten(self.name)
        return f'"{short}"' if self.name_is_text else short


_KINDS: Final = {VIDEO: "video", AUDIO: "audio", TEXT: "text"}
_TEXT_ROLES: Final = ("title", "caption", "chapter", "overlay", "summary")
_MUSIC_HINT: Final = re.compile(
    r"music|\bbgm\b|song|soundtrack|lo-?fi|\bbeats?\b|melod|背景音乐|音乐|配乐", re.IGNORECASE
)


def _role(track: Track) -> str | None:
    role = _text(track.meta.get("role"))
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
    if name := _text(meta.get("name")):
        return name, False
    card = meta.get("card")
    for text in (meta.get("text"), card.get("text") if isinstance(card, dict) else None):
        if value := _text(text):
            return value, True
    src = _text(meta.get("src"))
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
    own_name = _text(track.meta.get("name"))
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
    return _views(parsed, parsed.model_dump(exclude_unset=True)) if parsed else []


def _views(draft: Draft, data: Mapping[str, Any]) -> list[TrackView]:
    items = _dumped_items(data, "t", draft.t)
    return [_track_view(i, track, track_data) for i, (track, track_data) in enumerate(items, start=1)]


def _duration(draft: Draft | None, views: Sequence[TrackView]) -> int:
    if draft is not None and (declared := draft.duration_ms) is not None:
        return declared
    return max((view.end_ms for view in views), default=0)


def draft_duration_ms(draft: DraftLike) -> int:
    """The draft's ``d`` when usable, else the latest segment end (0 for an empty draft)."""
    parsed = parse_draft(draft)
    return _duration(parsed, track_views(parsed))


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
        "duration_s": _seconds(_duration(parsed, views)),
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
    return f'"{_shorten(view.name)}"' if view.name else None


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
    old_ms, new_ms = _duration(old.draft, old.views), _duration(new.draft, new.views)
    if _tenths(old_ms) != _tenths(new_ms):
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
        return cls(draft, data, _views(draft, data))

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
