"""The demo's step display and its reading of chapters from a draft, without running the demo."""

from __future__ import annotations

import io

import pytest

from nemo_mcp.cli.console import Console, StepProgress
from nemo_mcp.cli.demo import chapter_pairs

pytestmark = pytest.mark.anyio


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_piped_progress_prints_a_line_per_new_message_or_quarter() -> None:
    """Without a terminal each step writes plain lines: one per new message or quarter, then its end."""
    out = io.StringIO()
    step = StepProgress(Console(out), "Exporting")
    for value, message in ((0, "start"), (10, "start"), (30, "start"), (60, "start"), (60, "writing")):
        await step(value, 100, message)
    await step(1, None, "a step")
    step.done("all good")
    await step(100, 100, "late")  # a report trailing the result is ignored
    lines = out.getvalue().splitlines()
    assert lines[:5] == [
        f"  {'Exporting':<26}   0%  start",
        f"  {'Exporting':<26}  30%  start",
        f"  {'Exporting':<26}  60%  start",
        f"  {'Exporting':<26}  60%  writing",
        f"  {'Exporting':<26}  ...  a step",
    ]
    assert lines[5].startswith(f"  {'Exporting':<26} done in ") and lines[5].endswith(" s - all good")
    assert len(lines) == 6


def test_terminal_progress_draws_a_rich_bar_and_ends_with_the_outcome() -> None:
    """On a terminal the step is a rich bar that ends showing how long it took, or that it failed."""
    out = FakeTerminal()
    step = StepProgress(Console(out), "Editing")
    step.update(1, 4, "cutting")
    step.done("fine")
    failed = StepProgress(Console(out), "Uploading")
    failed.fail()
    text = out.getvalue()
    assert "Editing" in text and "done in" in text and "fine" in text
    assert "Uploading" in text and "failed" in text


def test_chapter_pairs_reads_the_draft_metadata() -> None:
    """Chapters come from the draft's metadata as (start ms, title); anything else gives none."""
    draft = {"t": [], "m": {"chapters": [{"s": 0, "title": "Intro"}, {"s": 12000, "title": "Body"}, "junk"]}}
    assert chapter_pairs(draft) == [(0, "Intro"), (12000, "Body")]
    assert chapter_pairs({"t": []}) == []
    assert chapter_pairs(None) == []
