"""The local engine's instruction interpreter: pure parsing, timeline algebra and executors (no ffmpeg)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nemo_mcp.draft import ops
from nemo_mcp.draft.ops import Interval, TimedText
from nemo_mcp.engine.edit import (
    CAPABILITIES,
    EditState,
    Executor,
    MediaRef,
    TrimVideo,
    Undo,
    compose_reply,
    parse_duration,
    place_uploads,
    plan,
    push_history,
)
from nemo_mcp.engine.media import MediaError, MediaInfo, SceneText, Transcript

# --------------------------------------------------------------------------- durations


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("1:30", 90_000),
        ("01:02:03", 3_723_000),
        ("0:05.5", 5_500),
        ("90 seconds", 90_000),
        ("90s", 90_000),
        ("1.5 seconds", 1_500),
        ("2 minutes", 120_000),
        ("2 min", 120_000),
        ("1m30s", 90_000),
        ("1 minute 30 seconds", 90_000),
        ("60-second", 60_000),
        ("500 ms", 500),
        ("an hour", 3_600_000),
        ("a minute", 60_000),
        ("ten seconds", 10_000),
        ("45", 45_000),
        ("soon", None),
        ("", None),
    ],
)
def test_parse_duration(text: str, ms: int | None) -> None:
    """Clock times, unit phrases, compact forms and bare seconds all parse to milliseconds."""
    assert parse_duration(text) == ms


# --------------------------------------------------------------------------- the rule table


def _ops(text: str) -> list[tuple[str, dict[str, Any]]]:
    return [(o.name, o.args) for o in plan(text).operations]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("remove the intro", [("trim_video", {"mode": "intro"})]),
        ("trim the intro (first 8 seconds)", [("trim_video", {"mode": "intro", "duration_ms": 8000})]),
        ("cut the first 5 seconds", [("trim_video", {"mode": "start", "duration_ms": 5000})]),
        ("remove the last 10 seconds", [("trim_video", {"mode": "end", "duration_ms": 10_000})]),
        ("keep 0:30 to 2:00", [("trim_video", {"mode": "keep", "start_ms": 30_000, "end_ms": 120_000})]),
        ("trim it to 0:10-0:20", [("trim_video", {"mode": "keep", "start_ms": 10_000, "end_ms": 20_000})]),
        ("cut from 1:00 to 1:20", [("cut_segment", {"start_ms": 60_000, "end_ms": 80_000})]),
        ("trim the video to 30 seconds", [("trim_video", {"mode": "length", "duration_ms": 30_000})]),
        (
            "cut out silences",
            [("cut_silences", {"noise_db": -35.0, "min_silence_ms": 600, "padding_ms": 150})],
        ),
        (
            "remove silences longer than 1.5 seconds below -40 dB",
            [("cut_silences", {"noise_db": -40.0, "min_silence_ms": 1500, "padding_ms": 150})],
        ),
        (
            "remove the pauses",
            [("cut_silences", {"noise_db": -35.0, "min_silence_ms": 600, "padding_ms": 150})],
        ),
        (
            "split into 3-5 minute segments",
            [("split_segments", {"min_ms": 180_000, "max_ms": 300_000, "target_ms": 240_000})],
        ),
        (
            "make 2 minute segments",
            [("split_segments", {"min_ms": 90_000, "max_ms": 150_000, "target_ms": 120_000})],
        ),
        ("split it into 4 parts", [("split_segments", {"count": 4})]),
        ("generate chapters", [("generate_chapters", {"show_titles": False})]),
        ("add 5 chapters", [("generate_chapters", {"show_titles": False, "count": 5})]),
        ("add chapter titles", [("generate_chapters", {"show_titles": True})]),
        ("add captions", [("add_captions", {})]),
        ("add subtitles from talk.srt", [("add_captions", {"source": "talk.srt"})]),
        ("burn in the captions", [("add_captions", {"burn": True})]),
        ("add open captions", [("add_captions", {"burn": True})]),
        ("remove the captions", [("remove_captions", {})]),
        ('add a title "Intro to Calculus"', [("add_text", {"role": "title", "text": "Intro to Calculus"})]),
        (
            'add text "Subscribe" at the bottom from 0:05 to 0:10',
            [
                (
                    "add_text",
                    {
                        "role": "overlay",
                        "text": "Subscribe",
                        "position": "bottom",
                        "start_ms": 5000,
                        "end_ms": 10_000,
                    },
                )
            ],
        ),
        (
            'add text "Thanks!" at the end for 4 seconds',
            [("add_text", {"role": "overlay", "text": "Thanks!", "edge": "end", "duration_ms": 4000})],
        ),
        ('add a title card "Week 1"', [("add_title_card", {"text": "Week 1"})]),
        ("insert a summary slide at the end", [("add_summary_slide", {})]),
        ("add background music at 20%", [("add_background_music", {"volume": 0.2})]),
        ("add song.mp3 as background music", [("add_background_music", {"file": "song.mp3"})]),
        ("set the music volume to 10%", [("add_background_music", {"volume": 0.1, "volume_only": True})]),
        ("remove the music", [("remove_background_music", {})]),
        ("mute the original audio", [("set_original_volume", {"volume": 0.0})]),
        ("format it for YouTube", [("set_platform", {"platform": "youtube"})]),
        ("make it vertical for TikTok", [("set_platform", {"platform": "shorts"})]),
        ("export for Instagram Reels", [("set_platform", {"platform": "shorts"})]),
        ("make it square", [("set_platform", {"platform": "square"})]),
        ("make a 60-second highlight reel", [("make_highlight_reel", {"target_ms": 60_000})]),
        ("give me a 30 second highlight video", [("make_highlight_reel", {"target_ms": 30_000})]),
        ("fade in and out", [("add_fades", {"fade_in_ms": 1000, "fade_out_ms": 1000})]),
        ("fade out over 2 seconds", [("add_fades", {"fade_in_ms": 0, "fade_out_ms": 2000})]),
        ("normalize the audio", [("normalize_audio", {})]),
        (
            "remove everything between 0:10 and 0:20",
            [("cut_segment", {"start_ms": 10_000, "end_ms": 20_000})],
        ),
        (
            "add some background music (song.mp3) at 15% volume",
            [("add_background_music", {"volume": 0.15, "file": "song.mp3"})],
        ),
        (
            'add text "Chapter 2" at 1:00 for 5 seconds',
            [("add_text", {"role": "overlay", "text": "Chapter 2", "start_ms": 60_000, "duration_ms": 5000})],
        ),
        (
            'add a title "Cut silences and chapters"',
            [("add_text", {"role": "title", "text": "Cut silences and chapters"})],
        ),
        ("turn this into a YouTube Short", [("set_platform", {"platform": "shorts"})]),
        ("undo the last edit", [("undo", {})]),
        ("show the timeline", [("describe_timeline", {})]),
    ],
)
def test_phrases_become_operations(text: str, expected: list[tuple[str, dict[str, Any]]]) -> None:
    """Each supported phrase parses to its operation with the arguments it states."""
    result = plan(text)
    assert _ops(text) == expected
    assert result.unrecognised == ()
    assert result.refusals == ()


@pytest.mark.parametrize(
    ("text", "names", "export"),
    [
        (
            "break this lecture into short learning segments with chapter titles and captions",
            ["split_segments", "generate_chapters", "add_captions"],
            False,
        ),
        (
            "add chapter titles, highlight clicks, and insert a summary slide at the end",
            ["generate_chapters", "add_summary_slide"],
            False,
        ),
        (
            "cut out silences, add background music, and export as a 60-second highlight reel",
            ["cut_silences", "make_highlight_reel", "add_background_music"],
            True,
        ),
        (
            "trim the intro, add captions, and export for YouTube",
            ["trim_video", "add_captions", "set_platform"],
            True,
        ),
        ("generate chapters with timestamps and titles for my YouTube video", ["generate_chapters"], False),
    ],
)
def test_headline_workflows(text: str, names: list[str], export: bool) -> None:
    """The five skills' headline sentences parse completely, in a sensible execution order."""
    result = plan(text)
    assert result.names == names
    assert result.unrecognised == ()
    assert result.export_requested is export


