"""The local engine's deterministic instruction interpreter.

Two halves. :func:`plan` is pure: a table of regex rules (case-insensitive) turns one
instruction into :class:`Operation` objects, in a fixed sensible order (cuts before the
things laid over them, music last so it spans the final length), plus the parts it refuses
with a reason and the parts it did not understand. :class:`Executor` applies operations to
a session's draft, calling an :class:`Analyzer` for the slow facts (silences, scene changes,
captions), and says in a sentence what each one did. Nothing is ever a silent no-op: an
operation that cannot run says why, and an instruction with nothing doable gets the list
of what the engine can do.

Every time and length in an instruction goes through :func:`parse_duration`
("1:30", "90 seconds", "2 minutes", "1m30s", "1.5 s", "500 ms").
"""

from __future__ import annotations

import itertools
import logging
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from nemo_mcp.draft import ops
from nemo_mcp.draft.model import summarize
from nemo_mcp.draft.ops import Interval, TimedText
from nemo_mcp.engine.media import MediaError, MediaInfo

logger = logging.getLogger(__name__)

HISTORY_LIMIT = 20

# -- durations ----------------------------------------------------------------------------

_WORD_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
    "thirty": 30, "forty": 40, "forty-five": 45, "fifty": 50, "sixty": 60, "ninety": 90,
}  # fmt: skip
_NUMBER = r"(?:\d+(?:\.\d+)?|forty-five|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|sixty|ninety)"
_UNIT = r"(?:milliseconds?|ms|minutes?|mins?|m|hours?|hrs?|h|seconds?|secs?|s)(?![a-z])"
_CLOCK = r"\d{1,2}(?::\d{2}){1,2}(?:\.\d+)?"
# A time or a length as written in an instruction; a bare number means seconds.
DURATION = (
    rf"(?<![\w.:])(?:{_CLOCK}|{_NUMBER}[\s-]*{_UNIT}(?:[\s,]*(?:and\s+)?\d+(?:\.\d+)?[\s-]*{_UNIT})*"
    rf"|\d+(?:\.\d+)?(?![\d:]))"
)
_UNIT_MS = {
    "ms": 1, "millisecond": 1, "milliseconds": 1,
    "s": 1000, "sec": 1000, "secs": 1000, "second": 1000, "seconds": 1000,
    "m": 60_000, "min": 60_000, "mins": 60_000, "minute": 60_000, "minutes": 60_000,
    "h": 3_600_000, "hr": 3_600_000, "hrs": 3_600_000, "hour": 3_600_000, "hours": 3_600_000,
}  # fmt: skip
_PAIR = re.compile(rf"({_NUMBER})[\s-]*({_UNIT})", re.IGNORECASE)


def _number(word: str) -> float:
    word = word.lower()
    return float(_WORD_NUMBERS[word]) if word in _WORD_NUMBERS else float(word)


def parse_duration(text: str, *, default_unit_ms: int = 1000) -> int | None:
    """Milliseconds in ``text``: ``1:30``, ``01:02:03``, ``90 seconds``, ``2 min``, ``1m30s``, ``45``.

    A bare number counts in ``default_unit_ms`` (seconds unless told). None if it is not a time.
    """
    t = text.strip().lower()
    if not t:
        return None
    if re.fullmatch(_CLOCK, t):
        parts = [float(p) for p in t.split(":")]
        seconds = 0.0
        for p in parts:
            seconds = seconds * 60 + p
        return round(seconds * 1000)
    pairs = _PAIR.findall(t)
    if pairs:
        return round(sum(_number(n) * _UNIT_MS[u] for n, u in pairs))
    if re.fullmatch(r"\d+(?:\.\d+)?", t):
        return round(float(t) * default_unit_ms)
    return None


def format_time(ms: int) -> str:
    """``0:07``, ``1:30``, ``1:02:03``: a point on the timeline."""
    return ops.clock(ms)


def format_length(ms: int) -> str:
    """``0.15 s``, ``4.3 s``, ``12.5 s`` under a minute; ``1:30`` from a minute on."""
    if ms < 10_000:
        return f"{ms / 1000:.2f}".rstrip("0").rstrip(".") + " s"
    if ms < 60_000:
        return f"{ms / 1000:.1f}".rstrip("0").rstrip(".") + " s"
    return ops.clock(ms)


def format_percent(volume: float) -> str:
    return f"{round(volume * 100):d}%"


# -- plans --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """One edit: ``name`` is the tool name shown in the stream, ``args`` its JSON arguments."""

    name: str
    args: dict[str, Any]
    phase: int = 50
    position: int = 0


@dataclass(frozen=True)
class Refusal:
    """Part of an instruction that cannot honestly be done here, and why."""

    phrase: str
    reason: str


@dataclass(frozen=True)
class Plan:
    instruction: str
    operations: tuple[Operation, ...] = ()
    refusals: tuple[Refusal, ...] = ()
    unrecognised: tuple[str, ...] = ()
    export_requested: bool = False
    help_requested: bool = False

    @property
    def names(self) -> list[str]:
        return [op.name for op in self.operations]


CAPABILITIES = (
    "Here is what I can do offline:\n"
    '- trim: "remove the intro", "cut the first 5 seconds", "keep 0:30 to 2:00", "cut from 1:00 to 1:20"\n'
    '- cut silences: "cut out silences", "remove pauses longer than 1.5 seconds below -40 dB"\n'
    '- learning segments: "break this lecture into 3-5 minute segments"\n'
    '- chapters with timestamps and titles, and a YouTube chapter list: "generate chapters"\n'
    '- captions from an uploaded .srt/.vtt file (or offline speech recognition): "add captions"\n'
    "- text: 'add a title \"Intro to Calculus\"', 'add text \"Subscribe\" at the bottom from 0:05 to 0:10', "
    '"add chapter titles", "add a title card", "insert a summary slide at the end"\n'
    '- background music from an uploaded audio file: "add background music at 20%"\n'
    '- formats: "for YouTube" (16:9, 1920x1080), "for Shorts/TikTok/Reels" (9:16), "square"\n'
    '- a highlight reel: "make a 60-second highlight reel"\n'
    '- "fade in and out", "normalize the audio", "show the timeline", "undo the last edit"\n'
    "Exporting the MP4 is a separate step: say export (export_video) when ready."
)

# Words that carry no request of their own: what is left of a clause after the rules took
# their parts is reported back only if something other than these remains.
_FILLER_WORDS = """
    a an the this that these those it its it's my our your me us i i'd id we you please pls can could would will
    should shall want wanna like love need let's lets just also then now and or but with without of in on onto
    into to for from by at as up out so all some any every everything too very really quickly quick nice good
    great final finally first make do get go give have ok okay thanks thank hi hey there here video videos clip
    clips footage recording recordings lecture lectures movie film file files one version mp4 1080p hd 4k
    high quality result output be is are was done ready when after before using use via new
    """
_FILLER = frozenset(_FILLER_WORDS.split())
_CLAUSE_SPLIT = re.compile(
    r"[,;.!?\n]+|\b(?:and then|after that|then|and|also|plus|finally|but)\b", re.IGNORECASE
)


@dataclass
class _Hit:
    start: int
    end: int
    operation: Operation | None = None
    refusal: Refusal | None = None
    export: bool = False
    help: bool = False


Builder = Callable[[re.Match[str], str], "_Hit | None"]


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern[str]
    build: Builder


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern.replace("{T}", DURATION), re.IGNORECASE)


def _ms(text: str | None) -> int | None:
    return None if text is None else parse_duration(text)


_QUOTE = re.compile(r"\"([^\"]+)\"|“([^”]+)”|‘([^’]+)’|(?<!\w)'([^']+)'(?!\w)")


def _quote_after(text: str, pos: int) -> tuple[str, int] | None:
    """The quoted text right after ``pos`` (allowing a linking word or colon), and where it ends."""
    lead = re.compile(
        r"\s*(?:(?:saying|that\s+says|which\s+says|reading|with\s+(?:the\s+)?(?:text|words?)|called|titled|"
        r"named|of|:)\s*)?",
        re.IGNORECASE,
    ).match(text, pos)
    start = lead.end() if lead else pos
    m = _QUOTE.match(text, start)
    if m is None:
        colon = re.compile(r"\s*:\s*([^,;.!?\n]+)").match(text, pos)
        if colon:
            return colon.group(1).strip(), colon.end()
        return None
    value = next(g for g in m.groups() if g is not None)
    return value.strip(), m.end()


_POSITION_WORDS = {
    "top": "top",
    "bottom": "bottom",
    "center": "center",
    "centre": "center",
    "middle": "center",
}
_TEXT_MODIFIERS: list[tuple[str, re.Pattern[str]]] = [
    ("position", _rx(r"\s*(?:at|in|on)\s+the\s+(?P<v>top|bottom|center|centre|middle)(?:\s+of\s+the\s+(?:screen|frame|video))?")),
    ("position", _rx(r"\s*(?P<v>top|bottom|center|centre|middle)[\s-]aligned")),
    ("range", _rx(r"\s*(?:from|between)\s+(?P<a>{T})\s*(?:-|–|—|to|and|until|till)\s*(?P<b>{T})")),
    ("edge", _rx(r"\s*(?:at|in)\s+the\s+(?P<v>start|beginning|end|ending)(?:\s+of\s+the\s+(?:video|clip))?")),
    ("whole", _rx(r"\s*(?:for|throughout|during|over)\s+the\s+(?:whole|entire|full)\s+(?:video|clip|thing|time)")),
    ("at", _rx(r"\s*(?:at|starting\s+at|from)\s+(?P<v>{T})")),
    ("for", _rx(r"\s*for\s+(?P<v>{T})")),
]  # fmt: skip


def _text_modifiers(text: str, pos: int) -> tuple[dict[str, Any], int]:
    found: dict[str, Any] = {}
    while True:
        for kind, pattern in _TEXT_MODIFIERS:
            m = pattern.match(text, pos)
            if m is None or kind in found:
                continue
            if kind == "position":
                found["position"] = _POSITION_WORDS[m.group("v").lower()]
            elif kind == "range":
                a, b = _ms(m.group("a")), _ms(m.group("b"))
                if a is None or b is None:
                    continue
                found["start_ms"], found["end_ms"] = a, b
            elif kind == "edge":
                found["edge"] = "end" if m.group("v").lower().startswith("end") else "start"
            elif kind == "whole":
                found["whole"] = True
            elif kind == "at":
                v = _ms(m.group("v"))
                if v is None:
                    continue
                found["start_ms"] = v
            elif kind == "for":
                v = _ms(m.group("v"))
                if v is None:
                    continue
                found["duration_ms"] = v
            pos = m.end()
            break
        else:
            return found, pos


