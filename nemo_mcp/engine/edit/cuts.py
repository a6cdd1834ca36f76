"""Handlers that cut the spine: undo, trims, cut ranges, silences and the highlight reel.

Silences and the reel go by what is said when speech recognition is available: pauses with
no word in them, and whole sentences.
"""

from __future__ import annotations

from typing import Final

from nemo_mcp.draft import TEXT, clock, format_length, ops
from nemo_mcp.draft.ops import Interval
from nemo_mcp.engine.edit import spoken
from nemo_mcp.engine.edit.operations import (
    CutSegment,
    CutSentence,
    CutSilences,
    CutWords,
    MakeHighlightReel,
    TrimVideo,
    Undo,
)
from nemo_mcp.engine.edit.state import EditRefused
from nemo_mcp.engine.edit.workspace import Outcome, Workspace
from nemo_mcp.engine.media import MediaError

LOUD_NOISE_DB: Final = -20.0
# An intro or ending without a scene change to end at: this much goes.
DEFAULT_INTRO_MS: Final = 10_000
# What Whisper writes for hesitations when it writes them at all (it usually leaves them out).
FILLER_WORDS: Final = frozenset({"um", "umm", "uh", "uhh", "uhm", "er", "erm", "ah", "hmm", "mm"})
# A sentence in a highlight reel keeps this much of the pause on each side, so no word is clipped.
REEL_PAD_MS: Final = 300
# A sentence quoted in a reply longer than this is shortened (the reply is not a title).
_QUOTE_CHARS: Final = 160


async def undo(ws: Workspace, op: Undo) -> Outcome:
    history = ws.state.private.get("history")
    if not isinstance(history, list) or not history:
        raise EditRefused("There is nothing to undo yet.")
    before = ops.timeline_ms(ws.draft)
    ws.state.draft = history.pop()
    ws.refresh()
    return (
        f"Undid the last edit: the timeline is back to {format_length(ws.total())} "
        f"(it was {format_length(before)}).",
        {},
    )


async def trim_video(ws: Workspace, op: TrimVideo) -> Outcome:
    mode, start_ms, end_ms, duration_ms = op.mode, op.start_ms, op.end_ms, op.duration_ms
    total = ws.require_timeline("trim")
    if mode == "keep":
        assert start_ms is not None
        assert end_ms is not None
        a, b = sorted((start_ms, end_ms))
        if a >= total:
            raise EditRefused(f"{clock(a)} is past the end: the video is {clock(total)} long.")
        b = min(b, total)
        if b - a < ops.MIN_PIECE_MS:
            raise EditRefused("That range is empty; give a start and an end, e.g. keep 0:30 to 2:00.")
        ws.apply_keep([(a, b)])
        note = f" (the video ends at {clock(total)})" if end_ms > total else ""
        return (
            f"Kept {clock(a)}–{clock(b)}{note}; the video is now {format_length(b - a)} long.",
            {},
        )
    if mode in ("start", "end", "length"):
        assert duration_ms is not None
        if mode == "length":
            if duration_ms >= total:
                raise EditRefused(
                    f"The video is already {format_length(total)}, no longer than {format_length(duration_ms)}."
                )
            ws.apply_keep([(0, duration_ms)])
            return f"Kept the first {format_length(duration_ms)} and cut the rest.", {}
        if duration_ms >= total:
            raise EditRefused(
                f"Cutting {format_length(duration_ms)} would remove the whole video "
                f"({format_length(total)}); give a shorter length."
            )
        if mode == "start":
            ws.apply_keep([(duration_ms, total)])
            return (
                f"Cut the first {format_length(duration_ms)}; the video now starts at the old "
                f"{clock(duration_ms)} and is {format_length(total - duration_ms)} long.",
                {},
            )
        ws.apply_keep([(0, total - duration_ms)])
        return (
            f"Cut the last {format_length(duration_ms)}; the video is now {format_length(total - duration_ms)} long.",
            {},
        )
    if mode in ("intro", "outro"):
        return await _trim_edge(ws, mode, total, duration_ms)
    raise EditRefused(f"Unknown trim mode {mode!r}.")


