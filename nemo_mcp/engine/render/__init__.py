"""Rendering a draft (see docs/draft-format.md) to an H.264/AAC MP4 in one ffmpeg pass.

The draft is first turned into a plan, which is where every mistake is caught before
ffmpeg starts: a segment that names unknown media, starts after its clip ends, or a
timeline with nothing on it. The plan is then written as one ``-filter_complex``:

* every segment of the main video track becomes its own input (``-ss``/``-t`` before
  ``-i``, so a cut deep into a long file seeks instead of decoding up to it), scaled into
  the canvas with letterboxing, brought to the project frame rate, padded with its last
  frame if the clip is short, and cut to an exact number of frames; its sound (or
  silence, for a still, a card or a silent clip) is cut to the same length in samples.
  Segment boundaries are rounded to frames on the timeline, not per segment, so
  rounding never accumulates into drift between picture, sound and text;
* the pieces are joined with ``concat``; audio tracks (music, voice-over) are delayed to
  their start, looped if asked and mixed in with ``amix`` without normalisation (so a
  volume of 0.3 means 0.3); ``loudnorm`` and fades apply to the whole result;
* all text (titles, captions, chapter labels, the words on cards) goes into one ASS
  subtitle file burned in by libass: it wraps long lines, needs no escaping beyond its
  own, and costs the same for three captions or three thousand;
* chapters come from an ``ffmetadata`` input, so players list them.

:func:`render_draft` writes to a ``.part`` file beside the target and renames it only
after ffmpeg succeeded and the result probed as a whole video; on failure or
cancellation ffmpeg is killed and the partial file removed.
"""

from __future__ import annotations

import logging
import math
import os
import secrets
import shutil
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any, Literal

import anyio
import anyio.to_thread

from nemo_mcp.draft.model import lenient_number
from nemo_mcp.engine.ffmpeg import FFmpegError, ffmpeg_command, ffmpeg_version, run_ffmpeg
from nemo_mcp.engine.media import MediaError, MediaInfo, probe

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[float], Awaitable[None]]

# quality -> (x264 preset, CRF)
QUALITY_PRESETS: dict[str, tuple[str, int]] = {
    "high": ("medium", 20),
    "standard": ("veryfast", 23),
    "draft": ("ultrafast", 28),
}
PLATFORM_CANVAS: dict[str, tuple[int, int]] = {
    "youtube": (1920, 1080),
    "shorts": (1080, 1920),
    "square": (1080, 1080),
}
DEFAULT_CANVAS = (1920, 1080)
DEFAULT_FPS = 30
MIN_SIDE, MAX_SIDE = 16, 4096
DEFAULT_STILL_MS = 3000  # a card or still image without a duration
SAMPLE_RATE = 48000
AUDIO_BITRATE = "192k"
# ffmpeg reports progress this often; render_draft throttles what it passes on.
_STATS_PERIOD_S = 0.25
_PROGRESS_MIN_STEP = 0.01
_PROGRESS_MIN_INTERVAL_S = 0.5
# Longer filter graphs go to a file: Windows caps a whole command line at 32k characters.
_INLINE_GRAPH_CHARS = 20000
# Up to this many pieces, each decoder may use all cores (a 4K source decodes faster).
_FEW_PIECES = 8
# Read a little past a segment's end so the exact cut happens in the filter, not the demuxer.
_INPUT_MARGIN_S = 0.1

TextPosition = Literal["top", "center", "bottom"]


class RenderError(MediaError):
    """The draft cannot be rendered, or ffmpeg failed; ``str(exc)`` says what to change."""


@dataclass(frozen=True)
class SourceMedia:
    """A media file the draft refers to by id, with what :func:`probe` found in it."""

    path: Path
    info: MediaInfo


@dataclass(frozen=True)
class RenderResult:
    """The finished file, as probed after rendering."""

    path: Path
    duration_ms: int
    size: int
    width: int
    height: int


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class _Piece:
    """A stretch of the main video track, in frames of the output."""

    start_frame: int
    frames: int
    source: SourceMedia | None = None  # None: a generated card or a black gap
    in_ms: int = 0
    volume: float = 1.0
    card_text: str = ""
    card_bg: str = "0x000000"


