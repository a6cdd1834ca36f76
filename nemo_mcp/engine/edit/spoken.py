"""What is said, laid onto the timeline: whole sentences, the pauses between words, key words.

The transcript of each source (words, sentences and speech, in source time, from the
analyzer) is mapped through the main track's pieces. A sentence counts only where a piece
holds all of it, so anything chosen from these never starts or ends inside a spoken sentence.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from nemo_mcp.draft import ops
from nemo_mcp.draft.ops import Interval
from nemo_mcp.engine.edit.state import MediaRef
from nemo_mcp.engine.edit.workspace import Workspace
from nemo_mcp.engine.media import MediaError, Transcript

__all__ = [
    "About",
    "SpokenSentence",
    "SpokenWord",
    "cut_span",
    "find_phrase",
    "key_words",
    "padded",
    "pick_sentences",
    "sentences_about",
    "speech_silences",
    "timeline_sentences",
    "timeline_words",
    "transcripts",
]

# Margin on each side of a recognised word: Whisper places word edges to within a few hundred ms.
WORD_PAD_MS: Final = 150
# Most common English function words: they say nothing about the topic.
_STOP_WORDS: Final = """
a about after all also an and any are as at be because been but by can could did do does for
from had has have he her here his how i if in into is it its just like more most much my no not
now of on once one only or our out over same she so some such than that the their them then
there these they this those through to too up us very was we were what when where which while
who why will with would you your let lets going get got really thing things way
"""
_STOP: Final = frozenset(_STOP_WORDS.split())
STOP_WORDS: Final = _STOP  # shared with the key phrases of titles
_WORD: Final = re.compile(r"[^\W\d_][\w'’-]*", re.UNICODE)


@dataclass(frozen=True)
class SpokenSentence:
    """One sentence wholly on the timeline."""

    start: int
    end: int
    text: str


async def transcripts(ws: Workspace, *, cached_only: bool = False) -> dict[str, Transcript]:
    """The transcript of every source on the spine that has sound, by media id."""
    if ws.speech_failure is not None:  # failed earlier in this instruction: do not try again
        raise MediaError(ws.speech_failure)
    out: dict[str, Transcript] = {}
    refs: list[MediaRef] = [r for r in ws.spine_media() if r.kind in ("video", "audio") and r.info.has_audio]
    for ref in refs:
        found = await ws.analyzer.transcript(ref, cached_only=cached_only)
        if found is not None:
            out[ref.media_id] = found
    return out


@dataclass(frozen=True)
class SpokenWord:
    """One word wholly on the timeline, with its neighbours' edges (for cutting between words)."""

    start: int
    end: int
    text: str
    gap_before: int  # where the previous word on the same piece ends (or the piece starts)
    gap_after: int  # where the next word on the same piece starts (or the piece ends)


def _held(
    draft: dict[str, object], by_src: dict[str, Transcript]
) -> Iterator[tuple[ops.Piece, Transcript, int]]:
    """Each piece of the main track with a transcript, and the shift from its source time to the timeline."""
    for piece in ops.pieces(draft):
        found = by_src.get(piece.src or "")
        if found is not None:
            yield piece, found, piece.start - piece.in_ms


def timeline_sentences(draft: dict[str, object], by_src: dict[str, Transcript]) -> list[SpokenSentence]:
    """Sentences that a single piece of the main track holds entirely, in timeline time and order."""
    out: list[SpokenSentence] = []
    for piece, found, shift in _held(draft, by_src):
        for s in found.sentences:
            if piece.in_ms <= s.start_ms and s.end_ms <= piece.in_ms + piece.duration:
                out.append(SpokenSentence(s.start_ms + shift, s.end_ms + shift, s.text))
    return sorted(out, key=lambda s: s.start)


def timeline_words(draft: dict[str, object], by_src: dict[str, Transcript]) -> list[SpokenWord]:
    """Words that a single piece holds entirely, in timeline order, each with the gaps around it."""
    out: list[SpokenWord] = []
    for piece, found, shift in _held(draft, by_src):
        end = piece.in_ms + piece.duration
        inside = [w for w in found.words if piece.in_ms <= w.start_ms and w.end_ms <= end]
        for i, w in enumerate(inside):
            before = inside[i - 1].end_ms if i else piece.in_ms
            after = inside[i + 1].start_ms if i + 1 < len(inside) else end
            out.append(
                SpokenWord(w.start_ms + shift, w.end_ms + shift, w.text, before + shift, after + shift)
            )
    return sorted(out, key=lambda w: w.start)


def normal_word(text: str) -> str:
    """A word as compared with what was asked for: lower case, without punctuation."""
    return re.sub(r"[^\w']", "", text.lower().replace("’", "'"))


