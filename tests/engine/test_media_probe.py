"""Probing edge cases on real files made with ffmpeg: what PyAV reads, and what probe refuses."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nemo_mcp.engine.media import MediaError, probe
from tests.engine.helpers import ffmpeg


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for the media these tests make."""
    return tmp_path_factory.mktemp("probe-media")


@pytest.mark.anyio
async def test_probe_rotated_video_details(rotated_video: Path) -> None:
    """A clip stored landscape with a 90 degree display matrix is a portrait video at its stated rate."""
    info = await probe(rotated_video)
    assert info.kind == "video"
    assert (info.width, info.height) == (48, 64)
    assert info.fps == 25
    assert abs(info.duration_ms - 1000) <= 50
    assert not info.has_audio


@pytest.mark.anyio
async def test_probe_video_without_audio(two_scene_video: Path) -> None:
    """A silent clip is a video without sound and without an audio codec."""
    info = await probe(two_scene_video)
    assert info.kind == "video"
    assert info.has_video
    assert not info.has_audio
    assert info.audio_codec is None
    assert (info.width, info.height) == (320, 180)


@pytest.mark.anyio
async def test_probe_audio_only_wav(tone_wav: Path) -> None:
    """A WAV is audio with a length, named by its codec."""
    info = await probe(tone_wav)
    assert info.kind == "audio"
    assert abs(info.duration_ms - 3000) <= 50
    assert (info.has_audio, info.has_video) == (True, False)
    assert info.audio_codec == "pcm_s16le"


@pytest.mark.anyio
async def test_probe_names_codecs_not_decoders(tone_mp3: Path) -> None:
    """An MP3's codec is reported as "mp3", not as the decoder that reads it."""
    info = await probe(tone_mp3)
    assert info.audio_codec == "mp3"


@pytest.mark.anyio
async def test_probe_cover_art_keeps_audio_codec(cover_art_mp3: Path) -> None:
    """An attached picture neither makes an MP3 a video nor gives it a picture size."""
    info = await probe(cover_art_mp3)
    assert (info.kind, info.width, info.height, info.video_codec) == ("audio", None, None, None)
    assert abs(info.duration_ms - 4000) <= 100


@pytest.mark.anyio
async def test_probe_still_image_codec(tall_png: Path) -> None:
    """A PNG is a still image with its codec and no frame rate."""
    info = await probe(tall_png)
    assert (info.kind, info.video_codec, info.fps) == ("image", "png", None)
    assert info.has_video


@pytest.mark.anyio
async def test_probe_image_with_video_extension(tall_png: Path, made: Path) -> None:
    """A PNG named like an MP4 is still recognised as a picture by its content."""
    path = made / "picture.mp4"
    shutil.copyfile(tall_png, path)
    info = await probe(path)
    assert (info.kind, info.width, info.height, info.duration_ms) == ("image", 200, 300, 0)


@pytest.mark.anyio
async def test_probe_jpeg_is_image(made: Path) -> None:
    """A JPEG photo is an image."""
    path = made / "photo.jpg"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=64x48", "-frames:v", "1", str(path))
    info = await probe(path)
    assert (info.kind, info.video_codec, info.width, info.height) == ("image", "mjpeg", 64, 48)


@pytest.mark.anyio
async def test_probe_gif_of_one_frame_is_image(made: Path) -> None:
    """A GIF with a single frame is a picture, not a 40 ms video."""
    path = made / "one.gif"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=64x48", "-frames:v", "1", str(path))
    info = await probe(path)
    assert (info.kind, info.duration_ms) == ("image", 0)


@pytest.mark.anyio
async def test_probe_animated_gif_is_video(made: Path) -> None:
    """An animated GIF of a second is a video at its own rate."""
    path = made / "anim.gif"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=64x48:r=10:d=1", str(path))
    info = await probe(path)
    assert (info.kind, info.fps) == ("video", 10)
    assert abs(info.duration_ms - 1000) <= 50


