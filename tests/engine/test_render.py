"""Rendering drafts to MP4, proved by probing and measuring the results."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio
import pytest

from nemo_mcp.engine.media import detect_silences, probe
from nemo_mcp.engine.render import RenderError, SourceMedia, build_command, render_draft, smart
from tests.engine.helpers import ffmpeg, frame_rgb, integrated_loudness, mean_volume_db, pixel

SMALL = {"w": 320, "h": 180}


async def sources(**paths: Path) -> dict[str, SourceMedia]:
    return {media_id: SourceMedia(path, await probe(path)) for media_id, path in paths.items()}


def draft(*tracks: dict[str, Any], **meta: Any) -> dict[str, Any]:
    return {"t": list(tracks), "m": {"canvas": SMALL, **meta}}


def video(*segments: dict[str, Any], **meta: Any) -> dict[str, Any]:
    return {"tt": 0, "sg": list(segments), "m": {"role": "main", **meta}}


def clip(src: str, d: int, in_ms: int = 0, **meta: Any) -> dict[str, Any]:
    return {"d": d, "m": {"src": src, "in": in_ms, **meta}}


async def render(
    tmp_path: Path,
    the_draft: dict[str, Any],
    media: Mapping[str, SourceMedia],
    *,
    quality: str = "draft",
    name: str = "out.mp4",
) -> Path:
    out = tmp_path / name
    result = await render_draft(the_draft, media, out, quality=quality, work_dir=tmp_path / f"work-{name}")
    assert result.path == out
    assert result.size == out.stat().st_size
    return out


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.suffix == ".part")


@pytest.mark.anyio
async def test_trimmed_render_duration(tmp_path: Path, gap_video: Path) -> None:
    """A 2.5 s cut from 1 s into a clip renders as 2.5 s at the canvas size, with sound."""
    media = await sources(v=gap_video)
    out = await render(tmp_path, draft(video(clip("v", 2500, 1000))), media)
    info = await probe(out)
    assert abs(info.duration_ms - 2500) <= 50
    assert (info.width, info.height) == (320, 180)
    assert info.fps == 30
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert leftovers(tmp_path) == []


@pytest.mark.anyio
async def test_silence_removal_shrinks_by_the_gap(tmp_path: Path, gap_video: Path) -> None:
    """Keeping only the sound around the detected silence shortens the video by the gap, and the gap is gone."""
    media = await sources(v=gap_video)
    (start, end), *_ = await detect_silences(gap_video)
    total = media["v"].info.duration_ms
    the_draft = draft(video(clip("v", start, 0), clip("v", total - end, end)))
    out = await render(tmp_path, the_draft, media)
    info = await probe(out)
    assert abs(info.duration_ms - (total - (end - start))) <= 300
    assert abs(info.duration_ms - 4000) <= 300
    assert await detect_silences(out) == []


@pytest.mark.anyio
async def test_shorts_canvas(tmp_path: Path, gap_video: Path) -> None:
    """The shorts platform renders a landscape clip as 1080x1920, letterboxed in black."""
    media = await sources(v=gap_video)
    the_draft = {"t": [video(clip("v", 500))], "m": {"platform": "shorts"}}
    out = await render(tmp_path, the_draft, media)
    info = await probe(out)
    assert (info.width, info.height) == (1080, 1920)
    frame = frame_rgb(out, 0.1, 1080, 1920)
    assert max(pixel(frame, 1080, 540, 40)) < 30  # the bar above the picture
    assert max(pixel(frame, 1080, 540, 960)) > 60  # the picture itself


@pytest.mark.anyio
async def test_portrait_image_is_pillarboxed(tmp_path: Path, tall_png: Path) -> None:
    """A portrait still on a landscape canvas keeps its shape, with black bars at the sides."""
    media = await sources(img=tall_png)
    out = await render(tmp_path, draft(video(clip("img", 1000))), media)
    info = await probe(out)
    assert abs(info.duration_ms - 1000) <= 50
    frame = frame_rgb(out, 0.5, 320, 180)
    assert max(pixel(frame, 320, 5, 90)) < 30
    assert max(pixel(frame, 320, 314, 90)) < 30
    assert max(pixel(frame, 320, 160, 90)) > 60


@pytest.mark.anyio
async def test_non_square_pixels_keep_their_shape(tmp_path: Path, anamorphic_video: Path) -> None:
    """A 4:3 picture stored in narrow pixels fills 240 of 320 columns, not the 135 its pixel count suggests."""
    media = await sources(v=anamorphic_video)
    out = await render(tmp_path, draft(video(clip("v", 500))), media)
    frame = frame_rgb(out, 0.2, 320, 180)
    assert max(pixel(frame, 320, 20, 90)) < 30
    assert max(pixel(frame, 320, 60, 90)) > 60


@pytest.mark.anyio
async def test_bgm_volume_is_applied(tmp_path: Path, tall_png: Path, tone_wav: Path) -> None:
    """Music at volume 0.3 measures 20*log10(0.3) = -10.5 dB against the same music at 1.0."""
    media = await sources(img=tall_png, music=tone_wav)

    def with_music(volume: float) -> dict[str, Any]:
        music = {
            "tt": 1,
            "sg": [{"s": 0, "d": 2000, "m": {"src": "music", "volume": volume}}],
            "m": {"role": "bgm"},
        }
        return draft(video(clip("img", 2000)), music)

    loud = await render(tmp_path, with_music(1.0), media, name="loud.mp4")
    quiet = await render(tmp_path, with_music(0.3), media, name="quiet.mp4")
    difference = mean_volume_db(quiet) - mean_volume_db(loud)
    assert abs(difference - 20 * math.log10(0.3)) <= 1.0


@pytest.mark.anyio
async def test_bgm_loops_to_video_length(tmp_path: Path, tall_png: Path, tone_wav: Path) -> None:
    """A looped 3 s tune under a 7 s video sounds until the end, and the render is still 7 s."""
    media = await sources(img=tall_png, music=tone_wav)
    music = {"tt": 1, "sg": [{"s": 0, "m": {"src": "music", "loop": True}}]}
    out = await render(tmp_path, draft(video(clip("img", 7000)), music), media)
    info = await probe(out)
    assert abs(info.duration_ms - 7000) <= 50
    assert await detect_silences(out, min_silence_ms=300) == []


@pytest.mark.anyio
async def test_loudnorm_targets_minus_16_lufs(tmp_path: Path, gap_video: Path) -> None:
    """With loudnorm on, the export's integrated loudness is near -16 LUFS."""
    media = await sources(v=gap_video)
    out = await render(tmp_path, draft(video(clip("v", 6000)), loudnorm=True), media)
    assert abs(integrated_loudness(out) + 16) <= 2


