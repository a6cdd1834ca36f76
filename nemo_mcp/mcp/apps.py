"""The review view: an MCP App (the `io.modelcontextprotocol/ui` extension) for hosts that render them.

The `preview` tool names a `ui://` resource in its `_meta.ui.resourceUri`; a host that speaks MCP Apps
renders that HTML beside the tool's result (the frames, the chapters, the captions) and lets the user
step to a time, which the view asks for by calling `preview` again through the host. A host without Apps
ignores the `_meta` and shows the tool's image as before, so nothing changes for it.

The view is one self-contained HTML file shipped inside the package (`review.html`): no build step and
no network, only inline script and data: images, so the spec's default CSP is all it needs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mcp.server.apps import Apps

__all__ = ["REVIEWED_TOOLS", "REVIEW_URI", "review_extension", "ui_meta"]

REVIEW_URI = "ui://nemo-mcp/review.html"

#: The tools whose results the review view can show: they return a contact sheet or a frame.
REVIEWED_TOOLS = frozenset({"preview"})


def review_html() -> str:
    """The view's HTML, read from the package (so the wheel and the Claude Desktop bundle carry it). A
    plain path beside this module: importlib.resources would add its import to every start-up."""
    return Path(__file__).with_name("review.html").read_text(encoding="utf-8")


def review_extension() -> Apps:
    """The Apps extension serving the view: it registers the `ui://` resource and advertises the
    capability. Tools are bound by name with `ui_meta`, so the TOOLS table stays the one list of tools."""
    apps = Apps()
    apps.add_html_resource(
        REVIEW_URI,
        review_html(),
        name="review",
        title="Review the video",
        description="Frames, chapters and captions of a preview; click one to see that moment larger.",
        prefers_border=True,
    )
    return apps


def ui_meta(tool_name: str) -> dict[str, Any] | None:
    """The `_meta` that points a tool at the review view, or None for a tool the view does not show."""
    if tool_name not in REVIEWED_TOOLS:
        return None
    return {"ui": {"resourceUri": REVIEW_URI}}
