"""Previews show the edit as it will export: titles, captions and the canvas, in a JPEG under 1 MB."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageStat

from nemo_mcp.engine.media import probe
from nemo_mcp.engine.media.preview import MAX_COUNT, Ask, PreviewError, choose_times, contact_sheet_of_file
from nemo_mcp.engine.media.sheet import MAX_SHEET_BYTES, make_sheet
from nemo_mcp.engine.previews import Preview, preview_file, preview_timeline
from nemo_mcp.engine.render import SourceMedia

from .helpers import ffmpeg

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def grey_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ten seconds of plain grey: anything drawn on it shows as changed pixels."""
    out = tmp_path_factory.mktemp("preview") / "grey.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "color=c=0x808080:s=640x360:r=25:d=10",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(out),
    )  # fmt: skip
    return out


@pytest.fixture(scope="module")
def noise_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The worst case for JPEG: every pixel random, every frame different."""
    out = tmp_path_factory.mktemp("preview") / "noise.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "nullsrc=s=1280x720:r=10:d=4,geq=random(1)*255:random(2)*255:random(3)*255",
        "-c:v", "libx264", "-preset", "ultrafast", "-crf", "10", "-pix_fmt", "yuv420p", str(out),
    )  # fmt: skip
    return out


def _draft(*texts: tuple[str, int, int, str], platform: str | None = None) -> dict[str, Any]:
    """A 10 s timeline of the grey clip with text tracks: (role, start ms, duration ms, words)."""
    tracks: list[dict[str, Any]] = [{"tt": 0, "m": {"role": "main"}, "sg": [{"d": 10000, "m": {"src": "g"}}]}]
    for role, start, length, words in texts:
        tracks.append({"tt": 7, "m": {"role": role}, "sg": [{"s": start, "d": length, "m": {"text": words}}]})
    meta: dict[str, Any] = {"platform": platform} if platform else {}
    return {"t": tracks, "m": meta}


async def _preview(clip: Path, draft: dict[str, Any], ask: Ask, tmp_path: Path) -> Preview:
    media = {"g": SourceMedia(clip, await probe(clip))}
    return await preview_timeline(draft, media, ask, work_dir=tmp_path / "work")


def _cells(result: Preview) -> list[Image.Image]:
    """Each frame cut out of the sheet by the layout the preview reports."""
    sheet = Image.open(io.BytesIO(result.sheet.jpeg)).convert("RGB")
    assert sheet.size == (result.sheet.width, result.sheet.height)
    return [sheet.crop((c.x, c.y, c.x + c.w, c.y + c.h)) for c in result.sheet.cells]


def _changed(a: Image.Image, b: Image.Image, box: tuple[float, float, float, float]) -> float:
    """Mean difference of two frames inside ``box`` (fractions of the frame: left, top, right, bottom)."""
    w, h = a.size
    area = (round(box[0] * w), round(box[1] * h), round(box[2] * w), round(box[3] * h))
    diff = ImageChops.difference(a.crop(area), b.crop(area))
    return sum(ImageStat.Stat(diff).mean) / 3


CENTRE = (0.25, 0.4, 0.75, 0.6)
BOTTOM = (0.25, 0.8, 0.75, 0.97)


async def test_a_title_shows_at_1_s_and_is_gone_at_5_s(grey_clip: Path, tmp_path: Path) -> None:
    """A title on 0-3 s changes the middle of the frame at 1 s and leaves the frame at 5 s as without it."""
    ask = Ask(times_s=(1.0, 5.0))
    titled = await _preview(grey_clip, _draft(("title", 0, 3000, "Photosynthesis")), ask, tmp_path)
    plain = await _preview(grey_clip, _draft(), ask, tmp_path)
    (with_1, with_5), (plain_1, plain_5) = _cells(titled), _cells(plain)
    assert [c.time_s for c in titled.sheet.cells] == [1.0, 5.0]
    assert _changed(with_1, plain_1, CENTRE) > 10
    assert _changed(with_5, plain_5, CENTRE) < 2


async def test_captions_show_where_the_timeline_has_them(grey_clip: Path, tmp_path: Path) -> None:
    """A caption on 4-7 s marks the bottom of the frame at 5 s, not at 2 s, and is listed for its range only."""
    draft = _draft(("caption", 4000, 3000, "Plants turn light into sugar"))
    result = await _preview(grey_clip, draft, Ask(times_s=(2.0, 5.0)), tmp_path)
    at_2, at_5 = _cells(result)
    assert _changed(at_2, at_5, BOTTOM) > 10
    assert result.captions == [{"start_s": 4.0, "end_s": 7.0, "text": "Plants turn light into sugar"}]
    # These captions ship as a track (no platform asked to burn them): the frame draws them anyway.
    assert any(".srt" in note for note in result.notes)
    before = await _preview(grey_clip, draft, Ask(start_s=0, end_s=3, count=2), tmp_path)
    assert before.captions == []


async def test_a_9_16_timeline_gives_portrait_frames(grey_clip: Path, tmp_path: Path) -> None:
    """The Shorts canvas previews tall, in a sheet and as one frame."""
    draft = _draft(platform="shorts")
    sheet = await _preview(grey_clip, draft, Ask(count=4), tmp_path)
    assert sheet.kind == "sheet" and all(c.h > c.w * 1.6 for c in sheet.sheet.cells)
    frame = await _preview(grey_clip, draft, Ask(times_s=(2.0,), single=True), tmp_path)
    assert frame.kind == "frame" and frame.sheet.height > frame.sheet.width * 1.6


async def test_chapters_are_listed_with_the_sheet(grey_clip: Path, tmp_path: Path) -> None:
    """The timeline's chapters come with every preview of it."""
    draft = _draft()
    draft["m"]["chapters"] = [{"s": 0, "title": "Welcome"}, {"s": 6000, "title": "Light"}]
    result = await _preview(grey_clip, draft, Ask(count=3), tmp_path)
    assert result.chapters == [{"start_s": 0.0, "title": "Welcome"}, {"start_s": 6.0, "title": "Light"}]
    assert len(result.sheet.cells) == 3