async def _trim_edge(ws: Workspace, mode: str, total: int, duration_ms: int | None) -> Outcome:
    word = "intro" if mode == "intro" else "ending"
    if duration_ms is not None:
        if duration_ms >= total:
            raise EditRefused(f"The video is only {format_length(total)} long; that would remove all of it.")
        cut, why = duration_ms, "as you asked"
    else:
        scenes = await ws.timeline_scenes() if ws.spine_media() else []
        limit = min(30_000, total // 2)
        if mode == "intro":
            found = [t for t in scenes if 2000 <= t <= limit]
            cut_at = found[0] if found else None
        else:
            found = [total - t for t in scenes if 2000 <= total - t <= limit]
            cut_at = found[-1] if found else None
        if cut_at is not None:
            cut = cut_at
            why = "up to the first scene change" if mode == "intro" else "from the last scene change"
        else:
            side = "first" if mode == "intro" else "last"
            cut = min(DEFAULT_INTRO_MS, total // 3)
            why = f"the default, as there is no scene change in the {side} {format_length(limit)}"
            if cut < DEFAULT_INTRO_MS:
                why = (
                    f"a third of this short video, as there is no scene change in its {side} "
                    f"{format_length(limit)} and the default of {format_length(DEFAULT_INTRO_MS)} would be most of it"
                )
            why += '; say "remove the first N seconds" to choose'
    if mode == "intro":
        ws.apply_keep([(cut, total)])
        lead = f"Removed the intro: the first {format_length(cut)}"
    else:
        ws.apply_keep([(0, total - cut)])
        lead = f"Removed the ending: the last {format_length(cut)}"
    return f"{lead}, {why}. The video is now {format_length(ws.total())} long.", {
        "cut_ms": cut,
        "rule": word,
    }


async def cut_segment(ws: Workspace, op: CutSegment) -> Outcome:
    start_ms, end_ms = op.start_ms, op.end_ms
    total = ws.require_timeline("cut")
    a, b = sorted((start_ms, end_ms))
    if a >= total:
        raise EditRefused(f"{clock(a)} is past the end: the video is {clock(total)} long.")
    b = min(b, total)
    if a <= 0 and b >= total:
        raise EditRefused("That would cut the whole video; give a smaller range.")
    removed = ws.apply_keep(ops.complement([(a, b)], 0, total))
    return (
        f"Cut {clock(a)}–{clock(b)} ({format_length(removed)}); the video is now "
        f"{format_length(ws.total())} long.",
        {"removed_ms": removed},
    )


async def _silences(ws: Workspace, op: CutSilences) -> tuple[list[Interval], str, str]:
    """The pauses to cut, how they were found, and a note when speech detection could not run."""
    note = ""
    if ws.analyzer.can_transcribe():
        try:
            by_src = await spoken.transcripts(ws)
        except MediaError as exc:
            note = f" Speech detection was not available ({ws.speech_unavailable(exc)}), so I went by loudness instead."
        else:
            if any(t.words or t.speech for t in by_src.values()):
                found = spoken.speech_silences(ws.draft, by_src, op.min_silence_ms)
                return found, f"longer than {format_length(op.min_silence_ms)} with no speech", note
            note = " I heard no speech in it, so I went by loudness."
    found = await ws.timeline_silences(noise_db=op.noise_db, min_silence_ms=op.min_silence_ms)
    return found, f"longer than {format_length(op.min_silence_ms)} (quieter than {op.noise_db:g} dB)", note


async def cut_silences(ws: Workspace, op: CutSilences) -> Outcome:
    padding_ms = op.padding_ms
    ws.require_videos("cut silences", sound=True)
    total = ws.total()
    silences, params, note = await _silences(ws, op)
    cuts: list[Interval] = []
    for a, b in silences:
        lo = a if a <= 0 else a + padding_ms  # silence at the very start or end goes entirely
        hi = b if b >= total else b - padding_ms
        if hi - lo >= ops.MIN_PIECE_MS:
            cuts.append((lo, hi))
    if not cuts:
        return (
            f'I found no silences {params}, so nothing was cut. Try "cut silences longer than 0.4 seconds".{note}',
            {"silences": 0, "removed_ms": 0},
        )
    keep = ops.complement(cuts, 0, total)
    if not keep:
        raise EditRefused(
            f"The whole video is silence {params}, so there is nothing left to keep; nothing was cut."
        )
    removed = ws.apply_keep(keep)
    return (
        f"Cut {len(cuts)} silence{'s' if len(cuts) != 1 else ''} {params}, keeping {format_length(padding_ms)} "
        f"around speech: removed {format_length(removed)}, so the video went from {format_length(total)} to "
        f"{format_length(ws.total())}.{note}",
        {"silences": len(cuts), "removed_ms": removed, "cuts": [list(c) for c in cuts]},
    )


async def make_highlight_reel(ws: Workspace, op: MakeHighlightReel) -> Outcome:
    target_ms = op.target_ms
    ws.require_videos("make a highlight reel")
    total = ws.total()
    if total <= target_ms:
        raise EditRefused(
            f"The video is already {format_length(total)}, within {format_length(target_ms)}, so there is "
            "nothing to cut for a highlight reel."
        )
    note = ""
    if ws.analyzer.can_transcribe():
        try:
            sentences = spoken.timeline_sentences(ws.draft, await spoken.transcripts(ws))
        except MediaError as exc:
            note = f" Speech recognition was not available ({ws.speech_unavailable(exc)}), so I went by"
        else:
            if sentences:
                return _sentence_reel(ws, sentences, target_ms, total)
    # Without a transcript the captions (from the user's subtitle file) still say where sentences end.
    captions = _caption_sentences(ws.draft)
    if captions:
        message, extra = _sentence_reel(ws, captions, target_ms, total)
        return message + (f"{note} the captions' sentences." if note else ""), extra
    message, extra = await _lively_reel(ws, target_ms, total)
    return message + (f"{note} sound and scene changes." if note else ""), extra


def _caption_sentences(draft: dict[str, object]) -> list[spoken.SpokenSentence]:
    """The timeline's captions as sentences, when it has any."""
    track = ops.find_track(draft, TEXT, "caption")
    found = [
        spoken.SpokenSentence(
            ops.as_int(seg.get("s")), ops.as_int(seg.get("s")) + ops.as_int(seg.get("d")), text
        )
        for seg in (ops.segments(track) if track is not None else [])
        if isinstance(text := ops.peek_meta(seg).get("text"), str) and text.strip()
    ]
    return sorted((s for s in found if s.end > s.start), key=lambda s: s.start)


def _sentence_reel(
    ws: Workspace, sentences: list[spoken.SpokenSentence], target_ms: int, total: int
) -> Outcome:
    """A reel of whole sentences, the ones richest in the talk's key words, in story order."""
    picks = spoken.pick_sentences(sentences, target_ms, extra_ms=2 * REEL_PAD_MS)
    if not picks:
        raise EditRefused(
            f"Every sentence is longer than {format_length(target_ms)}, so a reel of whole sentences cannot be "
            "that short; ask for a longer reel."
        )
    keep = [(a, min(b, total)) for a, b in spoken.padded(picks, sentences, REEL_PAD_MS)]
    ws.apply_keep(keep)
    got = ws.total()
    topics = spoken.key_words([s.text for s in sentences])
    why = (
        f"those richest in the talk's key words ({', '.join(topics)})"
        if topics
        else "those richest in content"
    )
    near = abs(got - target_ms) <= target_ms * 0.1
    short = "" if near else f" (whole sentences could not come closer to {format_length(target_ms)})"
    return (
        f"Made a {format_length(got)} highlight reel of {len(picks)} whole sentences{short}: {why}, "
        "kept in story order.",
        {"moments": len(picks), "picks": [list(k) for k in keep], "by": "sentences"},
    )


async def _lively_reel(ws: Workspace, target_ms: int, total: int) -> Outcome:
    """Without speech: the liveliest stretches by loudness and scene changes."""
    silences = await ws.timeline_silences(noise_db=-35.0, min_silence_ms=600)
    quiet = await ws.timeline_silences(noise_db=LOUD_NOISE_DB, min_silence_ms=300)
    scenes = await ws.timeline_scenes()
    active = ops.complement(silences, 0, total)
    loud = ops.complement(quiet, 0, total)
    picks = ops.pick_highlights(active, loud, scenes, target_ms)
    if not picks:
        raise EditRefused("The whole video is silent, so there are no lively moments to pick for a reel.")
    ws.apply_keep(picks)
    got = ws.total()
    if got < target_ms - 500:
        return (
            f"Only {format_length(got)} of the video has sound, so the highlight reel keeps all of it "
            f"({len(picks)} stretches) instead of {format_length(target_ms)}.",
            {"moments": len(picks)},
        )
    return (
        f"Made a {format_length(got)} highlight reel from {len(picks)} moments, picked for loud sound and "
        "frequent scene changes and kept in their original order.",
        {"moments": len(picks), "picks": [list(p) for p in picks], "by": "sound"},
    )


async def cut_words(ws: Workspace, op: CutWords) -> Outcome:
    """Cut where the quoted words are said, or every filler word the transcript carries."""
    ws.require_videos("cut what is said", sound=True)
    if not ws.analyzer.can_transcribe():
        raise EditRefused("Cutting by what is said needs speech recognition, which is not installed here.")
    words = spoken.timeline_words(ws.draft, await spoken.transcripts(ws))
    if not words:
        raise EditRefused("I heard no speech on the timeline, so there are no words to cut.")
    total = ws.total()
    if op.fillers:
        runs = [(i, i) for i, w in enumerate(words) if spoken.normal_word(w.text) in FILLER_WORDS]
        if not runs:
            return (
                'The transcript has no filler words: the speech recogniser (Whisper) leaves "um" and "uh" '
                'out of what it writes, so they cannot be found by their words. "cut out silences" removes '
                "the pauses they leave.",
                {"removed_ms": 0, "fillers": 0},
            )
    else:
        assert op.phrase is not None
        runs = spoken.find_phrase(words, op.phrase)
        if not runs:
            raise EditRefused(
                f'I could not find "{op.phrase}" in what is said; give the words as spoken (the transcript '
                'starts: "' + " ".join(w.text for w in words[:12]) + ' …").'
            )
    cuts = [spoken.cut_span(words, a, b) for a, b in runs]
    keep = ops.complement(cuts, 0, total)
    if not keep:
        raise EditRefused("That would cut the whole video; nothing was cut.")
    removed = ws.apply_keep(keep)
    times = ", ".join(clock(a) for a, _ in cuts[:6]) + (" …" if len(cuts) > 6 else "")
    what = f"{len(cuts)} filler word{'s' if len(cuts) != 1 else ''}" if op.fillers else f'"{op.phrase}"'
    where = f" ({len(cuts)} times)" if not op.fillers and len(cuts) > 1 else ""
    return (
        f"Cut {what}{where} at {times}: removed {format_length(removed)}; the video is now "
        f"{format_length(ws.total())} long.",
        {"removed_ms": removed, "cuts": [list(c) for c in cuts]},
    )


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return f"“{text if len(text) <= _QUOTE_CHARS else text[: _QUOTE_CHARS - 1].rstrip() + '…'}”"


async def _heard(ws: Workspace) -> tuple[list[spoken.SpokenSentence], list[spoken.SpokenWord]]:
    """The timeline's whole sentences and words, or a refusal saying why there are none."""
    ws.require_videos("cut what is said", sound=True)
    if not ws.analyzer.can_transcribe():
        raise EditRefused("Cutting by what is said needs speech recognition, which is not installed here.")
    by_src = await spoken.transcripts(ws)
    sentences = spoken.timeline_sentences(ws.draft, by_src)
    if not sentences:
        raise EditRefused("I heard no whole sentence on the timeline, so there is none to cut.")
    return sentences, spoken.timeline_words(ws.draft, by_src)


async def cut_sentence(ws: Workspace, op: CutSentence) -> Outcome:
    """Cut the one sentence most about ``op.about``, on its words' timings, and quote it."""
    sentences, words = await _heard(ws)
    looked, found = spoken.sentences_about(sentences, op.about)
    if not looked:
        raise EditRefused(
            f'"{op.about}" names nothing to look for; say what the sentence is about in a word or two, '
            'e.g. "remove the sentence about quantization".'
        )
    if not found:
        raise EditRefused(
            f"No sentence on the timeline is about {' '.join(looked)!r}: I looked for "
            f"{', '.join(repr(w) for w in looked)} in its {len(sentences)} sentences. Read what is said "
            "with read_footage, then quote the words (\"cut the part where I say '…'\") or cut by time."
        )
    hit = sentences[found[0].index]
    inside = [i for i, w in enumerate(words) if hit.start <= w.start and w.end <= hit.end]
    span = spoken.cut_span(words, inside[0], inside[-1]) if inside else (hit.start, hit.end)
    keep = ops.complement([span], 0, ws.total())
    if not keep:
        raise EditRefused("That sentence is the whole video; nothing was cut.")
    removed = ws.apply_keep(keep)
    others = [
        sentences[a.index] for a in found[1:] if a.coverage >= found[0].coverage - spoken.CLOSE_COVERAGE
    ]
    # Where they are now, after the cut.
    now = [(s.start - removed if s.start >= span[1] else s.start, s.text) for s in others]
    also = ""
    if now:
        listed = "; ".join(f"{clock(t)} {_quote(text)}" for t, text in now[:3])
        also = f" It also comes up at {listed}: ask again to cut that too."
    return (
        f"Cut the sentence at {clock(hit.start)}–{clock(hit.end)}, {_quote(hit.text)}: removed "
        f"{format_length(removed)}; the video is now {format_length(ws.total())} long.{also}",
        {
            "removed_ms": removed,
            "cuts": [list(span)],
            "sentence": {"start_ms": hit.start, "end_ms": hit.end, "text": hit.text},
            "also": [[t, text] for t, text in now],
        },
    )
