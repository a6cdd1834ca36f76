"""Rendering a draft (see docs/draft-format.md) to an H.264/AAC MP4 in one ffmpeg pass.

A render is three steps, and only the last touches the disk:

* :mod:`.plan` turns the draft and its probed media into a typed :class:`Plan`, refusing
  what cannot be rendered (unknown media, an in-point past a clip's end, an empty timeline);
* :mod:`.compose` turns the plan into one ``-filter_complex`` with the builder in
  :mod:`.graph`, which allocates stream labels and escapes filter arguments in one place;
* :mod:`.assets` and :mod:`.command` decide the side files (subtitles, chapters, a long
  graph) and the argv; :func:`render_draft` (:mod:`.run`) writes them and runs ffmpeg into
  a ``.part`` file that is renamed only after the result probed as a whole video.
"""

from nemo_mcp.engine.render.assets import Assets, find_font, plan_assets
from nemo_mcp.engine.render.command import (
    QUALITY_PRESETS,
    Command,
    ProgressCallback,
    build_command,
    check_quality,
    render_command,
)
from nemo_mcp.engine.render.compose import Composition, compose
from nemo_mcp.engine.render.graph import filter_value
from nemo_mcp.engine.render.plan import Plan, RenderError, SourceMedia, make_plan
from nemo_mcp.engine.render.run import RenderResult, render_draft

__all__ = [
    "QUALITY_PRESETS",
    "Assets",
    "Command",
    "Composition",
    "Plan",
    "ProgressCallback",
    "RenderError",
    "RenderResult",
    "SourceMedia",
    "build_command",
    "check_quality",
    "compose",
    "filter_value",
    "find_font",
    "make_plan",
    "plan_assets",
    "render_command",
    "render_draft",
]
