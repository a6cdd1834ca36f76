"""The local engine's deterministic instruction interpreter.

Two halves. :func:`plan` is pure: a table of regex rules (``grammar``) turns one
instruction into typed operations (``operations``), in a fixed sensible order, plus the
parts it refuses with a reason and the parts it did not understand. :class:`Executor`
applies operations to a session's draft through the one :data:`REGISTRY` of handlers,
calling an :class:`Analyzer` for the slow facts (silences, scene changes, captions), and
says in a sentence what each one did (``reply``). Nothing is ever a silent no-op.

Other packages import from here, not from the modules.
"""

from nemo_mcp.engine.edit.durations import DURATION, parse_duration
from nemo_mcp.engine.edit.executor import Executor
from nemo_mcp.engine.edit.grammar import Refusal, Rule
from nemo_mcp.engine.edit.operations import (
    OPERATIONS,
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
    operation_from_call,
)
from nemo_mcp.engine.edit.planner import Plan, plan
from nemo_mcp.engine.edit.registry import REGISTRY, Step
from nemo_mcp.engine.edit.reply import CAPABILITIES, compose_reply, describe_plan
from nemo_mcp.engine.edit.rules import RULES
from nemo_mcp.engine.edit.state import (
    HISTORY_LIMIT,
    IMAGE_STILL_MS,
    Analyzer,
    EditRefused,
    EditState,
    MediaRef,
    StepResult,
    place_uploads,
    push_history,
)

__all__ = [
    "CAPABILITIES",
    "DURATION",
    "HISTORY_LIMIT",
    "IMAGE_STILL_MS",
    "OPERATIONS",
    "REGISTRY",
    "RULES",
    "AddBackgroundMusic",
    "AddCaptions",
    "AddFades",
    "AddSummarySlide",
    "AddText",
    "AddTitleCard",
    "Analyzer",
    "CutSegment",
    "CutSentence",
    "CutSilences",
    "CutWords",
    "DescribeTimeline",
    "EditRefused",
    "EditState",
    "Executor",
    "GenerateChapters",
    "MakeHighlightReel",
    "MediaRef",
    "NormalizeAudio",
    "Operation",
    "Plan",
    "Refusal",
    "RemoveBackgroundMusic",
    "RemoveCaptions",
    "RenameChapter",
    "Rule",
    "SetChapters",
    "SetOriginalVolume",
    "SetPlatform",
    "SplitSegments",
    "Step",
    "StepResult",
    "TrimVideo",
    "Undo",
    "compose_reply",
    "describe_plan",
    "operation_from_call",
    "parse_duration",
    "place_uploads",
    "plan",
    "push_history",
]