async def test_a_noisy_source_still_fits_in_1_mb(noise_clip: Path) -> None:
    """Random noise, the worst case for JPEG, gives a full sheet and a single frame within 1 MB."""
    sheet = await preview_file(noise_clip, Ask(count=MAX_COUNT), name="noise.mp4")
    frame = await preview_file(noise_clip, Ask(times_s=(1.0,), single=True), name="noise.mp4")
    assert len(sheet.sheet.cells) == MAX_COUNT
    assert len(sheet.sheet.jpeg) <= MAX_SHEET_BYTES and len(frame.sheet.jpeg) <= MAX_SHEET_BYTES
    assert Image.open(io.BytesIO(sheet.sheet.jpeg)).size == (sheet.sheet.width, sheet.sheet.height)


def test_a_sheet_of_pure_noise_is_shrunk_until_it_fits() -> None:
    """Sixteen large noise pictures exceed 1 MB at any quality; the sheet is made smaller, cells with it."""
    pictures = [(float(i), Image.frombytes("RGB", (640, 360), os.urandom(640 * 360 * 3))) for i in range(16)]
    sheet = make_sheet(pictures)
    assert len(sheet.jpeg) <= MAX_SHEET_BYTES
    assert all(c.x + c.w <= sheet.width and c.y + c.h <= sheet.height for c in sheet.cells)


def test_contact_sheet_of_file_gives_a_jpeg(grey_clip: Path) -> None:
    """The demo's call: JPEG bytes of the asked number of frames."""
    data = contact_sheet_of_file(grey_clip, count=6)
    assert data[:3] == b"\xff\xd8\xff" and len(data) <= MAX_SHEET_BYTES


@pytest.mark.parametrize(
    ("ask", "fix"),
    [
        (Ask(count=0), "count must be 1 to 16"),
        (Ask(count=40), "count must be 1 to 16"),
        (Ask(times_s=(3.0, 12.0)), "give times from 0 to 10.0"),
        (Ask(times_s=()), "give 1 to 16 times"),
        (Ask(start_s=11), "give a start from 0 to"),
        (Ask(start_s=5, end_s=2), "give an end_s after the start"),
    ],
)
def test_bad_asks_name_the_fix(ask: Ask, fix: str) -> None:
    """Counts, times and ranges outside what the source allows are refused with what to give instead."""
    with pytest.raises(PreviewError, match=fix):
        choose_times(10.0, ask)


def test_times_spread_over_the_range_without_the_ends() -> None:
    """count frames sit in the middle of equal parts of the range, never at its very end."""
    assert choose_times(10.0, Ask(count=4)) == [1.25, 3.75, 6.25, 8.75]
    assert choose_times(10.0, Ask(start_s=2, end_s=4, count=2)) == [2.5, 3.5]
    assert choose_times(10.0, Ask(start_s=3, single=True)) == [3.0]
    assert choose_times(10.0, Ask(times_s=(10.0,))) == [9.95]


@pytest.fixture(scope="module")
def keyed_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ten seconds with a keyframe every 2 s exactly (no extra ones at scene changes)."""
    out = tmp_path_factory.mktemp("preview") / "keyed.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=320x180:r=25:d=10",
        "-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-sc_threshold", "0", "-pix_fmt", "yuv420p",
        str(out),
    )  # fmt: skip
    return out


async def test_spread_frames_move_back_to_keyframes_and_exact_times_stay(
    keyed_clip: Path, tmp_path: Path
) -> None:
    """A 5-frame sheet over 10 s shows the keyframes at 0, 2, … 8 s (each at most half a step back);
    exact times are shown exactly, for a file and for the timeline."""
    file_sheet = await preview_file(keyed_clip, Ask(count=5), name="keyed.mp4")
    assert [c.time_s for c in file_sheet.sheet.cells] == [0.0, 2.0, 4.0, 6.0, 8.0]
    timeline = await _preview(keyed_clip, _draft(), Ask(count=5), tmp_path)
    assert [c.time_s for c in timeline.sheet.cells] == [0.0, 2.0, 4.0, 6.0, 8.0]
    exact = await _preview(keyed_clip, _draft(), Ask(times_s=(1.0, 3.0)), tmp_path)
    assert [c.time_s for c in exact.sheet.cells] == [1.0, 3.0]
