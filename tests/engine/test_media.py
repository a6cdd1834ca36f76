"""Probing and analysing media with the local engine (speech: test_speech.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nemo_mcp.engine import media
from nemo_mcp.engine.media import Cue, MediaError, parse_subtitles, probe

# --------------------------------------------------------------------------- probe


@pytest.mark.anyio
async def test_probe_video(gap_video: Path) -> None:
    """A video reports its kind, size, frame rate, length and both streams."""
    info = await probe(gap_video)
    assert info.kind == "video"
    assert (info.width, info.height) == (640, 360)
    assert info.fps == 30
    assert abs(info.duration_ms - 6000) <= 50
    assert info.has_video
    assert info.has_audio
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")


@pytest.mark.anyio
async def test_probe_audio(tone_mp3: Path) -> None:
    """An MP3 is audio with a length and no picture."""
    info = await probe(tone_mp3)
    assert info.kind == "audio"
    assert abs(info.duration_ms - 4000) <= 100
    assert info.has_audio
    assert not info.has_video
    assert info.width is None
    assert info.fps is None


@pytest.mark.anyio
async def test_probe_cover_art_is_still_audio(cover_art_mp3: Path) -> None:
    """A cover picture inside an MP3 does not make it a video."""
    info = await probe(cover_art_mp3)
    assert info.kind == "audio"
    assert not info.has_video


@pytest.mark.anyio
async def test_probe_image(tall_png: Path) -> None:
    """A PNG is an image with a size and no length."""
    info = await probe(tall_png)
    assert info.kind == "image"
    assert (info.width, info.height) == (200, 300)
    assert info.duration_ms == 0
    assert not info.has_audio


@pytest.mark.anyio
async def test_probe_applies_rotation(rotated_video: Path) -> None:
    """A clip flagged as rotated by 90 degrees reports its displayed (portrait) size."""
    info = await probe(rotated_video)
    assert (info.width, info.height) == (48, 64)


@pytest.mark.anyio
async def test_probe_applies_pixel_shape(anamorphic_video: Path) -> None:
    """A clip with non-square pixels reports the width it is shown at."""
    info = await probe(anamorphic_video)
    assert (info.width, info.height) == (640, 480)


@pytest.mark.anyio
async def test_probe_corrupt_file(corrupt_mp4: Path) -> None:
    """Random bytes are refused with the file's name and the fix, but not its folder."""
    with pytest.raises(MediaError) as caught:
        await probe(corrupt_mp4)
    message = str(caught.value)
    assert "corrupt.mp4" in message
    assert "re-export" in message
    assert str(corrupt_mp4.parent) not in message


@pytest.mark.anyio
async def test_probe_truncated_file(truncated_mp4: Path) -> None:
    """Half a file is refused even though its header is intact."""
    with pytest.raises(MediaError, match="incomplete"):
        await probe(truncated_mp4)


@pytest.mark.anyio
async def test_probe_empty_file(empty_mp4: Path) -> None:
    """A zero-length file is refused as empty."""
    with pytest.raises(MediaError, match="empty"):
        await probe(empty_mp4)


@pytest.mark.anyio
async def test_probe_missing_file(tmp_path: Path) -> None:
    """A path that does not exist is refused by name."""
    with pytest.raises(MediaError, match=r"nothere\.mp4 does not exist"):
        await probe(tmp_path / "nothere.mp4")


@pytest.mark.anyio
async def test_probe_directory(tmp_path: Path) -> None:
    """A folder is not a media file."""
    with pytest.raises(MediaError, match="not a regular file"):
        await probe(tmp_path)


@pytest.mark.anyio
async def test_probe_subtitles(tmp_path: Path) -> None:
    """An SRT file is a subtitle lasting until its last cue ends."""
    path = tmp_path / "captions.srt"
    path.write_text("1\n00:00:01,000 --> 00:00:02,500\nHello\n\n2\n00:00:03,000 --> 00:00:04,250\nBye\n")
    info = await probe(path)
    assert info.kind == "subtitle"
    assert info.duration_ms == 4250
    assert not info.has_audio
    assert not info.has_video


