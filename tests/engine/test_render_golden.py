"""Golden filter graphs and argv for each kind of timeline content, built without running ffmpeg.

Each case builds the plan and the command from a small draft with fake probed media and
compares the readable form (inputs one a line, then one filter chain a line) with
``tests/engine/golden/<case>.txt``. After a deliberate change to the graph, rewrite the
files with ``NEMO_UPDATE_GOLDEN=1`` and review the diff: it is the change ffmpeg will see.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any

import pytest

from nemo_mcp.engine.media import MediaInfo
from nemo_mcp.engine.render import Command, SourceMedia, make_plan, render_command

GOLDEN = Path(__file__).parent / "golden"
WORK = Path("work")
FONT = (Path("fonts") / "DejaVuSans.ttf", "DejaVu Sans")
SMALL = {"w": 320, "h": 180}
_GRAPH_OPTIONS = ("-filter_complex", "-/filter_complex", "-filter_complex_script")
_BREAK_BEFORE = {*_GRAPH_OPTIONS, "-map", "-map_metadata", "-c:v", "-c:a", "-movflags"}
_BREAK_AFTER_VALUE = {"-i", "-stats_period"}


def _info(
    kind: Any, ms: int, size: tuple[int, int] | None = (1920, 1080), *, audio: bool = True
) -> MediaInfo:
    width, height = size if size is not None else (None, None)
    return MediaInfo(
        kind=kind,
        duration_ms=ms,
        width=width,
        height=height,
        fps=30.0 if kind == "video" else None,
        has_audio=audio,
        has_video=kind in ("video", "image"),
    )


MEDIA = {
    "a": SourceMedia(Path("media") / "a.mp4", _info("video", 10_000)),
    "b": SourceMedia(Path("media") / "b.mov", _info("video", 8_000, (1280, 720))),
    "img": SourceMedia(Path("media") / "photo.png", _info("image", 0, (200, 300), audio=False)),
    "silent": SourceMedia(Path("media") / "silent.mp4", _info("video", 5_000, audio=False)),
    "song": SourceMedia(Path("media") / "song.mp3", _info("audio", 3_000, None)),
    "voice": SourceMedia(Path("media") / "voice.wav", _info("audio", 20_000, None)),
    "lecture": SourceMedia(Path("media") / "lecture.mp4", _info("video", 600_000)),
}


def video(*segments: dict[str, Any]) -> dict[str, Any]:
    return {"tt": 0, "sg": list(segments), "m": {"role": "main"}}


def clip(src: str, d: int, in_ms: int = 0, **meta: Any) -> dict[str, Any]:
    return {"d": d, "m": {"src": src, "in": in_ms, **meta}}


def card(d: int, text: str, bg: str = "") -> dict[str, Any]:
    return {"d": d, "m": {"card": {"text": text, "bg": bg}}}


def texts(role: str, *items: tuple[int, int, str]) -> dict[str, Any]:
    return {"tt": 7, "m": {"role": role}, "sg": [{"s": s, "d": d, "m": {"text": t}} for s, d, t in items]}


def draft(*tracks: dict[str, Any], **meta: Any) -> dict[str, Any]:
    return {"t": list(tracks), "m": {"canvas": SMALL, **meta}}


CASES: dict[str, dict[str, Any]] = {
    "cuts_one_source": draft(video(clip("a", 2500, 1000), clip("a", 1500, 6000))),
    "split_clip_one_piece": draft(video(clip("a", 1000), clip("a", 1000, 1000))),
    "two_sources": draft(video(clip("a", 2000, 500), clip("b", 1500))),
    "still_image": draft(video(clip("img", 1000), clip("img", 0))),
    "cards": draft(
        video(card(1000, "Summary: it's {done}", "#1A237E"), card(1000, "", "teal"), clip("a", 1000))
    ),
    "text_and_captions": draft(
        video(clip("a", 3000)),
        # Burned on request (a plain MP4 would carry captions as a track: test_render_smart).
        {**texts("caption", (500, 1000, "Hello, world")), "m": {"role": "caption", "burn": True}},
        {"tt": 7, "sg": [{"s": 2000, "d": 800, "m": {"text": "up here", "position": "top", "size": 30}}]},
        texts("title", (0, 1500, "Title")),
    ),
    # A short title and a caption over a long clip: libass sees only the stretches they show in.
    "text_in_stretches": draft(
        video(clip("a", 20000)),
        texts("title", (0, 3000, "Title")),
        {**texts("caption", (9000, 1000, "Later")), "m": {"role": "caption", "burn": True}},
    ),
    "music_volume_and_loop": draft(
        video(clip("a", 4000)),
        {"tt": 1, "m": {"role": "bgm"}, "sg": [{"s": 0, "m": {"src": "song", "loop": True, "volume": 0.3}}]},
        {"tt": 1, "sg": [{"s": 1000, "d": 2000, "m": {"src": "voice", "in": 500, "volume": 35}}]},
    ),
    "original_volume_and_mute": draft(
        video(clip("a", 1000, volume=0.5), clip("a", 1000, 3000, volume=0), clip("silent", 1000))
    ),
    "shorts_canvas": {"t": [video(clip("a", 500))], "m": {"platform": "shorts"}},
    "fades": draft(video(clip("a", 2000)), fade_in_ms=500, fade_out_ms=700),
    "loudnorm": draft(video(clip("a", 2000)), loudnorm=True),
    "chapters": draft(
        video(clip("a", 3000)), chapters=[{"s": 0, "title": "Intro"}, {"s": 1500, "title": "Part two"}]
    ),
    "gap_shows_black": draft(video(clip("a", 1000), {"s": 2000, "d": 1000, "m": {"src": "a", "in": 2000}})),
    "sound_only_clip_on_video_track": draft(video(clip("song", 1000), clip("voice", 1000, 300))),
    # One source, nine cuts in order: one input decoded once, split into nine branches.
    "many_pieces_one_input": draft(video(*[clip("a", 200, i * 300) for i in range(9)])),
    # Going back in a source reads it again; going forward (even across another source) does not.
    "going_back_reads_again": draft(
        video(clip("a", 1000, 5000), clip("a", 1000, 1000), clip("b", 1000), clip("a", 1000, 6500))
    ),
    # A long jump forward seeks with a fresh input instead of decoding the stretch skipped.
    "far_jump_seeks": draft(video(clip("lecture", 1000), clip("lecture", 1000, 120_000))),
    # Many inputs at once: one decoder thread each keeps their buffered frames small.
    "many_inputs_one_thread_each": draft(video(*[clip("lecture", 500, i * 40_000) for i in range(9)])),
    "ntsc_frame_rate": {"t": [video(clip("a", 1000))], "m": {"platform": "square", "fps": "29.97"}},
}


def readable(command: Command) -> str:
    """The argv after the binary (a few options a line), the graph (one chain a line), the side files."""
    args, graph = list(command.argv[1:]), ""
    for i, arg in enumerate(args[:-1]):
        if arg in _GRAPH_OPTIONS and arg != "-filter_complex_script":
            graph, args[i + 1] = args[i + 1], "@graph"
    lines: list[list[str]] = [[]]
    for i, arg in enumerate(args):
        if arg in _BREAK_BEFORE and lines[-1] and lines[-1][0] != arg:
            lines.append([])
        lines[-1].append(shlex.quote(arg))
        if i > 0 and args[i - 1] in _BREAK_AFTER_VALUE:
            lines.append([])
    parts = ["\n".join(" ".join(line) for line in lines if line), graph]
    for item in command.files:
        body = item.text if item.text is not None else f"(a copy of {item.copy_of})\n"
        parts.append(f"== {item.path} ==\n{body}")
    return "\n\n".join(parts) + "\n"


def rendered(name: str) -> str:
    command = render_command(
        make_plan(CASES[name], MEDIA),
        Path("out") / "x.mp4",
        quality="standard",
        work_dir=WORK,
        font=FONT,
        version=lambda: (7, 1),
    )
    return readable(command)


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_command(name: str) -> None:
    """The argv and filter graph of each kind of content match the reviewed golden text."""
    path = GOLDEN / f"{name}.txt"
    text = rendered(name)
    if os.environ.get("NEMO_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_golden_files_all_have_a_case() -> None:
    """Every golden file belongs to a case, so a renamed case leaves no stale file behind."""
    assert sorted(p.stem for p in GOLDEN.glob("*.txt")) == sorted(CASES)