def _op(m: re.Match[str], name: str, args: dict[str, Any], phase: int, end: int | None = None) -> _Hit:
    return _Hit(m.start(), end if end is not None else m.end(), Operation(name, args, phase, m.start()))


# Phases: the order operations run in whatever order they were asked for.
P_UNDO, P_TRIM, P_SILENCE, P_HIGHLIGHT, P_CARD, P_SEGMENTS, P_CHAPTERS, P_CAPTIONS = (
    0,
    10,
    20,
    30,
    40,
    50,
    60,
    70,
)
P_TEXT, P_SUMMARY, P_AUDIO, P_PLATFORM, P_FADES, P_LOUDNESS, P_DESCRIBE = 80, 90, 100, 110, 120, 130, 140


def _b_undo(m: re.Match[str], text: str) -> _Hit:
    return _op(m, "undo", {}, P_UNDO)


def _b_keep(m: re.Match[str], text: str) -> _Hit | None:
    a, b = _ms(m.group("a")), _ms(m.group("b"))
    if a is None or b is None:
        return None
    return _op(m, "trim_video", {"mode": "keep", "start_ms": a, "end_ms": b}, P_TRIM)


def _b_cut_range(m: re.Match[str], text: str) -> _Hit | None:
    a, b = _ms(m.group("a")), _ms(m.group("b"))
    if a is None or b is None:
        return None
    return _op(m, "cut_segment", {"start_ms": a, "end_ms": b}, P_TRIM)


def _b_first(m: re.Match[str], text: str) -> _Hit | None:
    d = _ms(m.group("d"))
    return None if d is None else _op(m, "trim_video", {"mode": "start", "duration_ms": d}, P_TRIM)


def _b_last(m: re.Match[str], text: str) -> _Hit | None:
    d = _ms(m.group("d"))
    return None if d is None else _op(m, "trim_video", {"mode": "end", "duration_ms": d}, P_TRIM)


def _b_start_at(m: re.Match[str], text: str) -> _Hit | None:
    d = _ms(m.group("d"))
    return None if d is None else _op(m, "trim_video", {"mode": "start", "duration_ms": d}, P_TRIM)


def _b_end_at(m: re.Match[str], text: str) -> _Hit | None:
    d = _ms(m.group("d"))
    return None if d is None else _op(m, "trim_video", {"mode": "length", "duration_ms": d}, P_TRIM)


def _b_intro(m: re.Match[str], text: str) -> _Hit:
    args: dict[str, Any] = {"mode": "outro" if m.group("which").lower().startswith("outro") else "intro"}
    d = _ms(m.group("d"))
    if d is not None:
        args["duration_ms"] = d
    return _op(m, "trim_video", args, P_TRIM)


def _b_length(m: re.Match[str], text: str) -> _Hit | None:
    d = _ms(m.group("d") or m.group("d2"))
    return None if d is None else _op(m, "trim_video", {"mode": "length", "duration_ms": d}, P_TRIM)


_SILENCE_MIN = _rx(
    r"(?:longer\s+than|more\s+than|over|above|of\s+at\s+least|at\s+least|exceeding|>\s*)\s*(?P<d>{T})"
)
_SILENCE_DB = _rx(
    r"(?:below|under|quieter\s+than|threshold(?:\s+of)?|at|<)?\s*(?P<db>[-−]\s?\d+(?:\.\d+)?)\s*db\b"
)
_SILENCE_PAD = _rx(
    r"(?:with|keep(?:ing)?|leave|leaving)?\s*(?:a\s+)?(?P<d>{T})\s+(?:of\s+)?(?:padding|pad|margin|breathing\s+room)"
)


def _b_silences(m: re.Match[str], text: str) -> _Hit:
    args: dict[str, Any] = {"noise_db": -35.0, "min_silence_ms": 600, "padding_ms": 150}
    end = m.end()
    # Parameters follow the phrase ("… longer than 1.5 seconds below -40 dB"); read them in order.
    pos = end
    while True:
        gap = re.compile(r"\s*(?:,\s*)?(?:that\s+are\s+|which\s+are\s+|and\s+|or\s+|\(\s*|\)\s*)*").match(
            text, pos
        )
        here = gap.end() if gap else pos
        for key, pattern in (("min", _SILENCE_MIN), ("db", _SILENCE_DB), ("pad", _SILENCE_PAD)):
            pm = pattern.match(text, here)
            if pm is None:
                continue
            if key == "min":
                value = _ms(pm.group("d"))
                if value is None:
                    continue
                args["min_silence_ms"] = max(100, value)
            elif key == "db":
                args["noise_db"] = float(pm.group("db").replace("−", "-").replace(" ", ""))
            else:
                value = _ms(pm.group("d"))
                if value is None:
                    continue
                args["padding_ms"] = max(0, value)
            pos = end = pm.end()
            break
        else:
            break
    return _op(m, "cut_silences", args, P_SILENCE, end)


def _b_highlight(m: re.Match[str], text: str) -> _Hit:
    d = _ms(m.group("d") or m.group("d2"))
    return _op(m, "make_highlight_reel", {"target_ms": d or 60_000}, P_HIGHLIGHT)


_COUNT = r"\d+|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"


def _count(word: str | None) -> int | None:
    if not word:
        return None
    return int(_number(word))


