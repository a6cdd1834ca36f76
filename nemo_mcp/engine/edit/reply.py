"""What the user reads: the plan's first line, each step's sentence, refusals and the next step."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from nemo_mcp.draft import ops
from nemo_mcp.engine.edit.operations import Operation
from nemo_mcp.engine.edit.planner import Plan
from nemo_mcp.engine.edit.registry import REGISTRY
from nemo_mcp.engine.edit.state import EditState, StepResult

__all__ = ["CAPABILITIES", "compose_reply", "describe_plan", "label", "phrase"]

CAPABILITIES: Final = (
    "Here is what I can do offline:\n"
    '- trim: "remove the intro", "cut the first 5 seconds", "keep 0:30 to 2:00", "cut from 1:00 to 1:20"\n'
    '- cut silences: "cut out silences", "remove pauses longer than 1.5 seconds below -40 dB"\n'
    '- learning segments: "break this lecture into 3-5 minute segments"\n'
    "- chapters with timestamps and titles (from slide headings or what is said), and a YouTube chapter list: "
    '"generate chapters"; your own: "set the chapters to 0:00 Welcome, 1:10 Antigens", "rename chapter 2 to …"\n'
    '- captions from an uploaded .srt/.vtt file (or offline speech recognition): "add captions"\n'
    "- text: 'add a title \"Intro to Calculus\"', 'add text \"Subscribe\" at the bottom from 0:05 to 0:10', "
    '"add chapter titles", "add a title card", "insert a summary slide at the end"\n'
    '- background music from an uploaded audio file: "add background music at 20%"\n'
    '- formats: "for YouTube" (16:9, 1920x1080), "for Shorts/TikTok/Reels" (9:16), "square"\n'
    '- a highlight reel: "make a 60-second highlight reel"\n'
    '- "fade in and out", "normalize the audio", "show the timeline", "undo the last edit"\n'
    "Exporting the MP4 is a separate step: say export (export_video) when ready."
)


def compose_reply(plan: Plan, results: Sequence[StepResult], state: EditState) -> str:
    """The text the user reads: what was done, what was not and why, and the next step."""
    lines = [r.message for r in results]
    for refusal in plan.refusals:
        lines.append(f'I can\'t do "{refusal.phrase}": {refusal.reason}.')
    for fragment in plan.unrecognised:
        lines.append(f'I didn\'t understand "{fragment}", so I left it out.')
    did_something = any(r.ok for r in results)
    if plan.export_requested:
        m = ops.peek_meta(state.draft)
        canvas = m.get("canvas") if isinstance(m.get("canvas"), dict) else None
        size = f" at {canvas.get('w')}x{canvas.get('h')}" if canvas else ""
        if ops.pieces(state.draft):
            lines.append(
                f"Exporting is a separate step: say export (export_video) when ready, and I'll render the MP4{size}."
            )
        else:
            lines.append("There is nothing to export yet: upload a video first.")
    if not results and not plan.export_requested:
        if plan.help_requested and not plan.refusals and not plan.unrecognised:
            return CAPABILITIES
        lines.append(CAPABILITIES)
    elif (plan.refusals or plan.unrecognised) and not did_something:
        lines.append(CAPABILITIES)
    return "\n".join(lines)


def describe_plan(plan: Plan) -> str:
    """The short first line of the stream: what is about to happen."""
    if not plan.operations:
        return ""
    names = [phrase(op) for op in plan.operations]
    if len(names) == 1:
        return f"On it: {names[0]}."
    return f"On it: {', '.join(names[:-1])} and {names[-1]}."


def label(op: Operation) -> str:
    """``Trim video``: the operation's name as a sentence's subject."""
    return op.name.replace("_", " ").capitalize()


def phrase(op: Operation) -> str:
    """``trimming``: the registered phrase for the plan's first line."""
    step = REGISTRY.get(type(op))
    return step.phrase if step else label(op).lower()
