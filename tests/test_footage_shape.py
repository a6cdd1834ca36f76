"""Shaping a footage reading for the model: laid onto the timeline through the pieces, one page at a time."""

from __future__ import annotations

from typing import Any

import pytest

from nemo_mcp.engine.footage import long_silences
from nemo_mcp.service import footage
from nemo_mcp.service.footage import MAX_SENTENCES, Window, shape

SPOKEN = [
    [500, 1500, "One."],
    [2000, 3500, "Two."],
    [6000, 7000, "Three."],
    [8000, 9000, "Four."],
    [10000, 11500, "Five."],
]


def _reading(media_id: str = "m1") -> dict[str, Any]:
    """A 12 s file: five sentences, two scenes, a long pause at 3.5-6 s."""
    return {
        "media_id": media_id,
        "filename": "lesson.mp4",
        "duration_ms": 12000,
        "sentences": SPOKEN,
        "words": SPOKEN,  # one-word sentences: each word is its sentence
        "scenes": [[0, "Welcome", ["Course intro"]], [7500, "Part 2", []]],
        "silences": [[3500, 6000]],
        "missing": [],
    }


def _draft(*pieces: tuple[str, int, int]) -> dict[str, Any]:
    """A main track of (src, in_ms, duration_ms) pieces, one after another."""
    return {"t": [{"tt": 0, "sg": [{"d": d, "m": {"src": src, "in": i}} for src, i, d in pieces]}]}


def test_pages_hold_at_most_limit_sentences_and_name_the_next_start() -> None:
    """Two sentences a page: the first page says where the next starts and how many there are in all."""
    raw = {"media": [_reading()], "draft": None}
    first = shape(raw, Window(start=0, limit=2))
    assert [s["text"] for s in first.sentences] == ["One.", "Two."]
    assert (first.total, first.next_start, first.times) == (5, 2, "source")
    last = shape(raw, Window(start=4, limit=2))
    assert [s["text"] for s in last.sentences] == ["Five."]
    assert last.next_start is None
    assert len(shape(raw, Window(limit=10_000)).sentences) <= MAX_SENTENCES


def test_words_come_only_on_request_and_only_for_the_page() -> None:
    """Words are left out unless asked; asked, they cover the page's sentences only."""
    raw = {"media": [_reading()], "draft": None}
    assert shape(raw, Window(limit=2)).words is None
    page = shape(raw, Window(start=1, limit=2, words=True))
    assert [w["text"] for w in page.words or []] == ["Two.", "Three."]


def test_a_cut_shifts_the_times_and_drops_what_was_cut() -> None:
    """Pieces 0-3.5 s and 7.5-12 s of the file: the middle is gone and the rest moves up by 4 s."""
    raw = {"media": [_reading()], "draft": _draft(("m1", 0, 3500), ("m1", 7500, 4500))}
    page = shape(raw, Window())
    assert page.times == "timeline"
    assert [(s["start_s"], s["text"]) for s in page.sentences] == [
        (0.5, "One."),
        (2.0, "Two."),
        (4.0, "Four."),
        (6.0, "Five."),
    ]
    assert [(s["start_s"], s["heading"]) for s in page.scenes] == [(0.0, "Welcome"), (3.5, "Part 2")]
    assert page.silences == []  # the pause was cut with the middle
    assert page.duration_s == 8.0


def test_a_timeline_naming_no_read_file_gives_source_times_and_says_so() -> None:
    """A cloud draft whose pieces name no uploaded file: the file's own times, with a note."""
    raw = {"media": [_reading("https://cdn/x.mp4")], "draft": _draft(("other", 0, 5000))}
    page = shape(raw, Window())
    assert page.times == "source"
    assert page.total == 5 and page.notes


def test_long_silences_include_the_ends_and_skip_short_pauses() -> None:
    """Pauses of 1.5 s or more count, the lead-in and the tail included; a 1 s pause does not."""
    speech = ((2500, 4000), (5000, 6000), (9000, 10000))
    assert long_silences(speech, 13000) == [[0, 2500], [6000, 9000], [10000, 13000]]
    assert long_silences((), 1200) == []
    assert long_silences((), 4000) == [[0, 4000]]  # no speech at all: the whole file is silent


def test_nothing_to_read_says_so() -> None:
    """An empty timeline reads as nothing, with a note that names the fix, never as silence."""
    page = shape({"media": [], "draft": {"t": []}}, Window())
    assert (page.total, page.sentences, page.silences) == (0, [], [])
    assert any("Upload" in n for n in page.notes)


def test_a_lecture_with_more_slides_than_a_page_holds_pages_them_with_its_sentences(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past the scene cap, each page carries the scenes of its own span, so no slide is lost for good."""
    monkeypatch.setattr(footage, "MAX_SCENES", 3)
    reading = _reading()
    reading["scenes"] = [[ms, f"Slide {n}", []] for n, ms in enumerate(range(0, 12000, 1000))]
    raw = {"media": [reading], "draft": None}
    first, second = shape(raw, Window(start=0, limit=2)), shape(raw, Window(start=2, limit=2))
    # Page 1 spans 0 s up to "Three." (6 s); page 2 from 6 s up to "Five." (10 s).
    assert [s["heading"] for s in first.scenes] == ["Slide 0", "Slide 1", "Slide 2"]
    assert [s["heading"] for s in second.scenes] == ["Slide 6", "Slide 7", "Slide 8"]
    assert first.notes and second.notes
    whole = shape({"media": [_reading()], "draft": None}, Window(start=2, limit=2))
    assert [s["heading"] for s in whole.scenes] == ["Welcome", "Part 2"] and not whole.notes
