"""From a draft and its probed media to a typed render plan, catching every mistake on the way.

Pure: nothing here reads or writes a file. A segment that names unknown media, starts after
its clip ends, or a timeline with nothing on it is refused here, before ffmpeg starts.
Segment boundaries are rounded to frames on the timeline, not per segment, so rounding
never accumulates into drift between picture, sound and text.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

from nemo_mcp.draft import (
    AUDIO,
    DEFAULT_CANVAS,
    PLATFORM_CANVAS,
    TEXT,
    VIDEO,
    lenient_int,
    lenient_number,
    peek_meta,
    role_of,
    segments,
    tracks,
)
from nemo_mcp.engine.media import MediaError, MediaInfo

logger = logging.getLogger(__name__)

DEFAULT_FPS = 30
MIN_SIDE, MAX_SIDE = 16, 4096
DEFAULT_STILL_MS = 3000  # a card or still image without a duration
SAMPLE_RATE = 48000

TextPosition = Literal["top", "center", "bottom"]


class RenderError(MediaError):
    """The draft cannot be rendered, or ffmpeg failed; ``str(exc)`` says what to change."""


@dataclass(frozen=True)
class SourceMedia:
    """A media file the draft refers to by id, with what :func:`probe` found in it."""

    path: Path
    info: MediaInfo


@dataclass(frozen=True)
class Piece:
    """A stretch of the main video track, in frames of the output."""

    start_frame: int
    frames: int
    source: SourceMedia | None = None  # None: a generated card or a black gap
    in_ms: int = 0
    volume: float = 1.0
    card_text: str = ""
    card_bg: str = "0x000000"


@dataclass(frozen=True)
class Sound:
    """A segment of an audio track (music, voice-over)."""

    source: SourceMedia
    start_ms: int
    duration_ms: int
    in_ms: int
    volume: float
    loop: bool


@dataclass(frozen=True)
class Text:
    """Words on screen for a while: a caption, a title, a chapter label or a card's words."""

    start_ms: int
    end_ms: int
    text: str
    position: TextPosition
    size: int
    layer: int
    card: bool = False
    soft: bool = False  # a caption shipped as a subtitle track (and .srt), not drawn on the picture


@dataclass(frozen=True)
class Chapter:
    start_ms: int
    end_ms: int
    title: str


@dataclass(frozen=True)
class Plan:
    """Everything a render needs to know, in output frames and milliseconds."""

    width: int
    height: int
    fps: Fraction
    pieces: tuple[Piece, ...] = ()
    sounds: tuple[Sound, ...] = ()
    texts: tuple[Text, ...] = ()
    chapters: tuple[Chapter, ...] = ()
    loudnorm: bool = False
    fade_in_ms: int = 0
    fade_out_ms: int = 0
    #: How far ahead in a source a piece may start and still be decoded through rather than
    #: sought (None: the export's rule, compose.SEEK_GAP_MS); a preview seeks sooner.
    seek_gap_ms: int | None = None

    @property
    def total_frames(self) -> int:
        return sum(p.frames for p in self.pieces)

    @property
    def duration_s(self) -> float:
        return float(self.total_frames / self.fps)

    @property
    def duration_ms(self) -> int:
        return round(self.total_frames * 1000 / self.fps)

    def frame_at(self, ms: float) -> int:
        return round(Fraction(ms) * self.fps / 1000)

    def ms_at(self, frame: int) -> int:
        return round(frame * 1000 / self.fps)

    def samples(self, frames: int) -> int:
        return round(Fraction(frames) * SAMPLE_RATE / self.fps)


# --------------------------------------------------------------------------- reading the draft


def _tracks_of(draft: Mapping[str, Any], kind: int) -> list[dict[str, Any]]:
    # Lenient on the type number: "0" or 0.0 written by hand still names a video track.
    return [t for t in tracks(draft) if lenient_number(t.get("tt")) == kind]


def _volume(value: Any) -> float:
    number = lenient_number(value)
    if number is None:
        return 1.0
    # The human summary speaks of "35%"; a value above 1 is read as a percentage.
    if number > 1:
        number = number / 100
    return min(1.0, max(0.0, number))


def _canvas(meta: Mapping[str, Any]) -> tuple[int, int]:
    width, height = PLATFORM_CANVAS.get(str(meta.get("platform", "")).lower(), DEFAULT_CANVAS)
    canvas = meta.get("canvas")
    if isinstance(canvas, dict):
        w = lenient_number(canvas.get("w", canvas.get("width")))
        h = lenient_number(canvas.get("h", canvas.get("height")))
        if w is not None and h is not None:
            width, height = int(w), int(h)
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise RenderError(
            f"the canvas {width}x{height} is outside {MIN_SIDE}-{MAX_SIDE} pixels a side: "
            "pick a platform (youtube, shorts, square) or a canvas such as 1920x1080"
        )
    # H.264 in 4:2:0 needs even sides.
    return width - width % 2, height - height % 2


