"""The edits the engine can make, one small frozen dataclass each.

An operation's class says what it is (``name``, the function name the ADK stream shows;
``phase``, when it runs within one instruction; ``changes_timeline`` and ``is_undo``, for
the undo history); its fields are its arguments, typed, so mypy connects the grammar that
builds one to the handler that runs it. :data:`OPERATIONS` lists every kind; the executor's
registry gives each one its handler and its reply phrase.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Literal

__all__ = [
    "OPERATIONS",
    "AddBackgroundMusic",
    "AddCaptions",
    "AddFades",
    "AddSummarySlide",
    "AddText",
    "AddTitleCard",
    "CutSegment",
    "CutSentence",
    "CutSilences",
    "CutWords",
    "DescribeTimeline",
    "GenerateChapters",
    "MakeHighlightReel",
    "NormalizeAudio",
    "Operation",
    "RemoveBackgroundMusic",
    "RemoveCaptions",
    "RenameChapter",
    "SetChapters",
    "SetOriginalVolume",
    "SetPlatform",
    "SplitSegments",
    "TrimVideo",
    "Undo",
    "operation_from_call",
]

# Phases: the order operations run in whatever order they were asked for (cuts before the
# things laid over them, music last so it spans the final length).
P_UNDO, P_TRIM, P_SILENCE, P_HIGHLIGHT, P_CARD, P_SEGMENTS, P_CHAPTERS, P_CAPTIONS = (
    0,
    10,
    20,
    30,
    40,
    50,
    60,
    70,
)
P_TEXT, P_SUMMARY, P_AUDIO, P_PLATFORM, P_FADES, P_LOUDNESS, P_DESCRIBE = 80, 90, 100, 110, 120, 130, 140

TrimMode = Literal["keep", "start", "end", "length", "intro", "outro"]
TextRole = Literal["title", "overlay"]
Position = Literal["top", "bottom", "center"]
Edge = Literal["start", "end"]


@dataclass(frozen=True, kw_only=True)
class Operation:
    """One edit. Subclasses set the class attributes; their fields are the arguments."""

    name: ClassVar[str]
    phase: ClassVar[int]
    # False for the operations that only read (describe) or restore (undo) the timeline.
    changes_timeline: ClassVar[bool] = True
    is_undo: ClassVar[bool] = False

    @property
    def args(self) -> dict[str, Any]:
        """The arguments as JSON, as the stream's functionCall shows them.

        A field left at a default of None or False was not asked for, so it is left out.
        """
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None or (value is False and f.default is False):
                continue
            out[f.name] = value
        return out


@dataclass(frozen=True, kw_only=True)
class Undo(Operation):
    name: ClassVar[str] = "undo"
    phase: ClassVar[int] = P_UNDO
    changes_timeline: ClassVar[bool] = False
    is_undo: ClassVar[bool] = True


@dataclass(frozen=True, kw_only=True)
class TrimVideo(Operation):
    """Keep a range, cut a length off the start or end, cut to a length, or drop the intro/outro."""

    name: ClassVar[str] = "trim_video"
    phase: ClassVar[int] = P_TRIM
    mode: TrimMode
    start_ms: int | None = None
    end_ms: int | None = None
    duration_ms: int | None = None


@dataclass(frozen=True, kw_only=True)
class CutSegment(Operation):
    name: ClassVar[str] = "cut_segment"
    phase: ClassVar[int] = P_TRIM
    start_ms: int
    end_ms: int


@dataclass(frozen=True, kw_only=True)
class CutWords(Operation):
    """Cut what is said: every place the words of ``phrase`` are said, or the filler words."""

    name: ClassVar[str] = "cut_words"
    phase: ClassVar[int] = P_TRIM
    phrase: str | None = None
    fillers: bool = False


@dataclass(frozen=True, kw_only=True)
class CutSentence(Operation):
    """Cut the spoken sentence that is most about ``about`` (its content words, loosely matched)."""

    name: ClassVar[str] = "cut_sentence"
    phase: ClassVar[int] = P_TRIM
    about: str


@dataclass(frozen=True, kw_only=True)
class CutSilences(Operation):
    name: ClassVar[str] = "cut_silences"
    phase: ClassVar[int] = P_SILENCE
    noise_db: float = -35.0
    min_silence_ms: int = 600
    padding_ms: int = 150


@dataclass(frozen=True, kw_only=True)
class MakeHighlightReel(Operation):
    name: ClassVar[str] = "make_highlight_reel"
    phase: ClassVar[int] = P_HIGHLIGHT
    target_ms: int = 60_000


@dataclass(frozen=True, kw_only=True)
class SplitSegments(Operation):
    """Learning segments: a length range (``min_ms``/``max_ms``/``target_ms``) or a ``count``."""

    name: ClassVar[str] = "split_segments"
    phase: ClassVar[int] = P_SEGMENTS
    min_ms: int | None = None
    max_ms: int | None = None
    target_ms: int | None = None
    count: int | None = None


@dataclass(frozen=True, kw_only=True)
class GenerateChapters(Operation):
    name: ClassVar[str] = "generate_chapters"
    phase: ClassVar[int] = P_CHAPTERS
    show_titles: bool
    count: int | None = None
    # Learning segments asked for in the same instruction already mark the chapters.
    from_segments: bool = False


@dataclass(frozen=True, kw_only=True)
class SetChapters(Operation):
    """The assistant's own chapter list, kept exactly: ``starts_ms[i]`` begins ``titles[i]``."""

    name: ClassVar[str] = "set_chapters"
    phase: ClassVar[int] = P_CHAPTERS
    starts_ms: tuple[int, ...]
    titles: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class RenameChapter(Operation):
    """A new title, exactly as given, for chapter ``number`` (counted from 1)."""

    name: ClassVar[str] = "rename_chapter"
    # After chapters are generated or set in the same instruction, so it renames one of those.
    phase: ClassVar[int] = P_CHAPTERS + 1
    number: int
    title: str