@pytest.mark.anyio
async def test_probe_measures_file_without_duration(made: Path) -> None:
    """A live-style Matroska file states no length, so probe measures it from its packets."""
    path = made / "live.mkv"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=64x48:r=25:d=2", "-f", "lavfi", "-i", "sine=d=2",
        "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest",
        "-live", "1", "-f", "matroska", str(path),
    )  # fmt: skip
    assert "Duration: N/A" in ffmpeg("-i", str(path), "-f", "null", "-t", "0", "-")
    info = await probe(path)
    assert info.kind == "video"
    assert abs(info.duration_ms - 2000) <= 100
    assert (info.has_video, info.has_audio) == (True, True)


@pytest.mark.anyio
async def test_probe_transport_stream_with_start_offset(made: Path) -> None:
    """A transport stream starting at 1.4 s with one keyframe passes the end check by its sound."""
    path = made / "late.ts"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=64x48:r=25:d=3", "-f", "lavfi", "-i", "sine=d=3",
        "-c:v", "libx264", "-preset", "ultrafast", "-g", "250", "-c:a", "aac", "-shortest",
        "-output_ts_offset", "1.4", "-f", "mpegts", str(path),
    )  # fmt: skip
    info = await probe(path)
    assert info.kind == "video"
    assert abs(info.duration_ms - 3000) <= 100


@pytest.mark.anyio
async def test_probe_zero_length_image(made: Path) -> None:
    """An empty file is refused as empty whatever its name promises."""
    path = made / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(MediaError, match=r"empty\.png is empty \(0 bytes\)"):
        await probe(path)


@pytest.mark.anyio
async def test_probe_truncated_names_stated_length(truncated_mp4: Path) -> None:
    """A file cut in half is called damaged, with the length its header promised."""
    with pytest.raises(MediaError) as caught:
        await probe(truncated_mp4)
    message = str(caught.value)
    assert message.startswith("the file truncated.mp4 is damaged or incomplete")
    assert "stated length of 6.0 s" in message


@pytest.mark.anyio
async def test_probe_truncated_image(tall_png: Path, made: Path) -> None:
    """A PNG missing its second half is refused as an image that cannot be decoded."""
    path = made / "half.png"
    data = tall_png.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(MediaError, match=r"the image half\.png cannot be decoded"):
        await probe(path)


@pytest.mark.anyio
async def test_probe_text_file_is_not_media(made: Path) -> None:
    """A text file named like a video is refused as unreadable, naming the reason and the fix."""
    path = made / "notes.mov"
    path.write_text("these are my notes, not a film\n" * 20)
    with pytest.raises(MediaError) as caught:
        await probe(path)
    message = str(caught.value)
    assert message.startswith("the file notes.mov is not a readable video, audio or image file (")
    assert str(made) not in message


@pytest.mark.anyio
async def test_probe_time_limit(monkeypatch: pytest.MonkeyPatch, gap_video: Path) -> None:
    """A file that takes longer than the time limit to read is refused as too slow."""
    # The module, not the function the package re-exports under the same name.
    module = importlib.import_module("nemo_mcp.engine.media.probe")
    monkeypatch.setattr(module, "PROBE_TIME_LIMIT_S", 0.0)
    with pytest.raises(MediaError, match=r"reading gap\.mp4 took too long: re-export"):
        await probe(gap_video)


@pytest.mark.anyio
async def test_probe_subtitle_too_large(made: Path) -> None:
    """A subtitle file over 10 MB is refused before it is read."""
    path = made / "huge.srt"
    path.write_bytes(b"x" * (10 * 1024 * 1024 + 1))
    with pytest.raises(MediaError, match="larger than 10 MB"):
        await probe(path)


def test_heavy_libraries_load_lazily() -> None:
    """Importing the media package and the MCP server loads neither PyAV, pysubs2, faster-whisper nor RapidOCR."""
    code = (
        "import sys, nemo_mcp.engine.media, nemo_mcp.mcp.server\n"
        "heavy = ('av', 'pysubs2', 'faster_whisper', 'ctranslate2', 'huggingface_hub',\n"
        "         'rapidocr', 'onnxruntime', 'cv2')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