def test_segments_request_reuses_segments_for_chapters() -> None:
    """Learning segments with chapter titles make one chapter per segment, shown on screen."""
    result = plan("break this lecture into short learning segments with chapter titles")
    chapters = next(o for o in result.operations if o.name == "generate_chapters")
    assert chapters.args == {"show_titles": True, "from_segments": True}
    segments = next(o for o in result.operations if o.name == "split_segments")
    assert segments.args == {"min_ms": 180_000, "max_ms": 300_000, "target_ms": 240_000}


def test_clicks_are_refused_with_a_reason() -> None:
    """The tutor skill's "highlight clicks" is refused honestly, and the rest still runs."""
    result = plan("add chapter titles, highlight clicks, and insert a summary slide at the end")
    assert [r.phrase for r in result.refusals] == ["highlight clicks"]
    assert "click" in result.refusals[0].reason


@pytest.mark.parametrize(
    "text", ["remove the background", "translate it to Spanish", "add a voice-over", "color grade it"]
)
def test_impossible_requests_are_refused(text: str) -> None:
    """Requests the offline engine cannot do become refusals, not operations."""
    result = plan(text)
    assert result.operations == ()
    assert len(result.refusals) == 1


def test_background_music_is_not_a_background_removal() -> None:
    """ "Remove the background music" removes the music; it is not a refusal."""
    assert plan("remove the background music").names == ["remove_background_music"]


