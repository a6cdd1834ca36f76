"""From one instruction to a :class:`Plan`: the operations in run order, refusals and leftovers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from nemo_mcp.engine.edit.grammar import ANY_FILE, QUOTE, Hit, Refusal
from nemo_mcp.engine.edit.operations import GenerateChapters, Operation, SplitSegments
from nemo_mcp.engine.edit.rules import RULES
from nemo_mcp.engine.edit.state import EditState

__all__ = ["Plan", "plan"]


@dataclass(frozen=True)
class Plan:
    """What one instruction asks for, as the grammar read it."""

    instruction: str
    operations: tuple[Operation, ...] = ()
    refusals: tuple[Refusal, ...] = ()
    unrecognised: tuple[str, ...] = ()
    export_requested: bool = False
    help_requested: bool = False

    @property
    def names(self) -> list[str]:
        return [op.name for op in self.operations]


# their parts is reported back only if something other than these remains.
_FILLER_WORDS = """
    a an the this that these those it its it's my our your me us i i'd id we you please pls can could would will
    should shall want wanna like love need let's lets just also then now and or but with without of in on onto
    into to for from by at as up out so all some any every everything too very really quickly quick nice good
    great final finally first make do get go give have ok okay thanks thank hi hey there here video videos clip
    clips footage recording recordings lecture lectures movie film file files one version mp4 1080p hd 4k
    high quality result output be is are was done ready when after before using use via new
    """
_FILLER = frozenset(_FILLER_WORDS.split())
_CLAUSE_SPLIT = re.compile(
    r"[,;.!?\n]+|\b(?:and then|after that|then|and|also|plus|finally|but)\b", re.IGNORECASE
)


def _phase(hit: Hit) -> int:
    return hit.operation.phase if hit.operation else 0


def plan(instruction: str, state: EditState | None = None) -> Plan:
    """Parse one instruction into operations, refusals and leftovers. Pure: no I/O."""
    text = instruction.strip()
    claimed: list[tuple[int, int]] = []
    hits: list[Hit] = []

    # Quoted text is content ('add text "Chapter 2"'), never an instruction of its own: no
    # rule may match inside it, though a rule's arguments may take it.
    quoted = [m.span() for m in QUOTE.finditer(text)]

    def free(a: int, b: int) -> bool:
        return all(b <= x or a >= y for x, y in claimed)

    def outside_quotes(a: int, b: int) -> bool:
        return all(b <= x or a >= y for x, y in quoted)

    for rule in RULES:
        for m in rule.pattern.finditer(text):
            if m.end() <= m.start() or not free(*m.span()) or not outside_quotes(*m.span()):
                continue
            hit = rule.build(m, text)
            if hit is None:
                continue
            if not free(hit.start, hit.end):
                hit.end = m.end()
            claimed.append((hit.start, hit.end))
            hits.append(hit)

    # File names are references, not requests ("add song.mp3 as background music").
    names = [re.escape(ref.filename) for ref in state.media.values()] if state is not None else []
    for fm in re.finditer("|".join([*names, ANY_FILE]), text, re.IGNORECASE):
        if free(*fm.span()):
            claimed.append(fm.span())
    claimed.extend(span for span in quoted if free(*span))

    ordered = sorted((h for h in hits if h.operation), key=lambda h: (_phase(h), h.start))
    operations = [h.operation for h in ordered if h.operation]
    # Learning segments already mark one chapter per segment; a chapter request beside them
    # only adds the titles.
    if any(isinstance(o, SplitSegments) for o in operations):
        operations = [
            replace(o, from_segments=True) if isinstance(o, GenerateChapters) else o for o in operations
        ]
    return Plan(
        instruction=text,
        operations=tuple(_dedupe(operations)),
        refusals=tuple(h.refusal for h in sorted(hits, key=lambda h: h.start) if h.refusal),
        unrecognised=tuple(_leftovers(text, claimed)),
        export_requested=any(h.export for h in hits),
        help_requested=any(h.help for h in hits),
    )


def _dedupe(operations: Sequence[Operation]) -> list[Operation]:
    """Drop exact repeats ("add captions … with captions"), keep distinct ones (two overlays)."""
    return list(dict.fromkeys(operations))


def _leftovers(text: str, claimed: Sequence[tuple[int, int]]) -> list[str]:
    chars = list(text)
    for a, b in claimed:
        for i in range(a, b):
            chars[i] = "\n"
    out: list[str] = []
    for fragment in _CLAUSE_SPLIT.split("".join(chars)):
        words = re.findall(r"[\w'’:%-]+", fragment.lower())
        meaningful = [
            w for w in words if w.replace("’", "'") not in _FILLER and not re.fullmatch(r"[\d:.%-]+", w)
        ]
        if meaningful:
            out.append(" ".join(fragment.split()))
    return out
