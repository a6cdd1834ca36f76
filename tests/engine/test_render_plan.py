"""The render plan and the command built from it, checked as data without running ffmpeg."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from nemo_mcp.engine.render import make_plan, render_command
from nemo_mcp.engine.render.plan import Chapter, Piece
from tests.engine.test_render_golden import FONT, MEDIA, card, clip, draft, texts, video


def test_boundaries_round_on_the_timeline_not_per_piece() -> None:
    """Three 333 ms cuts at 30 fps start at frames 0, 10, 20 and last 10 frames each: no drift."""
    plan = make_plan(draft(video(clip("a", 333), clip("a", 333, 5000), clip("a", 334, 8000))), MEDIA)
    assert [(p.start_frame, p.frames, p.in_ms) for p in plan.pieces] == [
        (0, 10, 0),
        (10, 10, 5000),
        (20, 10, 8000),
    ]
    assert (plan.fps, plan.duration_ms) == (Fraction(30), 1000)


def test_split_clip_merges_and_gap_is_black() -> None:
    """Two halves of one clip become one piece; a hole before a segment becomes a piece with no source."""
    plan = make_plan(
        draft(video(clip("a", 500), clip("a", 500, 500), {"s": 2000, "d": 500, "m": {"src": "b"}})), MEDIA
    )
    assert plan.pieces == (
        Piece(0, 30, MEDIA["a"], 0),
        Piece(30, 30),
        Piece(60, 15, MEDIA["b"], 0),
    )


def test_looped_music_fills_the_rest_and_volume_reads_percentages() -> None:
    """A looped tune lasts until the video ends, its in-point wraps, and a volume of 35 means 35%."""
    music = {"tt": 1, "sg": [{"s": 1000, "m": {"src": "song", "loop": True, "in": 4000, "volume": 35}}]}
    (sound,) = make_plan(draft(video(clip("a", 5000)), music), MEDIA).sounds
    assert (sound.start_ms, sound.duration_ms, sound.in_ms, sound.volume, sound.loop) == (
        1000,
        4000,
        1000,
        0.35,
        True,
    )


def test_texts_take_their_role_defaults_and_cards_speak_last() -> None:
    """A title sits centred at 8% of the short side, a caption at the bottom; card words are layer 100."""
    plan = make_plan(
        draft(
            video(card(1000, "Hello"), clip("a", 1000)),
            texts("title", (0, 500, "T")),
            texts("caption", (1000, 500, "c")),
        ),
        MEDIA,
    )
    summary = [(t.text, t.position, t.size, t.layer, t.card) for t in plan.texts]
    assert summary == [
        ("T", "center", 14, 1, False),
        ("c", "bottom", 9, 2, False),
        ("Hello", "center", 13, 100, True),
    ]


def test_chapters_come_from_a_chapter_track() -> None:
    """Without chapter metadata, the labels of a text track with role "chapter" become chapters."""
    plan = make_plan(
        draft(video(card(4000, "")), texts("chapter", (0, 2000, "Start"), (2000, 2000, "End"))), MEDIA
    )
    assert plan.chapters == (Chapter(0, 2000, "Start"), Chapter(2000, 4000, "End"))


def test_building_the_command_writes_nothing(tmp_path: Path) -> None:
    """The argv names its side files, but only writing the assets puts them on disk."""
    work = tmp_path / "work"
    the_draft = draft(
        video(clip("a", 3000)), texts("caption", (0, 1000, "hi")), chapters=[{"s": 0, "title": "A"}]
    )
    command = render_command(
        make_plan(the_draft, MEDIA), tmp_path / "x.mp4", quality="draft", work_dir=work, font=FONT
    )
    # The caption ships as a subtitle track (no platform asks to burn it): SubRip, not ASS and a font.
    assert [f.path.relative_to(work).as_posix() for f in command.files] == ["chapters.txt", "captions.srt"]
    assert str(work / "chapters.txt") in command.argv
    assert str(work / "captions.srt") in command.argv
    assert not work.exists()


@pytest.mark.parametrize(
    ("version", "option"),
    [((6, 1), "-filter_complex_script"), ((7, 0), "-/filter_complex"), (None, "-/filter_complex")],
)
def test_a_long_graph_goes_to_a_file(version: tuple[int, int] | None, option: str) -> None:
    """150 pieces make a graph too long for a command line: it goes to graph.txt, by the option the ffmpeg knows."""
    cards = [card(100, "", "red" if i % 2 else "blue") for i in range(150)]
    plan = make_plan(draft(video(*cards), fps=10), MEDIA)
    command = render_command(
        plan, Path("x.mp4"), quality="draft", work_dir=Path("work"), font=None, version=lambda: version
    )
    assert "-filter_complex" not in command.argv
    assert command.argv[command.argv.index(option) + 1] == str(Path("work") / "graph.txt")
    (graph_file,) = command.files
    assert graph_file.text is not None
    assert graph_file.text.count("concat=n=150:") == 1
