"""Scene changes of a video, found by decoding its keyframes and then only the stretches that change.

ffmpeg's ``scdet`` scores every frame against the one before it. Run over every frame (the *full
pass*) that is minutes for a long lecture: 81,000 frames decoded at 1080p to find a few dozen
slide changes. The search here decodes far fewer frames and finds the same changes:

1. *Keyframe pass.* Only keyframes are decoded (the decoder skips the rest), scaled small, and
   each is compared with the keyframe before it (scdet's ``mafd``: mean absolute difference, 0-100).
2. *Refine.* A pair of keyframes that differ by at least half the threshold may hold a change
   between them. Those frames are decoded fully, from the keyframe before the pair (scdet's
   score of a frame depends on the two before it) to the pair's second one inclusive (encoders
   often put the keyframe exactly on a cut), and scored by scdet with the same filter chain and
   timestamps as the full pass, so a change is found at the same frame with the same score. The
   frames before the first keyframe and after the last one are always refined: no pair covers them.
3. *Full pass* instead, when keyframes cannot narrow the search (see :func:`_why_full`).

Why half the threshold: a frame only scores ``threshold`` when it differs from the one before by
at least that much; with a cut between them, the two keyframes around it differ about as much,
give or take what moved within the interval, which half the threshold leaves room for.

Blind spot: a change that reverts within one keyframe interval (A, then B, then A again before
the next keyframe) leaves both keyframes alike, so that interval is not refined and the flash of
B is not reported. A lecture's slides and a tutorial's screens do not do that.
"""

from __future__ import annotations

import itertools
import logging
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import anyio.to_thread

from nemo_mcp.engine.media.analysis import filter_pass
from nemo_mcp.engine.media.errors import MediaError
from nemo_mcp.engine.media.probe import probe

logger = logging.getLogger(__name__)

_SCENE = re.compile(r"lavfi\.scd\.score: (\d+(?:\.\d+)?), lavfi\.scd\.time: (-?\d+(?:\.\d+)?)")
# The metadata filter's print: a frame's line, then the asked key's value on the next.
_FRAME = re.compile(r"\bframe:(\d+)\s+pts:(-?\d+)\s")
_MAFD = re.compile(r"lavfi\.scd\.mafd=(\d+(?:\.\d+)?)")
_TIME = re.compile(r"lavfi\.scd\.time=(-?\d+(?:\.\d+)?)")

# A small picture scores scene changes about as well as a full one, at a fraction of the cost.
_SMALL = "scale=320:-2:flags=fast_bilinear"
# Keyframes further apart than this on average (screen recorders, a still picture) leave intervals
# too long for refining them to save much: the full pass is as quick and has no blind spot.
MAX_MEAN_KEYFRAME_GAP_S = 10.0
# Refining more than this share of the intervals would decode most of the file twice over (a
# moving camera makes every pair differ): the full pass is quicker then.
MAX_REFINED_SHARE = 0.25

_WHAT = "look for scene changes"

Method = Literal["keyframes", "full"]


@dataclass(frozen=True)
class SceneSearch:
    """What a search found and how: ``changes`` in ms, and which frames it had to decode.

    ``method`` is ``"keyframes"`` or ``"full"``; ``reason`` says why the full pass ran ("asked",
    "intra_only", "few_keyframes", "sparse_keyframes", "busy") and is None on the keyframe path; ``keyframes``
    is how many keyframes the keyframe pass compared, ``spans`` how many stretches it refined.
    """

    changes: list[int]
    method: Method
    reason: str | None = None
    keyframes: int = 0
    spans: int = 0


@dataclass(frozen=True)
class _Clock:
    """How to turn the video stream's raw timestamps into the seconds ``-ss`` and ``-to`` take."""

    time_base: Fraction
    start_s: Fraction  # the container's start, which ffmpeg's -ss counts from
    frame_s: Fraction  # one frame's length (a guess for variable-rate files)
    intra_only: bool  # a codec whose every frame is a keyframe (MJPEG, ProRes)

    def seconds(self, pts: int) -> Fraction:
        return pts * self.time_base - self.start_s


