"""Finding "the sentence about …": the grammar's phrasings and the matching of a topic to a sentence."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nemo_mcp.engine.edit import CutSentence, CutWords, plan
from nemo_mcp.engine.edit.spoken import MIN_COVERAGE, SpokenSentence, sentences_about, stem

LECTURE = (Path(__file__).resolve().parents[1] / "fixtures" / "speech" / "lecture.txt").read_text(
    encoding="utf-8"
)


def _sentences() -> list[SpokenSentence]:
    parts = re.split(r"(?<=[.])\s+", LECTURE.strip())
    return [SpokenSentence(4000 * i, 4000 * i + 3000, text) for i, text in enumerate(parts)]


@pytest.mark.parametrize(
    ("instruction", "topic"),
    [
        ("remove the sentence about quantization", "quantization"),
        ("cut the sentence about the encoder predicting motion", "the encoder predicting motion"),
        ("drop the part about 'video compression'", "video compression"),
        ("delete where I talk about the exam", "the exam"),
        ("cut the part where I mention fractions", "fractions"),
        ("get rid of the bit on motion prediction", "motion prediction"),
    ],
)
def test_phrasings_of_a_sentence_about_a_topic(instruction: str, topic: str) -> None:
    """Each close variant plans one sentence cut whose topic is the words after it."""
    result = plan(instruction)
    assert result.operations == (CutSentence(about=topic),)
    assert not result.unrecognised


def test_the_topic_ends_where_the_next_instruction_starts() -> None:
    """ "… about X and add captions" is two operations; a quoted phrase still cuts words, not a sentence."""
    result = plan("delete where I talk about the exam and add captions")
    assert [op.name for op in result.operations] == ["cut_sentence", "add_captions"]
    assert result.operations[0] == CutSentence(about="the exam")
    assert plan("cut the part where I say 'called frames'").operations == (CutWords(phrase="called frames"),)


def test_forms_of_a_word_share_a_stem() -> None:
    """Plurals, -ing, -ion and -e forms meet; words that only look plural keep their s."""
    assert stem("predicts") == stem("prediction") == stem("predicting") == "predict"
    assert stem("frames") == stem("frame")
    assert stem("quantization") == stem("quantize")
    assert stem("class") == "class" and stem("analysis") == "analysis"
    assert stem("motion") == "motion"  # too short a stem to cut


def test_the_sentence_that_says_the_topic_is_found() -> None:
    """Every content word of the topic, in any form, points at the one sentence that says them."""
    sentences = _sentences()
    looked, found = sentences_about(sentences, "the encoder predicting motion")
    assert looked == ["encoder", "predicting", "motion"]
    assert sentences[found[0].index].text.startswith("So instead of storing every picture")
    assert found[0].coverage == 1.0
    _, changed = sentences_about(sentences, "what changed between frames")
    assert sentences[changed[0].index].text.startswith("It stores only what changed")


def test_between_equal_matches_the_sentence_that_opens_with_the_topic_wins() -> None:
    """Quantization is said twice: the sentence about it beats the summary listing it; both are returned."""
    sentences = _sentences()
    _, found = sentences_about(sentences, "quantization")
    assert [sentences[a.index].text.split()[0] for a in found] == ["Finally,", "To"]
    assert found[0].coverage == found[1].coverage


def test_no_sentence_about_an_unsaid_topic() -> None:
    """Words never said match nothing; a topic of function words only has nothing to look for."""
    looked, found = sentences_about(_sentences(), "bananas and oranges")
    assert looked == ["bananas", "oranges"] and found == []
    assert sentences_about(_sentences(), "it") == ([], [])
    _, partial = sentences_about(_sentences(), "quantization of bananas, oranges and pears")
    assert all(a.coverage >= MIN_COVERAGE for a in partial)
    assert partial == []  # one word of four said is not "about" it