@pytest.mark.anyio
async def test_chapters_are_embedded(tmp_path: Path, gap_video: Path) -> None:
    """Chapters from the draft appear in the MP4 with their titles and times."""
    media = await sources(v=gap_video)
    chapters = [{"s": 0, "title": "Intro"}, {"s": 1500, "title": "Part = two; #2"}]
    out = await render(tmp_path, draft(video(clip("v", 3000)), chapters=chapters), media)
    report = ffmpeg("-i", str(out), "-f", "null", "-t", "0", "-")
    assert "Chapters:" in report
    assert "title           : Intro" in report
    assert "title           : Part = two; #2" in report
    assert "start 1.500000, end 3.000000" in report


@pytest.mark.anyio
async def test_learning_segments_become_chapters(tmp_path: Path, gap_video: Path) -> None:
    """Without chapters, m.segments are embedded as chapters."""
    media = await sources(v=gap_video)
    segments = [{"s": 0, "e": 1000, "title": "One"}, {"s": 1000, "e": 2000, "title": "Two"}]
    out = await render(tmp_path, draft(video(clip("v", 2000)), segments=segments), media)
    report = ffmpeg("-i", str(out), "-f", "null", "-t", "0", "-")
    assert "Chapter #0:1: start 1.000000, end 2.000000" in report


def test_chapter_track_becomes_chapters(tmp_path: Path) -> None:
    """Without chapter metadata, a text track with role "chapter" gives the chapters."""
    card = {"d": 4000, "m": {"card": {"text": ""}}}
    labels = {
        "tt": 7,
        "m": {"role": "chapter"},
        "sg": [{"s": 0, "d": 2000, "m": {"text": "Start"}}, {"s": 2000, "d": 2000, "m": {"text": "End"}}],
    }
    build_command(draft(video(card), labels), {}, tmp_path / "x.mp4", work_dir=tmp_path)
    chapters = (tmp_path / "chapters.txt").read_text()
    assert "START=2000\nEND=4000\ntitle=End" in chapters


