"""Times and lengths as people write them: ``1:30``, ``90 seconds``, ``2 min``, ``1m30s``, ``45``."""

from __future__ import annotations

import re

__all__ = ["DURATION", "parse_duration", "word_number"]

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


def word_number(word: str) -> float:
    """``ten`` → 10.0, ``2.5`` → 2.5."""
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
        return round(sum(word_number(n) * _UNIT_MS[u] for n, u in pairs))
    if re.fullmatch(r"\d+(?:\.\d+)?", t):
        return round(float(t) * default_unit_ms)
    return None
