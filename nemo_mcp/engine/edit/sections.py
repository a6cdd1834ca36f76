"""Handlers that mark sections: learning segments and chapters (with the YouTube list)."""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence

from nemo_mcp.draft import clock, format_length, ops
from nemo_mcp.draft.ops import Interval
from nemo_mcp.engine.edit import spoken
from nemo_mcp.engine.edit.operations import GenerateChapters, RenameChapter, SetChapters, SplitSegments
from nemo_mcp.engine.edit.state import EditRefused
from nemo_mcp.engine.edit.titles import section_titles
from nemo_mcp.engine.edit.workspace import CHAPTER_TITLE_MS, Outcome, Workspace
from nemo_mcp.engine.media import MediaError


async def _sentence_pauses(ws: Workspace) -> list[Interval]:
    """The pauses between spoken sentences on the timeline (empty without speech recognition)."""
    if not ws.analyzer.can_transcribe():
        return []
    try:
        sentences = spoken.timeline_sentences(ws.draft, await spoken.transcripts(ws))
    except MediaError:
        return []  # no model here: sections fall back to pauses and scene changes
    return [(a.end, b.start) for a, b in itertools.pairwise(sentences) if b.start >= a.end]


def on_whole_seconds(
    starts: Sequence[int], pauses: Sequence[Interval], tolerance_ms: int, min_gap_ms: int = 0
) -> list[int]:
    """Starts on whole seconds, moved into the nearest pause between sentences when one is close.

    Inside a pause the whole second nearest the start is used (YouTube lists whole seconds), so
    a chapter placed on a slide change inside a pause keeps that slide's second; a pause too
    short to hold one gets its middle. A move that would leave a section shorter than
    ``min_gap_ms`` (on the whole seconds a viewer sees) is not made: the start keeps its second.
    """
    out: list[int] = []
    for i, s in enumerate(starts):
        if s <= 0:
            if not out:
                out.append(0)
            continue
        options = [_into_pause(s, pauses, tolerance_ms), s // 1000 * 1000, -(-s // 1000) * 1000]
        after = starts[i + 1] if i + 1 < len(starts) else None
        before = out[-1] if out else None
        chosen = next(
            (t for t in options if t is not None and _fits(t, before, after, min_gap_ms)), s // 1000 * 1000
        )
        if not out or chosen > out[-1]:
            out.append(chosen)
    return out


def _fits(t: int, before: int | None, after: int | None, min_gap_ms: int) -> bool:
    """Whether a start at ``t`` keeps both sections around it ``min_gap_ms`` long, in listed seconds."""
    seen = t // 1000
    return (before is None or (seen - before // 1000) * 1000 >= min_gap_ms) and (
        after is None or (after // 1000 - seen) * 1000 >= min_gap_ms
    )


def _into_pause(s: int, pauses: Sequence[Interval], tolerance_ms: int) -> int | None:
    """``s`` moved into the nearest pause within ``tolerance_ms`` (None when none is that close)."""
    near = [(0 if a <= s <= b else min(abs(s - a), abs(s - b)), a, b) for a, b in pauses]
    best = min(near, default=None)
    if best is None or best[0] > tolerance_ms:
        return None
    _, a, b = best
    first, last = -(-a // 1000) * 1000, b // 1000 * 1000
    if first > last:
        return (a + b) // 2
    return min(max(round(s / 1000) * 1000, first), last)


async def split_segments(ws: Workspace, op: SplitSegments) -> Outcome:
    min_ms, max_ms, target_ms, count = op.min_ms, op.max_ms, op.target_ms, op.count
    total = ws.require_timeline("split into segments")
    if count:
        n = max(1, min(count, total // 10_000 or 1))
        wanted = f"{count} parts"
    else:
        assert min_ms is not None
        assert max_ms is not None
        assert target_ms is not None
        wanted = (
            f"{format_length(min_ms)}–{format_length(max_ms)} segments"
            if min_ms != max_ms
            else f"{format_length(target_ms)} segments"
        )
        if total <= max_ms:
            n = 1
        else:
            fewest = math.ceil(total / max_ms)
            most = max(1, total // min_ms)
            n = max(fewest, min(most, round(total / target_ms))) if fewest <= most else fewest
    candidates = await ws.candidates() if n > 1 else []
    section = total / n
    tolerance = (
        round(section / 3)
        if count or not (min_ms and max_ms)
        else round(min(section / 3, max(max_ms - min_ms, 20_000) / 2))
    )
    starts = ops.plan_sections(total, n, candidates, tolerance_ms=tolerance, min_gap_ms=10_000)
    # A learning segment never starts inside a sentence when what is said is known.
    starts = on_whole_seconds(starts, await _sentence_pauses(ws) if n > 1 else [], tolerance, 10_000)
    titles = await section_titles(ws, starts, "Segment")
    ends = [*starts[1:], total]
    m = ops.project_meta(ws.draft)
    m["segments"] = [{"s": s, "e": e, "title": t} for s, e, t in zip(starts, ends, titles, strict=True)]
    m["chapters"] = [{"s": s, "title": t} for s, t in zip(starts, titles, strict=True)]
    ws.refresh()
    lines = "\n".join(
        f"{i}. {clock(s)}–{clock(e)} {t}"
        for i, (s, e, t) in enumerate(zip(starts, ends, titles, strict=True), start=1)
    )
    if len(starts) == 1:
        head = (
            f"The video is {format_length(total)}, shorter than one of the {wanted} you asked for, "
            "so it stays one segment."
        )
    else:
        head = (
            f"Split the video into {len(starts)} learning segments (about {format_length(total // len(starts))} "
            f"each, for {wanted}), starting between sentences, at pauses and scene changes where there are any:"
        )
    tail = (
        "\nThe segments are marked on the timeline (with a chapter per segment); an export renders "
        "the whole video with them."
    )
    return f"{head}\n{lines}{tail}", {"segments": len(starts)}


async def generate_chapters(ws: Workspace, op: GenerateChapters) -> Outcome:
    show_titles, count, from_segments = op.show_titles, op.count, op.from_segments
    total = ws.require_timeline("add chapters")
    m = ops.project_meta(ws.draft)
    existing = m.get("chapters")
    reuse = from_segments and isinstance(existing, list) and existing
    if not reuse:
        if total < ops.YOUTUBE_MIN_CHAPTERS * ops.YOUTUBE_MIN_CHAPTER_MS:
            n = max(1, min(2, total // ops.YOUTUBE_MIN_CHAPTER_MS))
        elif count:
            n = max(1, min(count, total // ops.YOUTUBE_MIN_CHAPTER_MS))
        else:
            n = max(3, min(12, round(total / 90_000)))
            n = min(n, total // ops.YOUTUBE_MIN_CHAPTER_MS)
        candidates = await ws.candidates() if n > 1 else []
        starts = ops.plan_sections(
            total,
            n,
            candidates,
            tolerance_ms=round(total / n / 3),
            min_gap_ms=ops.YOUTUBE_MIN_CHAPTER_MS + 999,
        )
        pauses = await _sentence_pauses(ws) if n > 1 else []
        starts = on_whole_seconds(starts, pauses, round(total / n / 3), ops.YOUTUBE_MIN_CHAPTER_MS)
        titles = await section_titles(ws, starts, "Chapter")
        m["chapters"] = [{"s": s, "title": t} for s, t in zip(starts, titles, strict=True)]
    if show_titles:
        ops.remove_track(ws.draft, ops.TEXT, "chapter")
        ops.ensure_track(ws.draft, ops.TEXT, "chapter", "Chapter titles")
    ws.refresh()
    shown = f" and shown each title on screen for {format_length(CHAPTER_TITLE_MS)}" if show_titles else ""
    return _chapters_reply(ws, "Marked", shown)


def _chapters_reply(ws: Workspace, lead: str, more: str = "") -> Outcome:
    """The chapter list as the reply shows it, with the YouTube list or what stands in its way."""
    m = ops.project_meta(ws.draft)
    chapters = [c for c in m.get("chapters", []) if isinstance(c, dict)]
    listing = "\n".join(f"{clock(ops.as_int(c.get('s')))} {c.get('title', '')}" for c in chapters)
    head = f"{lead} {len(chapters)} chapter{'s' if len(chapters) != 1 else ''}{more}"
    parts = [f"{head}:\n{listing}"]
    yt = ws.state.outputs.get("youtube_chapters")
    problems = ws.state.outputs.get("youtube_chapter_problems") or []
    if yt:
        parts.append(f"YouTube chapter list (paste it into the video description):\n{yt}")
    else:
        parts.append("There is no YouTube chapter list: " + "; ".join(problems) + ".")
    if chapters and all(re.fullmatch(r"Chapter \d+", str(c.get("title", ""))) for c in chapters):
        parts.append(
            "The titles are numbered because the video shows no headings and nothing said could be read; "
            'upload an .srt/.vtt and say "add captions", or name them: "set the chapters to 0:00 Welcome, …".'
        )
    return "\n".join(parts), {"chapters": chapters, "youtube_chapters": yt}


async def set_chapters(ws: Workspace, op: SetChapters) -> Outcome:
    """The chapters exactly as given: these starts, these titles, nothing moved or renamed."""
    total = ws.require_timeline("add chapters")
    starts, titles = list(op.starts_ms), list(op.titles)
    if len(starts) != len(titles) or not starts:
        raise EditRefused(
            'Give each chapter a start time and a title: "set the chapters to 0:00 Welcome, 1:10 …".'
        )
    late = [clock(s) for s in starts if s >= total]
    if late:
        raise EditRefused(
            f"The video is {clock(total)} long, so a chapter cannot start at {', '.join(late)}: "
            "give start times inside the video."
        )
    if any(b <= a for a, b in itertools.pairwise(starts)):
        raise EditRefused(
            "The chapter start times must rise from one chapter to the next: list them in order."
        )
    ops.project_meta(ws.draft)["chapters"] = [
        {"s": s, "title": t} for s, t in zip(starts, titles, strict=True)
    ]
    ws.refresh()
    return _chapters_reply(ws, "Set", " as you gave them")


async def rename_chapter(ws: Workspace, op: RenameChapter) -> Outcome:
    """One chapter's title replaced by the words given, exactly."""
    ws.require_timeline("rename a chapter")
    chapters = [c for c in ops.project_meta(ws.draft).get("chapters") or [] if isinstance(c, dict)]
    if not chapters:
        raise EditRefused(
            'There are no chapters to rename yet: say "generate chapters", or give the list: '
            '"set the chapters to 0:00 Welcome, 1:10 …".'
        )
    index = len(chapters) - 1 if op.number < 0 else op.number - 1
    if not 0 <= index < len(chapters):
        raise EditRefused(
            f"There are {len(chapters)} chapters, so there is no chapter {op.number}: "
            f"name one from 1 to {len(chapters)}."
        )
    old = str(chapters[index].get("title", ""))
    chapters[index]["title"] = op.title
    ws.refresh()
    return _chapters_reply(
        ws, f"Renamed chapter {index + 1} from “{old}” to “{op.title}”. The {{n}} chapter{{s}}"
    )
