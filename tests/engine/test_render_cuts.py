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
from nemo_mcp.engine.render import SourceMedia, render_draft
from tests.engine.helpers import ffmpeg

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