@dataclass(frozen=True, kw_only=True)
class AddCaptions(Operation):
    name: ClassVar[str] = "add_captions"
    phase: ClassVar[int] = P_CAPTIONS
    source: str | None = None
    burn: bool = False  # drawn on the picture even where a subtitle track would do (YouTube, plain MP4)


@dataclass(frozen=True, kw_only=True)
class RemoveCaptions(Operation):
    name: ClassVar[str] = "remove_captions"
    phase: ClassVar[int] = P_CAPTIONS


@dataclass(frozen=True, kw_only=True)
class AddText(Operation):
    name: ClassVar[str] = "add_text"
    phase: ClassVar[int] = P_TEXT
    role: TextRole = "overlay"
    text: str | None = None
    position: Position | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    duration_ms: int | None = None
    edge: Edge | None = None
    whole: bool = False


@dataclass(frozen=True, kw_only=True)
class AddTitleCard(Operation):
    name: ClassVar[str] = "add_title_card"
    phase: ClassVar[int] = P_CARD
    text: str | None = None
    duration_ms: int | None = None


@dataclass(frozen=True, kw_only=True)
class AddSummarySlide(Operation):
    name: ClassVar[str] = "add_summary_slide"
    phase: ClassVar[int] = P_SUMMARY
    text: str | None = None
    duration_ms: int | None = None


@dataclass(frozen=True, kw_only=True)
class AddBackgroundMusic(Operation):
    """Music from an uploaded file; with ``volume_only``, just a new volume for the music there is."""

    name: ClassVar[str] = "add_background_music"
    phase: ClassVar[int] = P_AUDIO
    volume: float | None = None
    file: str | None = None
    volume_only: bool = False


@dataclass(frozen=True, kw_only=True)
class RemoveBackgroundMusic(Operation):
    name: ClassVar[str] = "remove_background_music"
    phase: ClassVar[int] = P_AUDIO


@dataclass(frozen=True, kw_only=True)
class SetOriginalVolume(Operation):
    name: ClassVar[str] = "set_original_volume"
    phase: ClassVar[int] = P_AUDIO
    volume: float


@dataclass(frozen=True, kw_only=True)
class SetPlatform(Operation):
    """``platform`` is a key of :data:`nemo_mcp.draft.PLATFORMS`."""

    name: ClassVar[str] = "set_platform"
    phase: ClassVar[int] = P_PLATFORM
    platform: str


@dataclass(frozen=True, kw_only=True)
class AddFades(Operation):
    name: ClassVar[str] = "add_fades"
    phase: ClassVar[int] = P_FADES
    fade_in_ms: int = 1000
    fade_out_ms: int = 1000


@dataclass(frozen=True, kw_only=True)
class NormalizeAudio(Operation):
    name: ClassVar[str] = "normalize_audio"
    phase: ClassVar[int] = P_LOUDNESS


@dataclass(frozen=True, kw_only=True)
class DescribeTimeline(Operation):
    name: ClassVar[str] = "describe_timeline"
    phase: ClassVar[int] = P_DESCRIBE
    changes_timeline: ClassVar[bool] = False


OPERATIONS: Final[Mapping[str, type[Operation]]] = {
    kind.name: kind
    for kind in (
        Undo,
        TrimVideo,
        CutSegment,
        CutWords,
        CutSentence,
        CutSilences,
        MakeHighlightReel,
        SplitSegments,
        GenerateChapters,
        SetChapters,
        RenameChapter,
        AddCaptions,
        RemoveCaptions,
        AddText,
        AddTitleCard,
        AddSummarySlide,
        AddBackgroundMusic,
        RemoveBackgroundMusic,
        SetOriginalVolume,
        SetPlatform,
        AddFades,
        NormalizeAudio,
        DescribeTimeline,
    )
}


def operation_from_call(name: str, args: Mapping[str, Any]) -> Operation:
    """The operation a functionCall frame names (``KeyError``/``TypeError`` when it is not one)."""
    return OPERATIONS[name](**args)
