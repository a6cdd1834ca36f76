"""Tests for nemo_mcp.draft (model, views, text): the draft model, summaries, structured output and diffs."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nemo_mcp.draft import (
    Draft,
    Segment,
    Track,
    describe_diff,
    diff,
    draft_duration_ms,
    format_seconds,
    format_span,
    parse_draft,
    structured,
    summarize,
    track_views,
)

CONTRACT_SUMMARY = (
    "Timeline (3 tracks): 1. Video: city timelapse (0-10s) 2. BGM: Lo-fi (0-10s, 35%) "
    '3. Title: "Urban Dreams" (0-3s)'
)


def contract_draft() -> dict[str, Any]:
    """The draft behind the contract's example summary."""
    return {
        "t": [
            {"tt": 0, "sg": [{"d": 10000, "m": {"src": "media_1", "name": "city timelapse"}}], "m": {}},
            {
                "tt": 1,
                "m": {"role": "bgm"},
                "sg": [{"s": 0, "d": 10000, "m": {"name": "Lo-fi", "volume": 0.35}}],
            },
            {"tt": 7, "m": {"role": "title"}, "sg": [{"s": 0, "d": 3000, "m": {"text": "Urban Dreams"}}]},
        ],
        "d": 10000,
    }


def captions(count: int, *, step: int = 8000, length: int = 7000) -> dict[str, Any]:
    """A caption track with ``count`` segments."""
    segments = [{"s": i * step, "d": length, "m": {"text": f"line {i}"}} for i in range(count)]
    return {"tt": 7, "m": {"role": "caption"}, "sg": segments}


def dumped(obj: Any) -> str:
    """JSON text that tells 1, 1.0 and True apart and keeps key order."""
    return json.dumps(obj, ensure_ascii=False)


# --------------------------------------------------------------------------- summary


def test_contract_example_summary() -> None:
    """The contract's example summary is reproduced exactly."""
    assert summarize(contract_draft()) == CONTRACT_SUMMARY


def test_fixture_draft_summary() -> None:
    """A bare five-second video segment reads as one unnamed video track."""
    assert summarize({"t": [{"tt": 0, "sg": [{"d": 5000}]}]}) == "Timeline (1 track): 1. Video (0-5s)"


@pytest.mark.parametrize("draft", [None, {}, {"t": []}, {"t": None}, "junk", 42, [], {"t": [None, 3]}])
def test_empty_summary(draft: Any) -> None:
    """No tracks (or no draft at all) reads as an empty timeline."""
    assert summarize(draft) == "Timeline is empty (no tracks yet)."


def test_multi_segment_track_shows_count_and_span() -> None:
    """A track with several segments shows their count and overall span."""
    draft = {"t": [captions(12)]}
    assert summarize(draft) == "Timeline (1 track): 1. Caption: 12 segments (0:00-1:35)"


def test_multi_segment_track_keeps_its_own_name() -> None:
    """A named track with several segments shows the name and the count."""
    track = {"tt": 0, "m": {"name": "interview"}, "sg": [{"d": 4000}, {"d": 6000}]}
    assert summarize({"t": [track]}) == "Timeline (1 track): 1. Video: interview, 2 segments (0-10s)"


def test_empty_track_is_marked() -> None:
    """A track without segments says so instead of showing a span."""
    assert (
        summarize({"t": [{"tt": 1, "m": {"name": "Lo-fi"}}]}) == "Timeline (1 track): 1. BGM: Lo-fi (empty)"
    )


