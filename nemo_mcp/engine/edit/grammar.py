"""The English grammar: a table of regex rules (case-insensitive), each building an operation.

Order in :data:`~nemo_mcp.engine.edit.rules.RULES` is priority: an earlier rule's match claims its words, so a later
rule cannot read them again. A rule's builder reads the arguments around its match (times
through :func:`~nemo_mcp.engine.edit.durations.parse_duration`, quoted text, placements)
into a typed :mod:`~nemo_mcp.engine.edit.operations` dataclass, or a refusal with its
reason, or the export and help requests.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from nemo_mcp.draft import DEFAULT_PLATFORM
from nemo_mcp.engine.edit.durations import DURATION, parse_duration, word_number
from nemo_mcp.engine.edit.operations import (
    AddBackgroundMusic,
    AddCaptions,
    AddFades,
    AddSummarySlide,
    AddText,
    AddTitleCard,
    CutSegment,
    CutSentence,
    CutSilences,
    CutWords,
    DescribeTimeline,
    GenerateChapters,
    MakeHighlightReel,
    NormalizeAudio,
    Operation,
    Position,
    RemoveBackgroundMusic,
    RemoveCaptions,
    RenameChapter,
    SetChapters,
    SetOriginalVolume,
    SetPlatform,
    SplitSegments,
    TextRole,
    TrimMode,
    TrimVideo,
    Undo,
)

__all__ = ["ANY_FILE", "QUOTE", "Hit", "Refusal", "Rule"]


@dataclass(frozen=True)
class Refusal:
    """Part of an instruction that cannot honestly be done here, and why."""

    phrase: str
    reason: str


@dataclass
class Hit:
    """What one rule took from an instruction: its span and what it asks for."""

    start: int
    end: int
    operation: Operation | None = None
    refusal: Refusal | None = None
    export: bool = False
    help: bool = False


Builder = Callable[[re.Match[str], str], "Hit | None"]


@dataclass(frozen=True)
class Rule:
    """One line of the table: a pattern and what a match of it builds."""

    name: str
    pattern: re.Pattern[str]
    build: Builder


def rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern.replace("{T}", DURATION), re.IGNORECASE)


def _ms(text: str | None) -> int | None:
    return None if text is None else parse_duration(text)


QUOTE = re.compile(r"\"([^\"]+)\"|“([^”]+)”|‘([^’]+)’|(?<!\w)'([^']+)'(?!\w)")


def _quote_after(text: str, pos: int) -> tuple[str, int] | None:
    """The quoted text right after ``pos`` (allowing a linking word or colon), and where it ends."""
    lead = re.compile(
        r"\s*(?:(?:saying|that\s+says|which\s+says|reading|with\s+(?:the\s+)?(?:text|words?)|called|titled|"
        r"named|of|:)\s*)?",
        re.IGNORECASE,
    ).match(text, pos)
    start = lead.end() if lead else pos
    m = QUOTE.match(text, start)
    if m is None:
        colon = re.compile(r"\s*:\s*([^,;.!?\n]+)").match(text, pos)
        if colon:
            return colon.group(1).strip(), colon.end()
        return None
    value = next(g for g in m.groups() if g is not None)
    return value.strip(), m.end()


_POSITION_WORDS: dict[str, Position] = {
    "top": "top",
    "bottom": "bottom",
    "center": "center",
    "centre": "center",
    "middle": "center",
}
_TEXT_MODIFIERS: list[tuple[str, re.Pattern[str]]] = [
    ("position", rx(r"\s*(?:at|in|on)\s+the\s+(?P<v>top|bottom|center|centre|middle)(?:\s+of\s+the\s+(?:screen|frame|video))?")),
    ("position", rx(r"\s*(?P<v>top|bottom|center|centre|middle)[\s-]aligned")),
    ("range", rx(r"\s*(?:from|between)\s+(?P<a>{T})\s*(?:-|–|—|to|and|until|till)\s*(?P<b>{T})")),
    ("edge", rx(r"\s*(?:at|in)\s+the\s+(?P<v>start|beginning|end|ending)(?:\s+of\s+the\s+(?:video|clip))?")),
    ("whole", rx(r"\s*(?:for|throughout|during|over)\s+the\s+(?:whole|entire|full)\s+(?:video|clip|thing|time)")),
    ("at", rx(r"\s*(?:at|starting\s+at|from)\s+(?P<v>{T})")),
    ("for", rx(r"\s*for\s+(?P<v>{T})")),
]  # fmt: skip


# The fields each kind of modifier sets; a field is read once, the first time it is said.
_SETS: dict[str, tuple[str, ...]] = {
    "position": ("position",),
    "range": ("start_ms", "end_ms"),
    "edge": ("edge",),
    "whole": ("whole",),
    "at": ("start_ms",),
    "for": ("duration_ms",),
}


def _take(op: AddText, kind: str, m: re.Match[str]) -> AddText | None:
    """``op`` with one modifier read into it; None when its time does not parse."""
    if kind == "position":
        return replace(op, position=_POSITION_WORDS[m.group("v").lower()])
    if kind == "range":
        a, b = _ms(m.group("a")), _ms(m.group("b"))
        return None if a is None or b is None else replace(op, start_ms=a, end_ms=b)
    if kind == "edge":
        return replace(op, edge="end" if m.group("v").lower().startswith("end") else "start")
    if kind == "whole":
        return replace(op, whole=True)
    v = _ms(m.group("v"))
    if v is None:
        return None
    return replace(op, start_ms=v) if kind == "at" else replace(op, duration_ms=v)


def _text_modifiers(text: str, pos: int, op: AddText) -> tuple[AddText, set[str], int]:
    """Placement words after a text ("at the top from 0:05 to 0:10"): the op, the fields said, the end."""
    said: set[str] = set()
    while True:
        for kind, pattern in _TEXT_MODIFIERS:
            m = pattern.match(text, pos)
            if m is None or kind in said or (taken := _take(op, kind, m)) is None:
                continue
            op = taken
            said.update(_SETS[kind])
            pos = m.end()
            break
        else:
            return op, said, pos


def _op(m: re.Match[str], operation: Operation, end: int | None = None) -> Hit:
    return Hit(m.start(), end if end is not None else m.end(), operation)


def build_undo(m: re.Match[str], text: str) -> Hit:
    return _op(m, Undo())


def build_keep(m: re.Match[str], text: str) -> Hit | None:
    a, b = _ms(m.group("a")), _ms(m.group("b"))
    if a is None or b is None:
        return None
    return _op(m, TrimVideo(mode="keep", start_ms=a, end_ms=b))


def build_cut_range(m: re.Match[str], text: str) -> Hit | None:
    a, b = _ms(m.group("a")), _ms(m.group("b"))
    if a is None or b is None:
        return None
    return _op(m, CutSegment(start_ms=a, end_ms=b))


def _trim(mode: TrimMode) -> Builder:
    """A builder of a trim in ``mode`` by the duration its rule matched as ``d``."""

    def build(m: re.Match[str], text: str) -> Hit | None:
        d = _ms(m.group("d"))
        return None if d is None else _op(m, TrimVideo(mode=mode, duration_ms=d))

    return build


build_first = _trim("start")  # "cut the first 5 seconds"
build_last = _trim("end")  # "cut the last 5 seconds"
build_start_at = _trim("start")  # "start at 0:05"
build_end_at = _trim("length")  # "end at 1:30"


def build_intro(m: re.Match[str], text: str) -> Hit:
    mode: TrimMode = "outro" if m.group("which").lower().startswith("outro") else "intro"
    return _op(m, TrimVideo(mode=mode, duration_ms=_ms(m.group("d"))))


def build_length(m: re.Match[str], text: str) -> Hit | None:
    d = _ms(m.group("d") or m.group("d2"))
    return None if d is None else _op(m, TrimVideo(mode="length", duration_ms=d))


_SILENCE_MIN = rx(
    r"(?:longer\s+than|more\s+than|over|above|of\s+at\s+least|at\s+least|exceeding|>\s*)\s*(?P<d>{T})"
)
_SILENCE_DB = rx(
    r"(?:below|under|quieter\s+than|threshold(?:\s+of)?|at|<)?\s*(?P<db>[-−]\s?\d+(?:\.\d+)?)\s*db\b"
)
_SILENCE_PAD = rx(
    r"(?:with|keep(?:ing)?|leave|leaving)?\s*(?:a\s+)?(?P<d>{T})\s+(?:of\s+)?(?:padding|pad|margin|breathing\s+room)"
)


_SILENCE_GAP = re.compile(r"\s*(?:,\s*)?(?:that\s+are\s+|which\s+are\s+|and\s+|or\s+|\(\s*|\)\s*)*")


def build_said(m: re.Match[str], text: str) -> Hit | None:
    """ "cut the part where I say '…'": the quoted words right after the phrase."""
    found = _quote_after(text, m.end())
    if found is None:
        return None
    phrase, end = found
    return _op(m, CutWords(phrase=phrase), end)


# Where a topic named without quotes ends: punctuation, or the next instruction.
_TOPIC_END = re.compile(
    r"[,;.!?\n]|\s+(?:and\s+)?then\b|\s+and\s+(?=(?:add|cut|remove|make|export|generate|put|insert|trim|"
    r"mute|normali[sz]e|fade|split|delete|drop|set|also)\b)",
    re.IGNORECASE,
)


def build_about(m: re.Match[str], text: str) -> Hit | None:
    """ "remove the sentence about …": the topic (quoted, or the words up to the next instruction)."""
    quoted = QUOTE.match(text, m.end())
    if quoted is not None:
        topic, end = next(g for g in quoted.groups() if g is not None), quoted.end()
    else:
        stop = _TOPIC_END.search(text, m.end())
        end = stop.start() if stop else len(text)
        topic = text[m.end() : end]
    topic = " ".join(topic.split())
    return _op(m, CutSentence(about=topic), end) if topic else None


def build_fillers(m: re.Match[str], text: str) -> Hit:
    return _op(m, CutWords(fillers=True))


def build_silences(m: re.Match[str], text: str) -> Hit:
    op = CutSilences()
    end = m.end()
    # Parameters follow the phrase ("… longer than 1.5 seconds below -40 dB"); read them in order.
    pos = end
    while True:
        gap = _SILENCE_GAP.match(text, pos)
        here = gap.end() if gap else pos
        for key, pattern in (("min", _SILENCE_MIN), ("db", _SILENCE_DB), ("pad", _SILENCE_PAD)):
            pm = pattern.match(text, here)
            if pm is None:
                continue
            if key == "db":
                op = replace(op, noise_db=float(pm.group("db").replace("−", "-").replace(" ", "")))
            elif (value := _ms(pm.group("d"))) is None:
                continue
            elif key == "min":
                op = replace(op, min_silence_ms=max(100, value))
            else:
                op = replace(op, padding_ms=max(0, value))
            pos = end = pm.end()
            break
        else:
            break
    return _op(m, op, end)


def build_highlight(m: re.Match[str], text: str) -> Hit:
    d = _ms(m.group("d") or m.group("d2"))
    return _op(m, MakeHighlightReel(target_ms=d or 60_000))


COUNT = r"\d+|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"


def _count(word: str | None) -> int | None:
    if not word:
        return None
    return int(word_number(word))


def _range_args(m: re.Match[str]) -> SplitSegments | None:
    """Segment length from "3-5 minute", "2 minute" or "4 parts"; None when none was given."""
    groups = m.groupdict()
    lo, hi, unit = groups.get("lo"), groups.get("hi"), groups.get("unit")
    if lo and hi and unit:
        a = parse_duration(f"{lo} {unit}")
        b = parse_duration(f"{hi} {unit}")
        if a and b:
            a, b = sorted((a, b))
            return SplitSegments(min_ms=a, max_ms=b, target_ms=(a + b) // 2)
    single = groups.get("len")
    if single:
        t = parse_duration(single)
        if t:
            return SplitSegments(min_ms=round(t * 0.75), max_ms=round(t * 1.25), target_ms=t)
    count = _count(groups.get("count"))
    if count:
        return SplitSegments(count=count)
    return None


def build_segments(m: re.Match[str], text: str) -> Hit:
    return _op(m, _range_args(m) or SplitSegments(min_ms=180_000, max_ms=300_000, target_ms=240_000))


def build_segments_bare(m: re.Match[str], text: str) -> Hit | None:
    op = _range_args(m)
    return None if op is None else _op(m, op)


def build_chapters(m: re.Match[str], text: str) -> Hit:
    return _op(
        m, GenerateChapters(show_titles=bool(m.group("onscreen")), count=_count(m.group("count")) or None)
    )


# A chapter line: a clock time, then its title up to the next line's time (or the end).
_CHAPTER_LINE = re.compile(
    r"(?:^|(?<=[\s,;\n]))\(?(?P<t>\d{1,2}(?::\d{2}){1,2})\)?\s*(?:[-–—:.]\s*)?(?P<title>.*?)\s*[,;]?\s*"
    r"(?=(?:(?<=[\s,;\n])\(?\d{1,2}(?::\d{2}){1,2}\b)|$)",
    re.DOTALL,
)


def build_set_chapters(m: re.Match[str], text: str) -> Hit | None:
    """The chapter list after the match, taken whole: every "time title" pair to the end of the text."""
    starts: list[int] = []
    titles: list[str] = []
    for line in _CHAPTER_LINE.finditer(text, m.end()):
        t = parse_duration(line.group("t"))
        title = line.group("title").strip().strip("\"“”'‘’").strip()
        if t is None or not title:
            return None
        starts.append(t)
        titles.append(title)
    if not starts:
        return None
    return _op(m, SetChapters(starts_ms=tuple(starts), titles=tuple(titles)), end=len(text))


_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
             "eighth": 8, "ninth": 9, "tenth": 10, "last": -1}  # fmt: skip


def build_rename_chapter(m: re.Match[str], text: str) -> Hit | None:
    """The new title: quoted, or the rest of the instruction (it is the title, whatever it says)."""
    number = _ORDINALS[m.group("ord").lower()] if m.group("ord") else _count(m.group("n"))
    if not number:
        return None
    quoted = QUOTE.match(text, m.end())
    if quoted is not None:
        title, end = next(g for g in quoted.groups() if g is not None).strip(), quoted.end()
    else:
        title, end = text[m.end() :].strip().rstrip(".!").strip(), len(text)
    if not title:
        return None
    return _op(m, RenameChapter(number=number, title=title), end=end)


def build_captions_off(m: re.Match[str], text: str) -> Hit:
    return _op(m, RemoveCaptions())


_SUBTITLE_FILE = re.compile(r"[\w\-. ]+?\.(?:srt|vtt)\b", re.IGNORECASE)
_SUBTITLE_SOURCE = re.compile(
    r"\s+(?:from|using|with|in)\s+(?:the\s+)?(?:file\s+)?(" + _SUBTITLE_FILE.pattern + ")", re.IGNORECASE
)


# "burn in the captions", "open captions", "hardcoded subtitles": on the picture, not as a track.
_BURN = re.compile(
    r"\b(?:burn(?:ed|t)?(?:[\s-]+in(?:to)?)?|open\s+caption|hard[\s-]*(?:cod(?:e|ed)|sub))", re.IGNORECASE
)


def build_captions(m: re.Match[str], text: str) -> Hit:
    source: str | None = None
    end = m.end()
    src = _SUBTITLE_SOURCE.match(text, end)
    if src:
        source = src.group(1).strip()
        end = src.end()
    burn = bool(_BURN.search(text, max(0, m.start() - 12), end))
    return _op(m, AddCaptions(source=source, burn=burn), end)


def _quoted_text(text: str, end: int) -> tuple[str | None, int]:
    quoted = _quote_after(text, end)
    return quoted if quoted else (None, end)


def build_title_card(m: re.Match[str], text: str) -> Hit:
    said, end = _quoted_text(text, m.end())
    mods, heard, end2 = _text_modifiers(text, end, AddText())
    if "duration_ms" in heard:
        end = end2
    return _op(m, AddTitleCard(text=said, duration_ms=mods.duration_ms), end)


def build_summary(m: re.Match[str], text: str) -> Hit:
    said, end = _quoted_text(text, m.end())
    mods, heard, end2 = _text_modifiers(text, end, AddText())
    if heard & {"duration_ms", "edge"}:
        end = end2
    return _op(m, AddSummarySlide(text=said, duration_ms=mods.duration_ms), end)


def build_text(m: re.Match[str], text: str) -> Hit | None:
    kind = m.group("kind").lower()
    role: TextRole = "title" if kind in ("title", "heading", "headline") else "overlay"
    said, end = _quoted_text(text, m.end())
    if said is None and role != "title":
        return None  # "add text" with no text: leave it to the unrecognised report
    op, _, end = _text_modifiers(text, end, AddText(role=role, text=said))
    return _op(m, op, end)


ANY_FILE = r"[\w\-.]+\.(?:mp4|mov|avi|webm|mkv|jpe?g|png|gif|webp|mp3|wav|m4a|aac|ogg|flac|srt|vtt)\b"
_AUDIO_FILE = re.compile(r"[\w\-.]+\.(?:mp3|wav|m4a|aac|ogg|flac)\b", re.IGNORECASE)


_MUSIC_TAIL = re.compile(
    r"(?:\s*(?:\(|,)?\s*(?:from|using|with)?\s*(?P<file>" + _AUDIO_FILE.pattern + r")\)?)?"
    r"(?:\s*(?:at|with|to|on|,)?\s*(?:a\s+)?(?:low\s+)?(?:volume\s+(?:of\s+|at\s+)?)?(?P<v>\d{1,3}(?:\.\d+)?)\s*(?:%|percent\b)"
    r"(?:\s+(?:volume|loudness))?\)?)?",
    re.IGNORECASE,
)


def build_music(m: re.Match[str], text: str) -> Hit:
    volume: float | None = None
    file: str | None = None
    end = m.end()
    tail = _MUSIC_TAIL.match(text, end)
    if tail and tail.group("v"):
        volume = min(100.0, float(tail.group("v"))) / 100
        end = max(end, tail.end())
    if tail and tail.group("file"):
        file = tail.group("file")
        end = max(end, tail.end())
    lead_file = _AUDIO_FILE.search(text, m.start(), m.end()) or _AUDIO_FILE.search(
        text, max(0, m.start() - 60), m.start()
    )
    if file is None and lead_file:
        file = lead_file.group(0)
    if volume is None and re.search(r"\b(?:quiet|soft|low|subtle)\b", text[m.start() : end + 20], re.I):
        volume = 0.15
    return _op(m, AddBackgroundMusic(volume=volume, file=file), end)


def build_music_volume(m: re.Match[str], text: str) -> Hit:
    return _op(m, AddBackgroundMusic(volume=min(100.0, float(m.group("v"))) / 100, volume_only=True))


def build_music_off(m: re.Match[str], text: str) -> Hit:
    return _op(m, RemoveBackgroundMusic())


def build_mute(m: re.Match[str], text: str) -> Hit:
    v = m.groupdict().get("v")
    return _op(m, SetOriginalVolume(volume=(min(100.0, float(v)) / 100) if v else 0.0))


_PLATFORM_WORDS = {
    "youtube": "youtube", "landscape": "youtube", "horizontal": "youtube", "16:9": "youtube",
    "widescreen": "youtube", "shorts": "shorts", "short": "shorts", "youtube short": "shorts",
    "youtube shorts": "shorts", "tiktok": "shorts", "tik tok": "shorts", "reels": "shorts", "reel": "shorts",
    "instagram reels": "shorts", "instagram reel": "shorts", "instagram story": "shorts",
    "instagram stories": "shorts", "vertical": "shorts", "portrait": "shorts", "9:16": "shorts",
    "square": "square", "1:1": "square", "instagram": "square", "instagram post": "square",
    "instagram feed": "square",
}  # fmt: skip


def build_platform(m: re.Match[str], text: str) -> Hit:
    word = re.sub(r"\s+", " ", (m.group("p") or m.group("p2") or "youtube").lower()).replace(
        "tik tok", "tiktok"
    )
    return _op(m, SetPlatform(platform=_PLATFORM_WORDS.get(word, DEFAULT_PLATFORM)))


def build_fades(m: re.Match[str], text: str) -> Hit:
    which = (m.group("dir") or "").lower()
    d = _ms(m.group("d")) or 1000
    fade_in = "in" in which or not which or "both" in which
    fade_out = "out" in which or not which or "both" in which
    return _op(m, AddFades(fade_in_ms=d if fade_in else 0, fade_out_ms=d if fade_out else 0))


def build_loudnorm(m: re.Match[str], text: str) -> Hit:
    return _op(m, NormalizeAudio())


def build_describe(m: re.Match[str], text: str) -> Hit:
    return _op(m, DescribeTimeline())


def build_export(m: re.Match[str], text: str) -> Hit:
    return Hit(m.start(), m.end(), export=True)


def build_help(m: re.Match[str], text: str) -> Hit:
    return Hit(m.start(), m.end(), help=True)


def refuse(reason: str) -> Builder:
    def build(m: re.Match[str], text: str) -> Hit:
        return Hit(m.start(), m.end(), refusal=Refusal(m.group(0).strip(), reason))

    return build
