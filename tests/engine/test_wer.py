"""The WER scorer the speech test and bench/asr.py share: Whisper's English normalisation, then word edits."""

from __future__ import annotations

from tests.engine.wer import normalise, wer, word_errors


def test_normalise_forgives_spelling_not_hearing() -> None:
    """Case, punctuation, hyphens, contractions, fillers, bracketed noises and spoken numbers compare equal."""
    assert normalise("[MUSIC] Um, the Frame-Rate won't drop below Twenty-Five!") == normalise(
        "the frame rate will not drop below 25"
    )
    assert normalise("three hundred and two frames, 1,000 of them, 5%") == [
        "302", "frames", "1000", "of", "them", "5", "percent",
    ]  # fmt: skip
    assert normalise("It's Sam’s") == ["it", "s", "sam", "s"]


def test_wer_counts_substitutions_insertions_and_deletions() -> None:
    """Each changed, added or missing word is one error over the reference's length."""
    assert word_errors(["a", "b", "c", "d"], ["a", "x", "c"]) == 2
    assert word_errors([], ["a"]) == 1
    assert wer("The eye barely notices.", "the i barely notices") == 0.25
    assert wer("Motion prediction", "motion prediction") == 0.0
