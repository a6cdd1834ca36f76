"""The five headline workflows end to end: ``python -m nemo_mcp --backend local`` over real stdio.

Each test starts the server as a subprocess with the official MCP client (its own state folder,
uploads allowed from the generated media folder only), uploads small clips made here with
ffmpeg, sends the workflow's instructions, exports with ``download_to`` and then measures the
MP4 with ffmpeg, independently of the engine: durations against what the clips were built
with, chapters read back from the file, the music level through a filter that removes the
speech, pixels where a slide or a caption must be.

Every export is 1080p (the engine's canvases are 1920x1080, 1080x1920 or 1080x1080), so the
clips stay short and the exports use the "draft" quality.
"""

from __future__ import annotations

import os
import random
import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from nemo_mcp.cli.demo import mp4_chapters
from nemo_mcp.draft import Draft, ops, summarize
from nemo_mcp.engine.media import MediaInfo, probe
from tests.engine.helpers import ffmpeg, frame_rgb, pixel

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
# The "lecture": six spoken stretches (a tone stands in for speech) in three scenes.
LECTURE_S = 35.0
LECTURE_SPEECH = ((0.5, 4.5), (5.5, 10.0), (12.5, 16.5), (17.5, 22.0), (24.5, 28.5), (29.5, 33.5))
LECTURE_SCENES = (11.25, 23.25)
LECTURE_LINES = (
    "Welcome to the course on signals",
    "Today we look at sampling",
    "Sampling turns waves into numbers",
    "The rate must be high enough",
    "Filters remove what we do not want",
    "Thanks for watching this lesson",
)
# The "talk": 8 s of tone with two pauses (2-4 s and 5-6.5 s).
TALK_S = 8.0
TALK_PAUSES = ((2.0, 4.0), (5.0, 6.5))
SILENCE_PADDING_S = 0.15  # what "cut out silences" keeps on each side of a pause (the engine's default)
# The "screen recording" for YouTube: a 2 s intro scene, then the content.
INTRO_CUT_S = 2.0
INTRO_CUES = ((0.5, 1.5, "Intro jingle"), (3.0, 4.5, "First point"), (5.5, 7.0, "Second point"))
CARD_RGB = (0x10, 0x18, 0x28)  # the engine's slide background


def _srt(cues: tuple[tuple[float, float, str], ...]) -> str:
    def stamp(t: float) -> str:
        ms = round(t * 1000)
        return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

    return "".join(f"{i}\n{stamp(a)} --> {stamp(b)}\n{text}\n\n" for i, (a, b, text) in enumerate(cues, 1))


def _silent_outside(spans: tuple[tuple[float, float], ...]) -> str:
    inside = "+".join(f"between(t,{a},{b})" for a, b in spans)
    return f"volume=enable='not({inside})':volume=0"


def _silent_during(spans: tuple[tuple[float, float], ...]) -> str:
    return ",".join(f"volume=enable='between(t,{a},{b})':volume=0" for a, b in spans)


X264 = ("-c:v", "libx264", "-preset", "ultrafast", "-g", "15", "-pix_fmt", "yuv420p")