def test_unknown_instruction_gets_capabilities() -> None:
    """Nothing recognisable: the reply names what was not understood and lists what can be done."""
    result = plan("make it pop with some sparkle")
    assert result.operations == ()
    assert result.unrecognised == ("make it pop with some sparkle",)
    reply = compose_reply(result, [], EditState(draft={}, media={}))
    assert "didn't understand" in reply
    assert CAPABILITIES in reply


def test_partly_understood_instruction_reports_the_rest() -> None:
    """A clause nobody parsed is reported back even when the rest ran."""
    result = plan("cut out silences and make it sparkle")
    assert result.names == ["cut_silences"]
    assert result.unrecognised == ("make it sparkle",)


def test_export_is_acknowledged_not_performed() -> None:
    """ "export" is a separate API call: the reply says how to do it."""
    result = plan("export it")
    assert result.operations == ()
    draft: dict[str, Any] = {"t": [{"tt": 0, "sg": [{"d": 5000, "m": {"src": "v"}}]}]}
    reply = compose_reply(result, [], EditState(draft=draft, media={}))
    assert "export (export_video)" in reply
    assert "didn't understand" not in reply


def test_greeting_gets_the_capability_list() -> None:
    """A greeting is answered with what the engine can do."""
    result = plan("hello")
    assert result.help_requested
    assert compose_reply(result, [], EditState(draft={}, media={})) == CAPABILITIES


# --------------------------------------------------------------------------- timeline algebra


def _draft(*pieces: tuple[str, int, int]) -> dict[str, Any]:
    return {
        "t": [
            {
                "tt": 0,
                "sg": [{"d": d, "m": {"src": src, "in": i}} for src, i, d in pieces],
                "m": {"role": "main"},
            }
        ],
        "x-unknown": {"kept": True},
    }


def test_keep_ranges_rebuilds_spine_and_moves_overlays() -> None:
    """Cutting the middle shortens the spine, sets in-points and carries overlays through the cut."""
    draft = _draft(("v", 0, 10_000))
    draft["t"].append(
        {"tt": 7, "sg": [{"s": 6000, "d": 2000, "m": {"text": "hi"}}], "m": {"role": "overlay"}}
    )
    ops.keep_ranges(draft, [(0, 2000), (5000, 10_000)])
    spine = draft["t"][0]["sg"]
    assert [(s["d"], s["m"]["in"]) for s in spine] == [(2000, 0), (5000, 5000)]
    assert draft["t"][1]["sg"] == [{"s": 3000, "d": 2000, "m": {"text": "hi"}}]
    assert draft["x-unknown"] == {"kept": True}
    assert ops.timeline_ms(draft) == 7000


def test_opening_title_stays_at_the_start_after_an_intro_cut() -> None:
    """An opening title keeps opening the video when the intro under it is cut."""
    draft = _draft(("v", 0, 20_000))
    draft["t"].append({"tt": 7, "sg": [{"s": 0, "d": 3000, "m": {"text": "T"}}], "m": {"role": "title"}})
    ops.keep_ranges(draft, [(8000, 20_000)])
    assert draft["t"][1]["sg"][0]["s"] == 0
    assert draft["t"][1]["sg"][0]["d"] == 3000