def test_long_text_is_truncated_and_squeezed() -> None:
    """Long texts are cut to 40 characters with an ellipsis; whitespace runs become one space."""
    text = "Welcome   to\nthe " + "very " * 20 + "long lecture"
    draft = {"t": [{"tt": 7, "sg": [{"s": 0, "d": 2000, "m": {"text": text}}]}]}
    line = summarize(draft)
    quoted = line.split(": ", 2)[2].rsplit(" (", 1)[0]
    assert quoted.startswith('"Welcome to the very')
    assert quoted.endswith('…"')
    assert len(quoted) == 40 + 2


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "0s"),
        (3000, "3s"),
        (2500, "2.5s"),
        (2549, "2.5s"),
        (2550, "2.6s"),
        (59_940, "59.9s"),
        (59_960, "1:00"),
        (60_000, "1:00"),
        (95_000, "1:35"),
        (95_500, "1:35.5"),
        (3_723_000, "1:02:03"),
        (-5, "0s"),
    ],
)
def test_format_seconds(ms: int, text: str) -> None:
    """Seconds under a minute, one decimal only when not whole; m:ss (h:mm:ss) from a minute on."""
    assert format_seconds(ms) == text


@pytest.mark.parametrize(
    ("start", "end", "text"),
    [
        (0, 10_000, "0-10s"),
        (2000, 10_000, "2-10s"),
        (1500, 4250, "1.5-4.3s"),
        (0, 95_000, "0:00-1:35"),
        (50_000, 95_000, "0:50-1:35"),
        (0, 3_600_000, "0:00-1:00:00"),
    ],
)
def test_format_span(start: int, end: int, text: str) -> None:
    """A span is formatted as a unit: plain seconds when it ends under a minute, clocks otherwise."""
    assert format_span(start, end) == text


@pytest.mark.parametrize(
    ("track", "label"),
    [
        ({"tt": 0}, "Video"),
        ({"tt": 1, "m": {"role": "bgm"}}, "BGM"),
        ({"tt": 1, "m": {"role": "BGM"}}, "BGM"),
        ({"tt": 1, "m": {"role": "voice"}}, "Voice"),
        ({"tt": 1}, "Audio"),
        ({"tt": 1, "m": {"name": "Background music"}}, "BGM"),
        ({"tt": 1, "sg": [{"m": {"src": "lofi_beats.mp3"}}]}, "BGM"),
        ({"tt": 1, "m": {"role": "voice", "name": "music talk"}}, "Voice"),
        ({"tt": 7}, "Text"),
        ({"tt": 7, "m": {"role": "title"}}, "Title"),
        ({"tt": 7, "m": {"role": "caption"}}, "Caption"),
        ({"tt": 7, "m": {"role": "chapter"}}, "Chapter"),
        ({"tt": 7, "m": {"role": "overlay"}}, "Overlay"),
        ({"tt": 7, "m": {"role": "summary"}}, "Summary"),
        ({"tt": 7, "m": {"role": "weird"}}, "Text"),
        ({"tt": 3}, "Track"),
        ({"tt": "seven"}, "Track"),
        ({}, "Track"),
        ({"tt": "7"}, "Text"),
        ({"tt": 1.0}, "Audio"),
    ],
)
def test_track_labels(track: dict[str, Any], label: str) -> None:
    """Labels follow tt and m.role, with a music hint for unlabelled audio and Track for unknown types."""
    assert track_views({"t": [track]})[0].label == label


@pytest.mark.parametrize(
    ("track", "shown"),
    [
        ({"tt": 0, "m": {"name": "Main"}, "sg": [{"d": 1000, "m": {"name": "clip"}}]}, "Video: Main (0-1s)"),
        ({"tt": 0, "sg": [{"d": 1000, "m": {"name": "clip", "src": "a.mp4"}}]}, "Video: clip (0-1s)"),
        ({"tt": 7, "sg": [{"d": 1000, "m": {"text": "Hello"}}]}, 'Text: "Hello" (0-1s)'),
        ({"tt": 0, "sg": [{"d": 1000, "m": {"card": {"text": "Summary"}}}]}, 'Video: "Summary" (0-1s)'),
        (
            {"tt": 0, "sg": [{"d": 1000, "m": {"src": "https://cdn.x/u/city.mp4?sig=abc"}}]},
            "Video: city.mp4 (0-1s)",
        ),
        ({"tt": 0, "sg": [{"d": 1000, "m": {"src": "media_42"}}]}, "Video: media_42 (0-1s)"),
        ({"tt": 0, "sg": [{"d": 1000, "m": {"name": "   "}}]}, "Video (0-1s)"),
    ],
)
def test_track_names(track: dict[str, Any], shown: str) -> None:
    """Names come from track m.name, else segment name, text (quoted), card text or src."""
    assert summarize({"t": [track]}) == f"Timeline (1 track): 1. {shown}"