@dataclass(frozen=True)
class _Sound:
    """A segment of an audio track (music, voice-over)."""

    source: SourceMedia
    start_ms: int
    duration_ms: int
    in_ms: int
    volume: float
    loop: bool


@dataclass(frozen=True)
class _Text:
    start_ms: int
    end_ms: int
    text: str
    position: TextPosition
    size: int
    layer: int
    card: bool = False


@dataclass(frozen=True)
class _Chapter:
    start_ms: int
    end_ms: int
    title: str


@dataclass
class _Plan:
    width: int
    height: int
    fps: Fraction
    pieces: list[_Piece] = field(default_factory=list)
    sounds: list[_Sound] = field(default_factory=list)
    texts: list[_Text] = field(default_factory=list)
    chapters: list[_Chapter] = field(default_factory=list)
    loudnorm: bool = False
    fade_in_ms: int = 0
    fade_out_ms: int = 0

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

    def samples(self, frames: int) -> int:
        return round(Fraction(frames) * SAMPLE_RATE / self.fps)


def _ms(value: Any) -> int | None:
    number = lenient_number(value)
    return None if number is None else round(number)


def _meta(obj: Any) -> dict[str, Any]:
    if isinstance(obj, dict):
        m = obj.get("m")
        if isinstance(m, dict):
            return m
    return {}


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


def _colour(value: Any) -> str:
    """A colour as ``0xRRGGBB``; it goes into the filter graph, so only known shapes pass."""
    text = str(value or "").strip().lower().replace(" ", "").replace("_", "")
    if text in _COLOURS:
        return "0x" + _COLOURS[text]
    hexa = text.removeprefix("#").removeprefix("0x")
    if len(hexa) == 3 and all(c in "0123456789abcdef" for c in hexa):
        hexa = "".join(c * 2 for c in hexa)
    if len(hexa) == 6 and all(c in "0123456789abcdef" for c in hexa):
        return "0x" + hexa.upper()
    if text:
        logger.info("unknown card colour %r, using the default", text[:40])
    return "0x" + _DEFAULT_CARD_BG


def _tracks(draft: Mapping[str, Any], kind: int) -> list[dict[str, Any]]:
    tracks = draft.get("t")
    if not isinstance(tracks, list):
        return []
    return [t for t in tracks if isinstance(t, dict) and lenient_number(t.get("tt")) == kind]


def _segments(track: Mapping[str, Any]) -> list[dict[str, Any]]:
    segments = track.get("sg")
    return [s for s in segments if isinstance(s, dict)] if isinstance(segments, list) else []


def _source(media: Mapping[str, SourceMedia], segment: Mapping[str, Any], where: str) -> SourceMedia:
    media_id = _meta(segment).get("src")
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


def _main_video_track(draft: Mapping[str, Any]) -> dict[str, Any] | None:
    tracks = [t for t in _tracks(draft, 0) if _segments(t)]
    if not tracks:
        return None
    main = next((t for t in tracks if _meta(t).get("role") == "main"), tracks[0])
    ignored = len(tracks) - 1
    if ignored:
        logger.warning("rendering one video track; %d more (overlays) are not rendered", ignored)
    return main


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


