"""Chapter titles from speech: readable noun phrases of what each chapter says, cut cleanly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nemo_mcp.draft.ops import TimedText
from nemo_mcp.engine.edit.phrases import key_phrase, title_case
from nemo_mcp.engine.edit.spoken import STOP_WORDS
from nemo_mcp.engine.edit.titles import MAX_TITLE_CHARS, fit_title, pick_titles

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TALKS = FIXTURES / "transcripts"


def _talk(name: str) -> tuple[list[tuple[int, int]], list[TimedText]]:
    """A transcript fixture as chapter bounds and timed sentences (4 s each)."""
    text = (TALKS / name).read_text(encoding="utf-8")
    bounds: list[tuple[int, int]] = []
    said: list[TimedText] = []
    t = 0
    for chapter in (c for c in text.split("\n\n") if c.strip()):
        start = t
        for line in chapter.strip().splitlines():
            said.append(TimedText(t, t + 3000, line))
            t += 4000
        bounds.append((start, t))
    return bounds, said


def _said_in(title: str, text: str) -> bool:
    """Whether ``title`` is words said in ``text`` (any case, hyphens and spacing aside)."""

    def flat(words: str) -> str:
        return " " + " ".join(re.findall(r"[\w'-]+", words.lower())) + " "

    return flat(title) in flat(text)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "photosynthesis.txt",
            ["Chlorophyll", "Light Reactions", "Calvin Cycle", "By-product of Photosynthesis"],
        ),
        ("fractions.txt", ["Parts of a Whole", "Equivalent Fractions", "Common Denominator"]),
        ("version_control.txt", ["Version Control", "Feature Branch", "Merge Conflict"]),
    ],
)
def test_spoken_titles_are_noun_phrases_said_in_the_chapter(name: str, expected: list[str]) -> None:
    """Without slides or a short opening sentence, each title is the chapter's own noun phrase, said in it."""
    bounds, said = _talk(name)
    titles = pick_titles(bounds, [], said, "Chapter")
    assert titles == expected
    for title, (start, end) in zip(titles, bounds, strict=True):
        chapter = " ".join(s.text for s in said if start <= s.start < end)
        assert _said_in(title, chapter), title
        assert len(title) <= MAX_TITLE_CHARS
        assert title.split()[-1].lower() not in STOP_WORDS
        assert title.split()[0].lower() not in STOP_WORDS


def test_a_verb_after_its_subject_ends_the_phrase() -> None:
    """ "quantization throws", "compression works", "encoder predicts" lose the verb: titles name things."""
    sentences = re.split(
        r"(?<=[.])\s+", (FIXTURES / "speech" / "lecture.txt").read_text(encoding="utf-8").strip()
    )
    chapters = ["\n".join(sentences[0:2]), "\n".join(sentences[2:5]), "\n".join(sentences[5:7])]
    titles = [key_phrase(c, chapters[:i] + chapters[i + 1 :]) for i, c in enumerate(chapters)]
    assert titles == ["Video Compression", "Encoder", "Motion Prediction and Quantization"]
    assert key_phrase("It stores only what changed.") == ""  # a pronoun's verb and a past form name nothing
    assert key_phrase("We will add fractions together.") == "Fractions"


def test_title_case_keeps_acronyms_and_minor_words() -> None:
    """Words are capitalised, the small ones inside stay lower case, acronyms and names stay as said."""
    assert title_case(["parts", "of", "a", "whole"]) == "Parts of a Whole"
    assert title_case(["ATP", "and", "NADPH"]) == "ATP and NADPH"
    assert title_case(["the", "iPhone"]) == "The iPhone"


def test_a_cut_title_never_ends_on_a_function_word() -> None:
    """A heading longer than 49 characters is cut between words and never left hanging on "of" or "the"."""
    title = fit_title("The light reactions of photosynthesis in the thylakoid membranes of chloroplasts")
    assert len(title) <= MAX_TITLE_CHARS
    assert title == "The light reactions of photosynthesis"