@dataclass(frozen=True)
class Media:
    folder: Path
    lecture: Path
    lecture_srt: Path
    talk: Path
    music: Path
    screen: Path
    intro: Path
    intro_srt: Path
    corrupt: Path
    truncated: Path
    empty: Path
    still: Path


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Media:
    """Every clip the workflows use, made once: small (640x360, 15 fps) and a few seconds long."""
    d = tmp_path_factory.mktemp("e2e-media")
    lecture = d / "lecture.mp4"
    a, b = LECTURE_SCENES
    ffmpeg(
        "-f", "lavfi", "-i",
        f"testsrc2=s=640x360:r=15:d={a}[a];smptebars=s=640x360:r=15:d={b - a}[b];"
        f"color=c=navy:s=640x360:r=15:d={LECTURE_S - b}[c];[a][b][c]concat=n=3:v=1:a=0",
        "-f", "lavfi", "-i", f"sine=f=440:sample_rate=48000:d={LECTURE_S},{_silent_outside(LECTURE_SPEECH)}",
        *X264, "-c:a", "aac", "-shortest", "-movflags", "+faststart", str(lecture),
    )  # fmt: skip
    lecture_srt = d / "lecture.srt"
    lecture_srt.write_text(
        _srt(tuple((s, e, t) for (s, e), t in zip(LECTURE_SPEECH, LECTURE_LINES, strict=True))),
        encoding="utf-8",
    )
    talk = d / "talk.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=s=640x360:r=15:d={TALK_S}",
        "-f", "lavfi", "-i", f"sine=f=1760:sample_rate=48000:d={TALK_S},volume=0.5,{_silent_during(TALK_PAUSES)}",
        *X264, "-c:a", "aac", "-b:a", "128k", "-shortest", "-movflags", "+faststart", str(talk),
    )  # fmt: skip
    music = d / "music.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=f=220:sample_rate=48000:d=3,volume=0.5", "-ac", "2", str(music))
    screen = d / "screen.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=640x360:r=15:d=6",
        "-f", "lavfi", "-i", "sine=f=600:sample_rate=48000:d=6",
        *X264, "-c:a", "aac", "-shortest", str(screen),
    )  # fmt: skip
    intro = d / "intro.mp4"
    ffmpeg(
        "-f", "lavfi", "-i",
        f"color=c=red:s=640x360:r=15:d={INTRO_CUT_S}[a];testsrc2=s=640x360:r=15:d=6[b];[a][b]concat=n=2:v=1:a=0",
        "-f", "lavfi", "-i", "sine=f=500:sample_rate=48000:d=8",
        *X264, "-c:a", "aac", "-shortest", str(intro),
    )  # fmt: skip
    intro_srt = d / "intro.srt"
    intro_srt.write_text(_srt(INTRO_CUES), encoding="utf-8")
    corrupt = d / "corrupt.mp4"
    corrupt.write_bytes(random.Random(3).randbytes(40_000))
    truncated = d / "truncated.mp4"
    data = talk.read_bytes()
    truncated.write_bytes(data[: len(data) // 3])
    empty = d / "empty.mp4"
    empty.write_bytes(b"")
    still = d / "still.png"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=320x180", "-frames:v", "1", str(still))
    return Media(
        d, lecture, lecture_srt, talk, music, screen, intro, intro_srt, corrupt, truncated, empty, still
    )


# -- the server ---------------------------------------------------------------------------------


class Tools:
    """A client of the spawned server: ``call`` expects success, ``fail`` expects a tool error."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.exported: dict[str, Any] = {}  # the last export_video result

    async def call(self, tool: str, **args: Any) -> dict[str, Any]:
        result = await self.client.call_tool(tool, args)
        assert not result.is_error, f"{tool} failed: {_text(result)}"
        data = result.structured_content
        assert isinstance(data, dict), result
        return data

    async def fail(self, tool: str, **args: Any) -> str:
        result = await self.client.call_tool(tool, args)
        assert result.is_error, f"{tool} unexpectedly succeeded: {result.structured_content}"
        return _text(result)

    async def edit(self, instruction: str) -> dict[str, Any]:
        return await self.call("send_edit", instruction=instruction)

    async def draft(self) -> dict[str, Any]:
        tl = await self.call("get_timeline", include_draft=True)
        draft: dict[str, Any] = tl["draft"]
        return draft

    async def export(self, folder: Path, name: str) -> Path:
        out = self.exported = await self.call(
            "export_video", download_to=str(folder), quality="draft", wait_seconds=240
        )
        assert out["finished"] is True and out["status"] == "completed", out
        saved = Path(out["file"])
        assert saved.parent == folder.resolve()
        target = folder / name
        saved.rename(target)
        return target


def _text(result: Any) -> str:
    return " ".join(getattr(c, "text", "") for c in result.content)


@asynccontextmanager
async def local_server(tmp: Path, media: Media) -> AsyncIterator[Tools]:
    """``python -m nemo_mcp --backend local`` on stdio, its state in ``tmp``, uploads from the media folder."""
    (tmp / "cwd").mkdir(exist_ok=True)
    env = {
        "NEMO_MCP_HOME": str(tmp / "home"),
        "NEMO_UPLOAD_ROOTS": str(media.folder),
        "NEMO_DOWNLOAD_ROOTS": str(tmp),
        "NEMO_BACKEND": "local",
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
    }
    if os.environ.get("NEMO_FFMPEG"):
        env["NEMO_FFMPEG"] = os.environ["NEMO_FFMPEG"]
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "nemo_mcp", "--backend", "local"],
        env=env,
        cwd=tmp / "cwd",
    )
    with (tmp / "server.log").open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog), read_timeout_seconds=240) as client:
            yield Tools(client)


# -- measuring the exports -----------------------------------------------------------------------


async def checked_mp4(path: Path) -> MediaInfo:
    """Probe an export: a whole H.264/AAC MP4."""
    assert path.read_bytes()[4:8] == b"ftyp"
    info = await probe(path)
    assert info.kind == "video"
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    return info


def lowpassed_mean_db(path: Path) -> float:
    """Mean volume below ~400 Hz: the 220 Hz music passes, the 1760 Hz "speech" is removed (~-75 dB)."""
    report = ffmpeg(
        "-i", str(path), "-map", "0:a:0",
        "-af", "lowpass=f=400,lowpass=f=400,lowpass=f=400,volumedetect", "-f", "null", "-",
    )  # fmt: skip
    match = re.search(r"mean_volume: (-?\d+(?:\.\d+)?) dB", report)
    assert match, report[-800:]
    return float(match.group(1))


def silences(path: Path, *, noise_db: float = -35, min_s: float = 0.6) -> list[tuple[float, float]]:
    """Silences in the file's sound, by ffmpeg's silencedetect."""
    report = ffmpeg(
        "-i", str(path), "-map", "0:a:0", "-af", f"silencedetect=n={noise_db}dB:d={min_s}", "-f", "null", "-"
    )
    starts = [float(x) for x in re.findall(r"silence_start: (-?\d+(?:\.\d+)?)", report)]
    ends = [float(x) for x in re.findall(r"silence_end: (-?\d+(?:\.\d+)?)", report)]
    return list(zip(starts, ends, strict=False))


def text_track(draft: dict[str, Any], role: str) -> list[tuple[int, int, str]]:
    track = ops.find_track(draft, ops.TEXT, role)
    assert track is not None, f"no {role} track in {summarize(draft)}"
    return [
        (ops.as_int(s.get("s")), ops.as_int(s.get("d")), str(ops.peek_meta(s).get("text")))
        for s in ops.segments(track)
    ]


def assert_round_trip(draft: dict[str, Any]) -> None:
    """The engine's draft survives the client's timeline model unchanged and summarises."""
    assert Draft.model_validate(draft).to_json_dict() == draft
    assert summarize(draft).startswith("Timeline (")


YOUTUBE_LINE = re.compile(r"^((?:\d+:)?\d{1,2}:\d{2}) (\S.*)$")


def youtube_list(reply: str) -> list[tuple[int, str]]:
    """The (seconds, title) lines under the reply's "YouTube chapter list" heading."""
    lines = reply.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("YouTube chapter list"))
    found = []
    for line in lines[start + 1 :]:
        m = YOUTUBE_LINE.match(line.strip())
        if m is None:
            break
        seconds = 0
        for part in m.group(1).split(":"):
            seconds = seconds * 60 + int(part)
        found.append((seconds, m.group(2)))
    return found


def assert_youtube_rules(chapters: list[tuple[int, str]], duration_s: float) -> None:
    """YouTube's chapter rules: 0:00 first, at least three, ascending, each at least 10 s."""
    starts = [s for s, _ in chapters]
    assert len(starts) >= 3, chapters
    assert starts[0] == 0, chapters
    assert starts == sorted(set(starts)), chapters
    ends = [*starts[1:], duration_s]
    assert all(e - s >= 10 for s, e in zip(starts, ends, strict=True)), (chapters, duration_s)


# -- the five workflows --------------------------------------------------------------------------


async def test_best_video_learn_segments_chapter_titles_and_captions(tmp_path: Path, media: Media) -> None:
    """Segments with chapter titles and captions: the MP4 carries one chapter per segment, captions lie inside it."""
    out = tmp_path / "out"
    out.mkdir()
    with anyio.fail_after(150):
        async with local_server(tmp_path, media) as tools:
            await tools.call("upload_media", paths=[str(media.lecture), str(media.lecture_srt)])
            edit = await tools.edit(
                "Break this lecture into 12-second learning segments with chapter titles and captions"
            )
            reply = edit["reply"]
            assert "Split the video into 3 learning segments" in reply
            assert "Added 6 captions from lecture.srt" in reply
            draft = await tools.draft()
            mp4 = await tools.export(out, "segments.mp4")
            # The headline's own words ask for 3-5 minute segments: a 35 s lecture honestly stays one.
            await tools.call("new_project", title="headline words")
            await tools.call("upload_media", paths=[str(media.lecture), str(media.lecture_srt)])
            headline = await tools.edit(
                "Break this lecture into short learning segments with chapter titles and captions"
            )

    assert (
        "shorter than one of the 3:00–5:00 segments you asked for, so it stays one segment"
        in headline["reply"]
    )
    assert "Added 6 captions" in headline["reply"]
    info = await checked_mp4(mp4)
    assert (info.width, info.height) == (1920, 1080)
    assert abs(info.duration_ms / 1000 - LECTURE_S) < 0.2
    segments = ops.peek_meta(draft)["segments"]
    assert len(segments) == 3
    chapters = await mp4_chapters(mp4)
    # One MP4 chapter per learning segment, at its start, titled from the captions spoken in it.
    assert [round(s) for s, _ in chapters] == [round(seg["s"] / 1000) for seg in segments]
    assert [t for _, t in chapters] == [seg["title"] for seg in segments]
    assert chapters[0][1].startswith("Welcome to the course")
    assert all(t.split()[0] != "Segment" for _, t in chapters)
    captions = text_track(draft, "caption")
    assert [c[2] for c in captions] == list(LECTURE_LINES)
    for start, length, _ in captions:
        assert start >= 0 and length > 0 and start + length <= info.duration_ms
    for (start, length, _), (a, b) in zip(captions, LECTURE_SPEECH, strict=True):
        assert abs(start - a * 1000) <= 40 and abs(start + length - b * 1000) <= 40
    titles = text_track(draft, "chapter")
    assert [t[2] for t in titles] == [seg["title"] for seg in segments]
    assert_round_trip(draft)


async def test_tutor_video_chapter_titles_summary_slide_and_honest_click_refusal(
    tmp_path: Path, media: Media
) -> None:
    """Chapter titles and a summary slide are done (the export grows by the slide); highlighting clicks is refused."""
    out = tmp_path / "out"
    out.mkdir()
    with anyio.fail_after(120):
        async with local_server(tmp_path, media) as tools:
            await tools.call("upload_media", paths=[str(media.screen)])
            edit = await tools.edit(
                "Add chapter titles, highlight clicks, and insert a summary slide at the end"
            )
            reply = edit["reply"]
            assert "highlight clicks" in reply
            assert "I can't do" in reply and "click and cursor positions" in reply
            slide = re.search(r"Added a (\d+(?:\.\d+)?)s summary slide at the end", reply)
            assert slide, reply
            assert "Marked 1 chapter and shown each title on screen" in reply
            draft = await tools.draft()
            mp4 = await tools.export(out, "tutorial.mp4")
            # Asked alone, the refusal comes with the list of what the engine can do instead.
            alone = await tools.edit("highlight the mouse clicks")
            assert "I can't do" in alone["reply"]
            assert "Here is what I can do offline" in alone["reply"]
            assert alone["changes"] == []

    slide_s = float(slide.group(1))
    info = await checked_mp4(mp4)
    assert abs(info.duration_ms / 1000 - (6.0 + slide_s)) < 0.15
    # The last seconds are the slide (plain background); the start is the recording (a test pattern).
    w, h = info.width or 0, info.height or 0
    end = pixel(frame_rgb(mp4, info.duration_ms / 1000 - 1.0, w, h), w, 20, 20)
    start = pixel(frame_rgb(mp4, 1.0, w, h), w, 20, 20)
    assert all(abs(a - b) <= 12 for a, b in zip(end, CARD_RGB, strict=True)), end
    assert any(abs(a - b) > 40 for a, b in zip(start, CARD_RGB, strict=True)), start
    assert len(await mp4_chapters(mp4)) == 1
    assert text_track(draft, "chapter")
    assert_round_trip(draft)


async def test_video_making_ai_silences_music_volume_and_highlight_reel(tmp_path: Path, media: Media) -> None:
    """Silences cut (the MP4 shrinks by exactly the pauses minus padding), music mixed at 20 %, a 3 s reel."""
    out = tmp_path / "out"
    out.mkdir()
    with anyio.fail_after(150):
        async with local_server(tmp_path, media) as tools:
            await tools.call("upload_media", paths=[str(media.talk), str(media.music)])
            edit = await tools.edit("Cut out silences and add background music at 20%")
            assert "Cut 2 silences" in edit["reply"]
            assert "music.wav at 20% volume" in edit["reply"]
            cut = await tools.export(out, "cut.mp4")
            reel_edit = await tools.edit("Make a 3-second highlight reel")
            assert "highlight reel" in reel_edit["reply"]
            reel = await tools.export(out, "reel.mp4")
            draft = await tools.draft()
            # The headline as one sentence, in a fresh project: the same plan, checked on the timeline.
            await tools.call("new_project", title="one sentence")
            await tools.call("upload_media", paths=[str(media.talk), str(media.music)])
            headline = await tools.edit(
                "Cut out silences, add background music at 20%, and export as a 3-second highlight reel"
            )
            assert "export_video" in headline["reply"]
            shape = await tools.call("get_timeline")

    removed = sum(b - a - 2 * SILENCE_PADDING_S for a, b in TALK_PAUSES)
    cut_info = await checked_mp4(cut)
    assert abs(cut_info.duration_ms / 1000 - (TALK_S - removed)) < 0.1
    # The pauses are gone from the picture's sound: no silence of 0.6 s is left in the speech.
    speech_only = out / "speech.wav"
    ffmpeg("-i", str(cut), "-af", "highpass=f=1000,highpass=f=1000", str(speech_only))
    assert silences(speech_only) == []
    # Music at 20 %: below 400 Hz only the music is left; it is 20*log10(0.2) = -14 dB under the file alone.
    relative = lowpassed_mean_db(cut) - lowpassed_mean_db(media.music)
    assert abs(relative - (-13.98)) < 1.5, relative

    reel_info = await checked_mp4(reel)
    assert abs(reel_info.duration_ms / 1000 - 3.0) < 0.5
    assert abs(lowpassed_mean_db(reel) - lowpassed_mean_db(media.music) - (-13.98)) < 1.5
    bgm = ops.find_track(draft, ops.AUDIO, "bgm")
    assert bgm is not None and ops.segments(bgm)[0]["m"]["volume"] == 0.2
    assert_round_trip(draft)
    assert abs(shape["duration_s"] - 3.0) < 0.5
    (music_track,) = [t for t in shape["tracks"] if t["type"] == "audio"]
    assert music_track["volume"] == 0.2


async def test_video_skill_online_trim_intro_captions_youtube_and_shorts(
    tmp_path: Path, media: Media
) -> None:
    """The intro (up to the scene change) is trimmed, captions follow the cut; YouTube is 1920x1080, Shorts 1080x1920."""
    out = tmp_path / "out"
    out.mkdir()
    with anyio.fail_after(150):
        async with local_server(tmp_path, media) as tools:
            await tools.call("upload_media", paths=[str(media.intro), str(media.intro_srt)])
            edit = await tools.edit("Trim the intro, add captions, and export for YouTube")
            reply = edit["reply"]
            assert "Removed the intro: the first 2s, up to the first scene change" in reply
            assert "YouTube (16:9, 1920x1080)" in reply
            youtube_draft = await tools.draft()
            youtube = await tools.export(out, "youtube.mp4")
            youtube_said = tools.exported["message"]
            youtube_render = tools.exported["render"]
            shorts_edit = await tools.edit("Now make a version for YouTube Shorts")
            assert "1080x1920" in shorts_edit["reply"]
            shorts = await tools.export(out, "shorts.mp4")

    yt = await checked_mp4(youtube)
    assert (yt.width, yt.height) == (1920, 1080)
    assert abs(yt.duration_ms / 1000 - (8.0 - INTRO_CUT_S)) < 0.1
    # The cue inside the intro went with it; the others moved 2 s earlier.
    captions = text_track(youtube_draft, "caption")
    expected = [(a - INTRO_CUT_S, b - INTRO_CUT_S, t) for a, b, t in INTRO_CUES if a >= INTRO_CUT_S]
    assert [c[2] for c in captions] == [t for _, _, t in expected]
    for (start, length, _), (a, b, _) in zip(captions, expected, strict=True):
        assert abs(start - a * 1000) <= 40 and abs(start + length - b * 1000) <= 40
        assert start + length <= yt.duration_ms
    assert_round_trip(youtube_draft)
    # For YouTube the captions are a subtitle track plus an .srt saved beside the MP4, not burned in;
    # the small source is scaled up to 1080p, so the full render ran and says why.
    (srt,) = out.glob("*.srt")
    assert [line for line in srt.read_text(encoding="utf-8").splitlines() if line[:1].isalpha()] == [
        t for _, _, t in expected
    ]
    assert "Captions are a subtitle track" in youtube_said and str(srt) in youtube_said
    assert "Full render (the picture is resized" in youtube_said
    assert youtube_render["path"] == "full" and youtube_render["captions"] == "track"
    assert youtube_render["srt"] == str(srt) and "resized" in youtube_render["reason"]

    sh = await checked_mp4(shorts)
    assert (sh.width, sh.height) == (1080, 1920)
    assert abs(sh.duration_ms / 1000 - (8.0 - INTRO_CUT_S)) < 0.1
    # The wide picture sits in the middle of the tall frame; the captions are burnt in below it, on black.
    w, h = 1080, 1920
    band = range(1300, 1880, 4)

    def bright(at: float) -> int:
        frame = frame_rgb(shorts, at, w, h)
        return sum(1 for y in band for x in range(0, w, 4) if sum(pixel(frame, w, x, y)) > 600)

    assert bright(1.8) > 50  # "First point" is on screen (1.0-2.5 s)
    assert bright(3.0) == 0  # between cues the band is black


async def test_chapter_generator_youtube_list_obeys_the_rules(tmp_path: Path, media: Media) -> None:
    """A 35 s video gets a YouTube chapter list that obeys YouTube's rules and matches the MP4's chapters."""
    out = tmp_path / "out"
    out.mkdir()
    with anyio.fail_after(150):
        async with local_server(tmp_path, media) as tools:
            # A 6 s clip cannot have YouTube chapters: the reply says so instead of inventing a list.
            await tools.call("upload_media", paths=[str(media.screen)])
            short = await tools.edit("Generate chapters with timestamps and titles for my YouTube video")
            assert "There is no YouTube chapter list" in short["reply"]
            assert "at least 0:30 long" in short["reply"]

            await tools.call("new_project", title="long")
            await tools.call("upload_media", paths=[str(media.lecture), str(media.lecture_srt)])
            await tools.edit("add captions")
            edit = await tools.edit("Generate chapters with timestamps and titles for my YouTube video")
            listed = youtube_list(edit["reply"])
            draft = await tools.draft()
            mp4 = await tools.export(out, "chapters.mp4")

    info = await checked_mp4(mp4)
    assert abs(info.duration_ms / 1000 - LECTURE_S) < 0.2
    assert_youtube_rules(listed, info.duration_ms / 1000)
    # The chapters start at the scene changes (to the second), titled from what is said there.
    assert [s for s, _ in listed] == [0, int(LECTURE_SCENES[0]), int(LECTURE_SCENES[1])]
    assert listed[0][1].startswith("Welcome to the course")
    embedded = await mp4_chapters(mp4)
    assert [(round(s), t) for s, t in embedded] == listed
    assert_round_trip(draft)


# -- bad input over the same path ----------------------------------------------------------------


async def test_bad_input_gets_clear_errors_and_the_project_stays_usable(tmp_path: Path, media: Media) -> None:
    """Corrupt, truncated, empty and wrong-kind files and nonsense get clear replies; a valid edit then works."""
    with anyio.fail_after(120):
        async with local_server(tmp_path, media) as tools:
            corrupt = await tools.fail("upload_media", paths=[str(media.corrupt)])
            empty = await tools.fail("upload_media", paths=[str(media.empty)])
            truncated = await tools.fail("upload_media", paths=[str(media.truncated)])
            outside = await tools.fail("upload_media", paths=[str(ROOT / "pyproject.toml")])
            # A still image where a video with sound is needed.
            await tools.call("upload_media", paths=[str(media.still)])
            still = await tools.edit("Cut out silences")
            # An instruction the interpreter does not understand, in a fresh project.
            await tools.call("new_project", title="after errors")
            nonsense = await tools.edit("Make it sparkle like a unicorn")
            # The project still works: a real upload and edit go through.
            await tools.call("upload_media", paths=[str(media.talk)])
            trimmed = await tools.edit("Cut the first 2 seconds")
            timeline = await tools.call("get_timeline")
            projects = await tools.call("list_projects")

    assert "corrupt.mp4' does not contain video data" in corrupt
    assert "empty.mp4' is empty (0 bytes)" in empty
    # A whole-looking header over a cut-off file passes the server's checks; the engine's probe catches it.
    assert "truncated.mp4 cannot be used" in truncated
    assert "damaged or incomplete" in truncated
    assert "outside the folders uploads may read from" in outside
    assert "still images (still.png)" in still["reply"]
    assert still["changes"] == []
    assert "I didn't understand" in nonsense["reply"]
    assert "Here is what I can do offline" in nonsense["reply"]
    assert "Cut the first 2s" in trimmed["reply"]
    assert abs(timeline["duration_s"] - (TALK_S - 2)) < 0.05
    assert len(projects["projects"]) == 2