def _plan_video(plan: _Plan, draft: Mapping[str, Any], media: Mapping[str, SourceMedia]) -> None:
    track = _main_video_track(draft)
    if track is None:
        return
    cursor = 0
    stretches: list[_Stretch] = []
    for number, segment in enumerate(_segments(track), start=1):
        where = f"video segment {number}"
        meta = _meta(segment)
        start = _ms(segment.get("s"))
        if start is not None and start > cursor:
            stretches.append(_Stretch(cursor, start))  # a gap in the timeline shows black
            cursor = start
        elif start is not None and start < cursor:
            logger.debug("%s starts at %d ms, inside the one before; placed at %d ms", where, start, cursor)
        duration = _ms(segment.get("d"))
        card = meta.get("card")
        if isinstance(card, dict):
            length = duration if duration is not None and duration > 0 else DEFAULT_STILL_MS
            text = str(card.get("text") or "").strip()
            stretches.append(
                _Stretch(cursor, cursor + length, card_text=text, card_bg=_colour(card.get("bg")))
            )
            cursor += length
            continue
        source = _source(media, segment, where)
        in_ms = max(0, _ms(meta.get("in")) or 0)
        if source.info.kind == "image":
            in_ms = 0
            length = duration if duration is not None and duration > 0 else DEFAULT_STILL_MS
        else:
            if in_ms >= source.info.duration_ms:
                raise RenderError(
                    f"{where} starts at {in_ms / 1000:.1f} s into {source.path.name}, which is only "
                    f"{source.info.duration_ms / 1000:.1f} s long: move its in-point earlier"
                )
            length = duration if duration is not None and duration > 0 else source.info.duration_ms - in_ms
        if length > 0:
            stretches.append(_Stretch(cursor, cursor + length, source, in_ms, _volume(meta.get("volume"))))
            cursor += length

    merged: list[_Stretch] = []
    for stretch in stretches:
        # A clip split in two with nothing cut out between the halves is rendered as one piece.
        if merged and merged[-1].continues(stretch):
            merged[-1] = replace(merged[-1], end_ms=stretch.end_ms)
        else:
            merged.append(stretch)

    for stretch in merged:
        first, last = plan.frame_at(stretch.start_ms), plan.frame_at(stretch.end_ms)
        if last > first:
            piece = _Piece(first, last - first, stretch.source, stretch.in_ms, stretch.volume)
            plan.pieces.append(replace(piece, card_text=stretch.card_text, card_bg=stretch.card_bg))


def _plan_sounds(plan: _Plan, draft: Mapping[str, Any], media: Mapping[str, SourceMedia]) -> None:
    total_ms = plan.duration_ms
    for track_no, track in enumerate(_tracks(draft, 1), start=1):
        for number, segment in enumerate(_segments(track), start=1):
            where = f"segment {number} of audio track {track_no}"
            meta = _meta(segment)
            source = _source(media, segment, where)
            if not source.info.has_audio:
                logger.warning("%s: %s has no sound; skipped", where, source.path.name)
                continue
            start = max(0, _ms(segment.get("s")) or 0)
            in_ms = max(0, _ms(meta.get("in")) or 0)
            loop = bool(meta.get("loop"))
            if not loop and in_ms >= source.info.duration_ms:
                raise RenderError(
                    f"{where} starts at {in_ms / 1000:.1f} s into {source.path.name}, which is only "
                    f"{source.info.duration_ms / 1000:.1f} s long: move its in-point earlier"
                )
            if loop:
                in_ms %= max(1, source.info.duration_ms)
            duration = _ms(segment.get("d"))
            if duration is None or duration <= 0:
                duration = total_ms - start if loop else source.info.duration_ms - in_ms
            if not loop:
                duration = min(duration, source.info.duration_ms - in_ms)
            duration = min(duration, total_ms - start)
            if duration <= 0:
                continue
            plan.sounds.append(_Sound(source, start, duration, in_ms, _volume(meta.get("volume")), loop))


_DEFAULT_POSITION: dict[str, TextPosition] = {"title": "center", "chapter": "top", "summary": "center"}


def _plan_texts(plan: _Plan, draft: Mapping[str, Any]) -> None:
    total_ms = plan.duration_ms
    short_side = min(plan.width, plan.height)
    for layer, track in enumerate(_tracks(draft, 7), start=1):
        role = str(_meta(track).get("role") or "caption")
        for segment in _segments(track):
            meta = _meta(segment)
            text = str(meta.get("text") or "").strip()
            start = max(0, _ms(segment.get("s")) or 0)
            duration = _ms(segment.get("d"))
            if not text or duration is None or duration <= 0 or start >= total_ms:
                continue
            position = meta.get("position")
            if position not in ("top", "center", "bottom"):
                position = _DEFAULT_POSITION.get(role, "bottom")
            default_size = short_side * (0.08 if role == "title" else 0.05)
            size = lenient_number(meta.get("size"))
            size = default_size if size is None or size <= 0 else size
            plan.texts.append(
                _Text(
                    start,
                    min(start + duration, total_ms),
                    text,
                    position,
                    int(min(max(size, 8), plan.height / 3)),
                    layer,
                )
            )
    # The words on cards are text too, drawn above everything else.
    for piece in plan.pieces:
        if piece.source is None and piece.card_text:
            start = round(piece.start_frame * 1000 / plan.fps)
            end = round((piece.start_frame + piece.frames) * 1000 / plan.fps)
            size = int(short_side * 0.075)
            plan.texts.append(_Text(start, end, piece.card_text, "center", size, layer=100, card=True))


