"""Scene changes found from keyframes first: the same frames as scdet over every frame, far fewer decoded."""

from __future__ import annotations

from pathlib import Path

import pytest

from nemo_mcp.engine.media import find_scene_changes
from nemo_mcp.engine.media.scenes import MAX_MEAN_KEYFRAME_GAP_S, _Clock, _why_full, _windows
from tests.engine.helpers import ffmpeg

# 25 fps: a frame is 40 ms. Keyframes every 2 s (50 frames); cuts mid-interval at 3.0 s and
# 9.36 s (frame 234), and one exactly on the keyframe at 6.0 s.
CUTS_MS = [3000, 6000, 9360]
_SCENES = (
    "testsrc2=s=320x180:r=25:d=3[a];"
    "color=c=red:s=320x180:r=25:d=3[b];"
    "smptebars=s=320x180:r=25:d=3.36[c];"
    "testsrc=s=320x180:r=25:d=2.64,hue=h=90[d];"
    "[a][b][c][d]concat=n=4:v=1:a=0"
)


def _make(path: Path, keyframe_every: int, *extra: str) -> Path:
    ffmpeg(
        "-f", "lavfi", "-i", _SCENES,
        # a fixed keyframe interval (no extra keyframes at cuts), B-frames as in most real files
        "-c:v", "libx264", "-preset", "ultrafast", "-x264-params", "bframes=2",
        "-g", str(keyframe_every), "-keyint_min", str(keyframe_every), "-sc_threshold", "0",
        "-pix_fmt", "yuv420p", *extra, str(path),
    )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def gop_2s(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 s of four scenes at 320x180, H.264 with a keyframe every 2 s and B-frames, in MP4."""
    return _make(tmp_path_factory.mktemp("scenes") / "gop2s.mp4", 50)


@pytest.fixture(scope="module")
def gop_2s_late(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same scenes in Matroska (millisecond timestamps), starting at 1.5 s rather than 0."""
    return _make(tmp_path_factory.mktemp("scenes") / "gop2s.mkv", 50, "-output_ts_offset", "1.5")


@pytest.mark.anyio
async def test_keyframe_search_finds_each_cut_at_its_frame(gop_2s: Path) -> None:
    """Cuts between keyframes and one exactly on a keyframe are found at their exact frame."""
    found = await find_scene_changes(gop_2s)
    assert found.method == "keyframes"
    assert found.reason is None
    assert found.keyframes == 6
    assert found.changes == CUTS_MS
    # the three intervals holding a cut (the one on a keyframe ends one), and the tail, are refined
    assert found.spans <= 4


@pytest.mark.anyio
@pytest.mark.parametrize("fixture", ["gop_2s", "gop_2s_late"])
async def test_keyframe_search_equals_the_full_pass(fixture: str, request: pytest.FixtureRequest) -> None:
    """The keyframe search reports exactly the times scdet over every frame reports."""
    path: Path = request.getfixturevalue(fixture)
    quick = await find_scene_changes(path)
    full = await find_scene_changes(path, method="full")
    assert (quick.method, full.method) == ("keyframes", "full")
    assert quick.changes == full.changes == CUTS_MS


@pytest.mark.anyio
async def test_a_pause_before_a_keyframe_still_gives_the_exact_frame(tmp_path: Path) -> None:
    """A variable-rate recording with no frames for a second before a keyframe, cut one frame after it."""
    path = tmp_path / "paused.mkv"
    ffmpeg(
        "-f", "lavfi", "-i",
        "color=c=red:s=320x180:r=25:d=2.04[a];color=c=blue:s=320x180:r=25:d=1.96[b];"
        "[a][b]concat=n=2:v=1:a=0,select='not(between(t,1.02,1.98))'",
        "-fps_mode", "passthrough", "-c:v", "libx264", "-preset", "ultrafast", "-x264-params", "bframes=2",
        "-g", "1000", "-sc_threshold", "0", "-force_key_frames", "0,2", "-pix_fmt", "yuv420p", str(path),
    )  # fmt: skip
    found = await find_scene_changes(path)
    assert (found.method, found.keyframes) == ("keyframes", 2)
    assert found.changes == (await find_scene_changes(path, method="full")).changes == [2040]


@pytest.mark.anyio
async def test_sparse_keyframes_fall_back_to_the_full_pass(tmp_path: Path) -> None:
    """With keyframes 11 s apart the full pass runs, and still finds every cut."""
    path = _make(tmp_path / "sparse.mp4", 275, "-t", "12")
    found = await find_scene_changes(path)
    assert (found.method, found.reason, found.keyframes) == ("full", "sparse_keyframes", 2)
    assert found.changes == CUTS_MS


@pytest.mark.anyio
async def test_one_keyframe_falls_back_to_the_full_pass(tmp_path: Path) -> None:
    """A file with a single keyframe (a screen recorder's endless GOP) is searched frame by frame."""
    path = _make(tmp_path / "one.mp4", 1000)
    found = await find_scene_changes(path)
    assert (found.method, found.reason, found.keyframes) == ("full", "few_keyframes", 1)
    assert found.changes == CUTS_MS


@pytest.mark.anyio
async def test_intra_only_video_goes_straight_to_the_full_pass(tmp_path: Path) -> None:
    """MJPEG (every frame a keyframe) is scored frame by frame without a keyframe pass first."""
    path = tmp_path / "intra.avi"
    ffmpeg("-f", "lavfi", "-i", _SCENES, "-c:v", "mjpeg", "-q:v", "5", str(path))
    found = await find_scene_changes(path)
    assert (found.method, found.reason, found.keyframes) == ("full", "intra_only", 0)
    assert found.changes == CUTS_MS


def _clock() -> _Clock:
    from fractions import Fraction

    return _Clock(time_base=Fraction(1, 1000), start_s=Fraction(0), frame_s=Fraction(1, 25), intra_only=False)


def test_busy_pictures_fall_back_to_the_full_pass() -> None:
    """When most keyframe pairs differ (a moving camera), refining would cost more than the full pass."""
    calm = [(i * 2000, 0.5) for i in range(40)]
    busy = [(i * 2000, 0.5 if i % 2 else 30.0) for i in range(40)]
    assert _why_full(calm, 10.0, _clock()) is None
    assert _why_full(busy, 10.0, _clock()) == "busy"
    # a long gap on average is "sparse", whatever the pictures do
    gap = int(MAX_MEAN_KEYFRAME_GAP_S * 1000) + 1000
    assert _why_full([(0, 0.0), (gap, 0.5)], 10.0, _clock()) == "sparse_keyframes"


def test_refined_windows_cover_differing_pairs_head_and_tail() -> None:
    """Pairs differing by half the threshold are refined, touching ones joined; the tail always is."""
    keyframes = [(0, 0.0), (100, 0.4), (200, 6.0), (300, 12.0), (400, 0.3), (500, 4.9)]
    # each decoded from the keyframe before it, so scdet has the two frames it scores against
    assert _windows(keyframes, 10.0, first=0) == [(0, 100, 300), (400, 500, None)]
    # a change in the first interval is refined from the file's start; so are frames before the first keyframe
    assert _windows([(0, 0.0), (100, 30.0), (200, 0.1)], 10.0, first=0)[0] == (None, 0, 100)
    assert _windows(keyframes, 10.0, first=-40)[0] == (None, -41, 0)