def _fps(meta: Mapping[str, Any]) -> Fraction:
    number = lenient_number(meta.get("fps"))
    if number is None or not 1 <= number <= 120:
        return Fraction(DEFAULT_FPS)
    # "29.97" means the NTSC rate 30000/1001 (likewise 23.976 and 59.94).
    for base in (24, 30, 60):
        if abs(number - base * 1000 / 1001) < 0.01:
            return Fraction(base * 1000, 1001)
    return Fraction(number).limit_denominator(1000)


_COLOURS = {
    "black": "000000", "white": "FFFFFF", "red": "E53935", "green": "43A047", "blue": "1E88E5",
    "navy": "1A237E", "darkblue": "0D47A1", "yellow": "FDD835", "orange": "FB8C00", "purple": "8E24AA",
    "pink": "D81B60", "teal": "00897B", "cyan": "00ACC1", "grey": "757575", "gray": "757575",
    "darkgrey": "303030", "darkgray": "303030", "lightgrey": "E0E0E0", "lightgray": "E0E0E0",
    "brown": "6D4C41", "gold": "FFC107", "silver": "BDBDBD", "maroon": "800000", "olive": "808000",
}  # fmt: skip
_DEFAULT_CARD_BG = "111111"
_HEX = frozenset("0123456789abcdef")


def _colour(value: Any) -> str:
    """A colour as ``0xRRGGBB``; it goes into the filter graph, so only known shapes pass."""
    text = str(value or "").strip().lower().replace(" ", "").replace("_", "")
    if text in _COLOURS:
        return "0x" + _COLOURS[text]
    hexa = text.removeprefix("#").removeprefix("0x")
    if len(hexa) == 3 and set(hexa) <= _HEX:
        hexa = "".join(c * 2 for c in hexa)
    if len(hexa) == 6 and set(hexa) <= _HEX:
        return "0x" + hexa.upper()
    if text:
        logger.info("unknown card colour %r, using the default", text[:40])
    return "0x" + _DEFAULT_CARD_BG


def _source(media: Mapping[str, SourceMedia], segment: Mapping[str, Any], where: str) -> SourceMedia:
    media_id = peek_meta(segment).get("src")
    if not isinstance(media_id, str) or not media_id:
        raise RenderError(f"{where} has no media (m.src): give it a clip or remove it")
    source = media.get(media_id)
    if source is None:
        raise RenderError(
            f"{where} uses media {media_id!r}, which this session does not have: "
            "upload the file again or remove the segment"
        )
    if source.info.kind == "subtitle":
        raise RenderError(
            f"{where} uses the subtitle file {source.path.name} as a clip: use it for captions instead"
        )
    return source


def _check_in_point(where: str, in_ms: int, source: SourceMedia) -> None:
    if in_ms >= source.info.duration_ms:
        raise RenderError(
            f"{where} starts at {in_ms / 1000:.1f} s into {source.path.name}, which is only "
            f"{source.info.duration_ms / 1000:.1f} s long: move its in-point earlier"
        )


def _main_video_track(draft: Mapping[str, Any]) -> dict[str, Any] | None:
    """The video track with role ``main`` among those with segments, else the first of them."""
    # Unlike draft.main_track, an empty "main" track does not hide a filled one: render what is there.
    filled = [t for t in _tracks_of(draft, VIDEO) if segments(t)]
    if not filled:
        return None
    ignored = len(filled) - 1
    if ignored:
        logger.warning("rendering one video track; %d more (overlays) are not rendered", ignored)
    return next((t for t in filled if role_of(t) == "main"), filled[0])


# --------------------------------------------------------------------------- the main video track


@dataclass(frozen=True)
class _Stretch:
    """A video segment on the timeline in milliseconds, before rounding to frames."""

    start_ms: int
    end_ms: int
    source: SourceMedia | None = None
    in_ms: int = 0
    volume: float = 1.0
    card_text: str = ""
    card_bg: str = "0x000000"

    def continues(self, other: _Stretch) -> bool:
        """Whether ``other`` plays on from where this one stops, in the same clip."""
        return (
            self.source is not None
            and other.source is self.source
            and self.source.info.kind != "image"
            and other.volume == self.volume
            and other.start_ms == self.end_ms
            and other.in_ms == self.in_ms + (self.end_ms - self.start_ms)
        )