def test_captions_follow_their_source_through_cuts() -> None:
    """Source-time cues are laid onto the timeline through the pieces, skipping what was cut."""
    draft = _draft(("v", 0, 2000), ("v", 4000, 2000))
    cues = {"v": [TimedText(500, 1500, "one"), TimedText(2500, 3500, "gone"), TimedText(4500, 5500, "two")]}
    laid = ops.timeline_cues(draft, cues)
    assert [(c.start, c.end, c.text) for c in laid] == [(500, 1500, "one"), (2500, 3500, "two")]


def test_plan_sections_snaps_to_candidates() -> None:
    """Section starts move to a nearby pause or scene change, preferring the stronger one."""
    starts = ops.plan_sections(
        600_000, 3, [(190_000, 1.0), (215_000, 0.6), (410_000, 1.0)], tolerance_ms=60_000, min_gap_ms=10_000
    )
    assert starts == [0, 190_000, 410_000]


def test_plan_sections_without_candidates_is_even() -> None:
    """With nothing to snap to, sections are equal."""
    assert ops.plan_sections(90_000, 3, [], tolerance_ms=10_000, min_gap_ms=10_000) == [0, 30_000, 60_000]


# --------------------------------------------------------------------------- YouTube chapters


def test_youtube_list_follows_the_rules() -> None:
    """A valid list starts at 0:00, has three or more ascending chapters of 10 s or more."""
    result = ops.youtube_chapters([(0, "Intro"), (65_000, "Setup"), (130_500, "Demo")], 200_000)
    assert result.problems == ()
    assert result.text == "0:00 Intro\n1:05 Setup\n2:10 Demo"


def test_youtube_list_uses_hours_for_long_videos() -> None:
    """Videos of an hour or more get H:MM:SS timestamps throughout."""
    result = ops.youtube_chapters([(0, "A"), (1_800_000, "B"), (3_700_000, "C")], 4_000_000)
    assert result.text == "0:00:00 A\n0:30:00 B\n1:01:40 C"


@pytest.mark.parametrize(
    ("chapters", "total", "problem"),
    [
        ([(0, "A"), (20_000, "B")], 100_000, "at least 3"),
        ([(5_000, "A"), (30_000, "B"), (60_000, "C")], 100_000, "needs 0:00"),
        ([(0, "A"), (9_000, "B"), (40_000, "C")], 100_000, "under 10 seconds"),
        ([(0, "A"), (40_000, "B"), (95_000, "C")], 100_000, "under 10 seconds"),
        ([(0, "A"), (50_000, "B"), (30_000, "C")], 100_000, "out of order"),
        ([(0, "A"), (10_000, "B"), (20_000, "C")], 25_000, "at least 0:30"),
    ],
)
def test_youtube_list_rule_breaks(chapters: list[tuple[int, str]], total: int, problem: str) -> None:
    """Each broken rule is named, and no list is produced."""
    result = ops.youtube_chapters(chapters, total)
    assert result.text is None
    assert any(problem in p for p in result.problems), result.problems


# --------------------------------------------------------------------------- highlights


def test_highlights_prefer_loud_and_lively_and_hit_the_target() -> None:
    """The reel takes the loudest, busiest stretches, in order, to exactly the target length."""
    active = [(0, 8000), (10_000, 18_000), (20_000, 28_000)]
    loud = [(10_000, 18_000)]
    scenes = [21_000, 23_000, 25_000]
    picks = ops.pick_highlights(active, loud, scenes, 12_000, chunk_ms=8000)
    assert ops.total_length(picks) == 12_000
    assert picks == sorted(picks)
    assert (10_000, 18_000) in picks


def test_highlights_keep_everything_when_short() -> None:
    """Less active material than the target: all of it is kept."""
    assert ops.pick_highlights([(0, 3000), (5000, 7000)], [], [], 60_000) == [(0, 3000), (5000, 7000)]


# --------------------------------------------------------------------------- executors