@pytest.mark.anyio
async def test_card_and_text_are_drawn(tmp_path: Path) -> None:
    """A card shows its colour and words, a burned caption its text at the bottom; odd folder names are fine."""
    card = {"d": 1000, "m": {"card": {"text": "Summary: it's {done} 100% \\N [ok]", "bg": "#1A237E"}}}
    plain = {"d": 1000, "m": {"card": {"text": "", "bg": "navy"}}}
    caption = {
        "tt": 7,
        "m": {"role": "caption", "burn": True},
        "sg": [{"s": 1000, "d": 1000, "m": {"text": "Caption, text", "size": 24}}],
    }
    work = tmp_path / "work it's: [odd], dir"
    out = tmp_path / "card.mp4"
    await render_draft(draft(video(card, plain), caption), {}, out, quality="draft", work_dir=work)
    with_words = frame_rgb(out, 0.5, 320, 180)
    corner = pixel(with_words, 320, 3, 3)
    assert all(abs(a - b) <= 16 for a, b in zip(corner, (0x1A, 0x23, 0x7E), strict=True))
    bright = [pixel(with_words, 320, x, y) for x in range(40, 280) for y in range(70, 110)]
    assert sum(1 for p in bright if min(p) > 200) > 50  # white letters in the middle
    captioned = frame_rgb(out, 1.5, 320, 180)
    bottom = [pixel(captioned, 320, x, y) for x in range(60, 260) for y in range(140, 175)]
    assert sum(1 for p in bottom if min(p) > 200) > 20
    top = [pixel(captioned, 320, x, y) for x in range(60, 260) for y in range(10, 60)]
    assert all(min(p) < 200 for p in top)


@pytest.mark.anyio
async def test_fade_in_starts_black(tmp_path: Path, gap_video: Path) -> None:
    """A fade-in makes the first frame black and leaves later frames bright."""
    media = await sources(v=gap_video)
    out = await render(tmp_path, draft(video(clip("v", 2000)), fade_in_ms=1000), media)
    first = frame_rgb(out, 0, 320, 180)
    later = frame_rgb(out, 1.5, 320, 180)
    assert sum(first) / len(first) < 10
    assert sum(later) / len(later) > 60