def _stretch(segment: Mapping[str, Any], at: int, media: Mapping[str, SourceMedia], where: str) -> _Stretch:
    """One segment placed at ``at`` ms; its end equals its start when it has no length."""
    meta = peek_meta(segment)
    duration = lenient_int(segment.get("d"))
    given = duration if duration is not None and duration > 0 else None
    card = meta.get("card")
    if isinstance(card, dict):
        text = str(card.get("text") or "").strip()
        return _Stretch(at, at + (given or DEFAULT_STILL_MS), card_text=text, card_bg=_colour(card.get("bg")))
    source = _source(media, segment, where)
    in_ms = max(0, lenient_int(meta.get("in")) or 0)
    if source.info.kind == "image":
        return _Stretch(at, at + (given or DEFAULT_STILL_MS), source, 0, _volume(meta.get("volume")))
    _check_in_point(where, in_ms, source)
    length = given if given is not None else source.info.duration_ms - in_ms
    return _Stretch(at, at + max(0, length), source, in_ms, _volume(meta.get("volume")))


def _stretches(track: Mapping[str, Any], media: Mapping[str, SourceMedia]) -> Iterator[_Stretch]:
    cursor = 0
    for number, segment in enumerate(segments(track), start=1):
        where = f"video segment {number}"
        start = lenient_int(segment.get("s"))
        if start is not None and start > cursor:
            yield _Stretch(cursor, start)  # a gap in the timeline shows black
            cursor = start
        elif start is not None and start < cursor:
            logger.debug("%s starts at %d ms, inside the one before; placed at %d ms", where, start, cursor)
        stretch = _stretch(segment, cursor, media, where)
        if stretch.end_ms > stretch.start_ms:
            yield stretch
            cursor = stretch.end_ms


def _plan_video(plan: Plan, draft: Mapping[str, Any], media: Mapping[str, SourceMedia]) -> list[Piece]:
    track = _main_video_track(draft)
    if track is None:
        return []
    merged: list[_Stretch] = []
    for stretch in _stretches(track, media):
        # A clip split in two with nothing cut out between the halves is rendered as one piece.
        if merged and merged[-1].continues(stretch):
            merged[-1] = replace(merged[-1], end_ms=stretch.end_ms)
        else:
            merged.append(stretch)
    pieces = []
    for s in merged:
        first, last = plan.frame_at(s.start_ms), plan.frame_at(s.end_ms)
        if last > first:
            pieces.append(Piece(first, last - first, s.source, s.in_ms, s.volume, s.card_text, s.card_bg))
    return pieces


# --------------------------------------------------------------------------- sound, text, chapters


def _sound(
    plan: Plan, segment: Mapping[str, Any], media: Mapping[str, SourceMedia], where: str
) -> Sound | None:
    meta = peek_meta(segment)
    source = _source(media, segment, where)
    if not source.info.has_audio:
        logger.warning("%s: %s has no sound; skipped", where, source.path.name)
        return None
    total_ms = plan.duration_ms
    start = max(0, lenient_int(segment.get("s")) or 0)
    in_ms = max(0, lenient_int(meta.get("in")) or 0)
    loop = bool(meta.get("loop"))
    if loop:
        in_ms %= max(1, source.info.duration_ms)
    else:
        _check_in_point(where, in_ms, source)
    duration = lenient_int(segment.get("d"))
    if duration is None or duration <= 0:
        duration = total_ms - start if loop else source.info.duration_ms - in_ms
    if not loop:
        duration = min(duration, source.info.duration_ms - in_ms)
    duration = min(duration, total_ms - start)
    if duration <= 0:
        return None
    return Sound(source, start, duration, in_ms, _volume(meta.get("volume")), loop)


def _plan_sounds(plan: Plan, draft: Mapping[str, Any], media: Mapping[str, SourceMedia]) -> list[Sound]:
    sounds = []
    for track_no, track in enumerate(_tracks_of(draft, AUDIO), start=1):
        for number, segment in enumerate(segments(track), start=1):
            sound = _sound(plan, segment, media, f"segment {number} of audio track {track_no}")
            if sound is not None:
                sounds.append(sound)
    return sounds


_DEFAULT_POSITION: dict[str, TextPosition] = {"title": "center", "chapter": "top", "summary": "center"}


def _text(plan: Plan, segment: Mapping[str, Any], role: str, layer: int) -> Text | None:
    meta = peek_meta(segment)
    text = str(meta.get("text") or "").strip()
    start = max(0, lenient_int(segment.get("s")) or 0)
    duration = lenient_int(segment.get("d"))
    if not text or duration is None or duration <= 0 or start >= plan.duration_ms:
        return None
    position = meta.get("position")
    if position not in ("top", "center", "bottom"):
        position = _DEFAULT_POSITION.get(role, "bottom")
    size = lenient_number(meta.get("size"))
    if size is None or size <= 0:
        size = min(plan.width, plan.height) * (0.08 if role == "title" else 0.05)
    end = min(start + duration, plan.duration_ms)
    return Text(start, end, text, position, int(min(max(size, 8), plan.height / 3)), layer)


