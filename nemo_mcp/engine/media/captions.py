"""Timed words made into readable captions.

The usual subtitling rules: at most two lines of at most 42 characters, on screen for at least
a second, broken only between words, and preferably where a sentence or a pause ends, so
a caption never straddles a silence or the end of a thought.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from nemo_mcp.engine.media.speech import Word
from nemo_mcp.engine.media.subtitles import Cue

__all__ = ["MAX_CAPTION_CHARS", "MAX_CAPTION_LINES", "MAX_CAPTION_MS", "MIN_CAPTION_MS", "words_to_cues"]

MAX_CAPTION_CHARS: Final = 42
MAX_CAPTION_LINES: Final = 2
MAX_CAPTION_MS: Final = 6000
MIN_CAPTION_MS: Final = 1000
# A pause this long between words starts a new caption.
_CAPTION_GAP_MS: Final = 700
_SENTENCE_END: Final = re.compile(r"[.!?…。！？]['\"”’)\]]*$")


def _lines(words: list[str], max_chars: int) -> list[str]:
    """``words`` on one line, or two balanced lines, of at most ``max_chars`` when they fit."""
    text = " ".join(words)
    if len(text) <= max_chars:
        return [text]
    splits = [[" ".join(words[:cut]), " ".join(words[cut:])] for cut in range(1, len(words))]
    widths = [max(len(top), len(bottom)) for top, bottom in splits]
    fitting = [i for i, width in enumerate(widths) if width <= max_chars]
    if not fitting:
        return [text]  # too long for two lines (or one over-long word): the caller splits it earlier
    return splits[min(fitting, key=widths.__getitem__)]


def _fits(words: list[str], max_chars: int) -> bool:
    """Whether ``words`` fit on two lines (a lone over-long word always does: it cannot be split)."""
    lines = _lines(words, max_chars)
    return len(words) <= 1 or all(len(line) <= max_chars for line in lines)


def _groups(words: Sequence[Word], max_chars: int, max_ms: int) -> list[list[Word]]:
    groups: list[list[Word]] = []
    group: list[Word] = []
    for word in words:
        if group:
            last = group[-1]
            paused = word.start_ms - last.end_ms > _CAPTION_GAP_MS
            full = not _fits([w.text for w in [*group, word]], max_chars)
            too_long = word.end_ms - group[0].start_ms > max_ms
            # A sentence ending past the first line is a good place to stop.
            sentence_done = _SENTENCE_END.search(last.text) is not None and (
                sum(len(w.text) + 1 for w in group) > max_chars
            )
            if paused or full or too_long or sentence_done:
                groups.append(group)
                group = []
        group.append(word)
    if group:
        groups.append(group)
    return groups


def _merge_short(groups: list[list[Word]], max_chars: int, min_ms: int) -> list[list[Word]]:
    """A group said in under ``min_ms`` joins the next one when they fit together and no pause parts them."""
    out: list[list[Word]] = []
    for group in groups:
        if out:
            prev = out[-1]
            short = prev[-1].end_ms - prev[0].start_ms < min_ms
            close = group[0].start_ms - prev[-1].end_ms <= _CAPTION_GAP_MS
            if short and close and _fits([w.text for w in [*prev, *group]], max_chars):
                prev.extend(group)
                continue
        out.append(list(group))
    return out


def words_to_cues(
    words: Sequence[Word],
    *,
    max_chars: int = MAX_CAPTION_CHARS,
    max_ms: int = MAX_CAPTION_MS,
    min_ms: int = MIN_CAPTION_MS,
) -> list[Cue]:
    """Captions of at most two lines (:data:`MAX_CAPTION_LINES`) of ``max_chars``, each shown at least ``min_ms``.

    A caption said faster than ``min_ms`` stays up longer, into the pause after it, never
    overlapping the next one.
    """
    groups = _merge_short(_groups(words, max_chars, max_ms), max_chars, min_ms)
    cues: list[Cue] = []
    for i, group in enumerate(groups):
        start = group[0].start_ms
        end = max(group[-1].end_ms, start + min_ms)
        if i + 1 < len(groups):
            end = max(group[-1].end_ms, min(end, groups[i + 1][0].start_ms))
        text = "\n".join(_lines([w.text for w in group], max_chars))
        cues.append(Cue(start_ms=start, end_ms=max(end, start + 1), text=text))
    return cues