def _plan_chapters(plan: _Plan, draft: Mapping[str, Any]) -> None:
    """Chapters from m.chapters, else m.segments, else the labels of a text track with role "chapter"."""
    total_ms = plan.duration_ms
    meta = _meta(draft)
    raw = meta.get("chapters")
    if not isinstance(raw, list) or not raw:
        raw = meta.get("segments")
    if not isinstance(raw, list) or not raw:
        raw = [
            {"s": segment.get("s"), "title": _meta(segment).get("text")}
            for track in _tracks(draft, 7)
            if _meta(track).get("role") == "chapter"
            for segment in _segments(track)
        ]
    starts: dict[int, str] = {}
    for entry in raw:
        if not isinstance(entry, dict):
            continue
        start = _ms(entry.get("s"))
        if start is None or not 0 <= start < total_ms:
            continue
        title = " ".join(str(entry.get("title") or "").split()) or f"Chapter {len(starts) + 1}"
        starts.setdefault(start, title)
    ordered = sorted(starts.items())
    for i, (start, title) in enumerate(ordered):
        end = ordered[i + 1][0] if i + 1 < len(ordered) else total_ms
        plan.chapters.append(_Chapter(start, end, title))


def _make_plan(draft: Mapping[str, Any], media: Mapping[str, SourceMedia]) -> _Plan:
    if not isinstance(draft, Mapping):
        raise RenderError("the draft is not a timeline object: fetch the session state again")
    meta = _meta(draft)
    width, height = _canvas(meta)
    plan = _Plan(width=width, height=height, fps=_fps(meta))
    _plan_video(plan, draft, media)
    if not plan.pieces:
        # Text or sound with no picture: render it over black for as long as it lasts.
        ends = [
            (_ms(s.get("s")) or 0) + (_ms(s.get("d")) or 0)
            for kind in (1, 7)
            for t in _tracks(draft, kind)
            for s in _segments(t)
        ]
        frames = plan.frame_at(max(ends, default=0))
        if frames <= 0:
            raise RenderError("the timeline is empty: add a clip before exporting")
        plan.pieces.append(_Piece(0, frames))
    _plan_sounds(plan, draft, media)
    _plan_texts(plan, draft)
    _plan_chapters(plan, draft)
    plan.loudnorm = bool(meta.get("loudnorm"))
    half = plan.duration_ms // 2
    plan.fade_in_ms = min(max(0, _ms(meta.get("fade_in_ms")) or 0), half)
    plan.fade_out_ms = min(max(0, _ms(meta.get("fade_out_ms")) or 0), half)
    return plan


# --------------------------------------------------------------------------- files beside the graph

_FONT_CANDIDATES: tuple[tuple[str, str], ...] = (
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "DejaVu Sans"),
    ("/usr/share/fonts/TTF/DejaVuSans.ttf", "DejaVu Sans"),
    ("/usr/share/fonts/dejavu/DejaVuSans.ttf", "DejaVu Sans"),
    ("/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf", "DejaVu Sans"),
    ("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf", "Liberation Sans"),
    ("/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf", "Liberation Sans"),
    ("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf", "Noto Sans"),
    ("/usr/share/fonts/noto/NotoSans-Regular.ttf", "Noto Sans"),
    ("/System/Library/Fonts/Supplemental/Arial.ttf", "Arial"),
    ("/Library/Fonts/Arial.ttf", "Arial"),
    ("/System/Library/Fonts/Helvetica.ttc", "Helvetica"),
    ("C:\\Windows\\Fonts\\arial.ttf", "Arial"),
    ("C:\\Windows\\Fonts\\segoeui.ttf", "Segoe UI"),
)


@cache
def find_font() -> tuple[Path, str] | None:
    """A sans-serif font file and its family name, from the usual places on each system."""
    for candidate, family in _FONT_CANDIDATES:
        path = Path(candidate)
        if path.is_file():
            return path, family
    return None


def _ass_time(ms: int) -> str:
    cs = max(0, round(ms / 10))
    return f"{cs // 360000}:{cs // 6000 % 60:02d}:{cs // 100 % 60:02d}.{cs % 100:02d}"


