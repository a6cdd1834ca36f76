"""Cuts are frame-exact: every frame of a render is the source frame the timeline says, at each cut.

The source shows its own frame number as a bar code (16 stripes, one bit each), which survives
lossy encoding, so the test reads back which source frame each output frame came from.
"""

from __future__ import annotations

import importlib
import subprocess
from pathlib import Path

import pytest

from nemo_mcp.engine.ffmpeg import find_ffmpeg
from nemo_mcp.engine.media import probe
from nemo_mcp.engine.render import SourceMedia, make_plan, render_draft
from tests.engine.helpers import ffmpeg, frame_rgb, pixel

# The module (the package's own name `compose` is its function).
compose = importlib.import_module("nemo_mcp.engine.render.compose")
smart = importlib.import_module("nemo_mcp.engine.render.smart")
W, H, FPS, BITS = 320, 180, 30, 16
STRIPE = W // BITS


def numbered_video(path: Path, seconds: int, fps: int = FPS) -> Path:
    """A clip whose frame N shows N as a bar code; keyframes every second, so most cuts fall between them."""
    bits = f"if(mod(floor(N/pow(2,floor(X/{STRIPE}))),2),235,16)"
    ffmpeg(
        "-f", "lavfi", "-i", f"color=c=black:s={W}x{H}:r={fps}:d={seconds},geq=lum='{bits}':cb=128:cr=128",
        "-f", "lavfi", "-i", f"sine=f=440:sample_rate=48000:d={seconds}",
        "-c:v", "libx264", "-preset", "ultrafast", "-g", str(fps), "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-shortest", str(path),
    )  # fmt: skip
    return path


