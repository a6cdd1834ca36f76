"""Small media made on the fly with ffmpeg's test sources, once per test session."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.engine.helpers import ffmpeg


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def gap_video(media_dir: Path) -> Path:
    """6 s of 640x360 test pattern at 30 fps with a 440 Hz tone that is silent from 2 s to 4 s."""
    path = media_dir / "gap.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=640x360:r=30:d=6",
        "-f", "lavfi", "-i", "sine=f=440:sample_rate=48000:d=6,volume=enable='between(t,2,4)':volume=0",
        "-c:v", "libx264", "-preset", "ultrafast", "-g", "15", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-shortest", "-movflags", "+faststart", str(path),
    )  # fmt: skip
    return path


@pytest.fixture(scope="session")
def tone_mp3(media_dir: Path) -> Path:
    """4 s of a steady 330 Hz tone, audio only."""
    path = media_dir / "tone.mp3"
    ffmpeg("-f", "lavfi", "-i", "sine=f=330:sample_rate=44100:d=4", "-c:a", "libmp3lame", str(path))
    return path


@pytest.fixture(scope="session")
def tone_wav(media_dir: Path) -> Path:
    """3 s of a steady 550 Hz tone at a moderate level, as WAV."""
    path = media_dir / "tone.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=f=550:sample_rate=48000:d=3,volume=0.5", str(path))
    return path


@pytest.fixture(scope="session")
def tall_png(media_dir: Path) -> Path:
    """A 200x300 (portrait) test picture."""
    path = media_dir / "tall.png"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=200x300", "-frames:v", "1", str(path))
    return path


@pytest.fixture(scope="session")
def two_scene_video(media_dir: Path) -> Path:
    """2 s of test pattern, then 2 s of plain red: one scene change at 2 s; no sound."""
    path = media_dir / "scenes.mp4"
    ffmpeg(
        "-f", "lavfi",
        "-i", "testsrc2=s=320x180:r=25:d=2[a];color=c=red:s=320x180:r=25:d=2[b];[a][b]concat=n=2:v=1:a=0",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path),
    )  # fmt: skip
    return path


@pytest.fixture(scope="session")
def rotated_video(media_dir: Path) -> Path:
    """A 64x48 clip flagged to be shown rotated by 90 degrees, as phones record portrait video."""
    plain = media_dir / "plain.mp4"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=64x48:r=25:d=1",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        str(plain),
    )
    path = media_dir / "rotated.mp4"
    ffmpeg("-display_rotation", "90", "-i", str(plain), "-c", "copy", str(path))
    return path


@pytest.fixture(scope="session")
def cover_art_mp3(media_dir: Path, tone_mp3: Path, tall_png: Path) -> Path:
    """An MP3 with an embedded cover picture: still audio, not video."""
    path = media_dir / "cover.mp3"
    ffmpeg(
        "-i", str(tone_mp3), "-i", str(tall_png), "-map", "0", "-map", "1",
        "-c:a", "copy", "-c:v", "png", "-disposition:v", "attached_pic", str(path),
    )  # fmt: skip
    return path


@pytest.fixture(scope="session")
def corrupt_mp4(media_dir: Path) -> Path:
    """Random bytes named like a video."""
    path = media_dir / "corrupt.mp4"
    path.write_bytes(random.Random(7).randbytes(50_000))
    return path


@pytest.fixture(scope="session")
def truncated_mp4(media_dir: Path, gap_video: Path) -> Path:
    """The first half of a real MP4 whose index is at the front, so its header still looks whole."""
    path = media_dir / "truncated.mp4"
    data = gap_video.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.fixture(scope="session")
def empty_mp4(media_dir: Path) -> Path:
    """A zero-length file."""
    path = media_dir / "empty.mp4"
    path.write_bytes(b"")
    return path


@pytest.fixture(scope="session")
def anamorphic_video(media_dir: Path) -> Path:
    """360x480 stored pixels with a 16:9 pixel shape: shown as 640x480 (4:3), as DV footage is."""
    path = media_dir / "anamorphic.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=360x480:r=25:d=1", "-vf", "setsar=16/9",
        "-c:v", "libx264", "-preset", "ultrafast", str(path),
    )  # fmt: skip
    return path
