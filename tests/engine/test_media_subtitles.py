"""Reading SubRip and WebVTT files into cues."""

from __future__ import annotations

from pathlib import Path

import pytest

from nemo_mcp.engine.media import Cue, MediaError, parse_subtitles, probe, read_subtitle_text


def test_parse_plain_srt() -> None:
    """A well-formed SRT file gives one cue per block, times in milliseconds."""
    text = "1\n00:00:01,000 --> 00:00:02,500\nHello\n\n2\n00:01:03,250 --> 01:00:04,000\nBye\n"
    assert parse_subtitles(text) == [Cue(1000, 2500, "Hello"), Cue(63_250, 3_604_000, "Bye")]


def test_parse_vtt_blocks_between_cues() -> None:
    """STYLE, REGION and NOTE blocks and cue identifiers never leak into a cue's text."""
    text = (
        "WEBVTT\nKind: captions\n\nSTYLE\n::cue { color: yellow }\n\nREGION\nid:top\n\n"
        "intro\n00:00:01.000 --> 00:00:02.000 region:top line:0\nHello\n\n"
        "NOTE a remark\nover two lines\n\n"
        "second-cue\n00:00:02.500 --> 00:00:03.000\nWorld\n"
    )
    assert parse_subtitles(text) == [Cue(1000, 2000, "Hello"), Cue(2500, 3000, "World")]


def test_parse_vtt_short_times_and_cue_settings() -> None:
    """Times without hours and cue settings after the end time are read; fractions are padded."""
    text = "WEBVTT\n\n01:02.5 --> 01:04.25 align:start position:10% size:50%\nLate\n"
    assert parse_subtitles(text) == [Cue(62_500, 64_250, "Late")]


def test_parse_strips_markup() -> None:
    """HTML tags, voice and class spans, karaoke times, ASS overrides and entities are removed."""
    text = (
        "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\n"
        "<v.loud Ann><b>Bold</b> <c.yellow>and</c> <00:00:02.000>{\\an8}on&nbsp;top &lt;3</v>\n"
        "  <i></i>  \n{laughs}\n"
    )
    assert parse_subtitles(text) == [Cue(1000, 3000, "Bold and on top <3\n{laughs}")]


def test_parse_cr_line_ends() -> None:
    """Old Mac line ends (CR only) separate lines and cues."""
    text = "1\r00:00:01,000 --> 00:00:02,000\rOne\rtwo\r\r2\r00:00:03,000 --> 00:00:04,000\rThree\r"
    assert parse_subtitles(text) == [Cue(1000, 2000, "One\ntwo"), Cue(3000, 4000, "Three")]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "WEBVTT\n",
        "just some words\nin a file\n",
        "1\n00:00:01 --> 00:00:02\nno fractions\n",
        "\x00\x01\x02",
    ],
)
def test_parse_garbage_gives_no_cues(text: str) -> None:
    """Text without timing lines parses to no cues rather than failing."""
    assert parse_subtitles(text) == []


def test_read_subtitle_text_utf16_big_endian() -> None:
    """UTF-16 with a big-endian BOM decodes too."""
    assert read_subtitle_text(b"\xfe\xff" + "né".encode("utf-16-be")) == "né"


@pytest.mark.anyio
async def test_probe_vtt_in_cp1252(tmp_path: Path) -> None:
    """A WebVTT file in Windows-1252 probes as a subtitle lasting to its last cue."""
    path = tmp_path / "café.vtt"
    path.write_bytes("WEBVTT\n\n00:00.000 --> 00:02.000\nCafé\n".encode("cp1252"))
    info = await probe(path)
    assert (info.kind, info.duration_ms, info.width, info.fps) == ("subtitle", 2000, None, None)


@pytest.mark.anyio
async def test_probe_garbage_subtitle_file(tmp_path: Path) -> None:
    """Binary junk named .srt is refused as having no cues, with the format to use."""
    path = tmp_path / "junk.srt"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(MediaError, match=r"junk\.srt has no subtitle cues: save it as SRT or WebVTT"):
        await probe(path)
