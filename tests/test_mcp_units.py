"""The MCP layer's small parts on their own: the error boundary, progress relays, the tool table."""

from __future__ import annotations

import inspect
from typing import Any, cast

import pytest
from mcp.server.mcpserver.exceptions import ToolError

from nemo_mcp.api.adk import Heartbeat, StateDelta, Text, ToolCall
from nemo_mcp.api.models import RenderStatus
from nemo_mcp.errors import UploadRefused
from nemo_mcp.mcp import TOOL_NAMES
from nemo_mcp.mcp.context import tool_errors
from nemo_mcp.mcp.progress import EditProgress, Progress, render_reporter, tail_line
from nemo_mcp.mcp.tools import TOOLS, credit_advice

pytestmark = pytest.mark.anyio


class Recorder:
    """Stands in for the MCP context: keeps every progress report."""

    def __init__(self) -> None:
        self.reports: list[tuple[float, float | None, str | None]] = []

    async def report_progress(
        self, progress: float, total: float | None = None, message: str | None = None
    ) -> None:
        self.reports.append((progress, total, message))


async def test_tool_errors_turns_a_nemo_error_into_its_user_message() -> None:
    """A NemoError leaves the tool as a ToolError with the user message and no chained cause."""

    @tool_errors
    async def refuse(path: str) -> str:
        raise UploadRefused(f"no {path}")

    with pytest.raises(ToolError) as caught:
        await refuse("x.mp4")
    assert str(caught.value) == "no x.mp4"
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert list(inspect.signature(refuse).parameters) == ["path"]


async def test_tool_errors_lets_other_errors_through() -> None:
    """Anything but a NemoError is not the boundary's to word: it passes unchanged."""

    @tool_errors
    async def broken() -> None:
        raise ValueError("bug")

    with pytest.raises(ValueError, match="bug"):
        await broken()


async def test_edit_progress_merges_fragments_and_skips_the_repeated_final_text() -> None:
    """Streamed fragments are queued, a final text that repeats them is not said again, tool calls are."""
    ctx = Recorder()
    progress = Progress(cast(Any, ctx), quiet_after=60.0)
    relay = EditProgress(progress)
    for event in (
        Text(text="Cutting ", partial=True),
        Text(text="silences", partial=True),
        ToolCall(name="cut", args={}),
        Text(text="Cutting silences", partial=False),
        StateDelta(delta={}),
        Heartbeat(),
        Text(text="Done.", partial=False),
    ):
        await relay.on_event(event)
    await progress.flush()
    assert [m for _, _, m in ctx.reports] == ["Cutting silences", "Running cut…", "Done."]
    values = [v for v, _, _ in ctx.reports]
    assert values == sorted(values) and len(set(values)) == len(values)


async def test_render_reporter_only_rises_and_caps_at_100() -> None:
    """Render progress values never go back and never pass 100, whatever the backend reports."""
    ctx = Recorder()
    report = render_reporter(Progress(cast(Any, ctx), quiet_after=60))
    for pct in (10.0, 5.0, 250.0):
        await report(RenderStatus(status="processing", progress=pct))
    values = [v for v, _, _ in ctx.reports]
    assert values[0] == 10.0 and values[1] > 10.0 and values[2] == 100.0
    assert ctx.reports[1][2] == "Rendering… 5% (processing)"


def test_tail_line_keeps_the_newest_words() -> None:
    """A long streamed text is cut at its start, so the newest words show."""
    line = tail_line("word " * 100 + "newest")
    assert line.startswith("…") and line.endswith("newest") and len(line) == 120


def test_tool_table_names_and_hints() -> None:
    """The table lists the nine tools once; only list_projects is closed-world on the cloud."""
    assert TOOL_NAMES == (
        "upload_media",
        "send_edit",
        "get_timeline",
        "read_footage",
        "preview",
        "check_credits",
        "export_video",
        "new_project",
        "list_projects",
    )
    cloud = {spec.name: spec.annotations(cloud=True) for spec in TOOLS}
    assert [n for n, a in cloud.items() if not a.open_world_hint] == ["list_projects"]
    assert all(not spec.annotations(cloud=False).open_world_hint for spec in TOOLS)
    assert "destructive_hint" not in cloud["new_project"].model_fields_set
    assert cloud["export_video"].destructive_hint is False


def test_credit_advice_for_each_balance() -> None:
    """The advice names what the balance allows: unlimited, unknown, empty, or a number."""
    assert "no credits" in credit_advice(None, None, {"unlimited": True}, False)
    assert credit_advice(None, None, {}, False) == "The backend did not report a balance."
    assert "top up" in credit_advice(0, None, {}, True)
    assert credit_advice(12, 3, {}, False).startswith("12 credits available")
