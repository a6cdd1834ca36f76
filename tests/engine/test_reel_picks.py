"""Choosing a highlight reel's sentences: whole sentences, best first, within 10 % of the length asked."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from nemo_mcp.engine.edit.spoken import FIT_STEP_MS, SpokenSentence, pick_sentences

# The demo lecture's nine sentences (ms); the best-scored ones add up to 13 s where 15 s is asked.
DEMO = [
    (1000, 3644, "Welcome to this short lecture on photosynthesis."),
    (4644, 7966, "Photosynthesis is how green plants make their own food from light."),
    (8966, 13384, "It takes place in the leaves, inside small green parts called chloroplasts."),
    (15184, 19483, "A plant takes in water through its roots, and carbon dioxide from the air."),
    (20483, 24317, "With the energy of sunlight, it turns them into sugar and oxygen."),
    (25317, 28706, "The oxygen leaves the plant through tiny openings in its leaves."),
    (30506, 33918, "The sugar feeds the plant, and the oxygen is the air we breathe."),
    (34918, 38751, "Without photosynthesis, there would be no food for animals or people."),
    (39751, 44283, "To sum up, plants turn light, water and carbon dioxide into food and oxygen."),
]


def _total(picks: list[SpokenSentence], extra_ms: int) -> int:
    return sum(s.end - s.start + extra_ms for s in picks)


def test_a_greedy_shortfall_is_made_up_by_a_set_that_fits() -> None:
    """15 s of the demo lecture comes out within 13.5-16.5 s, in story order, whole sentences only."""
    sentences = [SpokenSentence(a, b, t) for a, b, t in DEMO]
    picks = pick_sentences(sentences, 15_000, extra_ms=600)
    assert 13_500 <= _total(picks, 600) <= 16_500
    assert picks == sorted(picks, key=lambda s: s.start) and all(p in sentences for p in picks)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(min_value=1500, max_value=9000), min_size=3, max_size=30),
    st.integers(min_value=5000, max_value=60_000),
)
def test_a_reel_never_runs_over_and_reaches_90_percent_when_some_choice_does(
    lengths: list[int], target: int
) -> None:
    """The pick never passes +10 % and reaches -10 % whenever a set of sentences does with room to spare (brute force)."""
    starts = [sum(lengths[:i]) + 500 * i for i in range(len(lengths))]
    sentences = [
        SpokenSentence(s, s + n, f"sentence {i} about topic {i % 3}")
        for i, (s, n) in enumerate(zip(starts, lengths, strict=True))
    ]
    picks = pick_sentences(sentences, target)
    total = _total(picks, 0)
    assert total <= target * 1.1
    if total < target * 0.9 and len(lengths) <= 12:
        sums = {0}
        for n in lengths:
            sums |= {s + n for s in sums}
        # Lengths are added in FIT_STEP_MS steps: a set is promised when one fits with a step each to spare.
        spare = FIT_STEP_MS * len(lengths)
        assert not any(target * 0.9 + spare <= s <= target * 1.1 for s in sums)
