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


def test_chinese_titles_are_cut_between_characters() -> None:
    """Chinese has no spaces: a long heading is cut at 49 characters, with no punctuation left hanging."""
    heading = "第二部分：光合作用中的光反应如何把光能转化为化学能，" + "并且释放出我们呼吸的氧气" * 3
    title = fit_title(heading)
    assert len(title) == MAX_TITLE_CHARS
    assert heading.startswith(title)
    assert fit_title("光反应。") == "光反应"
    mixed = fit_title("第一部分 " + "光" * 60)
    assert mixed == ("第一部分 " + "光" * 60)[:MAX_TITLE_CHARS]


def test_chinese_speech_gives_a_short_opening_sentence_or_a_clause() -> None:
    """A short Chinese opening sentence is taken whole; a long one gives a clause of it, within 49 characters."""
    said = [
        TimedText(0, 3000, "今天我们学习光合作用。"),
        TimedText(4000, 7000, "植物利用阳光制造养分。"),
        TimedText(
            12_000,
            15_000,
            "在第二个阶段里，二氧化碳在叶绿体的基质中被固定成糖，这个过程叫做卡尔文循环，它需要光反应产生的能量。",
        ),
    ]
    titles = pick_titles([(0, 12_000), (12_000, 20_000)], [], said, "Chapter")
    assert titles[0] == "今天我们学习光合作用"
    assert len(titles[1]) <= MAX_TITLE_CHARS
    assert titles[1] in said[2].text