def frame_numbers(path: Path) -> list[int]:
    """The source frame number shown by each frame of ``path`` (a W×H render of a numbered clip)."""
    argv = [
        find_ffmpeg(),
        "-v",
        "error",
        "-nostdin",
        "-i",
        str(path),
        "-f",
        "rawvideo",
        "-pix_fmt",
        "gray",
        "-",
    ]
    raw = subprocess.run(argv, capture_output=True, check=True, timeout=120).stdout
    size, row = W * H, (H // 2) * W
    return [
        sum(1 << b for b in range(BITS) if raw[i + row + b * STRIPE + STRIPE // 2] > 128)
        for i in range(0, len(raw) - size + 1, size)
    ]


@pytest.fixture(scope="module")
def numbered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return numbered_video(tmp_path_factory.mktemp("numbered") / "numbered.mp4", 5)


# (in-point ms, duration ms): mid-GOP cuts, a jump forward, one piece going back in the source.
CUTS = [(400, 700), (1500, 500), (2900, 600), (1000, 300), (4100, 400)]


@pytest.mark.anyio
@pytest.mark.parametrize("seek_gap_ms", [compose.SEEK_GAP_MS, -1], ids=["decoded-once", "per-piece"])
async def test_every_frame_is_the_source_frame_at_its_cut(
    tmp_path: Path, numbered: Path, monkeypatch: pytest.MonkeyPatch, seek_gap_ms: int
) -> None:
    """Each kept piece starts and ends on the source frames at its cut times, with nothing between lost."""
    monkeypatch.setattr(compose, "SEEK_GAP_MS", seek_gap_ms)
    # This cut-only timeline would take the smart path (test_render_smart); here the filter graph is tested.
    monkeypatch.setattr(smart, "picture_reason", lambda plan: "the full render is under test")
    media = {"n": SourceMedia(numbered, await probe(numbered))}
    segments = [{"d": d, "m": {"src": "n", "in": i}} for i, d in CUTS]
    draft = {"t": [{"tt": 0, "sg": segments}], "m": {"canvas": {"w": W, "h": H}, "fps": FPS}}
    out = tmp_path / "out.mp4"
    await render_draft(draft, media, out, quality="draft", work_dir=tmp_path / "work")
    expected = [f for i, d in CUTS for f in range(i * FPS // 1000, (i + d) * FPS // 1000)]
    assert frame_numbers(out) == expected


async def _render(tmp_path: Path, clip: Path, cuts: list[tuple[int, int]]) -> list[int]:
    """The source frame numbers shown by a render of ``cuts`` of ``clip`` at FPS."""
    media = {"n": SourceMedia(clip, await probe(clip))}
    segments = [{"d": d, "m": {"src": "n", "in": i}} for i, d in cuts]
    draft = {"t": [{"tt": 0, "sg": segments}], "m": {"canvas": {"w": W, "h": H}, "fps": FPS}}
    out = tmp_path / "out.mp4"
    await render_draft(draft, media, out, quality="draft", work_dir=tmp_path / "work")
    return frame_numbers(out)


@pytest.mark.anyio
async def test_piece_past_its_clip_end_holds_the_last_frame(tmp_path: Path, numbered: Path) -> None:
    """A piece running 0.5 s past its 5 s clip repeats the clip's last frame; the next piece is intact."""
    frames = await _render(tmp_path, numbered, [(4500, 1000), (1000, 300)])
    last = 5 * FPS - 1
    assert frames == [*range(135, last + 1), *[last] * 15, *range(30, 39)]


@pytest.mark.anyio
async def test_faster_source_keeps_every_other_frame(tmp_path: Path) -> None:
    """A 60 fps clip cut into a 30 fps timeline shows the source frame at each output frame's time."""
    clip = numbered_video(tmp_path / "sixty.mp4", 3, fps=2 * FPS)
    cuts = [(400, 700), (1500, 500), (1000, 300)]
    expected = [2 * (i * FPS // 1000 + k) for i, d in cuts for k in range(d * FPS // 1000)]
    assert await _render(tmp_path, clip, cuts) == expected


@pytest.mark.anyio
async def test_last_piece_lasts_past_the_end_of_its_clips_picture(tmp_path: Path, numbered: Path) -> None:
    """When a clip's picture stops before its sound, the timeline's last piece holds its last frame."""
    clip = tmp_path / "short-picture.mp4"
    ffmpeg("-t", "1", "-i", str(numbered), "-f", "lavfi", "-i", "sine=d=2:sample_rate=48000",
           "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", str(clip))  # fmt: skip
    frames = await _render(tmp_path, clip, [(200, 300), (500, 1000)])
    assert frames == [*range(6, 15), *range(15, 30), *[29] * 15]


def _marked(path: Path, at_s: float, rows: range) -> int:
    """How many pixels of ``rows`` differ from the bar code (the same in every row) at ``at_s``: text."""
    frame = frame_rgb(path, at_s, W, H)
    return sum(
        1
        for y in rows
        for x in range(W)
        if abs(pixel(frame, W, x, y)[1] - pixel(frame, W, x, H // 2)[1]) > 60
    )


@pytest.mark.anyio
async def test_short_texts_leave_every_frame_in_place(
    tmp_path: Path, numbered: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Text burned in only over stretches of the timeline shows there, and no frame is lost or repeated."""
    monkeypatch.setattr(compose, "_TEXT_GAP_S", 0.3)  # stretches on a 2.5 s timeline
    media = {"n": SourceMedia(numbered, await probe(numbered))}
    segments = [{"d": d, "m": {"src": "n", "in": i}} for i, d in CUTS]
    title = {
        "tt": 7,
        "m": {"role": "title"},
        "sg": [{"s": 0, "d": 400, "m": {"text": "Top", "position": "top"}}],
    }
    caption = {
        "tt": 7,
        "m": {"role": "caption", "burn": True},
        "sg": [{"s": 1200, "d": 200, "m": {"text": "Low"}}],
    }
    draft = {"t": [{"tt": 0, "sg": segments}, title, caption], "m": {"canvas": {"w": W, "h": H}, "fps": FPS}}
    plan = make_plan(draft, media)
    assert compose._text_spans(plan) == [(0, 13), (35, 43)]  # two stretches with text, two without
    out = tmp_path / "out.mp4"
    await render_draft(draft, media, out, quality="draft", work_dir=tmp_path / "work")
    assert frame_numbers(out) == [f for i, d in CUTS for f in range(i * FPS // 1000, (i + d) * FPS // 1000)]
    top, low = range(0, 40), range(140, H)
    assert _marked(out, 0.2, top) > 20 and _marked(out, 1.3, low) > 20
    assert (
        _marked(out, 0.8, top)
        == _marked(out, 0.8, low)
        == _marked(out, 2.0, low)
        == _marked(out, 0.2, low)
        == 0
    )
