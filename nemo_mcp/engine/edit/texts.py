"""Handlers that put text on the video: captions, titles and overlays, title cards, summary slides."""

from __future__ import annotations

from typing import Any, Final

from nemo_mcp.draft import clock, format_length, ops
from nemo_mcp.engine.edit.operations import (
    AddCaptions,
    AddSummarySlide,
    AddText,
    AddTitleCard,
    RemoveCaptions,
)
from nemo_mcp.engine.edit.state import EditRefused
from nemo_mcp.engine.edit.workspace import Outcome, Workspace

TITLE_MS: Final = 3000


async def add_captions(ws: Workspace, op: AddCaptions) -> Outcome:
    source = op.source
    ws.require_videos("add captions")
    has_subs = any(r.kind == "subtitle" for r in ws.state.media.values())
    if not has_subs and not ws.analyzer.can_transcribe():
        raise EditRefused(
            'Captions need a subtitle file: upload an .srt or .vtt for the video, then say "add captions" '
            "(offline speech recognition is not installed here)."
        )
    by_src = await ws.caption_sources(transcribe=True, source=source)
    cues = ops.timeline_cues(ws.draft, by_src)
    if not cues:
        raise EditRefused(
            "I found no speech to caption in the video (or the subtitle file's times fall outside the part on "
            'the timeline). Upload an .srt or .vtt file and say "add captions".'
        )
    ws.state.private["captions"] = {k: [[c.start, c.end, c.text] for c in v] for k, v in by_src.items()}
    ops.remove_track(ws.draft, ops.TEXT, "caption")
    track = ops.ensure_track(ws.draft, ops.TEXT, "caption", "Captions")
    if op.burn:
        track["m"]["burn"] = True
    ws.refresh()
    origin = (
        "from " + ", ".join(sorted(r.filename for r in ws.state.media.values() if r.kind == "subtitle"))
        if has_subs
        else "by speech recognition on this computer (two lines of at most 42 characters each)"
    )
    shown = (
        "burned into the picture"
        if op.burn
        else "as a subtitle track and an .srt file on YouTube exports (burned in for Shorts; "
        'say "burn in the captions" to draw them everywhere)'
    )
    return f"Added {len(cues)} captions {origin}, following every cut, {shown}.", {
        "captions": len(cues),
        "burned": op.burn,
    }


async def remove_captions(ws: Workspace, op: RemoveCaptions) -> Outcome:
    if not ops.remove_track(ws.draft, ops.TEXT, "caption"):
        raise EditRefused("There are no captions on the timeline to remove.")
    ws.state.private.pop("captions", None)
    ws.refresh()
    return "Removed the captions.", {}


async def add_text(ws: Workspace, op: AddText) -> Outcome:
    role, text, position, start_ms, end_ms, duration_ms, edge, whole = (
        op.role,
        op.text,
        op.position,
        op.start_ms,
        op.end_ms,
        op.duration_ms,
        op.edge,
        op.whole,
    )
    total = ws.require_timeline("add text")
    note = ""
    if not text:
        text = ws.project_title()
        note = " (from the project's name; give the text in quotes to change it)"
    length = duration_ms or TITLE_MS
    if whole:
        s, e = 0, total
    elif start_ms is not None and end_ms is not None:
        s, e = sorted((start_ms, end_ms))
    elif start_ms is not None:
        s, e = start_ms, start_ms + length
    elif edge == "end":
        s, e = max(0, total - length), total
    elif edge == "start" or role == "title" or duration_ms:
        s, e = 0, length
    else:
        s, e = 0, total
    if s >= total:
        raise EditRefused(f"{clock(s)} is past the end: the video is {clock(total)} long.")
    e = min(e, total)
    pos = position or ("center" if role == "title" else "bottom")
    track = ops.ensure_track(ws.draft, ops.TEXT, role, "Title" if role == "title" else "Text")
    seg_meta: dict[str, Any] = {"text": text, "position": pos}
    if role == "title":
        seg_meta["size"] = 72
    track["sg"].append({"s": s, "d": e - s, "m": seg_meta})
    ws.refresh()
    what = "the title" if role == "title" else "the text"
    return f'Added {what} "{text}"{note} ({pos}, {clock(s)}–{clock(e)}).', {}


async def add_title_card(ws: Workspace, op: AddTitleCard) -> Outcome:
    text = op.text
    duration_ms = TITLE_MS if op.duration_ms is None else op.duration_ms
    ws.require_timeline("add a title card")
    note = ""
    if not text:
        text = ws.project_title()
        note = " (from the project's name; give the text in quotes to change it)"
    ops.insert_card(ws.draft, at_end=False, text=text, duration_ms=duration_ms, name="Title card")
    ws.refresh()
    return f'Added a {format_length(duration_ms)} title card "{text}"{note} at the start.', {}


async def add_summary_slide(ws: Workspace, op: AddSummarySlide) -> Outcome:
    text, duration_ms = op.text, op.duration_ms
    ws.require_timeline("add a summary slide")
    note = ""
    if not text:
        m = ops.peek_meta(ws.draft)
        marks = m.get("chapters") or m.get("segments") or []
        titles = [str(c.get("title")) for c in marks if isinstance(c, dict) and c.get("title")]
        if titles:
            text = "Summary\n" + "\n".join(f"• {t}" for t in titles[:8])
            note = " listing the chapter titles"
        else:
            text = f"Summary\n{ws.project_title()}"
            note = (
                " with just the project's name, because there are no chapters yet (ask for chapters first, or "
                'give the text: add a summary slide saying "…")'
            )
    lines = text.count("\n") + 1
    d = duration_ms or min(10_000, 3000 + 800 * lines)
    ops.insert_card(ws.draft, at_end=True, text=text, duration_ms=d, name="Summary")
    ws.refresh()
    return f"Added a {format_length(d)} summary slide at the end{note}.", {}