def test_volume_shown_only_when_not_full() -> None:
    """Volume appears for audio or video below or above 100%, never at the default or on text."""
    draft = {
        "t": [
            {"tt": 0, "sg": [{"d": 1000, "m": {"volume": 1}}]},
            {"tt": 0, "sg": [{"d": 1000, "m": {"volume": 0}}]},
            {"tt": 1, "sg": [{"d": 1000, "m": {"volume": 1.5}}]},
            {"tt": 7, "sg": [{"d": 1000, "m": {"text": "x", "volume": 0.5}}]},
        ]
    }
    assert summarize(draft) == (
        'Timeline (4 tracks): 1. Video (0-1s) 2. Video (0-1s, 0%) 3. Audio (0-1s, 150%) 4. Text: "x" (0-1s)'
    )


# --------------------------------------------------------------------------- timing


def test_video_segments_play_back_to_back() -> None:
    """Video segments start at the sum of the durations before them."""
    draft = {"t": [{"tt": 0, "sg": [{"d": 3000}, {"d": 2000}, {"d": 1500}]}]}
    spans = [(s.start_ms, s.end_ms) for s in track_views(draft)[0].segments]
    assert spans == [(0, 3000), (3000, 5000), (5000, 6500)]


def test_explicit_start_wins_for_video() -> None:
    """A video segment with s starts there; later segments still follow the durations before them."""
    draft = {"t": [{"tt": 0, "sg": [{"d": 3000}, {"s": 10_000, "d": 2000}, {"d": 1000}]}]}
    spans = [(s.start_ms, s.end_ms) for s in track_views(draft)[0].segments]
    assert spans == [(0, 3000), (10_000, 12_000), (5000, 6000)]


@pytest.mark.parametrize("tt", [1, 7, 99])
def test_non_video_segments_start_at_zero_by_default(tt: int) -> None:
    """Audio, text and unknown segments start at s, or 0 without one."""
    draft = {"t": [{"tt": tt, "sg": [{"d": 3000}, {"s": 4000, "d": 1000}]}]}
    spans = [(s.start_ms, s.end_ms) for s in track_views(draft)[0].segments]
    assert spans == [(0, 3000), (4000, 5000)]


def test_segment_without_duration_lasts_zero() -> None:
    """A segment with no usable d takes no time and does not shift the next one."""
    draft = {"t": [{"tt": 0, "sg": [{"m": {}}, {"d": None}, {"d": "abc"}, {"d": 2000}]}]}
    assert [(s.start_ms, s.end_ms) for s in track_views(draft)[0].segments][-1] == (0, 2000)


def test_numbers_as_floats_and_strings_are_read() -> None:
    """d and s given as floats or numeric strings still place the segment."""
    draft = {"t": [{"tt": "1", "sg": [{"s": "1500", "d": 2500.4}]}], "d": "9000"}
    view = track_views(draft)[0]
    assert (view.start_ms, view.end_ms) == (1500, 4000)
    assert draft_duration_ms(draft) == 9000


@pytest.mark.parametrize(
    ("draft", "ms"),
    [
        ({"t": [{"tt": 0, "sg": [{"d": 5000}]}], "d": 4000}, 4000),
        ({"t": [{"tt": 0, "sg": [{"d": 5000}]}, {"tt": 1, "sg": [{"s": 2000, "d": 7000}]}]}, 9000),
        ({"t": [{"tt": 0, "sg": [{"d": 5000}]}], "d": None}, 5000),
        ({"t": [{"tt": 0, "sg": [{"d": 5000}]}], "d": True}, 5000),
        ({}, 0),
        (None, 0),
    ],
)
def test_draft_duration(draft: Any, ms: int) -> None:
    """The duration is d when usable, else the latest segment end, else 0."""
    assert draft_duration_ms(draft) == ms


