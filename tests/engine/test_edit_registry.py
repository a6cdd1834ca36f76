"""The edit engine's operations: one registry ties each kind to its handler, phrase and grammar rule."""

from __future__ import annotations

import dataclasses

import pytest

from nemo_mcp.engine.edit import (
    OPERATIONS,
    REGISTRY,
    RULES,
    AddText,
    GenerateChapters,
    Operation,
    TrimVideo,
    Undo,
    describe_plan,
    operation_from_call,
    plan,
)

# One instruction per grammar rule, read by that rule.
EXAMPLES = {
    "set_chapters": "set the chapters to 0:00 Welcome, 1:10 Antigens and antibodies, 2:30 Summary",
    "rename_chapter": "rename chapter 2 to Antigens and antibodies",
    "refuse_clicks": "highlight the clicks",
    "refuse_background": "remove the background",
    "refuse_translate": "translate it to French",
    "refuse_voice": "add a voice-over",
    "refuse_noise": "remove background noise",
    "fillers": "remove filler words",
    "said": "cut the part where I say 'as I said before'",
    "about": "remove the sentence about quantization",
    "refuse_visual": "color grade it",
    "undo": "undo the last edit",
    "segments": "break this lecture into 3-5 minute segments",
    "segments_bare": "3-5 minute segments",
    "keep": "keep 0:30 to 2:00",
    "cut_range": "cut from 1:00 to 1:20",
    "intro": "remove the intro",
    "first": "cut the first 5 seconds",
    "last": "remove the last 10 seconds",
    "length": "trim the video to 30 seconds",
    "start_at": "start at 0:10",
    "end_at": "end at 1:00",
    "silences": "cut out silences",
    "highlight": "make a 60-second highlight reel",
    "chapters": "generate chapters",
    "captions_off": "remove the captions",
    "captions": "add captions",
    "title_card": "add a title card",
    "summary": "insert a summary slide at the end",
    "text": 'add text "Subscribe"',
    "music_off": "remove the background music",
    "music_volume": "set the music volume to 20%",
    "mute": "mute the original audio",
    "music": "add background music",
    "platform": "for TikTok",
    "fades": "fade in and out",
    "loudnorm": "normalize the audio",
    "describe": "show the timeline",
    "export": "export",
    "help": "help",
}
NOT_AN_EDIT = {"export", "help"}


def test_every_operation_kind_has_a_handler_and_a_phrase() -> None:
    """Each kind is registered once, with a handler that takes it and a non-empty phrase."""
    assert set(REGISTRY) == set(OPERATIONS.values())
    for kind, step in REGISTRY.items():
        assert step.kind is kind
        assert callable(step.handler)
        assert step.phrase and step.phrase == step.phrase.lower()


def test_operation_names_are_unique_wire_names() -> None:
    """Every subclass of Operation is listed under its wire name."""
    kinds = {kind for kind in Operation.__subclasses__()}
    assert kinds == set(OPERATIONS.values())
    assert all(OPERATIONS[kind.name] is kind for kind in kinds)


def test_every_rule_has_an_example() -> None:
    """The examples cover the whole rule table."""
    assert set(EXAMPLES) == {rule.name for rule in RULES}


@pytest.mark.parametrize("rule", [r.name for r in RULES])
def test_every_grammar_rule_builds_a_registered_operation(rule: str) -> None:
    """A rule's example plans to registered operations, or to a refusal, export or help."""
    result = plan(EXAMPLES[rule])
    if rule.startswith("refuse_"):
        assert result.refusals and not result.operations
    elif rule in NOT_AN_EDIT:
        assert result.export_requested or result.help_requested
    else:
        assert result.operations, rule
        assert all(type(op) in REGISTRY for op in result.operations)
        assert not result.unrecognised


def test_args_leave_out_what_was_not_asked() -> None:
    """``args`` is the functionCall's JSON: unset optional fields and false flags are left out."""
    assert TrimVideo(mode="intro").args == {"mode": "intro"}
    assert AddText(role="title", whole=False).args == {"role": "title"}
    assert GenerateChapters(show_titles=False).args == {"show_titles": False}
    assert GenerateChapters(show_titles=True, from_segments=True).args == {
        "show_titles": True,
        "from_segments": True,
    }


def test_operations_round_trip_through_a_call_frame() -> None:
    """Every planned operation rebuilds from its wire name and args."""
    for instruction in EXAMPLES.values():
        for op in plan(instruction).operations:
            assert operation_from_call(op.name, op.args) == op


def test_typed_flags_replace_name_checks() -> None:
    """Undo and describe are the operations that do not change the timeline; only undo is an undo."""
    quiet = {kind.name for kind in OPERATIONS.values() if not kind.changes_timeline}
    assert quiet == {"undo", "describe_timeline"}
    assert [kind.name for kind in OPERATIONS.values() if kind.is_undo] == ["undo"]
    assert Undo().is_undo and not Undo().changes_timeline


def test_operations_are_frozen() -> None:
    """Operations are values: they cannot be changed after the grammar built them."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        TrimVideo(mode="start", duration_ms=1000).duration_ms = 5  # type: ignore[misc]


def test_describe_plan_uses_the_registered_phrases() -> None:
    """The stream's first line names each operation by its registry phrase."""
    assert (
        describe_plan(plan("cut out silences and add captions"))
        == "On it: cutting silences and adding captions."
    )