async def detect_scenes(path: Path, *, threshold: float = 10.0) -> list[int]:
    """Times (ms) where the picture changes scene: ffmpeg's ``scdet`` score above ``threshold`` (0-100)."""
    return (await find_scene_changes(path, threshold=threshold)).changes


async def find_scene_changes(
    path: Path, *, threshold: float = 10.0, method: Literal["auto", "full"] = "auto"
) -> SceneSearch:
    """:func:`detect_scenes` saying how it searched; ``method="full"`` scores every frame."""
    info = await probe(path)
    if info.kind != "video":
        raise MediaError(f"{path.name} is not a video, so it has no scenes to find")
    if method == "full":
        return SceneSearch(await _full_pass(path, threshold), "full", "asked")
    clock = await anyio.to_thread.run_sync(_clock_of, path)
    if clock.intra_only:
        # Every frame is a keyframe: the keyframe pass would decode them all, then refine on top.
        return SceneSearch(await _full_pass(path, threshold), "full", "intra_only")
    keyframes = await _keyframe_pass(path)
    reason = _why_full(keyframes, threshold, clock)
    if reason is not None:
        logger.info("scene changes of %s: every frame scored (%s)", path.name, reason)
        return SceneSearch(await _full_pass(path, threshold), "full", reason, keyframes=len(keyframes))
    first = await _first_pts(path)
    windows = _windows(keyframes, threshold, first)
    found: set[int] = set()
    for window in windows:
        found.update(await _refine(path, threshold, clock, first, window))
    logger.info(
        "scene changes of %s: %d keyframes compared, %d stretches refined",
        path.name,
        len(keyframes),
        len(windows),
    )
    return SceneSearch(_tidy(found), "keyframes", keyframes=len(keyframes), spans=len(windows))


def _why_full(keyframes: list[tuple[int, float]], threshold: float, clock: _Clock) -> str | None:
    """Why keyframes cannot narrow the search of this file, or None when they can."""
    if len(keyframes) < 2:
        return "few_keyframes"
    span = clock.time_base * (keyframes[-1][0] - keyframes[0][0])
    if span / (len(keyframes) - 1) > MAX_MEAN_KEYFRAME_GAP_S:
        return "sparse_keyframes"
    differing = sum(1 for _, mafd in keyframes[1:] if mafd >= threshold / 2)
    if differing > max(4, MAX_REFINED_SHARE * (len(keyframes) - 1)):
        return "busy"
    return None


# A stretch to refine: the keyframe decoding starts from (None: the file's start), then the
# (lo, hi] of raw timestamps the changes are looked for in (hi None: to the end of the file).
_Window = tuple[int | None, int, int | None]


def _windows(keyframes: list[tuple[int, float]], threshold: float, first: int) -> list[_Window]:
    """The stretches to refine; touching ones are joined, so no frame is decoded twice."""
    wanted: list[_Window] = []
    if first < keyframes[0][0]:
        wanted.append((None, first - 1, keyframes[0][0]))  # frames shown before the first keyframe
    previous: int | None = None
    for (before, _), (at, mafd) in itertools.pairwise(keyframes):
        if mafd >= threshold / 2:
            wanted.append((previous, before, at))
        previous = before
    wanted.append((previous, keyframes[-1][0], None))  # after the last keyframe
    joined: list[_Window] = []
    for start, lo, hi in wanted:
        if joined and joined[-1][2] == lo:
            joined[-1] = (joined[-1][0], joined[-1][1], hi)
        else:
            joined.append((start, lo, hi))
    return joined


def _tidy(found: set[int]) -> list[int]:
    return sorted(t for t in found if t > 0)


async def _full_pass(path: Path, threshold: float) -> list[int]:
    """scdet over every frame: the reference the keyframe search reproduces."""
    found: set[int] = set()

    async def on_line(line: str) -> None:
        if m := _SCENE.search(line):
            found.add(max(0, round(float(m.group(2)) * 1000)))

    chain = f"setpts=PTS-STARTPTS,{_SMALL},scdet=threshold={threshold:g}"
    await filter_pass(path, _WHAT, "v", chain, on_line)
    return _tidy(found)