def _ass_text(text: str) -> str:
    """User text as an ASS event: braces and backslashes lose their meaning, newlines stay."""
    # A word joiner after each backslash stops "\N" or "\b1" from being read as a command.
    text = text.replace("\\", "\\\u2060").replace("{", "\\{").replace("}", "\\}")
    return "\\N".join(" ".join(line.split()) for line in text.splitlines() if line.strip())


_ALIGNMENT: dict[TextPosition, int] = {"bottom": 2, "center": 5, "top": 8}


def _write_ass(plan: _Plan, path: Path, family: str) -> None:
    w, h = plan.width, plan.height
    margin_v, margin_h = round(h * 0.06), round(w * 0.05)
    default_size = round(min(w, h) * 0.05)
    pad = max(2, round(default_size * 0.25))
    fmt = (
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
        "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, "
        "Shadow, Alignment, MarginL, MarginR, MarginV, Encoding"
    )
    styles = []
    for position, alignment in _ALIGNMENT.items():
        # BorderStyle 3: an opaque box behind the text keeps it readable over any picture.
        styles.append(
            f"Style: {position},{family},{default_size},&H00FFFFFF,&H00FFFFFF,&H80000000,&H80000000,"
            f"0,0,0,0,100,100,0,0,3,{pad},0,{alignment},{margin_h},{margin_h},{margin_v},1"
        )
    styles.append(
        f"Style: card,{family},{default_size},&H00FFFFFF,&H00FFFFFF,&H64000000,&H00000000,"
        f"1,0,0,0,100,100,0,0,1,{max(1, pad // 2)},0,5,{margin_h},{margin_h},{margin_v},1"
    )
    events = []
    for text in sorted(plan.texts, key=lambda t: (t.layer, t.start_ms)):
        body = _ass_text(text.text)
        if not body:
            continue
        style = "card" if text.card else text.position
        events.append(
            f"Dialogue: {text.layer},{_ass_time(text.start_ms)},{_ass_time(text.end_ms)},{style},,0,0,0,,"
            f"{{\\fs{text.size}}}{body}"
        )
    content = "\n".join(
        [
            "[Script Info]",
            "ScriptType: v4.00+",
            f"PlayResX: {w}",
            f"PlayResY: {h}",
            "WrapStyle: 0",
            "ScaledBorderAndShadow: yes",
            "YCbCr Matrix: None",
            "",
            "[V4+ Styles]",
            fmt,
            *styles,
            "",
            "[Events]",
            "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
            *events,
            "",
        ]
    )
    path.write_text(content, encoding="utf-8")


def _metadata_value(text: str) -> str:
    # ffmetadata treats these as syntax unless escaped with a backslash.
    for ch in ("\\", "=", ";", "#", "\n"):
        text = text.replace(ch, "\\" + ch)
    return text