# --------------------------------------------------------------------------- model and round trip


@pytest.mark.parametrize("obj", [None, 1, "draft", [{"t": []}], 2.5, True])
def test_parse_draft_returns_none_for_non_objects(obj: Any) -> None:
    """Anything but a JSON object gives None."""
    assert parse_draft(obj) is None


@pytest.mark.parametrize(
    "draft",
    [
        {},
        contract_draft(),
        {"t": [{"tt": 0, "sg": [{"d": 5000}]}]},
        {
            "version": 3,
            "t": [{"tt": 0, "sg": [{"d": 1, "fx": {"blur": [1, {"k": None}]}}], "zz": True}],
            "m": {},
        },
        {"m": {"platform": "youtube", "chapters": [{"s": 0, "title": "Intro"}]}, "t": [], "d": 0},
        {"t": None, "d": None, "m": None},
        {"t": "junk", "d": "12", "m": [1, 2]},
        {"t": [None, 7, "x", [], {"tt": "7", "sg": [None, {"d": 1.0, "s": "2"}], "m": "meta"}]},
        {"t": [{"tt": True, "sg": {"not": "a list"}}], "d": 5000.0},
        {"d": 10, "t": [{"sg": [{"m": {"volume": "loud"}, "s": -3}], "tt": 1}]},
        {"_private": 1, "model_config": 2, "model_dump": 3, "__class__": 4, "": 5},
        {"t": [{"tt": 0, "sg": [{"d": 2**70, "s": -0.0}]}]},
    ],
)
def test_round_trip_examples(draft: dict[str, Any]) -> None:
    """Parsing and dumping gives back the very same JSON, junk and unknown keys included."""
    parsed = parse_draft(draft)
    assert parsed is not None
    assert dumped(parsed.to_json_dict()) == dumped(draft)


_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
_numberish = st.integers(-5, 100_000) | st.floats(allow_nan=False, allow_infinity=False) | _json
_keys = st.sampled_from(["t", "tt", "sg", "d", "s", "m", "x", "_x", "model_config", "fields"]) | st.text(
    max_size=6
)