def find_phrase(words: Sequence[SpokenWord], phrase: str) -> list[tuple[int, int]]:
    """Every run of ``words`` (first and last index) that says ``phrase``."""
    wanted = [normal_word(w) for w in phrase.split() if normal_word(w)]
    said = [normal_word(w.text) for w in words]
    n = len(wanted)
    return [(i, i + n - 1) for i in range(len(said) - n + 1) if n and said[i : i + n] == wanted]


def cut_span(words: Sequence[SpokenWord], first: int, last: int) -> Interval:
    """The stretch to cut for words ``first``..``last``: halfway into the pauses on either side."""
    a, b = words[first], words[last]
    return (a.gap_before + (a.start - a.gap_before) // 2, b.end + (b.gap_after - b.end) // 2)


def speech_silences(
    draft: dict[str, object], by_src: dict[str, Transcript], min_silence_ms: int
) -> list[Interval]:
    """Stretches of the timeline with no speech for at least ``min_silence_ms``.

    Speech is where a recognised word was said (with a little margin) and the stretch of detected
    voice around it (Whisper's word starts run late); a stretch of "voice" with no word in it is
    room noise or music, so it counts as silence however loud it is. With no word recognised at
    all, voice activity alone decides.
    """
    by_silence: dict[str, list[Interval]] = {}
    for src, found in by_src.items():
        speech = [(max(0, w.start_ms - WORD_PAD_MS), w.end_ms + WORD_PAD_MS) for w in found.words]
        speech += [(a, b) for a, b in found.speech if not found.words or _holds_word(found, a, b)]
        quiet = ops.complement(speech, 0, found.duration_ms)
        by_silence[src] = [(a, b) for a, b in quiet if b - a >= min_silence_ms]
    return ops.map_source_intervals(draft, by_silence, min_ms=min_silence_ms)


def _holds_word(found: Transcript, start: int, end: int) -> bool:
    return any(w.start_ms < end and w.end_ms > start for w in found.words)


def key_words(texts: Sequence[str], *, limit: int = 3) -> list[str]:
    """The content words said most often across ``texts`` (what the talk is about)."""
    counts = Counter(w for text in texts for w in _content_words(text))
    return [w for w, n in counts.most_common(limit) if n > 1]


def _content_words(text: str) -> set[str]:
    return {
        w
        for w in (m.group(0).lower().strip("'’-") for m in _WORD.finditer(text))
        if len(w) > 2 and w not in _STOP
    }


def pick_sentences(
    sentences: Sequence[SpokenSentence], target_ms: int, *, extra_ms: int = 0
) -> list[SpokenSentence]:
    """Whole sentences adding up to about ``target_ms``, the ones richest in the talk's key words first.

    A sentence scores by how often its content words recur in the whole talk (topic words),
    per second. The best are taken while the total stays within ``target_ms`` + 10 %; if that
    falls short of 90 %, the set within 10 % that holds the most recurring words is taken instead
    (when one exists). They are returned in story order. ``extra_ms`` is what each sentence will take beyond its words
    (the pause kept around it).
    """
    counts = Counter(w for s in sentences for w in _content_words(s.text))

    def score(s: SpokenSentence) -> float:
        words = _content_words(s.text)
        recurring = sum(counts[w] - 1 for w in words)
        return recurring / max(1.0, (s.end - s.start) / 1000)

    def length(s: SpokenSentence) -> int:
        return s.end - s.start + extra_ms

    limit = target_ms * 1.1
    chosen: list[SpokenSentence] = []
    total = 0
    for s in sorted(sentences, key=score, reverse=True):
        if total + length(s) <= limit:
            chosen.append(s)
            total += length(s)
    if total < target_ms * 0.9:
        # Short of 90 %: the set of sentences within 10 % that says the most key words, if any is.
        fitted = _fit(
            sentences, [length(s) for s in sentences], [score(s) * length(s) for s in sentences], target_ms
        )
        chosen = fitted if fitted is not None else chosen
    return sorted(chosen, key=lambda s: s.start)


# The resolution at which sentence lengths are added up when fitting a reel to its length.
FIT_STEP_MS: Final = 10


def _fit(
    sentences: Sequence[SpokenSentence], lengths: Sequence[int], values: Sequence[float], target_ms: int
) -> list[SpokenSentence] | None:
    """The sentences whose lengths add up to within 10 % of ``target_ms`` with the most value (0/1 knapsack).

    Lengths are rounded up to steps of at least ``FIT_STEP_MS`` (at most 4,000 steps), so the sum
    never passes +10 %; sets that round to the same step keep the more valuable one, so a set is
    found whenever one reaches -10 % by n steps to spare. None when no set fits.
    """
    step = max(FIT_STEP_MS, math.ceil(target_ms * 1.1 / 4000))
    cap = int(target_ms * 1.1) // step
    weights = [max(1, math.ceil(n / step)) for n in lengths]
    best = [-1.0] * (cap + 1)
    best[0] = 0.0
    took: list[bytearray] = []
    for weight, value in zip(weights, values, strict=True):
        row = bytearray(cap + 1)
        for b in range(cap, weight - 1, -1):
            before = best[b - weight]
            if before >= 0 and before + value + 1e-9 > best[b]:
                best[b], row[b] = before + value + 1e-9, 1
        took.append(row)
    low = math.ceil(target_ms * 0.9 / step)
    # Best first; rounding up may have counted a set under -10 % as inside, so each is checked.
    for end in sorted((b for b in range(min(low, cap + 1), cap + 1) if best[b] >= 0), key=lambda b: -best[b]):
        picked, b = [], end
        for index in range(len(sentences) - 1, -1, -1):
            if took[index][b]:
                picked.append(index)
                b -= weights[index]
        if sum(lengths[i] for i in picked) >= target_ms * 0.9:
            return [sentences[i] for i in picked]
    return None


def padded(
    picks: Sequence[SpokenSentence], sentences: Sequence[SpokenSentence], pad_ms: int
) -> list[Interval]:
    """Each pick widened by up to ``pad_ms`` into the pause around it, never into another sentence."""
    bounds = sorted((s.start, s.end) for s in sentences)
    out: list[Interval] = []
    for p in picks:
        before = max((e for _, e in bounds if e <= p.start), default=0)
        after = min((s for s, _ in bounds if s >= p.end), default=p.end + pad_ms)
        out.append((max(before, p.start - pad_ms, 0), min(after, p.end + pad_ms)))
    return ops.normalise(out, 0, max((b for _, b in out), default=0))


# Endings taken off a word so that its forms meet ("predicts", "prediction"; "frame", "frames"):
# the first that leaves a stem of at least four letters, once.
_SUFFIXES: Final = (
    ("ations", ""), ("ation", ""), ("ions", ""), ("ion", ""), ("ings", ""), ("ing", ""), ("ies", "y"),
    ("ied", "y"), ("ers", ""), ("er", ""), ("ed", ""), ("es", ""), ("s", ""), ("ly", ""), ("e", ""),
)  # fmt: skip
# A sentence must say at least this share of the topic's (weighted) words to be "about" it.
MIN_COVERAGE: Final = 0.5
# Sentences within this much of the best one's coverage are named as saying it too.
CLOSE_COVERAGE: Final = 0.15


def stem(word: str) -> str:
    """``word`` lower-cased with one common ending off, so the forms of a word compare equal."""
    w = normal_word(word).strip("'")
    for suffix, repl in _SUFFIXES:
        if suffix == "s" and w[-2:-1] in ("s", "u", "i"):
            continue  # "class", "virus", "analysis" are not plurals
        if w.endswith(suffix) and len(w) - len(suffix) + len(repl) >= 4:
            return w[: len(w) - len(suffix)] + repl
    return w


@dataclass(frozen=True)
class About:
    """How much sentence ``index`` says of a topic, and how early in it (0 = its first word)."""

    index: int
    coverage: float
    at: float


def sentences_about(sentences: Sequence[SpokenSentence], topic: str) -> tuple[list[str], list[About]]:
    """The topic's content words, and the sentences about it, best first.

    A sentence covers the share of the topic's words it says (forms of a word count alike),
    each word weighted by how rare it is in the talk, so the specific word decides over the
    common one. Those covering at least :data:`MIN_COVERAGE` match; between sentences that
    cover it alike, the one that names it earlier wins: a sentence is about what it opens with
    more than about what it lists at its end ("To sum up: frames, motion and quantization").
    """
    looked = list(dict.fromkeys(w for w in _WORD.findall(topic) if len(w) > 2 and w.lower() not in _STOP))
    wanted = list(dict.fromkeys(stem(w) for w in looked))
    said = [[stem(w) for w in _WORD.findall(s.text)] for s in sentences]
    held = Counter(st for stems in said for st in set(stems))
    weight = {st: 1 + math.log((len(sentences) + 1) / (held[st] + 1)) for st in wanted}
    total = sum(weight.values())
    found: list[About] = []
    for i, stems in enumerate(said):
        hits = [st for st in wanted if st in stems]
        if not hits or total <= 0:
            continue
        coverage = sum(weight[st] for st in hits) / total
        first = min(stems.index(st) for st in hits)
        if coverage >= MIN_COVERAGE:
            found.append(About(i, coverage, first / max(1, len(stems))))
    top = max((a.coverage for a in found), default=0.0)
    close = sorted((a for a in found if a.coverage >= top - CLOSE_COVERAGE), key=lambda a: a.at)
    rest = sorted((a for a in found if a.coverage < top - CLOSE_COVERAGE), key=lambda a: -a.coverage)
    return looked, close + rest
