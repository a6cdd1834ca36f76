"""Subtitle files (SubRip and WebVTT) as a list of timed captions.

pysubs2 reads the cues and turns their styling into override tags. Its WebVTT reader is
its SubRip reader, so before handing the text over, every block that is not a cue
(the WEBVTT header, NOTE, STYLE and REGION blocks) and every cue identifier is dropped,
and each timing line is rewritten in SubRip form; that also admits the short times
("01:02.5", no hours) some hand-made files use, which pysubs2 would skip.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

SUBTITLE_SUFFIXES = frozenset({".srt", ".vtt", ".webvtt"})
# A subtitle file larger than this is not a subtitle file.
MAX_SUBTITLE_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Cue:
    """One caption: shown from ``start_ms`` to ``end_ms``."""

    start_ms: int
    end_ms: int
    text: str


def read_subtitle_text(data: bytes) -> str:
    """Subtitle bytes as text: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Old SRT files from Windows tools are usually in the ANSI code page.
        return data.decode("cp1252", errors="replace")


_TIME = r"(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{1,3})"
_TIMING = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}(?:\s|$)")
_BLANK_LINES = re.compile(r"\n[ \t]*\n")
_TAG = re.compile(r"<[^>]*>")
_ASS_OVERRIDE = re.compile(r"\{\\[^}]*\}")


def _timestamp_ms(hours: str | None, minutes: str, seconds: str, fraction: str) -> int:
    # A fraction of "5" means half a second, as in "00:01.5".
    return ((int(hours or 0) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + int(fraction.ljust(3, "0"))


def _srt_time(ms: int) -> str:
    seconds, ms = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d},{ms:03d}"


def _cue_blocks(text: str) -> str:
    """Only the cue blocks of ``text``, each from its timing line on, timings in SubRip form."""
    kept: list[str] = []
    for block in _BLANK_LINES.split(text):
        lines = block.split("\n")
        first = next((i for i, line in enumerate(lines) if _TIMING.match(line)), None)
        if first is None:
            continue
        out = []
        for line in lines[first:]:
            if m := _TIMING.match(line):
                g = m.groups()
                line = f"{_srt_time(_timestamp_ms(*g[0:4]))} --> {_srt_time(_timestamp_ms(*g[4:8]))}"
            out.append(line)
        kept.append("\n".join(out))
    return "\n\n".join(kept) + "\n"


def _clean(event_text: str) -> str:
    """Caption text of a pysubs2 event: no override tags, no markup, no entities, no blank lines."""
    text = event_text.replace("\\N", "\n").replace("\\n", "\n").replace("\\h", " ")
    cleaned = []
    for line in text.split("\n"):
        line = html.unescape(_ASS_OVERRIDE.sub("", _TAG.sub("", line))).replace("\xa0", " ").strip()
        if line:
            cleaned.append(line)
    return "\n".join(cleaned)


def parse_subtitles(text: str) -> list[Cue]:
    """Cues of an SRT or WebVTT document, sorted by start; styling tags are removed.

    Tolerates a BOM, CRLF or CR line ends, cue settings after the times, identifiers,
    NOTE/STYLE blocks, multi-line cues, optional hours and missing blank lines between cues.
    """
    import pysubs2

    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    events = pysubs2.SSAFile.from_string(_cue_blocks(text), format_="srt")
    cues = []
    for event in events:
        content = _clean(event.text)
        if content and event.end > event.start:
            cues.append(Cue(start_ms=event.start, end_ms=event.end, text=content))
    cues.sort(key=lambda c: (c.start_ms, c.end_ms))
    return cues
