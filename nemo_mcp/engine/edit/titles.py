"""Titles for chapters and learning segments, from what the video shows and says.

A section is named after the slide heading on screen for most of it; without one, after a
short key phrase of what is said in it (the words that recur in this section more than in the
others); without speech, after its first caption. Titles are at most
:data:`MAX_TITLE_CHARS` characters, cut at a word boundary, with no ellipsis. Numbering
("Chapter 3") is used only where a section has neither text nor speech.

The key phrase (:mod:`~nemo_mcp.engine.edit.phrases`) is our own frequency count rather than a
library (``yake`` and the like): a chapter holds a few sentences, too few for a statistical
extractor to do better than "the noun phrase said here and rarely elsewhere", and it costs no
dependency.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from nemo_mcp.draft import ops
from nemo_mcp.draft.ops import TimedText
from nemo_mcp.engine.edit import spoken
from nemo_mcp.engine.edit.phrases import key_phrase
from nemo_mcp.engine.edit.workspace import Workspace
from nemo_mcp.engine.media import MediaError

__all__ = ["MAX_TITLE_CHARS", "Shown", "fit_title", "key_phrase", "pick_titles", "section_titles"]

logger = logging.getLogger(__name__)

# YouTube shows about this much of a chapter title beside the progress bar.
MAX_TITLE_CHARS: Final = 49
_ELLIPSIS: Final = re.compile(r"…|\.{2,}")
# Punctuation a title neither starts nor ends with (Latin and CJK).
_EDGE: Final = " ,;:-–—.，。：；、！？"
# An opening sentence in Chinese or Japanese this many characters long or shorter is taken whole.
_WHOLE_SENTENCE_CJK: Final = 16
# Words a cut title must not end on: they leave it hanging ("The light reactions of").
_DANGLING_WORDS: Final = """
a an the of and or but nor to in on at for with from by into onto as than that which who whose
    my our your their its his her this these those is are was were be
"""
_DANGLING: Final = frozenset(_DANGLING_WORDS.split())
# A section's opening sentence this short is taken whole: it is usually its topic ("Welcome to limits").
_WHOLE_SENTENCE_WORDS: Final = 6


@dataclass(frozen=True)
class Shown:
    """A heading on screen over a stretch of the timeline."""

    start: int
    end: int
    heading: str


def is_cjk(ch: str) -> bool:
    """Whether ``ch`` is a Chinese, Japanese or Korean character (written without spaces between words)."""
    return "\u3040" <= ch <= "\u30ff" or "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def fit_title(text: str, limit: int = MAX_TITLE_CHARS) -> str:
    """``text`` as a title: one line, no ellipsis, at most ``limit`` characters cut at a word boundary."""
    text = _ELLIPSIS.sub(" ", re.sub(r"<[^>]*>|\{[^}]*\}", "", text))
    text = " ".join(text.split()).strip(_EDGE)
    if len(text) > limit:
        if is_cjk(text[limit - 1]) and is_cjk(text[limit]):
            cut = text[
                :limit
            ]  # Chinese and Japanese put no spaces between words: any character is a boundary
        elif " " in text[: limit + 1]:
            cut = text[: limit + 1].rsplit(" ", 1)[0]
        else:
            cut = text[:limit]
        words = cut[:limit].rstrip(_EDGE).split(" ")
        while len(words) > 1 and words[-1].lower() in _DANGLING:
            words.pop()  # "The light reactions of" reads as cut off: end on a word that says something
        text = " ".join(words).rstrip(_EDGE)
    return text[:1].upper() + text[1:]


def _spoken_title(text: str, others: Sequence[str]) -> str:
    """A short opening sentence whole, else the key phrase, else the first words (no ellipsis)."""
    first = " ".join(re.split(r"(?<=[.!?])\s|(?<=[。！？])|\n", text.strip(), maxsplit=1)[0].split())
    if 1 < len(first.split()) <= _WHOLE_SENTENCE_WORDS and len(first) <= MAX_TITLE_CHARS:
        return fit_title(first.rstrip(".!?"))
    if any(is_cjk(ch) for ch in first) and len(first) <= _WHOLE_SENTENCE_CJK:
        return fit_title(first.rstrip("。！？.!?"))
    return fit_title(key_phrase(text, others)) or fit_title(" ".join(first.split()[:_WHOLE_SENTENCE_WORDS]))


def _most_shown(shown: Sequence[Shown], start: int, end: int) -> str:
    """The heading on screen for the longest part of ``start``–``end``, or ''."""
    time: Counter[str] = Counter()
    for s in shown:
        overlap = min(s.end, end) - max(s.start, start)
        if overlap > 0 and s.heading:
            time[s.heading] += overlap
    top = time.most_common(1)
    return top[0][0] if top and top[0][1] * 4 >= end - start else ""


def pick_titles(
    bounds: Sequence[tuple[int, int]],
    shown: Sequence[Shown],
    said: Sequence[TimedText],
    fallback: str,
) -> list[str]:
    """A title per section ``bounds[i]``: its heading, else its key phrase, else ``fallback i``."""
    # One line per caption or sentence: a caption without a full stop still ends its thought.
    texts = ["\n".join(c.text for c in said if s <= c.start < e) for s, e in bounds]
    titles: list[str] = []
    for i, ((s, e), text) in enumerate(zip(bounds, texts, strict=True), start=1):
        others = texts[: i - 1] + texts[i:]
        title = fit_title(_most_shown(shown, s, e))
        if not title or title in titles:
            title = _spoken_title(text, others) or title
        if not title:
            title = f"{fallback} {i}"
        if title in titles:
            title = fit_title(f"{title} ({i})")
        titles.append(title)
    return titles


async def _timeline_headings(ws: Workspace) -> list[Shown]:
    """The headings of every scene of the spine's videos, laid onto the timeline."""
    out: list[Shown] = []
    for ref in ws.spine_media():
        if ref.kind != "video":
            continue
        try:
            scenes = await ws.analyzer.scene_text(ref)
        except MediaError as exc:
            logger.info("no on-screen text for %s: %s", ref.filename, exc)
            continue
        if not scenes:
            continue
        ends = [*(s.start_ms for s in scenes[1:]), ref.info.duration_ms]
        for piece in ops.pieces(ws.draft):
            if piece.src != ref.media_id:
                continue
            shift = piece.start - piece.in_ms
            for scene, end in zip(scenes, ends, strict=True):
                a, b = max(scene.start_ms, piece.in_ms), min(end, piece.in_ms + piece.duration)
                if b > a and scene.heading:
                    out.append(Shown(a + shift, b + shift, scene.heading))
    return sorted(out, key=lambda s: s.start)


async def _timeline_speech(ws: Workspace) -> list[TimedText]:
    """What is said on the timeline, sentence by sentence: captions, else the transcript."""
    cues = await ws.title_cues()
    if cues or not ws.analyzer.can_transcribe():
        return cues
    try:
        sentences = spoken.timeline_sentences(ws.draft, await spoken.transcripts(ws))
    except MediaError:
        return []  # no model here: titles come from the screen or are numbered
    return [TimedText(s.start, s.end, s.text) for s in sentences]


async def section_titles(ws: Workspace, starts: Sequence[int], fallback: str) -> list[str]:
    """Titles for the sections starting at ``starts`` on the timeline (see the module's notes)."""
    bounds = list(zip(starts, [*starts[1:], ws.total()], strict=True))
    return pick_titles(bounds, await _timeline_headings(ws), await _timeline_speech(ws), fallback)
