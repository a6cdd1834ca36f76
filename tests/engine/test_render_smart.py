"""Smart rendering copies a cut-only timeline's GOPs, and captions ship as a track where that serves the user.

Frames are checked with the bar-coded source of ``test_render_cuts``: every output frame is read
back as the source frame number it shows, so a piece off by one frame at either end fails.
"""

from __future__ import annotations

import importlib
import json
import subprocess
from fractions import Fraction
from pathlib import Path
from typing import Any

import anyio
import pytest

from nemo_mcp.engine.ffmpeg import find_ffmpeg
from nemo_mcp.engine.media import probe
from nemo_mcp.engine.render import SourceMedia, render_draft
from tests.engine.helpers import ffmpeg
from tests.engine.test_render_cuts import FPS, H, W, frame_numbers, numbered_video

# (in-point ms, duration ms): pieces spanning whole GOPs with partial ones at both ends, a piece
# inside one GOP, one going back in the source, and one starting exactly on a keyframe.
CUTS = [(400, 2700), (3500, 300), (1200, 1500), (5000, 2000), (7100, 900)]


def _expected(cuts: list[tuple[int, int]]) -> list[int]:
    return [f for i, d in cuts for f in range(i * FPS // 1000, (i + d) * FPS // 1000)]


def with_bframes(plain: Path, out: Path) -> Path:
    """``plain`` re-encoded as x264 writes it well: B-frames, a keyframe every second."""
    ffmpeg(
        "-i", str(plain), "-c:v", "libx264", "-preset", "fast", "-bf", "3", "-g", str(FPS),
        "-pix_fmt", "yuv420p", "-c:a", "copy", str(out),
    )  # fmt: skip
    return out


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The numbered clip as x264 writes it fast (no B-frames) and as it writes it well (B-frames)."""
    folder = tmp_path_factory.mktemp("smart")
    plain = numbered_video(folder / "plain.mp4", 9)
    return {"plain": plain, "bframes": with_bframes(plain, folder / "bframes.mp4")}


def _draft(cuts: list[tuple[int, int]], **meta: Any) -> dict[str, Any]:
    segments = [{"d": d, "m": {"src": "n", "in": i}} for i, d in cuts]
    return {"t": [{"tt": 0, "sg": segments}], "m": {"canvas": {"w": W, "h": H}, "fps": FPS, **meta}}


async def _render(tmp_path: Path, source: Path, draft: dict[str, Any], name: str = "out.mp4") -> Any:
    media = {"n": SourceMedia(source, await probe(source))}
    return await render_draft(draft, media, tmp_path / name, quality="draft", work_dir=tmp_path / "work")


def _streams(path: Path) -> list[dict[str, Any]]:
    import av

    with av.open(str(path)) as container:
        return [
            {
                "type": s.type,
                "codec": s.codec_context.name,
                "start": float(s.start_time * s.time_base) if s.start_time is not None else 0.0,
                "duration": float(s.duration * s.time_base) if s.duration is not None else None,
            }
            for s in container.streams
        ]


def _decode_errors(path: Path) -> str:
    argv = [find_ffmpeg(), "-v", "error", "-nostdin", "-i", str(path), "-f", "null", "-"]
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120).stderr


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["plain", "bframes"])
async def test_smart_render_keeps_every_piece_frame_accurate(
    tmp_path: Path, sources: dict[str, Path], kind: str
) -> None:
    """A cut-only timeline takes the smart path, and every output frame is the source frame at its cut."""
    result = await _render(tmp_path, sources[kind], _draft(CUTS))
    assert (result.path_taken, result.reason) == ("smart", "")
    assert frame_numbers(result.path) == _expected(CUTS)
    assert _decode_errors(result.path) == ""


@pytest.mark.anyio
async def test_smart_render_keeps_sound_and_picture_within_a_frame(
    tmp_path: Path, sources: dict[str, Path]
) -> None:
    """Sound and picture start together and end within one frame of each other (music mixed in too)."""
    draft = _draft(CUTS)
    draft["t"].append({"tt": 1, "sg": [{"s": 0, "d": 4000, "m": {"src": "n", "in": 0, "volume": 0.3}}]})
    result = await _render(tmp_path, sources["bframes"], draft)
    assert result.path_taken == "smart"
    video, audio = (next(s for s in _streams(result.path) if s["type"] == t) for t in ("video", "audio"))
    assert abs(video["start"] - audio["start"]) <= 1 / FPS
    assert abs((video["start"] + video["duration"]) - (audio["start"] + audio["duration"])) <= 1 / FPS
    assert abs(video["duration"] - len(_expected(CUTS)) / FPS) < 1e-3


@pytest.mark.anyio
async def test_chapters_do_not_force_a_full_render(tmp_path: Path, sources: dict[str, Path]) -> None:
    """Chapter markers are metadata: the smart path runs and the MP4 lists them."""
    draft = _draft(CUTS, chapters=[{"s": 0, "title": "Intro"}, {"s": 3000, "title": "Main part"}])
    result = await _render(tmp_path, sources["plain"], draft)
    assert result.path_taken == "smart"
    import av

    with av.open(str(result.path)) as container:
        titles = [c["metadata"].get("title") for c in container.chapters()]
    assert titles == ["Intro", "Main part"]


def _title(draft: dict[str, Any]) -> dict[str, Any]:
    track = {"tt": 7, "m": {"role": "title"}, "sg": [{"s": 0, "d": 1000, "m": {"text": "Welcome"}}]}
    draft["t"].append(track)
    return draft


def _vfr(source: Path, out: Path) -> Path:
    # The same 30 frames a second on average, but every other frame shown a third of a frame late.
    ffmpeg("-i", str(source), "-vf", "settb=1/9000,setpts='(N+0.33*mod(N,2))/30/TB'", "-fps_mode", "passthrough", "-enc_time_base:v", "1/9000",
           "-video_track_timescale", "9000", "-c:v", "libx264", "-preset", "ultrafast", "-an", str(out))  # fmt: skip
    return out


def _mpeg4(source: Path, out: Path) -> Path:
    ffmpeg("-i", str(source), "-c:v", "mpeg4", "-q:v", "3", "-c:a", "copy", str(out))
    return out


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("case", "reason_has"),
    [
        ("title", "text"),
        ("canvas", "resized"),
        ("fps", "frame rate"),
        ("mpeg4", "H.264"),
        ("vfr", "variable frame rate"),
        ("rotated", "rotated"),
    ],
)
async def test_timelines_that_need_it_fall_back_to_the_full_render(
    tmp_path: Path, sources: dict[str, Path], case: str, reason_has: str
) -> None:
    """A title, a new size or frame rate, or an odd source (MPEG-4, VFR, rotated) renders in full, and says why."""
    source, draft = sources["plain"], _draft(CUTS[:2])
    if case == "title":
        draft = _title(draft)
    elif case == "canvas":
        draft["m"]["canvas"] = {"w": 640, "h": 360}
    elif case == "fps":
        draft["m"]["fps"] = 25
    elif case == "mpeg4":
        source = _mpeg4(source, tmp_path / "mpeg4.mp4")
    elif case == "rotated":
        # Stored landscape with a portrait flag, as phones write it: shown (and the canvas) is H x W.
        source = tmp_path / "rotated.mp4"
        ffmpeg("-display_rotation", "90", "-i", str(sources["plain"]), "-c", "copy", str(source))
        draft["m"]["canvas"] = {"w": H, "h": W}
    else:
        source = _vfr(source, tmp_path / "vfr.mp4")
    result = await _render(tmp_path, source, draft)
    assert result.path_taken == "full"
    assert reason_has in result.reason


def _captions(draft: dict[str, Any], cues: list[tuple[int, int, str]], **meta: Any) -> dict[str, Any]:
    segments = [{"s": s, "d": e - s, "m": {"text": text}} for s, e, text in cues]
    draft["t"].append({"tt": 7, "m": {"role": "caption", **meta}, "sg": segments})
    return draft


def _subtitle_cues(path: Path) -> list[tuple[int, int, str]]:
    """The cues of the MP4's subtitle track (start ms, end ms, text), by ffmpeg."""
    argv = [find_ffmpeg(), "-v", "error", "-nostdin", "-i", str(path), "-map", "0:s:0", "-f", "srt", "-"]
    text = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60).stdout
    return _srt_cues(text)


def _srt_cues(text: str) -> list[tuple[int, int, str]]:
    def ms(stamp: str) -> int:
        h, m, rest = stamp.strip().split(":")
        s, milli = rest.split(",")
        return ((int(h) * 60 + int(m)) * 60 + int(s)) * 1000 + int(milli)

    cues = []
    for block in text.strip().split("\n\n"):
        lines = block.strip().splitlines()
        start, end = lines[1].split("-->")
        cues.append((ms(start), ms(end), "\n".join(lines[2:])))
    return cues


CUES = [(200, 1500, "Hello and welcome"), (1800, 3200, "Today: fractions")]


@pytest.mark.anyio
async def test_youtube_captions_are_a_track_and_an_srt_and_keep_the_smart_path(
    tmp_path: Path, sources: dict[str, Path]
) -> None:
    """Captions on a plain/YouTube export ship as a mov_text track plus a sidecar .srt; the picture is copied."""
    result = await _render(tmp_path, sources["plain"], _captions(_draft(CUTS), CUES))
    assert (result.path_taken, result.captions) == ("smart", "track")
    assert [s["codec"] for s in _streams(result.path) if s["type"] == "subtitle"] == ["mov_text"]
    assert _subtitle_cues(result.path) == CUES
    assert result.sidecar == result.path.with_suffix(".srt")
    assert _srt_cues(result.sidecar.read_text(encoding="utf-8")) == CUES
    assert frame_numbers(result.path) == _expected(CUTS)


@pytest.mark.anyio
@pytest.mark.parametrize("how", ["shorts", "asked"])
async def test_captions_are_burned_for_shorts_or_when_asked(
    tmp_path: Path, sources: dict[str, Path], how: str
) -> None:
    """Shorts, or a caption track marked to burn, draws the captions on the picture: no track, no .srt."""
    draft = _draft(CUTS[:2])
    if how == "shorts":
        draft["m"]["platform"] = "shorts"
        draft["m"].pop("canvas")
    draft = _captions(draft, CUES, **({"burn": True} if how == "asked" else {}))
    result = await _render(tmp_path, sources["plain"], draft)
    assert (result.path_taken, result.captions, result.sidecar) == ("full", "burned", None)
    assert [s for s in _streams(result.path) if s["type"] == "subtitle"] == []
    assert not result.path.with_suffix(".srt").exists()


def test_srt_cue_reader_reads_multiline_cues() -> None:
    """The test's own SubRip reader keeps a cue's two lines (so the checks above can fail on text)."""
    text = "1\n00:00:01,000 --> 00:00:02,500\nline one\nline two\n"
    assert _srt_cues(text) == [(1000, 2500, "line one\nline two")]
    assert json.dumps(_srt_cues(text))


@pytest.mark.anyio
async def test_cancelling_stops_the_picture_thread_before_returning() -> None:
    """A cancelled render tells the picture-writing thread to stop and waits until it has."""
    import threading
    import time

    run = importlib.import_module("nemo_mcp.engine.render.run")
    stop = threading.Event()
    seen: list[str] = []

    def work() -> str:
        while not stop.is_set():
            time.sleep(0.01)
        time.sleep(0.1)  # still writing a moment after being told
        seen.append("stopped")
        return "done"

    with anyio.move_on_after(0.2):
        await run._in_thread(work, stop)
    assert seen == ["stopped"]


def _index(decode_order: list[int], keys: set[int]) -> Any:
    smart = importlib.import_module("nemo_mcp.engine.render.smart")
    config = smart.AvcConfig(b"\x01\x64\x00\x1f\xff", (b"\x67\x64\x00\x1f\xac",), (b"\x68\xee",), b"")
    frames = tuple(decode_order)
    return smart.SourceIndex(
        frames, tuple(f in keys for f in frames), 0, 1, Fraction(1, 30), 1, config, "high", 31
    )


def test_whole_closed_gops_are_copied_and_the_edges_re_encoded() -> None:
    """Closed GOPs inside a piece are copied; the frames before the first keyframe are encoded."""
    smart = importlib.import_module("nemo_mcp.engine.render.smart")
    index = _index([0, 3, 1, 2, 4, 7, 5, 6, 8, 11, 9, 10], {0, 4, 8})
    keys, position = [*index.keyframes(), 12], index.decode_position()
    # Frame 8 is a keyframe: its mini-GOP (8, then 11 9 10) is not whole before the cut at 11.
    assert smart.split_piece(1, 10, index, keys, position) == [
        smart.Part(1, 3, copy=False),
        smart.Part(4, 5, copy=True),
        smart.Part(9, 2, copy=False),
    ]
    assert smart.split_piece(5, 2, index, keys, position) == [smart.Part(5, 2, copy=False)]


def test_the_last_gop_is_copied_up_to_its_last_whole_mini_gop() -> None:
    """A piece ending inside a GOP copies that GOP's closed start; only the frames after it are encoded."""
    smart = importlib.import_module("nemo_mcp.engine.render.smart")
    index = _index([0, 3, 1, 2, 6, 4, 5, 9, 7, 8, 10, 13, 11, 12], {0, 10})
    keys, position = [*index.keyframes(), 14], index.decode_position()
    # Ends after frame 8: mini-GOPs [0..3], [4..6] and [7..9]; 7 and 8 need 9, so they are encoded.
    assert smart.split_piece(2, 7, index, keys, position) == [smart.Part(2, 7, copy=False)]
    assert smart.split_piece(0, 9, index, keys, position) == [
        smart.Part(0, 7, copy=True),
        smart.Part(7, 2, copy=False),
    ]
    # Ends on a mini-GOP's last frame: all copied; one keyframe inside a piece: its closed start copied.
    assert smart.split_piece(0, 10, index, keys, position) == [smart.Part(0, 10, copy=True)]
    assert smart.split_piece(8, 5, index, keys, position) == [
        smart.Part(8, 2, copy=False),
        smart.Part(10, 1, copy=True),
        smart.Part(11, 2, copy=False),
    ]


def test_without_b_frames_a_piece_is_copied_to_its_last_frame() -> None:
    """Pictures decoded in the order they are shown can be copied up to any cut: only the start is encoded."""
    smart = importlib.import_module("nemo_mcp.engine.render.smart")
    index = _index(list(range(20)), {0, 10})
    keys, position = [*index.keyframes(), 20], index.decode_position()
    assert smart.split_piece(3, 14, index, keys, position) == [
        smart.Part(3, 7, copy=False),
        smart.Part(10, 7, copy=True),
    ]


def test_open_gops_are_not_copied() -> None:
    """B-frames shown before their keyframe (open GOPs) would need frames outside a copy: full render."""
    smart = importlib.import_module("nemo_mcp.engine.render.smart")
    index = _index([0, 3, 1, 2, 6, 4, 5, 9, 7, 8, 12, 10, 11], {0, 6, 12})
    keys, position = [*index.keyframes(), 13], index.decode_position()
    assert "open GOP" in smart.split_piece(0, 12, index, keys, position)


@pytest.mark.anyio
async def test_a_piece_running_past_the_clip_holds_its_last_frame(
    tmp_path: Path, sources: dict[str, Path]
) -> None:
    """A last piece a few frames longer than the picture holds the last frame (as the full render does), smart."""
    result = await _render(tmp_path, sources["bframes"], _draft([(7100, 2000)]))
    assert result.path_taken == "smart"
    last = 9 * FPS - 1
    assert frame_numbers(result.path) == [*range(213, last + 1), last, last, last]


@pytest.mark.anyio
async def test_a_black_stretch_in_a_smart_render_is_found_by_the_sparse_check(tmp_path: Path) -> None:
    """The check of a smart render reads its keyframes and still finds a 3.5 s black stretch, to a fifth of a second."""
    checks = importlib.import_module("nemo_mcp.engine.media.checks")
    source = tmp_path / "black.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=s={W}x{H}:r={FPS}:d=12",
        "-f", "lavfi", "-i", "sine=f=440:sample_rate=48000:d=12",
        "-vf", "drawbox=c=black:t=fill:enable='between(t,4,7.5)'",
        "-c:v", "libx264", "-preset", "fast", "-bf", "3", "-g", str(FPS), "-sc_threshold", "0",
        "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(source),
    )  # fmt: skip
    cuts = [(400, 2600), (3500, 6000)]
    result = await _render(tmp_path, source, _draft(cuts))
    assert result.path_taken == "smart"
    gap = checks.keyframe_gap_s(result.path)
    assert gap is not None and gap <= checks.MIN_PROBLEM_S  # so the sparse reading runs
    found = await checks.check_export(result.path, checks.Expected(8600))
    (black,) = found.problems
    # Source 4–7.5 s, after 2.6 s of the first piece and from 3.5 s in the second: 3.1–6.6 s.
    assert black.kind == "black"
    assert abs(black.start_s - 3.1) <= 1 / checks.CHECK_FPS + 0.05
    assert abs(black.end_s - 6.6) <= 1 / checks.CHECK_FPS + 0.05


