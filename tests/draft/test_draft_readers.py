"""The draft's single lenient number reader, its time-format family and its shared constants."""

from __future__ import annotations

from typing import Any

import pytest

from nemo_mcp import draft
from nemo_mcp.draft import model, ops


@pytest.mark.parametrize(
    ("value", "number"),
    [(5, 5.0), (2.5, 2.5), ("7", 7.0), (" 1.5 ", 1.5), (True, None), ("x", None), (None, None), (float("inf"), None), ("nan", None), ([], None)],
)  # fmt: skip
def test_lenient_number(value: Any, number: float | None) -> None:
    """Numbers and numeric strings read as floats; booleans, junk and non-finite values are None."""
    assert draft.lenient_number(value) == number


@pytest.mark.parametrize(
    ("value", "expected"),
    [(5, 5), (2.6, 3), ("7.4", 7), (True, -1), ("x", -1), ("inf", -1), (None, -1)],
)
def test_as_int_shares_the_lenient_reader(value: Any, expected: int) -> None:
    """``as_int`` rounds what ``lenient_number`` reads and falls back to the default for the rest."""
    assert ops.as_int(value, -1) == expected
    assert draft.lenient_int(value) == (None if expected == -1 else expected)


def test_one_definition_of_the_track_types() -> None:
    """The track types are the same objects wherever they are imported from."""
    assert (ops.VIDEO, ops.AUDIO, ops.TEXT) == (model.VIDEO, model.AUDIO, model.TEXT) == (0, 1, 7)
    assert ops.as_int is model.as_int is draft.as_int


def test_platform_table() -> None:
    """Each platform has one canvas; the renderer's default is YouTube's."""
    assert draft.PLATFORM_CANVAS == {"youtube": (1920, 1080), "shorts": (1080, 1920), "square": (1080, 1080)}
    assert draft.DEFAULT_CANVAS == (1920, 1080)
    assert draft.PLATFORMS["shorts"].label == "Shorts/TikTok/Reels (9:16, 1080x1920)"


@pytest.mark.parametrize(
    ("ms", "length"),
    [(150, "0.15s"), (7300, "7.3s"), (2000, "2s"), (12_500, "12.5s"), (59_940, "59.9s"), (90_400, "1:30"), (3_723_000, "1:02:03")],
)  # fmt: skip
def test_format_length(ms: int, length: str) -> None:
    """A length in a reply: no space before the unit, hundredths under 10 s, whole-second clocks from a minute."""
    assert draft.format_length(ms) == length


def test_reply_lengths_and_summaries_write_seconds_alike() -> None:
    """The reply's length and the diff's span agree on "7.3s" (the issue's "7.3 s" / "7.3s")."""
    assert draft.format_length(7300) == draft.format_seconds(7300) == "7.3s"
    assert draft.format_span(0, 7300) == "0-7.3s"


@pytest.mark.parametrize(
    ("ms", "hours", "stamp"), [(0, False, "0:00"), (9_999, False, "0:09"), (61_000, False, "1:01"), (61_000, True, "0:01:01")]
)  # fmt: skip
def test_clock_is_youtubes_stamp(ms: int, hours: bool, stamp: str) -> None:
    """Chapter stamps round down to whole seconds, as YouTube reads them."""
    assert draft.clock(ms, hours=hours) == stamp


def test_format_percent() -> None:
    """Volumes read as whole percentages."""
    assert draft.format_percent(0.35) == "35%"
    assert draft.format_percent(1.0) == "100%"