class FakeAnalyzer:
    """Analysis results given up front, so executors run without ffmpeg."""

    def __init__(
        self,
        *,
        silences: dict[str, list[Interval]] | None = None,
        scenes: dict[str, list[int]] | None = None,
        subtitles: dict[str, list[TimedText]] | None = None,
    ) -> None:
        self._silences = silences or {}
        self._scenes = scenes or {}
        self._subtitles = subtitles or {}
        self.calls: list[str] = []

    async def silences(self, media: MediaRef, *, noise_db: float, min_silence_ms: int) -> list[Interval]:
        self.calls.append(f"silences:{media.media_id}:{noise_db}")
        if noise_db > -30:
            return []
        return [s for s in self._silences.get(media.media_id, []) if s[1] - s[0] >= min_silence_ms]

    async def scenes(self, media: MediaRef) -> list[int]:
        return self._scenes.get(media.media_id, [])

    async def subtitles(self, media: MediaRef) -> list[TimedText]:
        return self._subtitles.get(media.media_id, [])

    async def transcribe(self, media: MediaRef) -> list[TimedText]:
        raise AssertionError("not expected")

    async def transcript(self, media: MediaRef, *, cached_only: bool = False) -> Transcript | None:
        raise AssertionError("not expected")

    async def scene_text(self, media: MediaRef) -> list[SceneText]:
        return []  # no slides: titles come from captions or numbering

    def can_transcribe(self) -> bool:
        return False


def _video(media_id: str, ms: int, *, audio: bool = True) -> MediaRef:
    info = MediaInfo("video", ms, 640, 360, 30.0, audio, True)
    return MediaRef(media_id, f"{media_id}.mp4", Path(f"/x/{media_id}.mp4"), info)


def _other(media_id: str, kind: str, filename: str, ms: int = 0) -> MediaRef:
    info = MediaInfo(kind, ms, None, None, None, kind == "audio", kind == "image")  # type: ignore[arg-type]
    return MediaRef(media_id, filename, Path(f"/x/{filename}"), info)


def _state(*refs: MediaRef) -> EditState:
    state = EditState(draft={"t": [], "d": 0}, media={r.media_id: r for r in refs})
    place_uploads(state.draft, list(refs))
    return state


@pytest.mark.anyio
async def test_cut_silences_removes_gaps_with_padding() -> None:
    """Silences become cuts, keeping padding around speech; the reply gives the numbers."""
    state = _state(_video("v", 10_000))
    analyzer = FakeAnalyzer(silences={"v": [(2000, 4000), (9000, 10_000)]})
    result = await Executor(state, analyzer).run(plan("cut out silences").operations[0])
    assert result.ok
    # 2 s gap minus 150 ms each side, plus the trailing second entirely.
    assert ops.timeline_ms(state.draft) == 10_000 - 1700 - 850
    assert "Cut 2 silences" in result.message
    assert state.draft["d"] == ops.timeline_ms(state.draft)


@pytest.mark.anyio
async def test_cut_silences_on_a_still_image_says_why() -> None:
    """A video operation on a timeline of stills is refused with the reason, not silently skipped."""
    state = _state(_other("p", "image", "photo.png"))
    result = await Executor(state, FakeAnalyzer()).run(plan("cut out silences").operations[0])
    assert not result.ok
    assert "photo.png" in result.message
    assert result.response["ok"] is False


@pytest.mark.anyio
async def test_intro_default_uses_first_scene_change() -> None:
    """Without a length, the intro ends at the first scene change, and the reply says so."""
    state = _state(_video("v", 60_000))
    result = await Executor(state, FakeAnalyzer(scenes={"v": [7000, 30_000]})).run(
        plan("remove the intro").operations[0]
    )
    assert result.ok
    assert "first scene change" in result.message
    assert ops.timeline_ms(state.draft) == 53_000


@pytest.mark.anyio
async def test_intro_default_without_scene_change_is_ten_seconds() -> None:
    """No scene change: the first 10 s go, and the reply says it used the default."""
    state = _state(_video("v", 60_000))
    result = await Executor(state, FakeAnalyzer()).run(plan("trim the intro").operations[0])
    assert "default" in result.message
    assert ops.timeline_ms(state.draft) == 50_000