def _write_chapters(plan: _Plan, path: Path) -> None:
    lines = [";FFMETADATA1"]
    for chapter in plan.chapters:
        lines += [
            "[CHAPTER]",
            "TIMEBASE=1/1000",
            f"START={chapter.start_ms}",
            f"END={chapter.end_ms}",
            f"title={_metadata_value(chapter.title)}",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def filter_value(value: str) -> str:
    """``value`` escaped for use as a filter option inside a filter graph.

    Two parsers read it: the filter's option parser (``\\ ' :`` are special) and then the
    graph parser (``\\ ' [ ] , ;``). A Windows path or a folder named ``it's: [1]`` survives both.
    """
    value = "".join("\\" + c if c in "\\':" else c for c in value)
    return "".join("\\" + c if c in "\\'[],;" else c for c in value)


# --------------------------------------------------------------------------- the command


def _seconds(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".") or "0"


def _fps_text(fps: Fraction) -> str:
    return str(fps.numerator) if fps.denominator == 1 else f"{fps.numerator}/{fps.denominator}"


_AUDIO_FORMAT = (
    f"aresample={SAMPLE_RATE},aformat=sample_fmts=fltp:sample_rates={SAMPLE_RATE}:channel_layouts=stereo"
)


def _build(plan: _Plan, out_path: Path, *, quality: str, work_dir: Path) -> list[str]:
    preset, crf = QUALITY_PRESETS[quality]
    w, h, fps = plan.width, plan.height, _fps_text(plan.fps)
    inputs: list[list[str]] = []
    graph: list[str] = []
    joined: list[str] = []

    def add_input(*args: str) -> int:
        inputs.append(list(args))
        return len(inputs) - 1

    # Square pixels first (DV and some phone clips store wide pictures in narrow pixels), then fit
    # inside the canvas keeping the shape, centred on black.
    fit = (
        "scale=w='trunc(iw*sar/2)*2':h=ih,setsar=1,"
        f"scale={w}:{h}:force_original_aspect_ratio=decrease,pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1"
    )
    # Every input starts decoding at once and holds a few decoded frames until concat gets to it;
    # one decoder thread each (instead of one per core) keeps that to ~10 MB a 1080p piece, and is
    # no slower, as only one piece is being played at a time.
    decoder_threads = ["-threads", "1"] if len(plan.pieces) > _FEW_PIECES else []
    for i, piece in enumerate(plan.pieces):
        seconds = float(piece.frames / plan.fps)
        # Counted from the timeline's start, so rounding to samples cannot accumulate.
        samples = plan.samples(piece.start_frame + piece.frames) - plan.samples(piece.start_frame)
        read_s = _seconds(seconds + _INPUT_MARGIN_S)
        seek = ["-ss", _seconds(piece.in_ms / 1000)] if piece.in_ms > 0 else []
        source = piece.source
        # Pad with the last frame, then cut: a piece lasts exactly its frames even if its clip is short.
        exact = (
            f"fps={fps},tpad=stop_mode=clone:stop_duration={_seconds(seconds)},trim=end_frame={piece.frames}"
        )

        audio_input: int | None = None
        if source is None or not source.info.has_video or source.info.kind == "audio":
            colour = piece.card_bg if source is None else "0x000000"
            graph.append(
                f"color=c={colour}:s={w}x{h}:r={fps}:d={_seconds(seconds)},setsar=1,"
                f"trim=end_frame={piece.frames}[v{i}]"
            )
            if source is not None and source.info.has_audio:
                audio_input = add_input(*seek, "-t", read_s, "-i", str(source.path))
        elif source.info.kind == "image":
            # Decoded and scaled once; tpad in `exact` repeats the one frame for the piece's length.
            k = add_input("-i", str(source.path))
            graph.append(f"[{k}:v:0]setpts=PTS-STARTPTS,{fit},{exact}[v{i}]")
        else:
            k = add_input(*decoder_threads, *seek, "-t", read_s, "-i", str(source.path))
            graph.append(f"[{k}:v:0]setpts=PTS-STARTPTS,{fit},{exact}[v{i}]")
            if source.info.has_audio:
                audio_input = k

        if audio_input is not None:
            graph.append(
                f"[{audio_input}:a:0]asetpts=PTS-STARTPTS,{_AUDIO_FORMAT},volume={piece.volume:.4f},"
                f"apad,atrim=end_sample={samples}[a{i}]"
            )
        else:
            graph.append(f"anullsrc=r={SAMPLE_RATE}:cl=stereo,atrim=end_sample={samples}[a{i}]")
        joined.append(f"[v{i}][a{i}]")
    graph.append(f"{''.join(joined)}concat=n={len(plan.pieces)}:v=1:a=1[vcat][acat]")

    # Picture: text, then fades (so text fades with the picture), then the encoder's pixel format.
    video_chain: list[str] = []
    if plan.texts:
        ass_path = work_dir / "text.ass"
        font = find_font()
        family = font[1] if font is not None else "Sans"
        _write_ass(plan, ass_path, family)
        subtitles = f"subtitles=filename={filter_value(str(ass_path))}"
        if font is not None:
            # A folder holding only our font: libass loads every file in fontsdir.
            fonts_dir = work_dir / "fonts"
            fonts_dir.mkdir(exist_ok=True)
            target = fonts_dir / font[0].name
            if not target.exists():
                shutil.copyfile(font[0], target)
            subtitles += f":fontsdir={filter_value(str(fonts_dir))}"
        video_chain.append(subtitles)
    total_s = plan.duration_s
    if plan.fade_in_ms:
        video_chain.append(f"fade=t=in:st=0:d={_seconds(plan.fade_in_ms / 1000)}")
    if plan.fade_out_ms:
        start = _seconds(max(0.0, total_s - plan.fade_out_ms / 1000))
        video_chain.append(f"fade=t=out:st={start}:d={_seconds(plan.fade_out_ms / 1000)}")
    video_chain.append("format=yuv420p")
    graph.append(f"[vcat]{','.join(video_chain)}[vout]")

    # Sound: the clips' own sound, plus every audio-track segment at its place and volume.
    mix_inputs = ["[acat]"]
    for j, sound in enumerate(plan.sounds):
        loop = ["-stream_loop", "-1"] if sound.loop else []
        seek = ["-ss", _seconds(sound.in_ms / 1000)] if sound.in_ms > 0 else []
        k = add_input(
            *loop,
            *seek,
            "-t",
            _seconds(sound.duration_ms / 1000 + _INPUT_MARGIN_S),
            "-i",
            str(sound.source.path),
        )
        samples = round(sound.duration_ms * SAMPLE_RATE / 1000)
        delay = f",adelay=delays={sound.start_ms}:all=1" if sound.start_ms > 0 else ""
        graph.append(
            f"[{k}:a:0]asetpts=PTS-STARTPTS,{_AUDIO_FORMAT},volume={sound.volume:.4f},"
            f"atrim=end_sample={samples}{delay}[s{j}]"
        )
        mix_inputs.append(f"[s{j}]")
    audio_chain: list[str] = []
    if len(mix_inputs) > 1:
        # normalize=0: amix would otherwise divide every input by the number of inputs.
        audio_chain.append(
            f"{''.join(mix_inputs)}amix=inputs={len(mix_inputs)}:duration=first:dropout_transition=0:normalize=0"
        )
    else:
        audio_chain.append("[acat]anull")
    if plan.loudnorm:
        # -16 LUFS integrated: the usual target for spoken content online (single pass, so no 2nd analysis run).
        audio_chain.append(f"loudnorm=I=-16:TP=-1.5:LRA=11,aresample={SAMPLE_RATE}")
    if plan.fade_in_ms:
        audio_chain.append(f"afade=t=in:st=0:d={_seconds(plan.fade_in_ms / 1000)}")
    if plan.fade_out_ms:
        start = _seconds(max(0.0, total_s - plan.fade_out_ms / 1000))
        audio_chain.append(f"afade=t=out:st={start}:d={_seconds(plan.fade_out_ms / 1000)}")
    audio_chain.append(_AUDIO_FORMAT)
    graph.append(",".join(audio_chain) + "[aout]")

    metadata_index = -1
    if plan.chapters:
        chapters_path = work_dir / "chapters.txt"
        _write_chapters(plan, chapters_path)
        metadata_index = add_input("-f", "ffmetadata", "-i", str(chapters_path))

    graph_text = ";\n".join(graph)
    if len(graph_text) <= _INLINE_GRAPH_CHARS:
        graph_args = ["-filter_complex", graph_text]
    else:
        graph_path = work_dir / "graph.txt"
        graph_path.write_text(graph_text, encoding="utf-8")
        version = ffmpeg_version()
        # ffmpeg 7 replaced -filter_complex_script with the "-/option file" form, and 8 dropped the old one.
        option = "-/filter_complex" if version is None or version >= (7, 0) else "-filter_complex_script"
        graph_args = [option, str(graph_path)]

    return ffmpeg_command(
        "-y", "-progress", "pipe:1", "-nostats", "-stats_period", _seconds(_STATS_PERIOD_S),
        *(arg for args in inputs for arg in args),
        *graph_args,
        "-map", "[vout]", "-map", "[aout]",
        # Never carry a source's tags (camera, location) or chapters into the export.
        "-map_metadata", str(metadata_index), "-map_chapters", str(metadata_index),
        "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", AUDIO_BITRATE, "-ar", str(SAMPLE_RATE), "-ac", "2",
        "-t", _seconds(total_s),
        "-movflags", "+faststart", "-f", "mp4", str(out_path),
    )  # fmt: skip


def _check_quality(quality: str) -> str:
    key = quality.strip().lower()
    if key not in QUALITY_PRESETS:
        raise RenderError(f"unknown quality {quality!r}: use one of {', '.join(QUALITY_PRESETS)}")
    return key


def build_command(
    draft: dict[str, Any],
    media: Mapping[str, SourceMedia],
    out_path: Path,
    *,
    quality: str = "high",
    work_dir: Path,
) -> list[str]:
    """The ffmpeg argv that renders ``draft`` to ``out_path`` (an MP4, whatever its suffix).

    Writes the text (ASS), chapter and, for very long graphs, filter-graph files it refers
    to into ``work_dir``, which must exist and outlive the run. Raises :class:`RenderError`
    for a draft that cannot be rendered.
    """
    plan = _make_plan(draft, media)
    return _build(plan, out_path, quality=_check_quality(quality), work_dir=work_dir)


# --------------------------------------------------------------------------- running it


class _Progress:
    """Turns ffmpeg's ``-progress`` lines into a throttled, rising 0..1 for the caller."""

    def __init__(self, duration_s: float, callback: ProgressCallback | None) -> None:
        self._duration_us = max(1.0, duration_s * 1_000_000)
        self._callback = callback
        self._sent = 0.0
        self._sent_at = -math.inf

    async def line(self, line: str) -> None:
        key, sep, value = line.partition("=")
        if not sep or self._callback is None:
            return
        key, value = key.strip(), value.strip()
        # out_time_ms is also in microseconds: a naming mistake ffmpeg keeps for compatibility.
        if key not in ("out_time_us", "out_time_ms") or not value.lstrip("-").isdigit():
            return
        # 1.0 is kept for the moment the finished file is in place.
        fraction = min(0.999, max(0.0, int(value) / self._duration_us))
        now = time.monotonic()
        if fraction <= self._sent:
            return
        if fraction - self._sent >= _PROGRESS_MIN_STEP or now - self._sent_at >= _PROGRESS_MIN_INTERVAL_S:
            self._sent, self._sent_at = fraction, now
            await self._callback(fraction)

    async def done(self) -> None:
        if self._callback is not None:
            await self._callback(1.0)


def _part_path(out_path: Path) -> Path:
    return out_path.with_name(f"{out_path.name}.{secrets.token_hex(4)}.part")


async def render_draft(
    draft: dict[str, Any],
    media: Mapping[str, SourceMedia],
    out_path: Path,
    *,
    quality: str = "high",
    on_progress: ProgressCallback | None = None,
    work_dir: Path,
) -> RenderResult:
    """Render ``draft`` to ``out_path``; on success ``on_progress`` has last been called with 1.0.

    ``out_path`` appears only when complete: ffmpeg writes a ``.part`` file beside it that
    is renamed on success and removed on any failure or cancellation (ffmpeg is killed first).
    Raises :class:`RenderError` with a message for the user.
    """
    out_path = Path(out_path)
    quality = _check_quality(quality)
    plan = _make_plan(draft, media)
    await anyio.Path(work_dir).mkdir(parents=True, exist_ok=True)
    await anyio.Path(out_path.parent).mkdir(parents=True, exist_ok=True)
    part = _part_path(out_path)
    argv = await anyio.to_thread.run_sync(lambda: _build(plan, part, quality=quality, work_dir=work_dir))
    progress = _Progress(plan.duration_s, on_progress)
    started = time.monotonic()
    try:
        try:
            await run_ffmpeg(argv, on_stdout_line=progress.line)
        except FFmpegError as exc:
            raise RenderError(f"the export failed: {exc}") from exc
        try:
            info = await probe(part)
        except MediaError as exc:
            raise RenderError(f"the export produced an unreadable file ({exc}); try again") from exc
        size = (await anyio.Path(part).stat()).st_size
        os.replace(part, out_path)
    except BaseException:
        # Failure or cancellation: no half-written file may be left for anyone to mistake for an export.
        part.unlink(missing_ok=True)
        raise
    logger.info(
        "rendered %s: %.1f s of %dx%d in %.1f s", out_path.name, info.duration_ms / 1000,
        plan.width, plan.height, time.monotonic() - started,
    )  # fmt: skip
    await progress.done()
    return RenderResult(
        path=out_path,
        duration_ms=info.duration_ms,
        size=size,
        width=info.width or plan.width,
        height=info.height or plan.height,
    )