# Platforms whose viewers watch captions on the picture (feeds that autoplay muted, no track to switch on).
_SOFT_CAPTION_PLATFORMS = frozenset({"", "youtube"})


def soft_captions(draft: Mapping[str, Any], track: Mapping[str, Any]) -> bool:
    """Whether a caption track ships as a subtitle track and ``.srt`` rather than burned in.

    YouTube (and a plain MP4) indexes uploaded captions and lets viewers switch them; Shorts,
    Reels and TikTok need them on the picture, as does a track marked ``m.burn`` by the user.
    """
    platform = str(peek_meta(draft).get("platform") or "").strip().lower()
    meta = peek_meta(track)
    return meta.get("role") == "caption" and not meta.get("burn") and platform in _SOFT_CAPTION_PLATFORMS


def _plan_texts(plan: Plan, draft: Mapping[str, Any]) -> list[Text]:
    texts = []
    for layer, track in enumerate(_tracks_of(draft, TEXT), start=1):
        role = str(peek_meta(track).get("role") or "caption")
        soft = soft_captions(draft, track)
        for segment in segments(track):
            text = _text(plan, segment, role, layer)
            if text is not None:
                texts.append(replace(text, soft=True) if soft else text)
    # The words on cards are text too, drawn above everything else.
    size = int(min(plan.width, plan.height) * 0.075)
    for piece in plan.pieces:
        if piece.source is None and piece.card_text:
            start, end = plan.ms_at(piece.start_frame), plan.ms_at(piece.start_frame + piece.frames)
            texts.append(Text(start, end, piece.card_text, "center", size, layer=100, card=True))
    return texts


def _plan_chapters(plan: Plan, draft: Mapping[str, Any]) -> list[Chapter]:
    """Chapters from m.chapters, else m.segments, else the labels of a text track with role "chapter"."""
    total_ms = plan.duration_ms
    meta = peek_meta(draft)
    raw = meta.get("chapters")
    if not isinstance(raw, list) or not raw:
        raw = meta.get("segments")
    if not isinstance(raw, list) or not raw:
        raw = [
            {"s": segment.get("s"), "title": peek_meta(segment).get("text")}
            for track in _tracks_of(draft, TEXT)
            if role_of(track) == "chapter"
            for segment in segments(track)
        ]
    starts: dict[int, str] = {}
    for entry in raw:
        if not isinstance(entry, dict):
            continue
        start = lenient_int(entry.get("s"))
        if start is None or not 0 <= start < total_ms:
            continue
        title = " ".join(str(entry.get("title") or "").split()) or f"Chapter {len(starts) + 1}"
        starts.setdefault(start, title)
    ordered = sorted(starts.items())
    ends = [start for start, _ in ordered[1:]] + [total_ms]
    return [
        Chapter(start, end, title) for (start, title), end in zip(ordered, ends[: len(ordered)], strict=True)
    ]


def _blank_frames(plan: Plan, draft: Mapping[str, Any]) -> int:
    """Text or sound with no picture is rendered over black for as long as it lasts."""
    ends = [
        (lenient_int(s.get("s")) or 0) + (lenient_int(s.get("d")) or 0)
        for kind in (AUDIO, TEXT)
        for t in _tracks_of(draft, kind)
        for s in segments(t)
    ]
    return plan.frame_at(max(ends, default=0))


def make_plan(draft: Mapping[str, Any], media: Mapping[str, SourceMedia]) -> Plan:
    """The plan for rendering ``draft``; raises :class:`RenderError` for a draft that cannot be rendered."""
    if not isinstance(draft, Mapping):
        raise RenderError("the draft is not a timeline object: fetch the session state again")
    meta = peek_meta(draft)
    width, height = _canvas(meta)
    plan = Plan(width=width, height=height, fps=_fps(meta))
    pieces = _plan_video(plan, draft, media)
    if not pieces:
        frames = _blank_frames(plan, draft)
        if frames <= 0:
            raise RenderError("the timeline is empty: add a clip before exporting")
        pieces = [Piece(0, frames)]
    plan = replace(plan, pieces=tuple(pieces))
    half = plan.duration_ms // 2
    return replace(
        plan,
        sounds=tuple(_plan_sounds(plan, draft, media)),
        texts=tuple(_plan_texts(plan, draft)),
        chapters=tuple(_plan_chapters(plan, draft)),
        loudnorm=bool(meta.get("loudnorm")),
        fade_in_ms=min(max(0, lenient_int(meta.get("fade_in_ms")) or 0), half),
        fade_out_ms=min(max(0, lenient_int(meta.get("fade_out_ms")) or 0), half),
    )
