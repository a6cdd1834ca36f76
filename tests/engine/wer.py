"""Word error rate of a transcript, after the English text normalisation Whisper's own evaluations use.

Whisper's papers score English with a normaliser that forgives what is spelling rather than
hearing: case, punctuation, hyphens ("frame-rate" = "frame rate"), contractions ("won't" =
"will not") and numbers said in words or written in digits ("twenty five" = "25"). This is a small
version of those rules (its British-to-American spelling table is left out), written here so the
speech test and ``bench/asr.py`` score the same way without another dependency.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["normalise", "wer", "word_errors"]

_CONTRACTIONS: Final = [
    (r"\bwon't\b", "will not"),
    (r"\bcan't\b", "can not"),
    (r"\blet's\b", "let us"),
    (r"n't\b", " not"),
    (r"'re\b", " are"),
    (r"'ll\b", " will"),
    (r"'ve\b", " have"),
    (r"'m\b", " am"),
    (r"'d\b", " would"),
]
_FILLERS: Final = re.compile(r"\b(?:hmm+|mm+|mhm|uh+|um+)\b")
_BRACKETED: Final = re.compile(r"[\[(<][^\])>]*[\])>]")
_ONES: Final = {
    w: i
    for i, w in enumerate(
        ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
         "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
    )
}  # fmt: skip
_TENS: Final = {
    w: 10 * i
    for i, w in enumerate(("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"), 2)
}


def _numbers(words: list[str]) -> list[str]:
    """Numbers said in words as digits: "twenty five" → "25", "three hundred and two" → "302"."""
    out: list[str] = []
    value: int | None = None
    for i, word in enumerate(words):
        if word in _ONES or word in _TENS:
            small = _ONES.get(word, _TENS.get(word, 0))
            if value is not None and (value % 100 == 0 or (value % 10 == 0 and small < 10 and word in _ONES)):
                value += small  # "twenty five", "three hundred two"
            else:
                if value is not None:
                    out.append(str(value))
                value = small
        elif word == "hundred" and value is not None and 0 < value < 10:
            value *= 100
        elif (
            word == "and"
            and value is not None
            and value % 100 == 0
            and i + 1 < len(words)
            and (words[i + 1] in _ONES or words[i + 1] in _TENS)
        ):
            continue  # "three hundred and two"
        else:
            if value is not None:
                out.append(str(value))
                value = None
            out.append(word)
    if value is not None:
        out.append(str(value))
    return out


def normalise(text: str) -> list[str]:
    """``text`` as comparable words: lower case, no punctuation or fillers, contractions and numbers spelt one way."""
    text = text.lower().replace("’", "'").replace("‘", "'")
    text = _BRACKETED.sub(" ", text)
    for pattern, spelt in _CONTRACTIONS:
        text = re.sub(pattern, spelt, text)
    text = _FILLERS.sub(" ", text)
    text = re.sub(r"(\d),(\d)", r"\1\2", text)  # 1,000 → 1000
    text = re.sub(r"(\d)\s*%", r"\1 percent", text)
    # Everything else that is not a letter or a digit separates words (hyphens, apostrophes too).
    words = re.findall(r"[^\W_]+(?:\.\d+)?", text)
    return _numbers(words)


def word_errors(reference: list[str], heard: list[str]) -> int:
    """Substitutions + insertions + deletions turning ``reference`` into ``heard`` (Levenshtein over words)."""
    row = list(range(len(heard) + 1))
    for i, ref_word in enumerate(reference, start=1):
        prev, row[0] = row[:], i
        for j, word in enumerate(heard, start=1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ref_word != word))
    return row[-1]


def wer(reference: str, heard: str) -> float:
    """Word error rate of ``heard`` against ``reference``, both normalised."""
    ref = normalise(reference)
    return word_errors(ref, normalise(heard)) / max(1, len(ref))
