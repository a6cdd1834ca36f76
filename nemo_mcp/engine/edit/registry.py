"""The one table that ties each operation kind to its handler and its reply phrase."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

from nemo_mcp.engine.edit import cuts, finishing, sections, texts
from nemo_mcp.engine.edit.operations import (
    AddBackgroundMusic,
    AddCaptions,
    AddFades,
    AddSummarySlide,
    AddText,
    AddTitleCard,
    CutSegment,
    CutSentence,
    CutSilences,
    CutWords,
    DescribeTimeline,
    GenerateChapters,
    MakeHighlightReel,
    NormalizeAudio,
    Operation,
    RemoveBackgroundMusic,
    RemoveCaptions,
    RenameChapter,
    SetChapters,
    SetOriginalVolume,
    SetPlatform,
    SplitSegments,
    TrimVideo,
    Undo,
)
from nemo_mcp.engine.edit.workspace import Outcome, Workspace

__all__ = ["REGISTRY", "Step"]

OpT = TypeVar("OpT", bound=Operation)


@dataclass(frozen=True)
class Step(Generic[OpT]):
    """How one kind of operation runs, and how the plan's first line names it."""

    kind: type[OpT]
    handler: Callable[[Workspace, OpT], Awaitable[Outcome]]
    phrase: str


def _step(kind: type[OpT], handler: Callable[[Workspace, OpT], Awaitable[Outcome]], phrase: str) -> Step[OpT]:
    """A table row; mypy checks that ``handler`` takes ``kind``."""
    return Step(kind, handler, phrase)


REGISTRY: Final[Mapping[type[Operation], Step[Any]]] = {
    step.kind: step
    for step in (
        _step(Undo, cuts.undo, "undoing the last edit"),
        _step(TrimVideo, cuts.trim_video, "trimming"),
        _step(CutSegment, cuts.cut_segment, "cutting a range"),
        _step(CutWords, cuts.cut_words, "cutting what is said"),
        _step(CutSentence, cuts.cut_sentence, "cutting a sentence"),
        _step(CutSilences, cuts.cut_silences, "cutting silences"),
        _step(MakeHighlightReel, cuts.make_highlight_reel, "making a highlight reel"),
        _step(AddTitleCard, texts.add_title_card, "adding a title card"),
        _step(SplitSegments, sections.split_segments, "splitting into learning segments"),
        _step(GenerateChapters, sections.generate_chapters, "generating chapters"),
        _step(SetChapters, sections.set_chapters, "setting your chapters"),
        _step(RenameChapter, sections.rename_chapter, "renaming a chapter"),
        _step(AddCaptions, texts.add_captions, "adding captions"),
        _step(RemoveCaptions, texts.remove_captions, "removing captions"),
        _step(AddText, texts.add_text, "adding text"),
        _step(AddSummarySlide, texts.add_summary_slide, "adding a summary slide"),
        _step(AddBackgroundMusic, finishing.add_background_music, "adding background music"),
        _step(RemoveBackgroundMusic, finishing.remove_background_music, "removing the music"),
        _step(SetOriginalVolume, finishing.set_original_volume, "setting the original sound"),
        _step(SetPlatform, finishing.set_platform, "setting the format"),
        _step(AddFades, finishing.add_fades, "adding fades"),
        _step(NormalizeAudio, finishing.normalize_audio, "normalising loudness"),
        _step(DescribeTimeline, finishing.describe_timeline, "describing the timeline"),
    )
}