async def _keyframe_pass(path: Path) -> list[tuple[int, float]]:
    """Each keyframe's raw timestamp and its difference from the keyframe before (0 for the first)."""
    keyframes: list[tuple[int, float]] = []
    pts: int | None = None

    async def on_line(line: str) -> None:
        nonlocal pts
        if m := _FRAME.search(line):
            pts = int(m.group(2))
        elif (m := _MAFD.search(line)) and pts is not None:
            keyframes.append((pts, float(m.group(1))))
            pts = None

    # The decoder skips all but keyframes. (The demuxer could drop the rest sooner, -discard nokey,
    # but then MP4 keyframes come out with wrong timestamps, off by a B-frame delay or two.) The
    # deblocking filter is skipped too (7 % less work): it moves pixels far less than the margin
    # the refine threshold leaves. One thread: frame threads only add overhead when most frames
    # are skipped.
    chain = f"{_SMALL},scdet=threshold=100,metadata=mode=print:key=lavfi.scd.mafd"
    keys_only = ("-copyts", "-skip_frame", "nokey", "-skip_loop_filter", "all", "-threads", "1")
    await filter_pass(path, _WHAT, "v", chain, on_line, input_opts=keys_only)
    return keyframes


async def _first_pts(path: Path) -> int:
    """The raw timestamp of the first frame decoded, which the full pass counts time from."""
    found: list[int] = []

    async def on_line(line: str) -> None:
        if not found and (m := _FRAME.search(line)):
            found.append(int(m.group(2)))

    chain = "scdet=threshold=100,metadata=mode=print:key=lavfi.scd.mafd"
    await filter_pass(
        path, _WHAT, "v", chain, on_line, input_opts=("-copyts",), output_opts=("-frames:v", "1")
    )
    if not found:
        raise MediaError(f"no picture could be decoded from {path.name}: re-export it and upload it again")
    return found[0]


async def _refine(path: Path, threshold: float, clock: _Clock, first: int, window: _Window) -> list[int]:
    """The changes scdet finds in the ``window``'s (lo, hi], as the full pass finds them.

    Decoding starts at the keyframe before ``lo`` (ffmpeg would decode from there anyway) and stops
    one frame after ``hi``. scdet scores a frame against the two before it, so every frame but the
    first two it sees is scored as in the full pass, whatever the frame rate, and a change found on
    any of them is kept (one outside (lo, hi] is one the full pass finds too).
    """
    start, _, hi = window
    hits: list[int] = []
    index = -1

    async def on_line(line: str) -> None:
        nonlocal index
        if m := _FRAME.search(line):
            index = int(m.group(1))
        elif (m := _TIME.search(line)) and (start is None or index >= 2):
            hits.append(max(0, round(float(m.group(1)) * 1000)))

    # Timestamps as the full pass sees them (counted from the first frame), so scdet prints the same times.
    chain = (
        f"setpts=PTS-({first}),{_SMALL},scdet=threshold={threshold:g},metadata=mode=print:key=lavfi.scd.time"
    )
    # From the file's start scdet sees exactly what the full pass sees, from its first frame on.
    opts = ["-copyts"] if start is None else ["-copyts", "-ss", _ffmpeg_seconds(clock.seconds(start))]
    if hi is not None:
        opts += ["-to", _ffmpeg_seconds(clock.seconds(hi) + clock.frame_s)]
    await filter_pass(path, _WHAT, "v", chain, on_line, input_opts=opts)
    return hits


def _ffmpeg_seconds(seconds: Fraction) -> str:
    # ffmpeg counts in microseconds; rounding down keeps a keyframe's own time from skipping it.
    return f"{max(Fraction(0), seconds) * 1_000_000 // 1}us"


def _clock_of(path: Path) -> _Clock:
    import av

    with av.open(str(path), metadata_errors="replace") as container:
        video = container.streams.video[0]
        rate = video.average_rate or video.base_rate or Fraction(25)
        start = container.start_time or 0
        return _Clock(
            time_base=Fraction(video.time_base or Fraction(1, 90000)),
            start_s=Fraction(start, 1_000_000),
            frame_s=1 / Fraction(rate),
            intra_only=bool(video.codec_context.codec.intra_only),
        )