@pytest.mark.anyio
async def test_segments_and_chapters_on_a_lecture() -> None:
    """A 12-minute lecture becomes 3-5 minute segments at pauses, titled from its captions."""
    total = 12 * 60_000
    subs = _other("s", "subtitle", "v.srt", total)
    state = _state(_video("v", total), subs)
    cues = {
        "s": [
            TimedText(1000, 4000, "Welcome to limits. Today we start."),
            TimedText(242_000, 245_000, "Derivatives are next"),
            TimedText(482_000, 485_000, "Integrals close the course"),
        ]
    }
    analyzer = FakeAnalyzer(silences={"v": [(239_000, 241_500), (479_000, 481_500)]}, subtitles=cues)
    executor = Executor(state, analyzer)
    the_plan = plan("break this lecture into short learning segments with chapter titles and captions")
    results = [await executor.run(op) for op in the_plan.operations]
    assert all(r.ok for r in results), [r.message for r in results]
    segments = state.draft["m"]["segments"]
    assert [s["s"] for s in segments] == [0, 240_000, 480_000]
    assert [s["title"] for s in segments] == [
        "Welcome to limits",
        "Derivatives are next",
        "Integrals close the course",
    ]
    assert state.outputs["youtube_chapters"].splitlines()[0] == "0:00 Welcome to limits"
    shown = ops.find_track(state.draft, ops.TEXT, "chapter")
    assert shown is not None
    assert [s["m"]["text"] for s in shown["sg"]] == [s["title"] for s in segments]
    captions = ops.find_track(state.draft, ops.TEXT, "caption")
    assert captions is not None
    assert len(captions["sg"]) == 3


@pytest.mark.anyio
async def test_chapters_on_a_short_video_are_honest() -> None:
    """A 20-second video gets no YouTube list, and the reply says why."""
    state = _state(_video("v", 20_000))
    result = await Executor(state, FakeAnalyzer()).run(plan("generate chapters").operations[0])
    assert result.ok
    assert state.outputs["youtube_chapters"] is None
    assert "at least 0:30" in result.message


@pytest.mark.anyio
async def test_chapters_follow_youtube_rules_on_a_long_video() -> None:
    """Chapters of a 10-minute video form a valid YouTube list named Chapter 1, 2 … without captions."""
    state = _state(_video("v", 600_000))
    result = await Executor(state, FakeAnalyzer(scenes={"v": [95_000, 301_000]})).run(
        plan("generate chapters with timestamps and titles for my YouTube video").operations[0]
    )
    listing = state.outputs["youtube_chapters"]
    assert listing is not None
    lines = listing.splitlines()
    assert lines[0] == "0:00 Chapter 1"
    assert len(lines) >= 3
    assert "YouTube chapter list" in result.message


@pytest.mark.anyio
async def test_captions_need_a_subtitle_file_when_no_recogniser() -> None:
    """Without a subtitle upload or a recogniser, captions are refused with the way forward."""
    state = _state(_video("v", 10_000))
    result = await Executor(state, FakeAnalyzer()).run(plan("add captions").operations[0])
    assert not result.ok
    assert ".srt" in result.message


@pytest.mark.anyio
async def test_background_music_loops_under_the_video() -> None:
    """Uploaded audio becomes a looping BGM track at the asked volume, spanning the whole video."""
    state = _state(_video("v", 30_000), _other("a", "audio", "song.mp3", 8000))
    result = await Executor(state, FakeAnalyzer()).run(plan("add background music at 20%").operations[0])
    assert result.ok
    bgm = ops.find_track(state.draft, ops.AUDIO, "bgm")
    assert bgm is not None
    assert bgm["sg"] == [
        {"s": 0, "d": 30_000, "m": {"src": "a", "in": 0, "volume": 0.2, "loop": True, "name": "song.mp3"}}
    ]


@pytest.mark.anyio
async def test_background_music_without_audio_says_upload() -> None:
    """No audio file uploaded: the reply asks for one instead of inventing music."""
    state = _state(_video("v", 30_000))
    result = await Executor(state, FakeAnalyzer()).run(plan("add background music").operations[0])
    assert not result.ok
    assert "upload" in result.message.lower()


@pytest.mark.anyio
async def test_highlight_reel_hits_target_length() -> None:
    """A 2-minute clip becomes a 60-second reel of its sound-filled moments."""
    state = _state(_video("v", 120_000))
    analyzer = FakeAnalyzer(
        silences={"v": [(20_000, 30_000), (70_000, 80_000)]}, scenes={"v": [40_000, 45_000]}
    )
    executor = Executor(state, analyzer)
    for op in plan("cut out silences and export as a 60-second highlight reel").operations:
        assert (await executor.run(op)).ok
    assert ops.timeline_ms(state.draft) == 60_000