@pytest.mark.anyio
async def test_progress_rises_to_one(
    tmp_path: Path, gap_video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Progress values of a full render only rise, stay within 0..1 and end at exactly 1.0."""
    # A cut-only timeline would take the smart path, whose progress is its (short) sound pass.
    monkeypatch.setattr(smart, "picture_reason", lambda plan: "the full render is under test")
    media = await sources(v=gap_video)
    values: list[float] = []

    async def on_progress(value: float) -> None:
        values.append(value)

    the_draft = {"t": [video(clip("v", 6000))], "m": {"canvas": {"w": 640, "h": 360}}}
    await render_draft(
        the_draft,
        media,
        tmp_path / "p.mp4",
        quality="standard",
        on_progress=on_progress,
        work_dir=tmp_path / "w",
    )
    assert len(values) >= 3
    assert values == sorted(set(values))
    assert values[-1] == 1.0
    assert all(0 <= v < 1 for v in values[:-1])


def _processes_mentioning(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.anyio
async def test_cancelled_render_leaves_nothing(tmp_path: Path, gap_video: Path) -> None:
    """Cancelling mid-render kills ffmpeg and leaves neither the output nor a .part file."""
    media = await sources(v=gap_video)
    out = tmp_path / "cancelled-7f3a.mp4"
    started = anyio.Event()

    async def on_progress(value: float) -> None:
        started.set()

    # Full HD at the slowest preset: long enough to be caught in the middle.
    the_draft = {"t": [video(clip("v", 6000))], "m": {"platform": "youtube"}}
    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            tg.start_soon(
                lambda: render_draft(
                    the_draft, media, out, quality="high", on_progress=on_progress, work_dir=tmp_path / "w"
                )
            )
            await started.wait()
            assert _processes_mentioning(out.name)  # ffmpeg is really running
            tg.cancel_scope.cancel()
    assert not out.exists()
    assert leftovers(tmp_path) == []
    assert _processes_mentioning(out.name) == []


@pytest.mark.anyio
async def test_failed_render_leaves_nothing(tmp_path: Path, gap_video: Path) -> None:
    """When ffmpeg fails (here: the clip vanished after upload) the error names the file and no .part is left."""
    copy = tmp_path / "media" / "vanishing.mp4"
    copy.parent.mkdir()
    copy.write_bytes(gap_video.read_bytes())
    media = await sources(v=copy)
    copy.unlink()
    out_dir = tmp_path / "out"
    with pytest.raises(RenderError) as caught:
        await render_draft(draft(video(clip("v", 1000))), media, out_dir / "x.mp4", work_dir=tmp_path / "w")
    assert "vanishing.mp4" in str(caught.value)
    assert str(copy.parent) not in str(caught.value)
    assert os.listdir(out_dir) == []


@pytest.mark.anyio
async def test_missing_media_fails_before_ffmpeg(tmp_path: Path, gap_video: Path) -> None:
    """A segment naming unknown media is refused by id, before anything is written."""
    media = await sources(v=gap_video)
    with pytest.raises(RenderError, match=r"'gone-42'.*upload the file again"):
        await render_draft(
            draft(video(clip("v", 1000), clip("gone-42", 1000))),
            media,
            tmp_path / "x.mp4",
            work_dir=tmp_path / "w",
        )
    assert os.listdir(tmp_path) == []


@pytest.mark.anyio
async def test_missing_audio_media_fails(tmp_path: Path, gap_video: Path) -> None:
    """Music naming unknown media is refused too."""
    media = await sources(v=gap_video)
    music = {"tt": 1, "sg": [{"s": 0, "m": {"src": "nope"}}]}
    with pytest.raises(RenderError, match="'nope'"):
        build_command(draft(video(clip("v", 1000)), music), media, tmp_path / "x.mp4", work_dir=tmp_path)


@pytest.mark.anyio
async def test_in_point_after_clip_end_fails(tmp_path: Path, gap_video: Path) -> None:
    """A cut starting after the clip ends is refused with both times."""
    media = await sources(v=gap_video)
    with pytest.raises(RenderError, match=r"starts at 9\.0 s .* only 6\.0 s long"):
        build_command(draft(video(clip("v", 1000, 9000))), media, tmp_path / "x.mp4", work_dir=tmp_path)


def test_empty_timeline_fails(tmp_path: Path) -> None:
    """Nothing on the timeline is nothing to export."""
    with pytest.raises(RenderError, match="timeline is empty"):
        build_command({"t": []}, {}, tmp_path / "x.mp4", work_dir=tmp_path)


def test_unknown_quality_fails(tmp_path: Path) -> None:
    """Only the three known qualities are accepted."""
    card = {"d": 1000, "m": {"card": {"text": "x"}}}
    with pytest.raises(RenderError, match="unknown quality 'ultra'"):
        build_command(draft(video(card)), {}, tmp_path / "x.mp4", quality="ultra", work_dir=tmp_path)


@pytest.mark.anyio
async def test_command_is_one_pass_without_source_metadata(tmp_path: Path, gap_video: Path) -> None:
    """One ffmpeg run with one filter graph; a source's tags and chapters are not carried over."""
    media = await sources(v=gap_video)
    argv = build_command(
        draft(video(clip("v", 1000), clip("v", 1000, 3000))), media, tmp_path / "x.mp4", work_dir=tmp_path
    )
    assert argv.count("-filter_complex") == 1
    assert argv.count("-i") == 1  # two cuts of one source: it is read and decoded once
    assert argv[argv.index("-map_metadata") + 1] == "-1"
    assert argv[argv.index("-map_chapters") + 1] == "-1"
    assert argv[argv.index("-preset") + 1] == "medium"
    assert argv[argv.index("-crf") + 1] == "20"


@pytest.mark.anyio
async def test_split_clip_is_one_input(tmp_path: Path, gap_video: Path) -> None:
    """Two halves of one clip with nothing cut between them are read as one piece."""
    media = await sources(v=gap_video)
    argv = build_command(
        draft(video(clip("v", 1000), clip("v", 1000, 1000))), media, tmp_path / "x.mp4", work_dir=tmp_path
    )
    assert argv.count("-i") == 1


@pytest.mark.anyio
async def test_many_pieces_use_a_graph_file(tmp_path: Path) -> None:
    """A very long timeline passes its filter graph in a file and still renders exactly."""
    cards = [{"d": 100, "m": {"card": {"text": "", "bg": "red" if i % 2 else "blue"}}} for i in range(150)]
    the_draft = draft(video(*cards), fps=10)
    (tmp_path / "w1").mkdir()
    argv = build_command(the_draft, {}, tmp_path / "x.mp4", work_dir=tmp_path / "w1")
    assert "-filter_complex" not in argv
    out = await render(tmp_path, the_draft, {})
    info = await probe(out)
    assert abs(info.duration_ms - 15000) <= 100