def _samples(path: Path, *args: str) -> Any:
    import numpy as np

    argv = [find_ffmpeg(), "-v", "error", "-nostdin", *args, "-i", str(path), "-map", "0:a:0"]
    raw = subprocess.run([*argv, "-f", "f32le", "-ac", "1", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype=np.float32)


@pytest.mark.anyio
async def test_one_piece_at_full_volume_carries_its_source_sound_unchanged(
    tmp_path: Path, sources: dict[str, Path]
) -> None:
    """Intro trimmed, nothing mixed in: the sound is the source's own AAC from the in-point's sample, in sync."""
    draft = _draft([(1230, 5500)])
    result = await _render(tmp_path, sources["bframes"], draft)
    assert result.path_taken == "smart"
    import av

    with av.open(str(result.path)) as container:
        layout = container.streams.audio[0].codec_context.layout.nb_channels
    assert layout == 1  # the source's mono track, not the usual render's stereo
    video, audio = (next(s for s in _streams(result.path) if s["type"] == t) for t in ("video", "audio"))
    assert abs(video["start"] - audio["start"]) <= 1 / FPS
    assert abs((video["start"] + video["duration"]) - (audio["start"] + audio["duration"])) <= 1 / FPS
    # From its first sample on, the sound is the source's from 1.23 s: no pre-roll noise, no click.
    got, source = _samples(result.path), _samples(sources["bframes"])
    want = source[round(1.23 * 48000) :][: len(got)]
    assert abs(len(got) - 5.5 * 48000) <= 1024
    assert float(abs(got[: len(want)] - want).max()) < 1e-3
    # A second piece, or music, needs the sound rendered (stereo, as every export is).
    mixed = await _render(tmp_path, sources["bframes"], _draft([(1230, 2000), (4000, 1000)]), "two.mp4")
    with av.open(str(mixed.path)) as container:
        assert container.streams.audio[0].codec_context.layout.nb_channels == 2


@pytest.mark.anyio
async def test_the_sound_is_copied_only_when_nothing_changes_it(sources: dict[str, Path]) -> None:
    """One piece at full volume: copied; a second piece, a lower volume, music or a fade: rendered."""
    smart_mux = importlib.import_module("nemo_mcp.engine.render.smart_mux")
    from nemo_mcp.engine.render import make_plan

    source = sources["bframes"]
    media = {"n": SourceMedia(source, await probe(source))}

    def copied(draft: dict[str, Any]) -> bool:
        return smart_mux.sound_to_copy(make_plan(draft, media)) == source

    assert copied(_draft([(1000, 4000)]))
    assert not copied(_draft([(1000, 2000), (4000, 1000)]))
    quieter = _draft([(1000, 4000)])
    quieter["t"][0]["sg"][0]["m"]["volume"] = 0.5
    assert not copied(quieter)
    music = _draft([(1000, 4000)])
    music["t"].append({"tt": 1, "sg": [{"s": 0, "d": 2000, "m": {"src": "n", "in": 0, "volume": 0.3}}]})
    assert not copied(music)
    assert not copied(_draft([(1000, 4000)], fade_out_ms=500))
    # At 60 fps a picture frame (17 ms) is shorter than an AAC frame (21 ms): the end could drift.
    assert not copied({**_draft([(1000, 4000)]), "m": {"canvas": {"w": W, "h": H}, "fps": 60}})
