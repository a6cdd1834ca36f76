"""On-screen text: RapidOCR reads one frame per scene; the heading is told apart from the body."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from nemo_mcp.engine import media as media_mod
from nemo_mcp.engine.analysis import SessionAnalyzer
from nemo_mcp.engine.edit import EditState, Executor, MediaRef, place_uploads, plan
from nemo_mcp.engine.media import MediaError, SceneText, TextLine, probe, read_scene_text, split_heading
from nemo_mcp.engine.media.ocr import MAX_SCENES, scenes_to_read
from nemo_mcp.engine.render.assets import find_font
from tests.engine.helpers import ZH_HEADINGS, bare, slides_video, zh_slides_video

pytest.importorskip("rapidocr", reason="reading on-screen text needs rapidocr")


def test_heading_is_the_largest_topmost_line() -> None:
    """Of lines of several sizes, the tallest one on top is the heading; the rest is body, in order."""
    lines = [
        TextLine("Water is split", 180, 22),
        TextLine("Part 2 - The light reactions", 30, 44),
        TextLine("Chlorophyll absorbs light", 140, 22),
    ]
    assert split_heading(lines, 360) == (
        "Part 2 - The light reactions",
        ("Chlorophyll absorbs light", "Water is split"),
    )


def test_a_heading_wrapped_onto_two_lines_is_joined() -> None:
    """Two equally large lines one under the other are one heading."""
    lines = [TextLine("The light", 20, 40), TextLine("reactions", 64, 40), TextLine("body", 200, 20)]
    assert split_heading(lines, 360) == ("The light reactions", ("body",))


def test_no_heading_when_no_line_stands_out() -> None:
    """Lines of one size (a page of text) have no heading; a lone line low in the frame is a caption."""
    same = [TextLine("one line", 30, 20), TextLine("another line", 60, 20), TextLine("third", 90, 21)]
    assert split_heading(same, 360)[0] == ""
    assert split_heading([TextLine("Subscribe", 300, 30)], 360) == ("", ("Subscribe",))
    assert split_heading([TextLine("Big title", 40, 30)], 360) == ("Big title", ())


def test_timecodes_and_numbers_are_never_a_heading() -> None:
    """A burned-in timecode or a slide number has no words, so it is left out, heading or body."""
    lines = [TextLine("00:00:00.733 11", 10, 40), TextLine("Photosynthesis", 60, 30), TextLine("12", 300, 10)]
    assert split_heading(lines, 360) == ("Photosynthesis", ())


@pytest.fixture(scope="module")
def slides(tmp_path_factory: pytest.TempPathFactory) -> Path:
    font = find_font()
    if font is None:
        pytest.skip("no font to draw the slides with")
    out = tmp_path_factory.mktemp("ocr") / "slides.mp4"
    return slides_video(
        out,
        font[0],
        [
            (3, "Part 1 - Light", ["Light travels as waves", "Plants capture it"]),
            (3, "Part 2 - The light reactions", ["Chlorophyll absorbs light"]),
        ],
    )


@pytest.mark.anyio
async def test_each_scene_gives_its_heading_and_body(slides: Path) -> None:
    """One frame per scene is read: the heading and the body lines of each slide, at the scene's start."""
    scenes = await media_mod.detect_scenes(slides)
    info = await probe(slides)
    found = await read_scene_text(slides, scenes, duration_ms=info.duration_ms)
    assert [s.start_ms for s in found] == [0, 3000]
    assert [s.heading for s in found] == ["Part 1 - Light", "Part 2 - The light reactions"]
    assert found[0].body == ("Light travels as waves", "Plants capture it")
    assert found[1].body == ("Chlorophyll absorbs light",)