def _range_args(m: re.Match[str]) -> dict[str, Any] | None:
    """Segment length from "3-5 minute", "2 minute" or "4 parts"; None when none was given."""
    groups = m.groupdict()
    lo, hi, unit = groups.get("lo"), groups.get("hi"), groups.get("unit")
    if lo and hi and unit:
        a = parse_duration(f"{lo} {unit}")
        b = parse_duration(f"{hi} {unit}")
        if a and b:
            a, b = sorted((a, b))
            return {"min_ms": a, "max_ms": b, "target_ms": (a + b) // 2}
    single = groups.get("len")
    if single:
        t = parse_duration(single)
        if t:
            return {"min_ms": round(t * 0.75), "max_ms": round(t * 1.25), "target_ms": t}
    count = _count(groups.get("count"))
    if count:
        return {"count": count}
    return None


def _b_segments(m: re.Match[str], text: str) -> _Hit:
    args = _range_args(m) or {"min_ms": 180_000, "max_ms": 300_000, "target_ms": 240_000}
    return _op(m, "split_segments", args, P_SEGMENTS)


def _b_segments_bare(m: re.Match[str], text: str) -> _Hit | None:
    args = _range_args(m)
    return None if args is None else _op(m, "split_segments", args, P_SEGMENTS)


def _b_chapters(m: re.Match[str], text: str) -> _Hit:
    args: dict[str, Any] = {"show_titles": bool(m.group("onscreen"))}
    count = _count(m.group("count"))
    if count:
        args["count"] = count
    return _op(m, "generate_chapters", args, P_CHAPTERS)


def _b_captions_off(m: re.Match[str], text: str) -> _Hit:
    return _op(m, "remove_captions", {}, P_CAPTIONS)


_SUBTITLE_FILE = re.compile(r"[\w\-. ]+?\.(?:srt|vtt)\b", re.IGNORECASE)


def _b_captions(m: re.Match[str], text: str) -> _Hit:
    args: dict[str, Any] = {}
    end = m.end()
    src = re.compile(
        r"\s+(?:from|using|with|in)\s+(?:the\s+)?(?:file\s+)?(" + _SUBTITLE_FILE.pattern + ")", re.IGNORECASE
    ).match(text, end)
    if src:
        args["source"] = src.group(1).strip()
        end = src.end()
    return _op(m, "add_captions", args, P_CAPTIONS, end)


def _b_title_card(m: re.Match[str], text: str) -> _Hit:
    args: dict[str, Any] = {}
    end = m.end()
    quoted = _quote_after(text, end)
    if quoted:
        args["text"], end = quoted
    mods, end2 = _text_modifiers(text, end)
    if "duration_ms" in mods:
        args["duration_ms"] = mods["duration_ms"]
        end = end2
    return _op(m, "add_title_card", args, P_CARD, end)


def _b_summary(m: re.Match[str], text: str) -> _Hit:
    args: dict[str, Any] = {}
    end = m.end()
    quoted = _quote_after(text, end)
    if quoted:
        args["text"], end = quoted
    mods, end2 = _text_modifiers(text, end)
    if "duration_ms" in mods or "edge" in mods:
        if "duration_ms" in mods:
            args["duration_ms"] = mods["duration_ms"]
        end = end2
    return _op(m, "add_summary_slide", args, P_SUMMARY, end)


def _b_text(m: re.Match[str], text: str) -> _Hit | None:
    kind = m.group("kind").lower()
    role = "title" if kind in ("title", "heading", "headline") else "overlay"
    quoted = _quote_after(text, m.end())
    args: dict[str, Any] = {"role": role}
    end = m.end()
    if quoted:
        args["text"], end = quoted
    elif role != "title":
        return None  # "add text" with no text: leave it to the unrecognised report
    mods, end = _text_modifiers(text, end)
    args.update(mods)
    return _op(m, "add_text", args, P_TEXT, end)


_ANY_FILE = r"[\w\-.]+\.(?:mp4|mov|avi|webm|mkv|jpe?g|png|gif|webp|mp3|wav|m4a|aac|ogg|flac|srt|vtt)\b"
_PERCENT = re.compile(r"(?P<v>\d{1,3}(?:\.\d+)?)\s*(?:%|percent\b)", re.IGNORECASE)
_AUDIO_FILE = re.compile(r"[\w\-.]+\.(?:mp3|wav|m4a|aac|ogg|flac)\b", re.IGNORECASE)


def _b_music(m: re.Match[str], text: str) -> _Hit:
    args: dict[str, Any] = {}
    end = m.end()
    tail = re.compile(
        r"(?:\s*(?:\(|,)?\s*(?:from|using|with)?\s*(?P<file>" + _AUDIO_FILE.pattern + r")\)?)?"
        r"(?:\s*(?:at|with|to|on|,)?\s*(?:a\s+)?(?:low\s+)?(?:volume\s+(?:of\s+|at\s+)?)?(?P<v>\d{1,3}(?:\.\d+)?)\s*(?:%|percent\b)"
        r"(?:\s+(?:volume|loudness))?\)?)?",
        re.IGNORECASE,
    ).match(text, end)
    if tail and tail.group("v"):
        args["volume"] = min(100.0, float(tail.group("v"))) / 100
        end = max(end, tail.end())
    if tail and tail.group("file"):
        args["file"] = tail.group("file")
        end = max(end, tail.end())
    lead_file = _AUDIO_FILE.search(text, m.start(), m.end()) or _AUDIO_FILE.search(
        text, max(0, m.start() - 60), m.start()
    )
    if "file" not in args and lead_file:
        args["file"] = lead_file.group(0)
    if "volume" not in args and re.search(r"\b(?:quiet|soft|low|subtle)\b", text[m.start() : end + 20], re.I):
        args["volume"] = 0.15
    return _op(m, "add_background_music", args, P_AUDIO, end)


def _b_music_volume(m: re.Match[str], text: str) -> _Hit:
    return _op(
        m,
        "add_background_music",
        {"volume": min(100.0, float(m.group("v"))) / 100, "volume_only": True},
        P_AUDIO,
    )


def _b_music_off(m: re.Match[str], text: str) -> _Hit:
    return _op(m, "remove_background_music", {}, P_AUDIO)


def _b_mute(m: re.Match[str], text: str) -> _Hit:
    v = m.groupdict().get("v")
    return _op(m, "set_original_volume", {"volume": (min(100.0, float(v)) / 100) if v else 0.0}, P_AUDIO)


_PLATFORMS = {
    "youtube": "youtube", "landscape": "youtube", "horizontal": "youtube", "16:9": "youtube",
    "widescreen": "youtube", "shorts": "shorts", "short": "shorts", "youtube short": "shorts",
    "youtube shorts": "shorts", "tiktok": "shorts", "tik tok": "shorts", "reels": "shorts", "reel": "shorts",
    "instagram reels": "shorts", "instagram reel": "shorts", "instagram story": "shorts",
    "instagram stories": "shorts", "vertical": "shorts", "portrait": "shorts", "9:16": "shorts",
    "square": "square", "1:1": "square", "instagram": "square", "instagram post": "square",
    "instagram feed": "square",
}  # fmt: skip


def _b_platform(m: re.Match[str], text: str) -> _Hit:
    word = re.sub(r"\s+", " ", (m.group("p") or m.group("p2") or "youtube").lower()).replace(
        "tik tok", "tiktok"
    )
    return _op(m, "set_platform", {"platform": _PLATFORMS.get(word, "youtube")}, P_PLATFORM)


def _b_fades(m: re.Match[str], text: str) -> _Hit:
    which = (m.group("dir") or "").lower()
    d = _ms(m.group("d")) or 1000
    fade_in = "in" in which or not which or "both" in which
    fade_out = "out" in which or not which or "both" in which
    args = {"fade_in_ms": d if fade_in else 0, "fade_out_ms": d if fade_out else 0}
    return _op(m, "add_fades", args, P_FADES)


def _b_loudnorm(m: re.Match[str], text: str) -> _Hit:
    return _op(m, "normalize_audio", {}, P_LOUDNESS)


def _b_describe(m: re.Match[str], text: str) -> _Hit:
    return _op(m, "describe_timeline", {}, P_DESCRIBE)


def _b_export(m: re.Match[str], text: str) -> _Hit:
    return _Hit(m.start(), m.end(), export=True)


def _b_help(m: re.Match[str], text: str) -> _Hit:
    return _Hit(m.start(), m.end(), help=True)


def _refuse(reason: str) -> Builder:
    def build(m: re.Match[str], text: str) -> _Hit:
        return _Hit(m.start(), m.end(), refusal=Refusal(m.group(0).strip(), reason))

    return build


_VERB_CUT = r"(?:cut|remove|delete|drop|skip|trim|chop|strip|get\s+rid\s+of|eliminate|take\s+out|lose)"
_TO = r"(?:-|–|—|to|until|till|through|and)"

# The table. Order is priority: an earlier rule's match claims its words, so a later rule
# cannot read them again ("add chapter titles" is chapters, not a text overlay).
RULES: tuple[Rule, ...] = (
    # Things we will not pretend to do.
    Rule(
        "refuse_clicks",
        _rx(
            r"\b(?:highlight(?:ing|s)?|circle|emphasi[sz]e|show)\s+(?:the\s+|all\s+|mouse\s+)*"
            r"(?:clicks?|cursor|mouse(?:\s+(?:clicks?|pointer|movements?))?|pointer)\b|"
            r"\bclick\s+(?:highlights?|effects?|animations?)\b|\bzoom\s+(?:in\s+)?on\s+(?:clicks?|the\s+cursor)\b"
        ),
        _refuse(
            "highlighting clicks needs the click and cursor positions of the recording, and a plain video "
            "file does not carry them"
        ),
    ),
    Rule(
        "refuse_background",
        _rx(
            r"\b(?:remove|replace|blur|change|swap|erase|delete)\s+(?:the\s+|my\s+)?background\b"
            r"(?!\s+(?:music|noise|audio|sound|track|song))|\bgreen\s*screen\b|\bchroma[\s-]?key\w*"
        ),
        _refuse(
            "separating a person from the background needs a segmentation model, which the offline engine "
            "does not have"
        ),
    ),
    Rule(
        "refuse_translate",
        _rx(r"\b(?:translat\w*|dub(?:bing|bed)?)\b(?:\s+(?:it|this|the\s+\w+))?(?:\s+(?:in)?to\s+\w+)?"),
        _refuse(
            "translation needs a language model or an online service; upload a translated .srt or .vtt "
            'file and say "add captions" instead'
        ),
    ),
    Rule(
        "refuse_voice",
        _rx(r"\b(?:add\s+(?:an?\s+)?)?(?:voice[\s-]?over|narration|text[\s-]to[\s-]speech|tts|ai\s+voice)\b"),
        _refuse(
            "a voice-over needs speech synthesis, which the offline engine does not have; record one, "
            "upload it, and ask for it as background music at 100%"
        ),
    ),
    Rule(
        "refuse_noise",
        _rx(
            r"\b(?:remove|reduce|clean\s+up|cut|filter\s+out)\s+(?:the\s+)?(?:background\s+)?"
            r"(?:noise|hiss|hum|echo)\b|\bdenois\w*"
        ),
        _refuse("noise reduction is not part of the offline engine yet"),
    ),
    Rule(
        "refuse_filler",
        _rx(
            r"\b(?:remove|cut|delete|drop)\s+(?:the\s+|all\s+)?(?:filler\s+words?|ums?\b(?:\s+and\s+uhs?)?|uhs?\b)"
        ),
        _refuse(
            'removing filler words needs word-level timing from a transcript; "cut out silences" '
            "removes the pauses around them"
        ),
    ),
    Rule(
        "refuse_visual",
        _rx(
            r"\b(?:colou?r[\s-]?(?:grade|grading|correct\w*)|stabili[sz]\w*|slow[\s-]?mo\w*|"
            r"speed\s+(?:it\s+|this\s+|the\s+\w+\s+)?up(?:\s+\d+(?:\.\d+)?x)?|slow\s+(?:it\s+|this\s+)?down|"
            r"blur(?:\s+(?:the\s+)?faces?)?|(?:add\s+(?:an?\s+|some\s+)?)?(?:transitions?|stickers?|emojis?)"
            r"(?:\s+between\s+(?:the\s+)?(?:clips|cuts|scenes|segments|shots))?|"
            r"(?:generate|create)\s+(?:an?\s+)?(?:ai\s+)?(?:image|avatar|animation|b-roll))\b"
        ),
        _refuse("that visual effect is not part of the offline engine"),
    ),
    Rule(
        "undo",
        _rx(
            r"\b(?:undo|revert|roll\s*back)\b(?:\s+(?:the\s+|my\s+|that\s+)?(?:last\s+|previous\s+|latest\s+)?"
            r"(?:edit|change|step|operation|action|one|that))?|\bgo\s+back\s+to\s+the\s+previous\s+version\b"
        ),
        _b_undo,
    ),
    Rule(
        "segments",
        _rx(
            r"\b(?:break|split|cut|divide|chop|chunk|separate|turn|slice)\s+(?:up\s+)?(?:this|the|my|it|them)?\s*"
            r"(?:(?:lecture|video|recording|talk|lesson|course|tutorial|clip|webinar|presentation|footage)\s+)?"
            r"(?:up\s+)?(?:into|in)\s+(?:(?:short|shorter|small|smaller|bite[\s-]sized|equal)\s+)*"
            r"(?:(?P<lo>\d+(?:\.\d+)?)\s*(?:-|–|to)\s*(?P<hi>\d+(?:\.\d+)?)[\s-]*(?P<unit>minutes?|mins?|seconds?|secs?)"
            r"|(?P<len>(?:\d+(?:\.\d+)?|a|one|two|three|four|five|ten)[\s-]*(?:minutes?|mins?|seconds?|secs?))"
            r"|(?P<count>"
            + _COUNT
            + r"))?[\s-]*(?:long\s+)?(?:(?:short|learning|lesson|study|teaching|bite[\s-]sized)\s+)*"
            r"(?:segments?|parts?|chunks?|sections?|pieces?|lessons?|modules?|episodes?|clips?)\b"
        ),
        _b_segments,
    ),
    Rule(
        "segments_bare",
        _rx(
            r"(?:(?P<lo>\d+(?:\.\d+)?)\s*(?:-|–|to)\s*(?P<hi>\d+(?:\.\d+)?)[\s-]*(?P<unit>minutes?|mins?|seconds?|secs?)"
            r"|(?P<len>(?:\d+(?:\.\d+)?|a|one|two|three|four|five|ten)[\s-]*(?:minutes?|mins?|seconds?|secs?))"
            r")[\s-]*(?:long\s+)?(?:(?:short|learning|lesson|study)\s+)*"
            r"(?:segments|chunks|lessons|modules|parts)\b"
        ),
        _b_segments_bare,
    ),
    Rule(
        "keep",
        _rx(
            r"\b(?:keep|use|only\s+keep|trim\s+(?:it\s+|this\s+|the\s+(?:video|clip)\s+)?(?:down\s+)?to|crop\s+to|"
            r"cut\s+(?:it\s+|this\s+|the\s+(?:video|clip)\s+)?(?:down\s+)?to)\s+(?:only\s+)?(?:the\s+part\s+)?"
            r"(?:from\s+|between\s+)?(?P<a>{T})\s*" + _TO + r"\s*(?P<b>{T})"
        ),
        _b_keep,
    ),
    Rule(
        "cut_range",
        _rx(
            r"\b" + _VERB_CUT + r"\s+(?:out\s+)?(?:everything\s+|anything\s+|all\s+)?(?:the\s+)?"
            r"(?:part|section|bit|portion|segment|stretch)?\s*"
            r"(?:from\s+|between\s+)?(?P<a>{T})\s*" + _TO + r"\s*(?P<b>{T})"
        ),
        _b_cut_range,
    ),
    Rule(
        "intro",
        _rx(
            r"\b" + _VERB_CUT + r"\s+(?:off\s+|out\s+)?(?:the\s+|my\s+)?(?:boring\s+|long\s+|slow\s+)?"
            r"(?P<which>intro(?:duction)?|outro|ending)\b"
            r"(?:\s*\(?\s*(?:the\s+)?(?:first|last)?\s*(?P<d>{T})\s*\)?)?"
        ),
        _b_intro,
    ),
    Rule(
        "first",
        _rx(r"\b" + _VERB_CUT + r"\s+(?:off\s+|out\s+)?(?:the\s+)?(?:first|opening|initial)\s+(?P<d>{T})"),
        _b_first,
    ),
    Rule(
        "last",
        _rx(r"\b" + _VERB_CUT + r"\s+(?:off\s+|out\s+)?(?:the\s+)?(?:last|final|closing)\s+(?P<d>{T})"),
        _b_last,
    ),
    Rule(
        "length",
        _rx(
            r"\b(?:trim|cut|shorten|crop)\s+(?:it\s+|this\s+|the\s+(?:video|clip)\s+)?(?:down\s+)?to\s+(?:the\s+first\s+)?"
            r"(?P<d>{T})(?:\s+long)?|\bmake\s+(?:it|this|the\s+(?:video|clip))\s+(?P<d2>{T})\s+long"
        ),
        _b_length,
    ),
    Rule(
        "start_at",
        _rx(r"\b(?:start|begin)\s+(?:the\s+video\s+|it\s+|the\s+clip\s+)?(?:at|from)\s+(?P<d>{T})"),
        _b_start_at,
    ),
    Rule(
        "end_at",
        _rx(r"\b(?:end|stop|finish)\s+(?:the\s+video\s+|it\s+|the\s+clip\s+)?(?:at|after)\s+(?P<d>{T})"),
        _b_end_at,
    ),
    Rule(
        "silences",
        _rx(
            r"\b(?:"
            + _VERB_CUT
            + r"|tighten|jump[\s-]?cut)\s+(?:out\s+|up\s+)?(?:all\s+)?(?:of\s+)?(?:the\s+)?"
            r"(?:long\s+|awkward\s+|dead\s+|silent\s+|quiet\s+|empty\s+)*"
            r"(?:silen(?:ces?|t\s+(?:parts?|bits?|gaps?|sections?|moments?|stretches?))|pauses?|"
            r"dead\s+air|gaps?|quiet\s+(?:parts?|bits?))\b|\bjump[\s-]?cuts?\b"
        ),
        _b_silences,
    ),
    Rule(
        "highlight",
        _rx(
            r"(?:\b(?:as|into|to)\s+)?(?:\b(?:an?|the)\s+)?(?:(?P<d>{T})[\s-]*(?:long\s+)?)?"
            r"\b(?:highlights?(?:\s+(?:reel|video|clip|cut|montage|version))?|best[\s-]of|"
            r"best\s+(?:parts|moments|bits)|supercut|teaser|trailer|sizzle\s+reel)\b"
            r"(?:\s+(?:of|lasting|that\s+is|that's)\s+(?P<d2>{T})(?:\s+long)?)?"
        ),
        _b_highlight,
    ),
    Rule(
        "chapters",
        _rx(
            r"\b(?:(?:generate|create|make|add|detect|find|give\s+me|write|insert|build|mark|show|put|include)\s+)?"
            r"(?:(?P<count>" + _COUNT + r")\s+)?(?:the\s+|some\s+|youtube\s+|video\s+)*"
            r"(?:(?P<onscreen>chapter\s+(?:titles?|headings?|cards?|names?|labels?)(?:\s+on[\s-]screen)?)|"
            r"chapters?(?:\s+(?:list|markers?|list))?|timestamps)\b"
            r"(?:\s+(?:with|and|including)\s+(?:the\s+)?(?:timestamps|titles|names)"
            r"(?:\s+and\s+(?:timestamps|titles|names))?)?"
            r"(?:\s+(?:for|to)\s+(?:my\s+|the\s+|this\s+)?(?:youtube\s+)?(?:video|description|youtube))?"
        ),
        _b_chapters,
    ),
    Rule(
        "captions_off",
        _rx(
            r"\b(?:remove|delete|drop|turn\s+off|disable|hide)\s+(?:the\s+|all\s+)?(?:captions?|subtitles?|subs)\b"
        ),
        _b_captions_off,
    ),
    Rule(
        "captions",
        _rx(
            r"\b(?:(?:add|burn(?:\s+in)?|generate|create|include|put|show|turn\s+on|enable|make)\s+)?"
            r"(?:some\s+|the\s+)?(?:closed\s+|auto(?:matic)?[\s-]*|english\s+)?(?:captions?|subtitles?|subs)\b"
            r"(?:\s+(?:to|on)\s+(?:it|this|the\s+video))?|\bcaption\s+(?:it|this|the\s+video)\b|"
            r"\btranscri(?:be|ption)\b(?:\s+(?:it|this|the\s+video))?"
        ),
        _b_captions,
    ),
    Rule(
        "title_card",
        _rx(
            r"\b(?:add|insert|put|create|make|include|start\s+with|open\s+with|begin\s+with)\s+"
            r"(?:an?\s+|the\s+)?(?:opening\s+|intro\s+)?(?:title|intro)\s+(?:card|slide|screen)"
            r"(?:\s+at\s+the\s+(?:start|beginning))?"
        ),
        _b_title_card,
    ),
    Rule(
        "summary",
        _rx(
            r"\b(?:(?:add|insert|put|create|make|include|end\s+with|finish\s+with|close\s+with)\s+)?"
            r"(?:an?\s+|the\s+)?(?:closing\s+|final\s+)?(?:summary|recap|closing|end(?:ing)?|outro)\s+"
            r"(?:slide|card|screen)(?:\s+at\s+the\s+end(?:\s+of\s+the\s+video)?)?"
        ),
        _b_summary,
    ),
    Rule(
        "text",
        _rx(
            r"\b(?:add|put|insert|place|show|overlay|display|write|include)\s+(?:an?\s+|the\s+|some\s+)?"
            r"(?:on[\s-]screen\s+)?(?P<kind>title(?!\s+(?:card|slide|screen))|heading|headline|text(?:\s+overlay)?|"
            r"overlay|label|lower[\s-]third|banner|watermark|caption(?=\s*[\"“‘']))"
        ),
        _b_text,
    ),
    Rule(
        "music_off",
        _rx(
            r"\b(?:remove|delete|drop|mute|turn\s+off|stop)\s+(?:the\s+)?(?:background\s+)?(?:music|bgm|soundtrack)\b"
        ),
        _b_music_off,
    ),
    Rule(
        "music_volume",
        _rx(
            r"\b(?:set|lower|raise|turn\s+(?:down|up)|change|put|make)\s+(?:the\s+)?(?:background\s+)?"
            r"(?:music|bgm)(?:'s)?(?:\s+volume)?\s+(?:to|at)\s+(?P<v>\d{1,3}(?:\.\d+)?)\s*(?:%|percent\b)"
        ),
        _b_music_volume,
    ),
    Rule(
        "mute",
        _rx(
            r"\b(?:mute|silence|remove|drop|turn\s+off)\s+(?:the\s+)?(?:original|video's|source|clip's|camera)\s+"
            r"(?:audio|sound)\b|\b(?:original|source)\s+(?:audio|sound)\s+(?:volume\s+)?(?:to|at)\s+"
            r"(?P<v>\d{1,3}(?:\.\d+)?)\s*(?:%|percent\b)"
        ),
        _b_mute,
    ),
    Rule(
        "music",
        _rx(
            r"\b(?:(?:add|put|use|include|play|lay|set|put\s+in)\s+)?"
            r"(?:[\w\-.]+\.(?:mp3|wav|m4a|aac|ogg|flac)\s+(?:as|for)\s+(?:the\s+)?)?(?:some\s+|a\s+|the\s+|an?\s+)?"
            r"(?:(?:quiet|soft|low|subtle|chill|upbeat)\s+)?(?:background\s+(?:music|track|audio|song|tune)|bgm|"
            r"music(?:\s+track)?|soundtrack)\b"
        ),
        _b_music,
    ),
    Rule(
        "platform",
        _rx(
            r"\b(?:(?:format|reformat|resize|crop|convert|optimi[sz]e|prepare|adapt|make|turn)\s+"
            r"(?:it\s+|this\s+|the\s+video\s+)?)?"
            r"(?:for|to|as|into|in)\s+(?:an?\s+)?(?P<p>youtube\s+shorts?|shorts?|tik\s*tok|instagram\s+reels?|reels?|"
            r"instagram\s+(?:stor(?:y|ies)|post|feed)|youtube|instagram)\b(?:\s+(?:format|size|aspect(?:\s+ratio)?))?|"
            r"\b(?P<p2>vertical|portrait|landscape|horizontal|widescreen|square|9:16|16:9|1:1)\b"
            r"(?:\s+(?:format|video|aspect(?:\s+ratio)?|crop|version))?"
        ),
        _b_platform,
    ),
    Rule(
        "fades",
        _rx(
            r"\b(?:add\s+(?:a\s+)?)?fade[sd]?(?:[\s-]+(?P<dir>in\s+and\s+(?:fade\s+)?out|in\s*(?:/|&)\s*out|in|out|both))?\b"
            r"(?:\s+(?:at\s+the\s+(?:start|beginning|end)(?:\s+and\s+(?:the\s+)?end)?))?"
            r"(?:\s+(?:over|of|for|lasting)\s+(?P<d>{T}))?"
        ),
        _b_fades,
    ),
    Rule(
        "loudnorm",
        _rx(
            r"\b(?:normali[sz]e|level|balance|even\s+out|fix)\s+(?:the\s+)?(?:audio|sound|volume|loudness|levels?)"
            r"(?:\s+levels?)?\b|\bloudness\s+normali[sz]ation\b|\bnormali[sz]e\b|\bloudnorm\b"
        ),
        _b_loudnorm,
    ),
    Rule(
        "describe",
        _rx(
            r"\b(?:show|describe|list|what(?:'s|\s+is)\s+(?:on|in))\s+(?:me\s+)?(?:the\s+|my\s+)?"
            r"(?:timeline|tracks|current\s+edit|project)\b|^\s*status\s*\??\s*$"
        ),
        _b_describe,
    ),
    Rule(
        "export",
        _rx(
            r"\b(?:export|render|download|save)\b(?:\s+(?:it|this|the\s+(?:video|result|file)))?"
            r"(?:\s+(?:as|to|in|into)\s+(?:an?\s+)?(?:1080p\s+|hd\s+|high[\s-]quality\s+)?mp4)?|"
            r"\bsend\s+me\s+the\s+(?:video|file|result)\b"
        ),
        _b_export,
    ),
    Rule(
        "help",
        _rx(r"^\s*(?:help|hi|hello|hey|what\s+can\s+you\s+do|what\s+are\s+your\s+capabilities)\b"),
        _b_help,
    ),
)


def plan(instruction: str, state: EditState | None = None) -> Plan:
    """Parse one instruction into operations, refusals and leftovers. Pure: no I/O."""
    text = instruction.strip()
    claimed: list[tuple[int, int]] = []
    hits: list[_Hit] = []

    # Quoted text is content ('add text "Chapter 2"'), never an instruction of its own: no
    # rule may match inside it, though a rule's arguments may take it.
    quoted = [m.span() for m in _QUOTE.finditer(text)]

    def free(a: int, b: int) -> bool:
        return all(b <= x or a >= y for x, y in claimed)

    def outside_quotes(a: int, b: int) -> bool:
        return all(b <= x or a >= y for x, y in quoted)

    for rule in RULES:
        for m in rule.pattern.finditer(text):
            if m.end() <= m.start() or not free(*m.span()) or not outside_quotes(*m.span()):
                continue
            hit = rule.build(m, text)
            if hit is None:
                continue
            if not free(hit.start, hit.end):
                hit.end = m.end()
            claimed.append((hit.start, hit.end))
            hits.append(hit)

    # File names are references, not requests ("add song.mp3 as background music").
    names = [re.escape(ref.filename) for ref in state.media.values()] if state is not None else []
    for fm in re.finditer("|".join([*names, _ANY_FILE]), text, re.IGNORECASE):
        if free(*fm.span()):
            claimed.append(fm.span())
    claimed.extend(span for span in quoted if free(*span))

    operations = sorted((h.operation for h in hits if h.operation), key=lambda o: (o.phase, o.position))
    # Learning segments already mark one chapter per segment; a chapter request beside them
    # only adds the titles.
    if any(o.name == "split_segments" for o in operations):
        operations = [
            Operation(o.name, {**o.args, "from_segments": True}, o.phase, o.position)
            if o.name == "generate_chapters"
            else o
            for o in operations
        ]
    return Plan(
        instruction=text,
        operations=tuple(_dedupe(operations)),
        refusals=tuple(h.refusal for h in sorted(hits, key=lambda h: h.start) if h.refusal),
        unrecognised=tuple(_leftovers(text, claimed)),
        export_requested=any(h.export for h in hits),
        help_requested=any(h.help for h in hits),
    )


def _dedupe(operations: Sequence[Operation]) -> list[Operation]:
    """Drop exact repeats ("add captions … with captions"), keep distinct ones (two overlays)."""
    seen: set[str] = set()
    out: list[Operation] = []
    for op in operations:
        key = op.name + repr(sorted(op.args.items()))
        if key in seen:
            continue
        seen.add(key)
        out.append(op)
    return out


def _leftovers(text: str, claimed: Sequence[tuple[int, int]]) -> list[str]:
    chars = list(text)
    for a, b in claimed:
        for i in range(a, b):
            chars[i] = "\n"
    out: list[str] = []
    for fragment in _CLAUSE_SPLIT.split("".join(chars)):
        words = re.findall(r"[\w'’:%-]+", fragment.lower())
        meaningful = [
            w for w in words if w.replace("’", "'") not in _FILLER and not re.fullmatch(r"[\d:.%-]+", w)
        ]
        if meaningful:
            out.append(" ".join(fragment.split()))
    return out


# -- state and analysis -------------------------------------------------------------------


@dataclass(frozen=True)
class MediaRef:
    """One media file of the session, as the interpreter sees it."""

    media_id: str
    filename: str
    path: Path
    info: MediaInfo

    @property
    def kind(self) -> str:
        return self.info.kind


@dataclass
class EditState:
    """What an instruction works on. ``outputs`` and ``private`` are merged back by the caller.

    ``outputs`` holds public results beside the draft (``youtube_chapters``, ``canvas_config``);
    ``private`` holds the undo ``history`` and the caption cues by video id (``captions``).
    """

    draft: dict[str, Any]
    media: dict[str, MediaRef]
    title: str = "project"
    outputs: dict[str, Any] = field(default_factory=dict)
    private: dict[str, Any] = field(default_factory=dict)


class Analyzer(Protocol):
    """The slow facts about media; the app's implementation caches them per session."""

    async def silences(self, media: MediaRef, *, noise_db: float, min_silence_ms: int) -> list[Interval]: ...

    async def scenes(self, media: MediaRef) -> list[int]: ...

    async def subtitles(self, media: MediaRef) -> list[TimedText]: ...

    async def transcribe(self, media: MediaRef) -> list[TimedText]: ...

    def can_transcribe(self) -> bool: ...


class EditRefused(Exception):
    """An operation cannot run on this project; ``str()`` says why and what to do."""


@dataclass(frozen=True)
class StepResult:
    operation: Operation
    ok: bool
    message: str
    response: dict[str, Any]


# -- placing uploads ----------------------------------------------------------------------

IMAGE_STILL_MS = 5000


def place_uploads(draft: dict[str, Any], refs: Sequence[MediaRef]) -> list[str]:
    """Append uploaded videos and images to the main track, as an editor's import does.

    Audio and subtitle files wait in the library until an instruction uses them
    ("add background music", "add captions"). Returns the names placed.
    """
    placed: list[str] = []
    for ref in refs:
        if ref.kind not in ("video", "image"):
            continue
        track = ops.ensure_track(draft, ops.VIDEO, "main", "Main")
        d = ref.info.duration_ms if ref.kind == "video" else IMAGE_STILL_MS
        track["sg"].append({"d": d, "m": {"src": ref.media_id, "in": 0, "name": ref.filename}})
        placed.append(ref.filename)
    if placed:
        ops.update_duration(draft)
        ops.sync_bgm(draft)
    return placed


def push_history(state: EditState, snapshot: dict[str, Any]) -> None:
    history = state.private.setdefault("history", [])
    history.append(snapshot)
    del history[:-HISTORY_LIMIT]


# -- the executor -------------------------------------------------------------------------

PLATFORM_PRESETS: dict[str, tuple[int, int, str]] = {
    "youtube": (1920, 1080, "YouTube (16:9, 1920x1080)"),
    "shorts": (1080, 1920, "Shorts/TikTok/Reels (9:16, 1080x1920)"),
    "square": (1080, 1080, "square (1:1, 1080x1080)"),
}
DEFAULT_BGM_VOLUME = 0.3
TITLE_MS = 3000
CHAPTER_TITLE_MS = 3000
LOUD_NOISE_DB = -20.0


def _title_from_text(text: str, *, max_words: int = 6) -> str:
    text = re.sub(r"<[^>]*>|\{[^}]*\}", "", text)
    text = " ".join(text.split())
    sentence = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    words = sentence.split()
    title = " ".join(words[:max_words]).strip(" ,;:-–—.!?\"'")
    if len(words) > max_words:
        title += "…"
    return title[:1].upper() + title[1:]


class Executor:
    """Applies operations to ``state.draft`` one at a time; each call says what it did."""

    def __init__(self, state: EditState, analyzer: Analyzer) -> None:
        self.state = state
        self.analyzer = analyzer

    @property
    def draft(self) -> dict[str, Any]:
        return self.state.draft

    async def run(self, op: Operation) -> StepResult:
        handler = getattr(self, f"_op_{op.name}", None)
        if handler is None:
            message = f"{op.name} is not something this engine can do."
            return StepResult(op, False, message, {"ok": False, "error": message})
        try:
            message, extra = await handler(**op.args)
        except EditRefused as exc:
            return StepResult(op, False, str(exc), {"ok": False, "error": str(exc)})
        except MediaError as exc:
            message = f"{_label(op.name)} failed: {exc}."
            return StepResult(op, False, message, {"ok": False, "error": str(exc)})
        response = {"ok": True, "duration_ms": ops.timeline_ms(self.draft), **extra}
        return StepResult(op, True, message, response)

    # -- helpers ------------------------------------------------------------------------

    def _total(self) -> int:
        return ops.timeline_ms(self.draft)

    def _spine_media(self) -> list[MediaRef]:
        seen: dict[str, MediaRef] = {}
        for piece in ops.pieces(self.draft):
            if piece.src and piece.src in self.state.media and piece.src not in seen:
                seen[piece.src] = self.state.media[piece.src]
        return list(seen.values())

    def _require_timeline(self, what: str) -> int:
        total = self._total()
        if not ops.pieces(self.draft) or total <= 0:
            raise EditRefused(
                f"There is nothing on the timeline to {what} yet: upload a video (mp4, mov, webm …) first."
            )
        return total

    def _require_videos(self, what: str, *, sound: bool = False) -> list[MediaRef]:
        self._require_timeline(what)
        media = self._spine_media()
        videos = [r for r in media if r.kind == "video"]
        if sound:
            videos = [r for r in videos if r.info.has_audio]
        if videos:
            return videos
        stills = [r.filename for r in media if r.kind == "image"]
        silent = [r.filename for r in media if r.kind == "video" and not r.info.has_audio]
        if sound and silent:
            raise EditRefused(
                f"To {what} I need a video with sound, and {', '.join(silent)} has no audio track."
            )
        if stills:
            raise EditRefused(
                f"To {what} I need a video{' with sound' if sound else ''}, but the timeline holds only "
                f"still images ({', '.join(stills)}). Upload a video, then ask again."
            )
        raise EditRefused(f"To {what} I need a video on the timeline: upload one first.")

    async def _timeline_silences(self, *, noise_db: float, min_silence_ms: int) -> list[Interval]:
        by_src: dict[str, list[Interval]] = {}
        for ref in self._spine_media():
            if ref.kind in ("video", "audio") and ref.info.has_audio:
                by_src[ref.media_id] = await self.analyzer.silences(
                    ref, noise_db=noise_db, min_silence_ms=min_silence_ms
                )
        return ops.map_source_intervals(self.draft, by_src, min_ms=min_silence_ms)

    async def _timeline_scenes(self) -> list[int]:
        by_src: dict[str, list[int]] = {}
        for ref in self._spine_media():
            if ref.kind == "video":
                by_src[ref.media_id] = await self.analyzer.scenes(ref)
        return ops.map_source_points(self.draft, by_src)

    def _source_changes(self) -> list[int]:
        spine = ops.pieces(self.draft)
        return [b.start for a, b in itertools.pairwise(spine) if a.src != b.src]

    async def _candidates(self) -> list[tuple[int, float]]:
        """Good places to start a chapter or a segment, weighted."""
        out: list[tuple[int, float]] = [(t, 1.5) for t in self._source_changes()]
        out += [(t, 1.0) for t in await self._timeline_scenes()]
        for a, b in await self._timeline_silences(noise_db=-35.0, min_silence_ms=600):
            # The middle of a pause; longer pauses are stronger breaks.
            out.append(((a + b) // 2, 0.6 + min(0.6, (b - a) / 5000)))
        return out

    def _timeline_cues(self) -> list[TimedText]:
        track = ops.find_track(self.draft, ops.TEXT, "caption")
        if track is not None:
            return [
                TimedText(
                    ops.as_int(s.get("s")),
                    ops.as_int(s.get("s")) + ops.as_int(s.get("d")),
                    str(ops.peek_meta(s).get("text", "")),
                )
                for s in ops.segments(track)
            ]
        return []

    async def _title_cues(self) -> list[TimedText]:
        cues = self._timeline_cues()
        if cues:
            return cues
        by_src = await self._caption_sources(transcribe=False)
        return ops.timeline_cues(self.draft, by_src) if by_src else []

    def _titles(self, starts: Sequence[int], cues: Sequence[TimedText], fallback: str) -> list[str]:
        total = self._total()
        titles: list[str] = []
        ends = [*starts[1:], total]
        for i, (s, e) in enumerate(zip(starts, ends, strict=True), start=1):
            inside = [c for c in cues if s <= c.start < e] or [c for c in cues if c.start < e and c.end > s]
            title = _title_from_text(inside[0].text) if inside else ""
            if not title:
                title = f"{fallback} {i}"
            if title in titles:
                title = f"{title} ({i})"
            titles.append(title)
        return titles

    def refresh(self) -> None:
        """Re-derive what follows the spine: duration, captions, music, the YouTube list."""
        captions = self.state.private.get("captions")
        if isinstance(captions, dict) and ops.find_track(self.draft, ops.TEXT, "caption") is not None:
            by_src = {k: [TimedText(int(a), int(b), str(t)) for a, b, t in v] for k, v in captions.items()}
            track = ops.find_track(self.draft, ops.TEXT, "caption")
            assert track is not None
            track["sg"] = ops.caption_segments(ops.timeline_cues(self.draft, by_src))
        ops.sync_bgm(self.draft)
        total = ops.update_duration(self.draft)
        chapters = ops.peek_meta(self.draft).get("chapters")
        if isinstance(chapters, list) and chapters:
            pairs = [
                (ops.as_int(c.get("s")), str(c.get("title", ""))) for c in chapters if isinstance(c, dict)
            ]
            result = ops.youtube_chapters(pairs, total)
            self.state.outputs["youtube_chapters"] = result.text
            self.state.outputs["youtube_chapter_problems"] = list(result.problems)
            shown = ops.find_track(self.draft, ops.TEXT, "chapter")
            if shown is not None:
                shown["sg"] = self._chapter_title_segments(pairs, total)
        elif "youtube_chapters" in self.state.outputs:
            self.state.outputs["youtube_chapters"] = None
            self.state.outputs["youtube_chapter_problems"] = []

    @staticmethod
    def _chapter_title_segments(pairs: Sequence[tuple[int, str]], total: int) -> list[dict[str, Any]]:
        ends = [*(p[0] for p in pairs[1:]), total]
        return [
            {"s": s, "d": min(CHAPTER_TITLE_MS, e - s), "m": {"text": title, "position": "top"}}
            for (s, title), e in zip(pairs, ends, strict=True)
            if e - s > 0
        ]

    # -- operations ---------------------------------------------------------------------
    # Each returns (sentence for the reply, extra fields for the functionResponse).

    async def _op_undo(self) -> tuple[str, dict[str, Any]]:
        history = self.state.private.get("history")
        if not isinstance(history, list) or not history:
            raise EditRefused("There is nothing to undo yet.")
        before = ops.timeline_ms(self.draft)
        self.state.draft = history.pop()
        self.refresh()
        return (
            f"Undid the last edit: the timeline is back to {format_length(self._total())} "
            f"(it was {format_length(before)}).",
            {},
        )

    def _apply_keep(self, keep: Sequence[Interval]) -> int:
        before = self._total()
        ops.keep_ranges(self.draft, keep)
        self.refresh()
        return before - self._total()

    async def _op_trim_video(
        self,
        mode: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
        duration_ms: int | None = None,
    ) -> tuple[str, dict[str, Any]]:
        total = self._require_timeline("trim")
        if mode == "keep":
            assert start_ms is not None
            assert end_ms is not None
            a, b = sorted((start_ms, end_ms))
            if a >= total:
                raise EditRefused(
                    f"{format_time(a)} is past the end: the video is {format_time(total)} long."
                )
            b = min(b, total)
            if b - a < ops.MIN_PIECE_MS:
                raise EditRefused("That range is empty; give a start and an end, e.g. keep 0:30 to 2:00.")
            self._apply_keep([(a, b)])
            note = f" (the video ends at {format_time(total)})" if end_ms > total else ""
            return (
                f"Kept {format_time(a)}–{format_time(b)}{note}; the video is now {format_length(b - a)} long.",
                {},
            )
        if mode in ("start", "end", "length"):
            assert duration_ms is not None
            if mode == "length":
                if duration_ms >= total:
                    raise EditRefused(
                        f"The video is already {format_length(total)}, no longer than {format_length(duration_ms)}."
                    )
                self._apply_keep([(0, duration_ms)])
                return f"Kept the first {format_length(duration_ms)} and cut the rest.", {}
            if duration_ms >= total:
                raise EditRefused(
                    f"Cutting {format_length(duration_ms)} would remove the whole video "
                    f"({format_length(total)}); give a shorter length."
                )
            if mode == "start":
                self._apply_keep([(duration_ms, total)])
                return (
                    f"Cut the first {format_length(duration_ms)}; the video now starts at the old "
                    f"{format_time(duration_ms)} and is {format_length(total - duration_ms)} long.",
                    {},
                )
            self._apply_keep([(0, total - duration_ms)])
            return (
                f"Cut the last {format_length(duration_ms)}; the video is now {format_length(total - duration_ms)} long.",
                {},
            )
        if mode in ("intro", "outro"):
            return await self._trim_edge(mode, total, duration_ms)
        raise EditRefused(f"Unknown trim mode {mode!r}.")

    async def _trim_edge(self, mode: str, total: int, duration_ms: int | None) -> tuple[str, dict[str, Any]]:
        word = "intro" if mode == "intro" else "ending"
        if duration_ms is not None:
            if duration_ms >= total:
                raise EditRefused(
                    f"The video is only {format_length(total)} long; that would remove all of it."
                )
            cut, why = duration_ms, "as you asked"
        else:
            scenes = await self._timeline_scenes() if self._spine_media() else []
            limit = min(30_000, total // 2)
            if mode == "intro":
                found = [t for t in scenes if 2000 <= t <= limit]
                cut_at = found[0] if found else None
            else:
                found = [total - t for t in scenes if 2000 <= total - t <= limit]
                cut_at = found[-1] if found else None
            if cut_at is not None:
                cut = cut_at
                why = "up to the first scene change" if mode == "intro" else "from the last scene change"
            else:
                side = "first" if mode == "intro" else "last"
                cut = min(10_000, total // 3)
                why = f"the default, as there is no scene change in the {side} {format_length(limit)}"
                if cut < 10_000:
                    why = (
                        f"a third of this short video, as there is no scene change in its {side} "
                        f"{format_length(limit)} and the default of 10 s would be most of it"
                    )
                why += '; say "remove the first N seconds" to choose'
        if mode == "intro":
            self._apply_keep([(cut, total)])
            lead = f"Removed the intro: the first {format_length(cut)}"
        else:
            self._apply_keep([(0, total - cut)])
            lead = f"Removed the ending: the last {format_length(cut)}"
        return f"{lead}, {why}. The video is now {format_length(self._total())} long.", {
            "cut_ms": cut,
            "rule": word,
        }

    async def _op_cut_segment(self, start_ms: int, end_ms: int) -> tuple[str, dict[str, Any]]:
        total = self._require_timeline("cut")
        a, b = sorted((start_ms, end_ms))
        if a >= total:
            raise EditRefused(f"{format_time(a)} is past the end: the video is {format_time(total)} long.")
        b = min(b, total)
        if a <= 0 and b >= total:
            raise EditRefused("That would cut the whole video; give a smaller range.")
        removed = self._apply_keep(ops.complement([(a, b)], 0, total))
        return (
            f"Cut {format_time(a)}–{format_time(b)} ({format_length(removed)}); the video is now "
            f"{format_length(self._total())} long.",
            {"removed_ms": removed},
        )

    async def _op_cut_silences(
        self, noise_db: float = -35.0, min_silence_ms: int = 600, padding_ms: int = 150
    ) -> tuple[str, dict[str, Any]]:
        self._require_videos("cut silences", sound=True)
        total = self._total()
        silences = await self._timeline_silences(noise_db=noise_db, min_silence_ms=min_silence_ms)
        cuts: list[Interval] = []
        for a, b in silences:
            lo = a if a <= 0 else a + padding_ms  # silence at the very start or end goes entirely
            hi = b if b >= total else b - padding_ms
            if hi - lo >= ops.MIN_PIECE_MS:
                cuts.append((lo, hi))
        params = f"longer than {format_length(min_silence_ms)} (quieter than {noise_db:g} dB)"
        if not cuts:
            return (
                f'I found no silences {params}, so nothing was cut. Try "cut silences longer than 0.4 seconds" '
                f'or "below -30 dB".',
                {"silences": 0, "removed_ms": 0},
            )
        removed = self._apply_keep(ops.complement(cuts, 0, total))
        return (
            f"Cut {len(cuts)} silence{'s' if len(cuts) != 1 else ''} {params}, keeping {format_length(padding_ms)} "
            f"around speech: removed {format_length(removed)}, so the video went from {format_length(total)} to "
            f"{format_length(self._total())}.",
            {"silences": len(cuts), "removed_ms": removed, "cuts": [list(c) for c in cuts]},
        )

    async def _op_make_highlight_reel(self, target_ms: int = 60_000) -> tuple[str, dict[str, Any]]:
        self._require_videos("make a highlight reel")
        total = self._total()
        if total <= target_ms:
            raise EditRefused(
                f"The video is already {format_length(total)}, within {format_length(target_ms)}, so there is "
                "nothing to cut for a highlight reel."
            )
        silences = await self._timeline_silences(noise_db=-35.0, min_silence_ms=600)
        quiet = await self._timeline_silences(noise_db=LOUD_NOISE_DB, min_silence_ms=300)
        scenes = await self._timeline_scenes()
        active = ops.complement(silences, 0, total)
        loud = ops.complement(quiet, 0, total)
        picks = ops.pick_highlights(active, loud, scenes, target_ms)
        if not picks:
            raise EditRefused("The whole video is silent, so there are no lively moments to pick for a reel.")
        self._apply_keep(picks)
        got = self._total()
        if got < target_ms - 500:
            return (
                f"Only {format_length(got)} of the video has sound, so the highlight reel keeps all of it "
                f"({len(picks)} stretches) instead of {format_length(target_ms)}.",
                {"moments": len(picks)},
            )
        return (
            f"Made a {format_length(got)} highlight reel from {len(picks)} moments, picked for loud sound and "
            "frequent scene changes and kept in their original order.",
            {"moments": len(picks), "picks": [list(p) for p in picks]},
        )

    async def _op_split_segments(
        self,
        min_ms: int | None = None,
        max_ms: int | None = None,
        target_ms: int | None = None,
        count: int | None = None,
    ) -> tuple[str, dict[str, Any]]:
        total = self._require_timeline("split into segments")
        if count:
            n = max(1, min(count, total // 10_000 or 1))
            wanted = f"{count} parts"
        else:
            assert min_ms is not None
            assert max_ms is not None
            assert target_ms is not None
            wanted = (
                f"{format_length(min_ms)}–{format_length(max_ms)} segments"
                if min_ms != max_ms
                else f"{format_length(target_ms)} segments"
            )
            if total <= max_ms:
                n = 1
            else:
                fewest = math.ceil(total / max_ms)
                most = max(1, total // min_ms)
                n = max(fewest, min(most, round(total / target_ms))) if fewest <= most else fewest
        candidates = await self._candidates() if n > 1 else []
        section = total / n
        tolerance = (
            round(section / 3)
            if count or not (min_ms and max_ms)
            else round(min(section / 3, max(max_ms - min_ms, 20_000) / 2))
        )
        starts = ops.plan_sections(total, n, candidates, tolerance_ms=tolerance, min_gap_ms=10_000)
        starts = sorted({s // 1000 * 1000 for s in starts})
        cues = await self._title_cues()
        titles = self._titles(starts, cues, "Segment")
        ends = [*starts[1:], total]
        m = ops.project_meta(self.draft)
        m["segments"] = [{"s": s, "e": e, "title": t} for s, e, t in zip(starts, ends, titles, strict=True)]
        m["chapters"] = [{"s": s, "title": t} for s, t in zip(starts, titles, strict=True)]
        self.refresh()
        lines = "\n".join(
            f"{i}. {format_time(s)}–{format_time(e)} {t}"
            for i, (s, e, t) in enumerate(zip(starts, ends, titles, strict=True), start=1)
        )
        if len(starts) == 1:
            head = (
                f"The video is {format_length(total)}, shorter than one of the {wanted} you asked for, "
                "so it stays one segment."
            )
        else:
            head = (
                f"Split the video into {len(starts)} learning segments (about {format_length(total // len(starts))} "
                f"each, for {wanted}), starting at pauses and scene changes where there are any:"
            )
        tail = (
            "\nThe segments are marked on the timeline (with a chapter per segment); an export renders "
            "the whole video with them."
        )
        return f"{head}\n{lines}{tail}", {"segments": len(starts)}

    async def _op_generate_chapters(
        self, show_titles: bool = False, count: int | None = None, from_segments: bool = False
    ) -> tuple[str, dict[str, Any]]:
        total = self._require_timeline("add chapters")
        m = ops.project_meta(self.draft)
        existing = m.get("chapters")
        reuse = from_segments and isinstance(existing, list) and existing
        if not reuse:
            if total < ops.YOUTUBE_MIN_CHAPTERS * ops.YOUTUBE_MIN_CHAPTER_MS:
                n = max(1, min(2, total // ops.YOUTUBE_MIN_CHAPTER_MS))
            elif count:
                n = max(1, min(count, total // ops.YOUTUBE_MIN_CHAPTER_MS))
            else:
                n = max(3, min(12, round(total / 90_000)))
                n = min(n, total // ops.YOUTUBE_MIN_CHAPTER_MS)
            candidates = await self._candidates() if n > 1 else []
            starts = ops.plan_sections(
                total,
                n,
                candidates,
                tolerance_ms=round(total / n / 3),
                min_gap_ms=ops.YOUTUBE_MIN_CHAPTER_MS + 999,
            )
            starts = sorted({s // 1000 * 1000 for s in starts})
            titles = self._titles(starts, await self._title_cues(), "Chapter")
            m["chapters"] = [{"s": s, "title": t} for s, t in zip(starts, titles, strict=True)]
        if show_titles:
            ops.remove_track(self.draft, ops.TEXT, "chapter")
            ops.ensure_track(self.draft, ops.TEXT, "chapter", "Chapter titles")
        self.refresh()
        chapters = [c for c in m.get("chapters", []) if isinstance(c, dict)]
        listing = "\n".join(f"{format_time(ops.as_int(c.get('s')))} {c.get('title', '')}" for c in chapters)
        shown = " and shown each title on screen for 3 s" if show_titles else ""
        parts = [f"Marked {len(chapters)} chapter{'s' if len(chapters) != 1 else ''}{shown}:\n{listing}"]
        yt = self.state.outputs.get("youtube_chapters")
        problems = self.state.outputs.get("youtube_chapter_problems") or []
        if yt:
            parts.append(f"YouTube chapter list (paste it into the video description):\n{yt}")
        else:
            parts.append("There is no YouTube chapter list: " + "; ".join(problems) + ".")
        if not any(c.get("title", "").split(" ")[0] != "Chapter" for c in chapters):
            parts.append(
                "The titles are numbered because there are no captions to name them from; upload an .srt/.vtt "
                'and say "add captions", then ask for chapters again.'
            )
        return "\n".join(parts), {"chapters": chapters, "youtube_chapters": yt}

    async def _caption_sources(
        self, *, transcribe: bool, source: str | None = None
    ) -> dict[str, list[TimedText]]:
        videos = [r for r in self._spine_media() if r.kind == "video"]
        subs = [r for r in self.state.media.values() if r.kind == "subtitle"]
        if source:
            wanted = Path(source).name.lower()
            subs = [r for r in subs if r.filename.lower() == wanted]
            if not subs:
                raise EditRefused(f"There is no uploaded subtitle file called {Path(source).name}.")
        out: dict[str, list[TimedText]] = {}
        unpaired = list(subs)
        for video in videos:
            stem = Path(video.filename).stem.lower()
            match = next((s for s in unpaired if Path(s.filename).stem.lower() == stem), None)
            if match:
                unpaired.remove(match)
                out[video.media_id] = await self.analyzer.subtitles(match)
        for video in videos:
            if video.media_id not in out and unpaired:
                out[video.media_id] = await self.analyzer.subtitles(unpaired.pop(0))
        if transcribe and not out and self.analyzer.can_transcribe():
            for video in videos:
                if video.info.has_audio:
                    out[video.media_id] = await self.analyzer.transcribe(video)
        return out

    async def _op_add_captions(self, source: str | None = None) -> tuple[str, dict[str, Any]]:
        self._require_videos("add captions")
        has_subs = any(r.kind == "subtitle" for r in self.state.media.values())
        if not has_subs and not self.analyzer.can_transcribe():
            raise EditRefused(
                'Captions need a subtitle file: upload an .srt or .vtt for the video, then say "add captions" '
                "(offline speech recognition is not installed here)."
            )
        by_src = await self._caption_sources(transcribe=True, source=source)
        cues = ops.timeline_cues(self.draft, by_src)
        if not cues:
            raise EditRefused(
                "I found no speech to caption in the video (or the subtitle file's times fall outside the part on "
                'the timeline). Upload an .srt or .vtt file and say "add captions".'
            )
        self.state.private["captions"] = {k: [[c.start, c.end, c.text] for c in v] for k, v in by_src.items()}
        ops.remove_track(self.draft, ops.TEXT, "caption")
        ops.ensure_track(self.draft, ops.TEXT, "caption", "Captions")
        self.refresh()
        origin = (
            "from " + ", ".join(sorted(r.filename for r in self.state.media.values() if r.kind == "subtitle"))
            if has_subs
            else "by offline speech recognition"
        )
        return f"Added {len(cues)} captions {origin}, shown at the bottom and following every cut.", {
            "captions": len(cues)
        }

    async def _op_remove_captions(self) -> tuple[str, dict[str, Any]]:
        if not ops.remove_track(self.draft, ops.TEXT, "caption"):
            raise EditRefused("There are no captions on the timeline to remove.")
        self.state.private.pop("captions", None)
        self.refresh()
        return "Removed the captions.", {}

    def _project_title(self) -> str:
        if self.state.title and self.state.title.lower() not in ("project", "untitled", ""):
            return self.state.title
        media = self._spine_media()
        if media:
            return Path(media[0].filename).stem.replace("_", " ").replace("-", " ").strip().title()
        return "Untitled"

    async def _op_add_text(
        self,
        role: str = "overlay",
        text: str | None = None,
        position: str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        duration_ms: int | None = None,
        edge: str | None = None,
        whole: bool = False,
    ) -> tuple[str, dict[str, Any]]:
        total = self._require_timeline("add text")
        note = ""
        if not text:
            text = self._project_title()
            note = " (from the project's name; give the text in quotes to change it)"
        length = duration_ms or TITLE_MS
        if whole:
            s, e = 0, total
        elif start_ms is not None and end_ms is not None:
            s, e = sorted((start_ms, end_ms))
        elif start_ms is not None:
            s, e = start_ms, start_ms + length
        elif edge == "end":
            s, e = max(0, total - length), total
        elif edge == "start" or role == "title" or duration_ms:
            s, e = 0, length
        else:
            s, e = 0, total
        if s >= total:
            raise EditRefused(f"{format_time(s)} is past the end: the video is {format_time(total)} long.")
        e = min(e, total)
        pos = position or ("center" if role == "title" else "bottom")
        track = ops.ensure_track(self.draft, ops.TEXT, role, "Title" if role == "title" else "Text")
        seg_meta: dict[str, Any] = {"text": text, "position": pos}
        if role == "title":
            seg_meta["size"] = 72
        track["sg"].append({"s": s, "d": e - s, "m": seg_meta})
        self.refresh()
        what = "the title" if role == "title" else "the text"
        return f'Added {what} "{text}"{note} ({pos}, {format_time(s)}–{format_time(e)}).', {}

    async def _op_add_title_card(
        self, text: str | None = None, duration_ms: int = TITLE_MS
    ) -> tuple[str, dict[str, Any]]:
        self._require_timeline("add a title card")
        note = ""
        if not text:
            text = self._project_title()
            note = " (from the project's name; give the text in quotes to change it)"
        ops.insert_card(self.draft, at_end=False, text=text, duration_ms=duration_ms, name="Title card")
        self.refresh()
        return f'Added a {format_length(duration_ms)} title card "{text}"{note} at the start.', {}

    async def _op_add_summary_slide(
        self, text: str | None = None, duration_ms: int | None = None
    ) -> tuple[str, dict[str, Any]]:
        self._require_timeline("add a summary slide")
        note = ""
        if not text:
            m = ops.peek_meta(self.draft)
            marks = m.get("chapters") or m.get("segments") or []
            titles = [str(c.get("title")) for c in marks if isinstance(c, dict) and c.get("title")]
            if titles:
                text = "Summary\n" + "\n".join(f"• {t}" for t in titles[:8])
                note = " listing the chapter titles"
            else:
                text = f"Summary\n{self._project_title()}"
                note = (
                    " with just the project's name, because there are no chapters yet (ask for chapters first, or "
                    'give the text: add a summary slide saying "…")'
                )
        lines = text.count("\n") + 1
        d = duration_ms or min(10_000, 3000 + 800 * lines)
        ops.insert_card(self.draft, at_end=True, text=text, duration_ms=d, name="Summary")
        self.refresh()
        return f"Added a {format_length(d)} summary slide at the end{note}.", {}

    async def _op_add_background_music(
        self, volume: float | None = None, file: str | None = None, volume_only: bool = False
    ) -> tuple[str, dict[str, Any]]:
        total = self._require_timeline("add background music to")
        existing = ops.find_track(self.draft, ops.AUDIO, "bgm")
        if volume_only and existing is not None and file is None:
            v = DEFAULT_BGM_VOLUME if volume is None else volume
            for seg in ops.segments(existing):
                ops.meta(seg)["volume"] = v
            return f"Set the background music to {format_percent(v)} volume.", {}
        audio = [r for r in self.state.media.values() if r.kind == "audio"]
        if file:
            wanted = Path(file).name.lower()
            chosen = next((r for r in audio if r.filename.lower() == wanted), None)
            if chosen is None:
                raise EditRefused(
                    f"There is no uploaded audio file called {Path(file).name}"
                    + (f"; uploaded: {', '.join(r.filename for r in audio)}." if audio else ".")
                )
        elif audio:
            chosen = audio[-1]
        else:
            raise EditRefused(
                "Background music needs an audio file: upload one (mp3, wav, m4a or aac), then say "
                '"add background music at 20%". The offline engine has no music library of its own.'
            )
        v = DEFAULT_BGM_VOLUME if volume is None else volume
        ops.remove_track(self.draft, ops.AUDIO, "bgm")
        track = ops.ensure_track(self.draft, ops.AUDIO, "bgm", "BGM")
        loop = chosen.info.duration_ms < total
        track["sg"] = [
            {
                "s": 0,
                "d": total,
                "m": {"src": chosen.media_id, "in": 0, "volume": v, "loop": loop, "name": chosen.filename},
            }
        ]
        self.refresh()
        how = "looped to fill" if loop else "under"
        return (
            f"Added background music: {chosen.filename} at {format_percent(v)} volume, {how} the whole "
            f"{format_length(total)}.",
            {},
        )

    async def _op_remove_background_music(self) -> tuple[str, dict[str, Any]]:
        if not ops.remove_track(self.draft, ops.AUDIO, "bgm"):
            raise EditRefused("There is no background music to remove.")
        self.refresh()
        return "Removed the background music.", {}

    async def _op_set_original_volume(self, volume: float) -> tuple[str, dict[str, Any]]:
        self._require_videos("change the original sound")
        track = ops.main_track(self.draft)
        assert track is not None
        for seg in ops.segments(track):
            if ops.peek_meta(seg).get("src"):
                ops.meta(seg)["volume"] = volume
        if volume == 0:
            return "Muted the video's original sound.", {}
        return f"Set the video's original sound to {format_percent(volume)}.", {}

    async def _op_set_platform(self, platform: str) -> tuple[str, dict[str, Any]]:
        w, h, label = PLATFORM_PRESETS.get(platform, PLATFORM_PRESETS["youtube"])
        m = ops.project_meta(self.draft)
        m["canvas"] = {"w": w, "h": h}
        m["platform"] = platform
        self.state.outputs["canvas_config"] = {"width": w, "height": h, "platform": platform}
        return f"Set the format to {label}; the export will be an H.264 MP4 of that size.", {}

    async def _op_add_fades(
        self, fade_in_ms: int = 1000, fade_out_ms: int = 1000
    ) -> tuple[str, dict[str, Any]]:
        total = self._require_timeline("add fades")
        half = total // 2
        m = ops.project_meta(self.draft)
        done = []
        if fade_in_ms:
            m["fade_in_ms"] = min(fade_in_ms, half)
            done.append(f"a {format_length(m['fade_in_ms'])} fade in")
        if fade_out_ms:
            m["fade_out_ms"] = min(fade_out_ms, half)
            done.append(f"a {format_length(m['fade_out_ms'])} fade out")
        return "Added " + " and ".join(done) + " (picture and sound).", {}

    async def _op_normalize_audio(self) -> tuple[str, dict[str, Any]]:
        self._require_timeline("normalize")
        ops.project_meta(self.draft)["loudnorm"] = True
        return "The export will normalise loudness to the EBU R128 standard (about -16 LUFS for the web).", {}

    async def _op_describe_timeline(self) -> tuple[str, dict[str, Any]]:
        return summarize(self.draft), {}


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


# -- the reply ----------------------------------------------------------------------------


def compose_reply(plan: Plan, results: Sequence[StepResult], state: EditState) -> str:
    """The text the user reads: what was done, what was not and why, and the next step."""
    lines = [r.message for r in results]
    for refusal in plan.refusals:
        lines.append(f'I can\'t do "{refusal.phrase}": {refusal.reason}.')
    for fragment in plan.unrecognised:
        lines.append(f'I didn\'t understand "{fragment}", so I left it out.')
    did_something = any(r.ok for r in results)
    if plan.export_requested:
        m = ops.peek_meta(state.draft)
        canvas = m.get("canvas") if isinstance(m.get("canvas"), dict) else None
        size = f" at {canvas.get('w')}x{canvas.get('h')}" if canvas else ""
        if ops.pieces(state.draft):
            lines.append(
                f"Exporting is a separate step: say export (export_video) when ready, and I'll render the MP4{size}."
            )
        else:
            lines.append("There is nothing to export yet: upload a video first.")
    if not results and not plan.export_requested:
        if plan.help_requested and not plan.refusals and not plan.unrecognised:
            return CAPABILITIES
        lines.append(CAPABILITIES)
    elif (plan.refusals or plan.unrecognised) and not did_something:
        lines.append(CAPABILITIES)
    return "\n".join(lines)


def describe_plan(plan: Plan) -> str:
    """The short first line of the stream: what is about to happen."""
    if not plan.operations:
        return ""
    names = [_ACTIONS.get(op.name, _label(op.name).lower()) for op in plan.operations]
    if len(names) == 1:
        return f"On it: {names[0]}."
    return f"On it: {', '.join(names[:-1])} and {names[-1]}."


_ACTIONS = {
    "undo": "undoing the last edit",
    "trim_video": "trimming",
    "cut_segment": "cutting a range",
    "cut_silences": "cutting silences",
    "make_highlight_reel": "making a highlight reel",
    "add_title_card": "adding a title card",
    "split_segments": "splitting into learning segments",
    "generate_chapters": "generating chapters",
    "add_captions": "adding captions",
    "remove_captions": "removing captions",
    "add_text": "adding text",
    "add_summary_slide": "adding a summary slide",
    "add_background_music": "adding background music",
    "remove_background_music": "removing the music",
    "set_original_volume": "setting the original sound",
    "set_platform": "setting the format",
    "add_fades": "adding fades",
    "normalize_audio": "normalising loudness",
    "describe_timeline": "describing the timeline",
}
