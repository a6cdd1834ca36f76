"""The English grammar: a table of regex rules (case-insensitive), each building an operation.

Order in :data:`RULES` is priority: an earlier rule's match claims its words, so a later
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
    CutSilences,
    DescribeTimeline,
    GenerateChapters,
    MakeHighlightReel,
    NormalizeAudio,
    Operation,
    Position,
    RemoveBackgroundMusic,
    RemoveCaptions,
    SetOriginalVolume,
    SetPlatform,
    SplitSegments,
    TextRole,
    TrimMode,
    TrimVideo,
    Undo,
)

__all__ = ["ANY_FILE", "QUOTE", "RULES", "Hit", "Refusal", "Rule"]


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


def _rx(pattern: str) -> re.Pattern[str]:
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
    ("position", _rx(r"\s*(?:at|in|on)\s+the\s+(?P<v>top|bottom|center|centre|middle)(?:\s+of\s+the\s+(?:screen|frame|video))?")),
    ("position", _rx(r"\s*(?P<v>top|bottom|center|centre|middle)[\s-]aligned")),
    ("range", _rx(r"\s*(?:from|between)\s+(?P<a>{T})\s*(?:-|–|—|to|and|until|till)\s*(?P<b>{T})")),
    ("edge", _rx(r"\s*(?:at|in)\s+the\s+(?P<v>start|beginning|end|ending)(?:\s+of\s+the\s+(?:video|clip))?")),
    ("whole", _rx(r"\s*(?:for|throughout|during|over)\s+the\s+(?:whole|entire|full)\s+(?:video|clip|thing|time)")),
    ("at", _rx(r"\s*(?:at|starting\s+at|from)\s+(?P<v>{T})")),
    ("for", _rx(r"\s*for\s+(?P<v>{T})")),
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


def _b_undo(m: re.Match[str], text: str) -> Hit:
    return _op(m, Undo())


def _b_keep(m: re.Match[str], text: str) -> Hit | None:
    a, b = _ms(m.group("a")), _ms(m.group("b"))
    if a is None or b is None:
        return None
    return _op(m, TrimVideo(mode="keep", start_ms=a, end_ms=b))


def _b_cut_range(m: re.Match[str], text: str) -> Hit | None:
    a, b = _ms(m.group("a")), _ms(m.group("b"))
    if a is None or b is None:
        return None
    return _op(m, CutSegment(start_ms=a, end_ms=b))


def _b_first(m: re.Match[str], text: str) -> Hit | None:
    d = _ms(m.group("d"))
    return None if d is None else _op(m, TrimVideo(mode="start", duration_ms=d))


def _b_last(m: re.Match[str], text: str) -> Hit | None:
    d = _ms(m.group("d"))
    return None if d is None else _op(m, TrimVideo(mode="end", duration_ms=d))


def _b_start_at(m: re.Match[str], text: str) -> Hit | None:
    d = _ms(m.group("d"))
    return None if d is None else _op(m, TrimVideo(mode="start", duration_ms=d))


def _b_end_at(m: re.Match[str], text: str) -> Hit | None:
    d = _ms(m.group("d"))
    return None if d is None else _op(m, TrimVideo(mode="length", duration_ms=d))


def _b_intro(m: re.Match[str], text: str) -> Hit:
    mode: TrimMode = "outro" if m.group("which").lower().startswith("outro") else "intro"
    return _op(m, TrimVideo(mode=mode, duration_ms=_ms(m.group("d"))))


def _b_length(m: re.Match[str], text: str) -> Hit | None:
    d = _ms(m.group("d") or m.group("d2"))
    return None if d is None else _op(m, TrimVideo(mode="length", duration_ms=d))


_SILENCE_MIN = _rx(
    r"(?:longer\s+than|more\s+than|over|above|of\s+at\s+least|at\s+least|exceeding|>\s*)\s*(?P<d>{T})"
)
_SILENCE_DB = _rx(
    r"(?:below|under|quieter\s+than|threshold(?:\s+of)?|at|<)?\s*(?P<db>[-−]\s?\d+(?:\.\d+)?)\s*db\b"
)
_SILENCE_PAD = _rx(
    r"(?:with|keep(?:ing)?|leave|leaving)?\s*(?:a\s+)?(?P<d>{T})\s+(?:of\s+)?(?:padding|pad|margin|breathing\s+room)"
)


_SILENCE_GAP = re.compile(r"\s*(?:,\s*)?(?:that\s+are\s+|which\s+are\s+|and\s+|or\s+|\(\s*|\)\s*)*")


def _b_silences(m: re.Match[str], text: str) -> Hit:
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


def _b_highlight(m: re.Match[str], text: str) -> Hit:
    d = _ms(m.group("d") or m.group("d2"))
    return _op(m, MakeHighlightReel(target_ms=d or 60_000))


_COUNT = r"\d+|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"


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


def _b_segments(m: re.Match[str], text: str) -> Hit:
    return _op(m, _range_args(m) or SplitSegments(min_ms=180_000, max_ms=300_000, target_ms=240_000))


def _b_segments_bare(m: re.Match[str], text: str) -> Hit | None:
    op = _range_args(m)
    return None if op is None else _op(m, op)


def _b_chapters(m: re.Match[str], text: str) -> Hit:
    return _op(
        m, GenerateChapters(show_titles=bool(m.group("onscreen")), count=_count(m.group("count")) or None)
    )


def _b_captions_off(m: re.Match[str], text: str) -> Hit:
    return _op(m, RemoveCaptions())


_SUBTITLE_FILE = re.compile(r"[\w\-. ]+?\.(?:srt|vtt)\b", re.IGNORECASE)
_SUBTITLE_SOURCE = re.compile(
    r"\s+(?:from|using|with|in)\s+(?:the\s+)?(?:file\s+)?(" + _SUBTITLE_FILE.pattern + ")", re.IGNORECASE
)


def _b_captions(m: re.Match[str], text: str) -> Hit:
    source: str | None = None
    end = m.end()
    src = _SUBTITLE_SOURCE.match(text, end)
    if src:
        source = src.group(1).strip()
        end = src.end()
    return _op(m, AddCaptions(source=source), end)


def _quoted_text(text: str, end: int) -> tuple[str | None, int]:
    quoted = _quote_after(text, end)
    return quoted if quoted else (None, end)


def _b_title_card(m: re.Match[str], text: str) -> Hit:
    said, end = _quoted_text(text, m.end())
    mods, heard, end2 = _text_modifiers(text, end, AddText())
    if "duration_ms" in heard:
        end = end2
    return _op(m, AddTitleCard(text=said, duration_ms=mods.duration_ms), end)


def _b_summary(m: re.Match[str], text: str) -> Hit:
    said, end = _quoted_text(text, m.end())
    mods, heard, end2 = _text_modifiers(text, end, AddText())
    if heard & {"duration_ms", "edge"}:
        end = end2
    return _op(m, AddSummarySlide(text=said, duration_ms=mods.duration_ms), end)


def _b_text(m: re.Match[str], text: str) -> Hit | None:
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


def _b_music(m: re.Match[str], text: str) -> Hit:
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


def _b_music_volume(m: re.Match[str], text: str) -> Hit:
    return _op(m, AddBackgroundMusic(volume=min(100.0, float(m.group("v"))) / 100, volume_only=True))


def _b_music_off(m: re.Match[str], text: str) -> Hit:
    return _op(m, RemoveBackgroundMusic())


def _b_mute(m: re.Match[str], text: str) -> Hit:
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


def _b_platform(m: re.Match[str], text: str) -> Hit:
    word = re.sub(r"\s+", " ", (m.group("p") or m.group("p2") or "youtube").lower()).replace(
        "tik tok", "tiktok"
    )
    return _op(m, SetPlatform(platform=_PLATFORM_WORDS.get(word, DEFAULT_PLATFORM)))


def _b_fades(m: re.Match[str], text: str) -> Hit:
    which = (m.group("dir") or "").lower()
    d = _ms(m.group("d")) or 1000
    fade_in = "in" in which or not which or "both" in which
    fade_out = "out" in which or not which or "both" in which
    return _op(m, AddFades(fade_in_ms=d if fade_in else 0, fade_out_ms=d if fade_out else 0))


def _b_loudnorm(m: re.Match[str], text: str) -> Hit:
    return _op(m, NormalizeAudio())


def _b_describe(m: re.Match[str], text: str) -> Hit:
    return _op(m, DescribeTimeline())


def _b_export(m: re.Match[str], text: str) -> Hit:
    return Hit(m.start(), m.end(), export=True)


def _b_help(m: re.Match[str], text: str) -> Hit:
    return Hit(m.start(), m.end(), help=True)


def _refuse(reason: str) -> Builder:
    def build(m: re.Match[str], text: str) -> Hit:
        return Hit(m.start(), m.end(), refusal=Refusal(m.group(0).strip(), reason))

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