def _object(known: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with some known keys (right or wrong shapes) and unknown keys, in random order."""
    base = st.fixed_dictionaries({}, optional=known)
    extra = st.dictionaries(_keys, _json, max_size=3)
    return st.builds(lambda a, b, flip: {**a, **b} if flip else {**b, **a}, base, extra, st.booleans())


_meta = st.dictionaries(_keys, _json, max_size=4) | _json
_segment = _object({"d": _numberish, "s": _numberish, "m": _meta})
_track = _object(
    {
        "tt": st.sampled_from([0, 1, 7]) | _numberish,
        "sg": st.lists(_segment | _json, max_size=4) | _json,
        "m": _meta,
    }
)
_draft = _object({"t": st.lists(_track | _json, max_size=4) | _json, "d": _numberish, "m": _meta})


@settings(max_examples=300, deadline=None)
@given(draft=_draft | st.dictionaries(st.text(max_size=6), _json, max_size=5))
def test_round_trip_arbitrary_drafts(draft: dict[str, Any]) -> None:
    """Any JSON object round-trips exactly, and every reader copes with it."""
    original = copy.deepcopy(draft)
    parsed = parse_draft(draft)
    assert parsed is not None
    assert dumped(parsed.to_json_dict()) == dumped(original)
    assert draft == original  # parsing does not touch the input
    assert summarize(draft)
    json.dumps(structured(draft))
    assert diff(draft, draft) == []
    assert diff(None, draft) == diff({}, draft)


def test_round_trip_keeps_key_order() -> None:
    """Keys come back in the order the draft had them, not the model's field order."""
    draft = {"m": {"b": 1, "a": 2}, "z": 0, "t": [{"sg": [], "m": {}, "tt": 1}], "d": 5}
    parsed = parse_draft(draft)
    assert parsed is not None
    assert list(parsed.to_json_dict()) == ["m", "z", "t", "d"]
    assert list(parsed.to_json_dict()["t"][0]) == ["sg", "m", "tt"]


def test_models_build_drafts_without_defaults() -> None:
    """A draft built in code dumps only what was given."""
    draft = Draft(t=[Track(tt=0, sg=[Segment(d=5000, m={"src": "a"})])])
    assert draft.to_json_dict() == {"t": [{"tt": 0, "sg": [{"d": 5000, "m": {"src": "a"}}]}]}


def test_assignment_replaces_a_misfit_value() -> None:
    """Setting a field whose input was junk dumps the new value, not the junk."""
    parsed = parse_draft({"t": [{"tt": 0, "sg": [{"d": "5s", "x": 1}]}]})
    assert parsed is not None
    segment = parsed.t[0].sg[0]
    assert segment.duration_ms is None
    segment.d = 4000
    assert parsed.to_json_dict() == {"t": [{"tt": 0, "sg": [{"d": 4000, "x": 1}]}]}


def test_to_json_dict_is_a_copy() -> None:
    """Changing the dumped data leaves the model (and the input) alone."""
    source = {"t": [{"tt": 0, "sg": [{"d": 1, "m": {"fx": [1]}}]}], "odd": {"k": [1]}}
    parsed = parse_draft(source)
    assert parsed is not None
    out = parsed.to_json_dict()
    out["t"][0]["sg"][0]["m"]["fx"].append(2)
    out["odd"]["k"].append(2)
    assert parsed.to_json_dict() == {"t": [{"tt": 0, "sg": [{"d": 1, "m": {"fx": [1]}}]}], "odd": {"k": [1]}}


def test_unknown_keys_are_readable() -> None:
    """raw() returns unknown keys and misfit values exactly as the draft had them."""
    parsed = parse_draft({"t": "junk", "version": 2})
    assert parsed is not None
    assert (parsed.raw("t"), parsed.raw("version"), parsed.raw("missing")) == ("junk", 2, None)
    assert parsed.tracks == []


def test_opaque_items_are_skipped_by_views() -> None:
    """Non-object tracks and segments are kept in the dump but left out of the views."""
    draft = {"t": [None, {"tt": 0, "sg": [5, {"d": 1000}]}]}
    views = track_views(draft)
    assert [(v.index, len(v.segments)) for v in views] == [(1, 1)]


# --------------------------------------------------------------------------- structured


def test_structured_output() -> None:
    """Structured output lists each track's type, label, name, span, count and volume."""
    out = structured(contract_draft())
    assert out["summary"] == CONTRACT_SUMMARY
    assert (out["track_count"], out["duration_s"]) == (3, 10.0)
    assert out["tracks"][1] == {
        "index": 2,
        "type": "audio",
        "label": "BGM",
        "name": "Lo-fi",
        "start_s": 0.0,
        "end_s": 10.0,
        "segments": 1,
        "volume": 0.35,
    }
    assert out["tracks"][2]["volume"] is None
    assert out["metadata"] == {}
    json.dumps(out)


def test_structured_empty() -> None:
    """An absent draft gives an empty structure with the empty summary."""
    assert structured(None) == {
        "summary": "Timeline is empty (no tracks yet).",
        "track_count": 0,
        "duration_s": 0.0,
        "tracks": [],
        "metadata": {},
    }


# --------------------------------------------------------------------------- diff


def edited(draft: dict[str, Any], change: Any) -> dict[str, Any]:
    """A deep copy of ``draft`` after ``change(copy)``."""
    new = copy.deepcopy(draft)
    change(new)
    return new


def test_diff_added_text_track() -> None:
    """A new text track is named and placed."""
    after = edited(
        contract_draft(),
        lambda d: d["t"].append(
            {"tt": 7, "m": {"role": "chapter", "name": "Chapter 1"}, "sg": [{"d": 3000}]}
        ),
    )
    assert diff(contract_draft(), after) == ['added text track "Chapter 1" 0-3s']


def test_diff_video_trimmed() -> None:
    """A shorter video span reads as a trim with both spans."""

    def trim(d: dict[str, Any]) -> None:
        d["t"][0]["sg"][0].update(s=2000, d=8000)

    assert diff(contract_draft(), edited(contract_draft(), trim)) == ["video trimmed 0-10s → 2-10s"]


def test_diff_removed_audio_track() -> None:
    """A removed track is named."""
    after = edited(contract_draft(), lambda d: d["t"].pop(1))
    assert diff(contract_draft(), after) == ['removed audio track "Lo-fi"']


def test_diff_bgm_volume() -> None:
    """A volume change shows both percentages."""
    after = edited(contract_draft(), lambda d: d["t"][1]["sg"][0]["m"].update(volume=0.2))
    assert diff(contract_draft(), after) == ["BGM volume 35% → 20%"]


def test_diff_duration() -> None:
    """A changed total duration is reported."""
    after = edited(contract_draft(), lambda d: d.update(d=8000))
    assert diff(contract_draft(), after) == ["duration 10s → 8s"]


def test_diff_captions_added() -> None:
    """More caption segments read as captions added."""
    before = {"t": [captions(2)]}
    after = {"t": [captions(5)]}
    assert diff(before, after) == ["caption extended 0-15s → 0-39s", "3 captions added", "duration 15s → 39s"]


def test_diff_metadata_changed() -> None:
    """Changed project metadata keys are listed by name."""
    after = edited(contract_draft(), lambda d: d.update(m={"platform": "shorts"}))
    assert diff(contract_draft(), after) == ["metadata changed: platform"]


def test_diff_renamed_text() -> None:
    """A changed title text shows the old and new text."""
    after = edited(contract_draft(), lambda d: d["t"][2]["sg"][0]["m"].update(text="City Dreams"))
    assert diff(contract_draft(), after) == ['title "Urban Dreams" → "City Dreams"']


def test_diff_segment_edit_without_visible_change() -> None:
    """A change the summary cannot show still counts as a changed segment."""
    after = edited(contract_draft(), lambda d: d["t"][2]["sg"][0]["m"].update(position="top"))
    assert diff(contract_draft(), after) == ["1 title changed"]


def test_diff_track_edit_without_visible_change() -> None:
    """A change to a track's own unknown keys reads as an edit of that track."""
    after = edited(contract_draft(), lambda d: d["t"][0].update(fx="sepia"))
    assert diff(contract_draft(), after) == ["video edited"]


def test_diff_other_draft_fields() -> None:
    """Unknown top-level keys are reported by name."""
    after = edited(contract_draft(), lambda d: d.update(version=2))
    assert diff(contract_draft(), after) == ["other draft fields changed: version"]


def test_diff_track_inserted_in_the_middle() -> None:
    """A track inserted between others is the only change; the others are matched by name."""
    chapter = {"tt": 7, "m": {"role": "chapter", "name": "Chapter 1"}, "sg": [{"s": 0, "d": 3000}]}
    after = edited(contract_draft(), lambda d: d["t"].insert(1, chapter))
    assert diff(contract_draft(), after) == ['added text track "Chapter 1" 0-3s']


def test_diff_same_type_tracks_matched_by_name() -> None:
    """With two tracks of one type, an inserted one does not shift the match of the others."""
    a = {"tt": 1, "m": {"name": "Voice A", "role": "voice"}, "sg": [{"d": 1000}]}
    b = {"tt": 1, "m": {"name": "Voice B", "role": "voice"}, "sg": [{"d": 1000}]}
    new = {"tt": 1, "m": {"name": "Voice C", "role": "voice"}, "sg": [{"d": 1000}]}
    assert diff({"t": [a, b]}, {"t": [a, new, b]}) == ['added audio track "Voice C" 0-1s']


def test_diff_unnamed_tracks_matched_by_order_within_type() -> None:
    """Unnamed tracks pair up in order within their type."""
    before = {"t": [{"tt": 0, "sg": [{"d": 5000}]}, {"tt": 1, "sg": [{"d": 5000}]}]}
    after = {
        "t": [{"tt": 7, "sg": [{"d": 1000}]}, {"tt": 0, "sg": [{"d": 4000}]}, {"tt": 1, "sg": [{"d": 5000}]}]
    }
    assert diff(before, after) == ["added text track 0-1s", "video trimmed 0-5s → 0-4s"]


def test_diff_reordered() -> None:
    """Swapped tracks read as a reorder."""
    draft = contract_draft()
    after = edited(draft, lambda d: d["t"].reverse())
    assert diff(draft, after) == ["tracks reordered"]


def test_diff_ambiguous_subjects_are_named() -> None:
    """With two tracks of one label, the changed one is named."""
    a = {"tt": 7, "m": {"role": "caption", "name": "EN"}, "sg": [{"d": 1000}]}
    b = {"tt": 7, "m": {"role": "caption", "name": "FR"}, "sg": [{"d": 1000}]}
    b2 = {**b, "sg": [{"d": 2000}]}
    assert diff({"t": [a, b]}, {"t": [a, b2]}) == [
        'caption "FR" extended 0-1s → 0-2s',
        "duration 1s → 2s",
    ]


def test_diff_label_change() -> None:
    """A role change on the same track reads as a relabel."""
    before = {"t": [{"tt": 1, "m": {"name": "track"}, "sg": [{"d": 1000}]}]}
    after = {"t": [{"tt": 1, "m": {"name": "track", "role": "bgm"}, "sg": [{"d": 1000}]}]}
    assert diff(before, after) == ["track 1 Audio → BGM"]


def test_diff_from_nothing_adds_everything() -> None:
    """Before None, every track is added."""
    assert diff(None, contract_draft()) == [
        'added video track "city timelapse" 0-10s',
        'added audio track "Lo-fi" 0-10s',
        'added text track "Urban Dreams" 0-3s',
        "duration 0s → 10s",
    ]


def test_diff_to_nothing_removes_everything() -> None:
    """After None, every track is removed."""
    assert diff(contract_draft(), None) == [
        'removed video track "city timelapse"',
        'removed audio track "Lo-fi"',
        'removed text track "Urban Dreams"',
        "duration 10s → 0s",
    ]


def test_diff_removed_unnamed_track_uses_position() -> None:
    """An unnamed removed track is identified by its old position."""
    before = {"t": [{"tt": 0, "sg": [{"d": 1000}]}, {"tt": 1, "sg": [{"d": 1000}]}]}
    assert diff(before, {"t": [before["t"][0]]}) == ["removed audio track #2"]


def test_added_multi_segment_track() -> None:
    """An added track with several segments gives their count."""
    assert diff({}, {"t": [captions(3)]}) == ["added text track with 3 captions 0-23s", "duration 0s → 23s"]


@pytest.mark.parametrize(("before", "after"), [(None, None), ({}, None), (None, {"t": []}), ("x", 5)])
def test_diff_of_nothing_is_empty(before: Any, after: Any) -> None:
    """Two empty timelines have no differences."""
    assert diff(before, after) == []


def test_diff_junk_change_still_reported() -> None:
    """A change only inside junk values is still noticed."""
    assert diff({"t": "a"}, {"t": "b"}) == ["timeline changed"]


def test_describe_diff_sentences() -> None:
    """describe_diff joins the changes into one sentence, or says nothing changed."""
    after = edited(contract_draft(), lambda d: d["t"][1]["sg"][0]["m"].update(volume=0.2))
    assert describe_diff(contract_draft(), after) == "Changes: BGM volume 35% → 20%."
    assert describe_diff(contract_draft(), contract_draft()) == "No change to the timeline."
    assert describe_diff(None, None) == "No change to the timeline."