@pytest.mark.anyio
async def test_scene_text_is_kept_per_content_and_read_once(
    slides: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scene changes and text of a file are written beside the transcripts and read back by a new session."""
    ref = MediaRef("m_1", slides.name, slides, await probe(slides))
    first_session = SessionAnalyzer({}, cache_dir=tmp_path)
    first = await first_session.scene_text(ref)
    changes = await first_session.scenes(ref)
    assert sorted(p.name.split(".")[0] for p in tmp_path.iterdir()) == ["changes", "scenes"]

    async def no_reading(*args: object, **kwargs: object) -> list[SceneText]:
        raise AssertionError("read again")

    async def no_finding(*args: object, **kwargs: object) -> list[int]:
        raise AssertionError("scene changes found again")

    monkeypatch.setattr(media_mod, "read_scene_text", no_reading)
    monkeypatch.setattr(media_mod, "detect_scenes", no_finding)
    copy = MediaRef("m_2", "copy.mp4", slides, ref.info)
    again = await SessionAnalyzer({}, cache_dir=tmp_path).scene_text(copy)
    assert again == first
    # A reading's scene changes serve a later edit's session (a long lecture's took minutes to find).
    assert await SessionAnalyzer({}, cache_dir=tmp_path).scenes(copy) == changes
    assert again[1].heading == "Part 2 - The light reactions"


@pytest.mark.anyio
async def test_unreadable_video_is_a_clear_error(tmp_path: Path) -> None:
    """A file whose pictures cannot be decoded fails with a MediaError that says to upload it again."""
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 1000)
    with pytest.raises(MediaError, match="upload it again"):
        await read_scene_text(bad, [], duration_ms=2000)


@pytest.mark.anyio
async def test_a_chinese_slide_heading_is_told_from_its_body(tmp_path: Path) -> None:
    """On slides written in Chinese, the large top line is the heading and the smaller lines the body."""
    video = zh_slides_video(tmp_path / "zh.mp4", 2)
    info = await probe(video)
    found = await read_scene_text(video, await media_mod.detect_scenes(video), duration_ms=info.duration_ms)
    assert [s.start_ms for s in found] == [0, 2000, 4000]
    assert [bare(s.heading) for s in found] == ZH_HEADINGS
    assert [bare(line) for line in found[1].body] == ["叶绿素吸收光能", "水分子被分解并释放氧气"]


@pytest.mark.anyio
async def test_a_chinese_projects_chapters_are_titled_by_its_slide_headings(tmp_path: Path) -> None:
    """ "generate chapters" on a silent zh lecture of three slides titles each chapter with its heading."""
    video = zh_slides_video(tmp_path / "zh.mp4", 11)
    ref = MediaRef("m_v", video.name, video, await probe(video))
    state = EditState(draft={"t": [], "d": 0}, media={ref.media_id: ref})
    place_uploads(state.draft, [ref])
    analyzer = SessionAnalyzer({}, language="zh", cache_dir=tmp_path / "analysis")
    result = await Executor(state, analyzer).run(plan("generate chapters").operations[0])
    assert result.ok, result.message
    chapters = state.draft["m"]["chapters"]
    assert [c["s"] for c in chapters] == [0, 11_000, 22_000]
    assert [bare(str(c["title"])) for c in chapters] == ZH_HEADINGS


def test_scenes_worth_reading_are_the_lasting_ones_and_past_the_cap_the_longest() -> None:
    """Transitions shorter than 1.5 s go unread; a long lecture's slides are all read, up to the cap's longest."""
    assert scenes_to_read([1000, 1400, 5000], 9000) == [(0, 1000), (1400, 5000), (5000, 9000)]
    many = [2000 * i for i in range(1, 400)]  # 400 slides of 2 s: more than the cap
    assert MAX_SCENES < 400
    assert len(scenes_to_read(many, 800_000)) == MAX_SCENES
    merged = {2000 * (2 * k + 1) for k in range(10)}  # the first ten pairs of slides become 4 s slides
    picked = scenes_to_read([t for t in many if t not in merged], 800_000)
    assert len(picked) == MAX_SCENES and picked == sorted(picked)
    assert {(4000 * k, 4000 * k + 4000) for k in range(10)} <= set(picked)
    assert picked[0][0] == 0


@pytest.mark.anyio
async def test_a_cancelled_reading_stops_between_batches(tmp_path: Path) -> None:
    """Cancelling the caller stops the reading after the scenes already in hand, not at the end of the file."""
    video = zh_slides_video(tmp_path / "zh.mp4", 4)
    info = await probe(video)
    starts = list(range(0, info.duration_ms - 1500, 1500))  # eight scenes: more than one batch reads
    seen: list[float] = []
    with anyio.CancelScope() as scope:

        def report(what: str, done: float, total: float) -> None:
            seen.append(done)
            scope.cancel()  # the user pressed stop once the first scenes were read

        await read_scene_text(video, starts, duration_ms=info.duration_ms, on_progress=report)
    assert scope.cancelled_caught
    await anyio.sleep(1.0)  # a worker thread still reading would report again
    assert len(seen) == 1 and seen[0] < len(starts)