@pytest.mark.anyio
async def test_probe_subtitles_without_cues(tmp_path: Path) -> None:
    """A .vtt file with no cues is refused."""
    path = tmp_path / "empty.vtt"
    path.write_text("WEBVTT\n\nNOTE nothing here\n")
    with pytest.raises(MediaError, match="no subtitle cues"):
        await probe(path)


# --------------------------------------------------------------------------- subtitles


def test_parse_srt_with_bom_crlf_and_tags() -> None:
    """SRT with a BOM, CRLF line ends, multi-line cues and styling tags parses to clean cues."""
    text = (
        "\ufeff1\r\n00:00:01,000 --> 00:00:02,000\r\n<i>Hello</i> &amp; welcome\r\nsecond line\r\n\r\n"
        "2\r\n00:00:02,500 --> 00:00:04,000\r\n{\\an8}On top\r\n\r\n"
    )
    assert parse_subtitles(text) == [
        Cue(1000, 2000, "Hello & welcome\nsecond line"),
        Cue(2500, 4000, "On top"),
    ]


def test_parse_vtt() -> None:
    """WebVTT with header, NOTE, identifiers, cue settings, voice tags and optional hours parses."""
    text = (
        "WEBVTT - lecture\n\nNOTE made by hand\n\n"
        "intro\n00:01.5 --> 00:03.000 align:start position:10%\n<v Ann>Hi there</v>\n\n"
        "01:00:00.000 --> 01:00:02.000\nOne hour in\n"
    )
    assert parse_subtitles(text) == [Cue(1500, 3000, "Hi there"), Cue(3_600_000, 3_602_000, "One hour in")]


def test_parse_subtitles_tolerates_missing_blank_lines() -> None:
    """Cues not separated by blank lines still come apart, without the next cue's number."""
    text = "1\n00:00:01,000 --> 00:00:02,000\nA\n2\n00:00:02,000 --> 00:00:03,000\nB\n"
    assert parse_subtitles(text) == [Cue(1000, 2000, "A"), Cue(2000, 3000, "B")]


def test_parse_subtitles_skips_empty_and_backwards_cues() -> None:
    """Cues without text or ending before they start are dropped; the rest are sorted."""
    text = (
        "00:00:05.000 --> 00:00:06.000\nlater\n\n"
        "00:00:01.000 --> 00:00:02.000\n\n"
        "00:00:04.000 --> 00:00:03.000\nbackwards\n\n"
        "00:00:00.500 --> 00:00:01.000\nfirst\n"
    )
    assert parse_subtitles(text) == [Cue(500, 1000, "first"), Cue(5000, 6000, "later")]


def test_read_subtitle_text_encodings() -> None:
    """UTF-8 with BOM, UTF-16 and Windows-1252 bytes all decode."""
    assert media.read_subtitle_text("\ufeffcafé".encode()) == "café"
    assert media.read_subtitle_text("café".encode("utf-16")) == "café"
    assert media.read_subtitle_text("café".encode("cp1252")) == "café"


# --------------------------------------------------------------------------- analysis


@pytest.mark.anyio
async def test_detect_silences(gap_video: Path) -> None:
    """The 2-4 s gap in the tone is found, and nothing else."""
    silences = await media.detect_silences(gap_video)
    assert len(silences) == 1
    start, end = silences[0]
    assert abs(start - 2000) <= 100
    assert abs(end - 4000) <= 100


@pytest.mark.anyio
async def test_detect_silences_minimum_length(gap_video: Path) -> None:
    """A gap shorter than min_silence_ms is not reported."""
    assert await media.detect_silences(gap_video, min_silence_ms=2500) == []


@pytest.mark.anyio
async def test_detect_silences_needs_sound(tall_png: Path) -> None:
    """A picture has no sound to search."""
    with pytest.raises(MediaError, match="no sound"):
        await media.detect_silences(tall_png)


@pytest.mark.anyio
async def test_detect_scenes(two_scene_video: Path) -> None:
    """The cut from test pattern to red at 2 s is found."""
    scenes = await media.detect_scenes(two_scene_video)
    assert len(scenes) == 1
    assert abs(scenes[0] - 2000) <= 80


@pytest.mark.anyio
async def test_detect_scenes_needs_video(tone_mp3: Path) -> None:
    """Audio has no scenes."""
    with pytest.raises(MediaError, match="not a video"):
        await media.detect_scenes(tone_mp3)