@pytest.mark.anyio
async def test_highlight_reel_without_a_recogniser_keeps_whole_captioned_sentences() -> None:
    """With captions from a subtitle file and no speech recognition, the reel is made of whole caption cues."""
    total = 60_000
    subs = _other("s", "subtitle", "v.srt", total)
    state = _state(_video("v", total), subs)
    said = [
        (1000, 6000),
        (8000, 14_000),
        (16_000, 22_000),
        (24_000, 31_000),
        (33_000, 40_000),
        (42_000, 58_000),
    ]
    words = ["plants", "light", "plants make sugar", "water", "plants need light", "oxygen"]
    cues = {
        "s": [
            TimedText(a, b, f"Sentence {i} about {w}.")
            for i, ((a, b), w) in enumerate(zip(said, words, strict=True))
        ]
    }
    executor = Executor(state, FakeAnalyzer(subtitles=cues))
    for op in plan("add captions").operations + plan("make a 20-second highlight reel").operations:
        result = await executor.run(op)
        assert result.ok, result.message
    captions = ops.find_track(state.draft, ops.TEXT, "caption")
    assert captions is not None
    texts = [seg["m"]["text"] for seg in captions["sg"]]
    # Whole cues only, in story order, about 20 s (each with its pause): never a sentence cut short.
    assert texts and all(t.startswith("Sentence ") for t in texts), texts
    assert texts == sorted(texts)
    assert 18_000 <= ops.timeline_ms(state.draft) <= 22_000, ops.timeline_ms(state.draft)
    for seg in captions["sg"]:
        index = int(seg["m"]["text"].split()[1])
        a, b = said[index]
        assert seg["d"] == b - a


@pytest.mark.anyio
async def test_title_card_and_summary_slide_are_cards() -> None:
    """A title card opens the spine and a summary slide closes it, listing the chapter titles."""
    state = _state(_video("v", 60_000))
    executor = Executor(state, FakeAnalyzer())
    for text in ("generate chapters", 'add a title card "Week 1"', "insert a summary slide at the end"):
        for op in plan(text).operations:
            assert (await executor.run(op)).ok
    spine = ops.segments(ops.main_track(state.draft) or {})
    assert spine[0]["m"]["card"]["text"] == "Week 1"
    assert spine[-1]["m"]["card"]["text"].startswith("Summary\n• Chapter 1")
    assert state.draft["m"]["chapters"][0]["s"] == 0


@pytest.mark.anyio
async def test_platform_preset_sets_canvas() -> None:
    """A platform phrase sets the canvas and platform the renderer reads."""
    state = _state(_video("v", 10_000))
    await Executor(state, FakeAnalyzer()).run(plan("for TikTok").operations[0])
    assert state.draft["m"]["canvas"] == {"w": 1080, "h": 1920}
    assert state.draft["m"]["platform"] == "shorts"


@pytest.mark.anyio
async def test_undo_restores_the_previous_draft() -> None:
    """Undo brings back the draft from before the last edit; with no history it says so."""
    state = _state(_video("v", 10_000))
    before = ops.timeline_ms(state.draft)
    push_history(state, {**state.draft, "t": [dict(t) for t in state.draft["t"]]})
    executor = Executor(state, FakeAnalyzer())
    await executor.run(TrimVideo(mode="start", duration_ms=4000))
    assert ops.timeline_ms(executor.draft) == 6000
    assert (await executor.run(Undo())).ok
    assert ops.timeline_ms(executor.draft) == before
    assert not (await executor.run(Undo())).ok


class NoSpeechAnalyzer(FakeAnalyzer):
    """Speech recognition is installed but cannot run (no model, no network)."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.attempts = 0

    async def transcript(self, media: MediaRef, *, cached_only: bool = False) -> Transcript | None:
        self.attempts += 1
        raise MediaError("the speech model base.en is missing; run `nemo-mcp models pull base.en`")

    def can_transcribe(self) -> bool:
        return True


@pytest.mark.anyio
async def test_missing_speech_is_tried_once_and_explained_once_per_instruction() -> None:
    """Two steps that want speech: recognition is attempted once, and the reason is given in full once."""
    state = _state(_video("v", 60_000))
    analyzer = NoSpeechAnalyzer(silences={"v": [(20_000, 23_000)]}, scenes={"v": [10_000, 40_000]})
    executor = Executor(state, analyzer)
    the_plan = plan("cut out silences and make a 20-second highlight reel")
    messages = [(await executor.run(op)).message for op in the_plan.operations]
    assert analyzer.attempts == 1
    reply = " ".join(messages)
    assert reply.count("models pull base.en") == 1
    assert "not available (see above)" in reply
