"""Checks of an exported MP4: its length against the timeline, its size, its sound, and long
black, frozen or silent stretches the timeline did not ask for.

One ffmpeg pass decodes the file once, thins the picture to a few small frames a second
before any filter looks at it, and runs ``blackdetect``, ``freezedetect`` and
``silencedetect`` side by side. Both backends use it: the local engine inside its render
job, the cloud client on the MP4 it downloaded.

A file whose keyframes are never more than :data:`MIN_PROBLEM_S` apart (a smart render copies its
source's GOPs, which screen recorders and cameras key every second or two) is read sparsely
instead, with the same results: one pass decodes only the keyframes (looking for black) and all
of the sound (silence); then the dense pass above runs only over the windows where a problem can
be, around each black keyframe and over each silence. A black stretch longer than
:data:`MIN_PROBLEM_S` always holds a keyframe, and a frozen picture is only reported where nothing
is heard, so nothing the dense pass would report is missed, and its times are as precise (to
``1 / CHECK_FPS`` s). A 45-minute 1080p lecture is checked in seconds instead of minutes.

What the timeline asks for comes from the draft alone (:func:`expected_of`), so the cloud's
drafts are read the same way as the engine's:

- a still is expected wherever the main picture is a card (a generated title or summary
  slide) or an image, and in the whole-output fades; there a black or frozen picture is the
  edit, not a fault;
- silence is expected wherever nothing audible is planned: no video clip with its sound
  on (volume above 0, and a source that has sound, where that is known) and no audio clip
  above 0.

A stretch is reported only when more than :data:`MIN_PROBLEM_S` of it lies outside what was
expected. A frozen stretch that is black anyway is reported once, as black. A picture that holds
while the sound goes on is how a recorded slide lecture looks, so a frozen picture is reported
only where nothing is heard either (a stalled picture over dead air), or where the file has no sound.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import anyio
import anyio.to_thread

from nemo_mcp.draft import (
    AUDIO,
    VIDEO,
    Interval,
    complement,
    draft_duration_ms,
    normalise,
    peek_meta,
    track_views,
)
from nemo_mcp.engine.ffmpeg import FFmpegError, ffmpeg_command, run_ffmpeg
from nemo_mcp.engine.media.errors import MediaError
from nemo_mcp.engine.media.probe import probe

logger = logging.getLogger(__name__)

ProblemKind = Literal["black", "frozen", "silent"]

#: Stretches up to this long are ordinary (a pause for breath, a held slide between cuts).
MIN_PROBLEM_S = 2.0
#: The picture is thinned to this rate and width before the detectors see it: enough for stretches
#: of seconds, and it keeps the filters' share of the pass small beside the decoding.
CHECK_FPS = 5
CHECK_WIDTH = 160
#: Below this level (dBFS) the sound counts as silence: digital silence and room hiss, not quiet speech.
SILENCE_DB = -50
#: Picture change below this (freezedetect's mean absolute difference, 0–1) counts as frozen.
FREEZE_NOISE = 0.003
_IMAGE_NAME = re.compile(r"\.(png|jpe?g|webp|gif|bmp|tiff?|heic|avif)$", re.IGNORECASE)


@dataclass(frozen=True)
class Expected:
    """What the timeline asks for: its length, where a still picture and where silence are the edit."""

    timeline_ms: int
    still: tuple[Interval, ...] = ()
    quiet: tuple[Interval, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "timeline_ms": self.timeline_ms,
            "still": [list(span) for span in self.still],
            "quiet": [list(span) for span in self.quiet],
        }

    @classmethod
    def from_dict(cls, data: Any) -> Expected:
        """Read :meth:`as_dict`'s form back; anything unreadable expects nothing in particular."""
        if not isinstance(data, dict):
            return cls(0)

        def spans(key: str) -> tuple[Interval, ...]:
            raw = data.get(key)
            items = raw if isinstance(raw, list) else []
            return tuple(
                (int(a), int(b)) for a, b in (i for i in items if isinstance(i, list | tuple) and len(i) == 2)
            )

        total = data.get("timeline_ms")
        return cls(int(total) if isinstance(total, int | float) else 0, spans("still"), spans("quiet"))


@dataclass(frozen=True)
class Problem:
    kind: ProblemKind
    start_s: float
    end_s: float


@dataclass(frozen=True)
class ExportCheck:
    """What the check found in one MP4."""

    duration_s: float
    timeline_s: float
    size_bytes: int
    audio: bool
    problems: tuple[Problem, ...]

    def as_dict(self) -> dict[str, Any]:
        """The check as plain JSON (the render status and the tool result carry it this way)."""
        return {
            "duration_s": self.duration_s,
            "timeline_s": self.timeline_s,
            "size_bytes": self.size_bytes,
            "audio": self.audio,
            "problems": [{"kind": p.kind, "start_s": p.start_s, "end_s": p.end_s} for p in self.problems],
        }


def _is_still(meta: dict[str, Any], stills: Collection[str]) -> bool:
    if isinstance(meta.get("card"), dict):
        return True
    src = str(meta.get("src") or "")
    return (
        src in stills
        or bool(_IMAGE_NAME.search(src.split("?", 1)[0]))
        or bool(_IMAGE_NAME.search(str(meta.get("name") or "")))
    )


def expected_of(draft: Any, *, stills: Collection[str] = (), mute: Collection[str] = ()) -> Expected:
    """What ``draft`` asks for. ``stills`` are media ids known to be pictures, ``mute`` ids known to have no sound."""
    total = draft_duration_ms(draft)
    still: list[Interval] = []
    audible: list[Interval] = []
    for track in track_views(draft):
        if track.tt not in (VIDEO, AUDIO):
            continue
        for seg in track.segments:
            raw = seg.data.get("m")
            meta: dict[str, Any] = raw if isinstance(raw, dict) else {}
            span = (seg.start_ms, seg.end_ms)
            is_still = track.tt == VIDEO and _is_still(meta, stills)
            if is_still:
                still.append(span)
            if (
                not is_still
                and (seg.volume is None or seg.volume > 0)
                and str(meta.get("src") or "") not in mute
            ):
                audible.append(span)
    project = peek_meta(draft)
    fade_in, fade_out = _ms(project.get("fade_in_ms")), _ms(project.get("fade_out_ms"))
    still += [(0, fade_in), (total - fade_out, total)]
    return Expected(
        timeline_ms=total,
        still=tuple(normalise(still, 0, total)),
        quiet=tuple(complement(audible, 0, total)),
    )


def _ms(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) and value > 0 else 0


# -- reading ffmpeg's detectors -------------------------------------------------------------------

_NUMBER = r"(-?[0-9.]+(?:e[-+]?[0-9]+)?)"
_BLACK = re.compile(rf"black_start:\s*{_NUMBER}\s+black_end:\s*{_NUMBER}")
_FREEZE_START = re.compile(rf"freezedetect\.freeze_start:\s*{_NUMBER}")
_FREEZE_END = re.compile(rf"freezedetect\.freeze_end:\s*{_NUMBER}")
_SILENCE_START = re.compile(rf"silence_start:\s*{_NUMBER}")
_SILENCE_END = re.compile(rf"silence_end:\s*{_NUMBER}")


@dataclass
class _Found:
    """The stretches the detectors reported, in seconds; an open one has ``None`` as its end."""

    black: list[tuple[float, float | None]]
    frozen: list[tuple[float, float | None]]
    silent: list[tuple[float, float | None]]

    def line(self, text: str) -> None:
        if m := _BLACK.search(text):
            self.black.append((float(m[1]), float(m[2])))
        elif m := _FREEZE_START.search(text):
            self.frozen.append((float(m[1]), None))
        elif (m := _FREEZE_END.search(text)) and self.frozen and self.frozen[-1][1] is None:
            self.frozen[-1] = (self.frozen[-1][0], float(m[1]))
        elif m := _SILENCE_START.search(text):
            self.silent.append((max(0.0, float(m[1])), None))
        elif (m := _SILENCE_END.search(text)) and self.silent and self.silent[-1][1] is None:
            self.silent[-1] = (self.silent[-1][0], float(m[1]))


def _closed(found: Iterable[tuple[float, float | None]], end_s: float) -> list[Interval]:
    """Detected stretches in ms; one still open when the file ended runs to its end."""
    return [(round(a * 1000), round((end_s if b is None else b) * 1000)) for a, b in found]


def _unexpected(
    stretches: Iterable[Interval], allowed: Iterable[Interval], kind: ProblemKind
) -> list[Problem]:
    """The parts of ``stretches`` outside ``allowed`` that last longer than :data:`MIN_PROBLEM_S`."""
    allowed = list(allowed)
    out: list[Problem] = []
    for a, b in stretches:
        for lo, hi in complement(allowed, a, b):
            if hi - lo > MIN_PROBLEM_S * 1000:
                out.append(Problem(kind, round(lo / 1000, 2), round(hi / 1000, 2)))
    return out


def _check_argv(
    path: Path, *, has_video: bool, has_audio: bool, window: tuple[float, float] | None = None
) -> list[str]:
    """One decoding pass: the picture thinned first (few, small frames), then all three detectors.

    With a ``window`` (start and end, s) only that part is read; times stay the file's own.
    """
    video = (
        f"fps={CHECK_FPS},scale={CHECK_WIDTH}:-2:flags=neighbor,"
        f"blackdetect=d={MIN_PROBLEM_S}:pix_th=0.10,freezedetect=n={FREEZE_NOISE}:d={MIN_PROBLEM_S}"
    )
    audio = f"silencedetect=n={SILENCE_DB}dB:d={MIN_PROBLEM_S}"
    part = [] if window is None else ["-ss", f"{window[0]:.3f}", "-to", f"{window[1]:.3f}", "-copyts"]
    return ffmpeg_command(
        "-v", "info", "-nostats", "-progress", "pipe:1", *part, "-i", str(path), "-sn", "-dn",
        *(["-vf", video] if has_video else ["-vn"]),
        *(["-af", audio] if has_audio else ["-an"]),
        "-f", "null", "-",
    )  # fmt: skip


def _sparse_argv(path: Path) -> list[str]:
    """The sparse pass: only keyframes decoded, any black one reported; all of the sound, for silence."""
    video = f"scale={CHECK_WIDTH}:-2:flags=neighbor,blackdetect=d=0:pix_th=0.10"
    audio = f"silencedetect=n={SILENCE_DB}dB:d={MIN_PROBLEM_S}"
    return ffmpeg_command(
        "-v", "info", "-nostats", "-progress", "pipe:1", "-skip_frame:v", "nokey", "-i", str(path),
        "-sn", "-dn", "-vf", video, "-af", audio, "-f", "null", "-",
    )  # fmt: skip


def keyframe_gap_s(path: Path) -> float | None:
    """The longest stretch of ``path``'s picture without a keyframe (from the start to the end), in s;
    ``None`` when it has no video or its packets cannot be read."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return None
            stream = container.streams.video[0]
            base = stream.time_base
            keys, last = [], None
            for packet in container.demux(stream):
                if packet.pts is None:
                    continue
                end = packet.pts + (packet.duration or 0)
                last = end if last is None else max(last, end)
                if packet.is_keyframe:
                    keys.append(packet.pts)
    except (av.error.FFmpegError, OSError, ValueError):
        return None
    if not keys or last is None or base is None:
        return None
    start = min(keys[0], stream.start_time or 0)
    times = sorted({start, *keys, last})
    return float(max((b - a for a, b in itertools.pairwise(times)), default=0) * base)


def sparse_windows(
    black: Iterable[Interval], silent: Iterable[Interval], still: Iterable[Interval], gap_ms: int, end_ms: int
) -> list[Interval]:
    """Where the dense pass must look after the sparse one (ms): from a keyframe gap before each black
    keyframe run to its end (the first keyframe seen not black), and over every silence not on a still."""
    windows = [(a - gap_ms, b + gap_ms) for a, b in black]
    for a, b in silent:
        windows += [(lo, hi) for lo, hi in complement(still, a, b) if hi - lo > MIN_PROBLEM_S * 1000]
    return normalise(windows, 0, end_ms)


async def check_export(
    path: Path,
    expected: Expected,
    *,
    on_progress: Callable[[float], Awaitable[None]] | None = None,
) -> ExportCheck:
    """Probe and scan the MP4 at ``path`` against ``expected``; ``on_progress`` gets 0–1 as it reads."""
    path = Path(path)
    info = await probe(path)
    duration_s = info.duration_ms / 1000
    gap_s = None
    if info.has_video and info.has_audio:
        gap_s = await anyio.to_thread.run_sync(keyframe_gap_s, path)
    if gap_s is not None and gap_s <= MIN_PROBLEM_S:
        found = await _scan_sparse(path, expected, duration_s, gap_s, on_progress)
    else:
        found = _Found([], [], [])
        if info.has_video or info.has_audio:
            argv = _check_argv(path, has_video=info.has_video, has_audio=info.has_audio)
            await _scan(argv, found, duration_s, on_progress)
    if not info.has_audio:  # no sound at all: silent wherever the timeline planned sound
        found.silent = [(0.0, duration_s)]
    black = _closed(found.black, duration_s)
    silent = _closed(found.silent, duration_s)
    # Where sound is heard, a held picture is a slide being talked over: allowed like a still.
    heard = complement(silent, 0, max(expected.timeline_ms, info.duration_ms))
    problems = [
        *_unexpected(black, expected.still, "black"),
        *_unexpected(_closed(found.frozen, duration_s), [*expected.still, *black, *heard], "frozen"),
        *_unexpected(silent, expected.quiet, "silent"),
    ]
    return ExportCheck(
        duration_s=round(duration_s, 2),
        timeline_s=round(expected.timeline_ms / 1000, 2),
        size_bytes=(await anyio.Path(path).stat()).st_size,
        audio=info.has_audio,
        problems=tuple(sorted(problems, key=lambda p: (p.start_s, p.kind))),
    )


async def _scan(
    argv: list[str],
    found: _Found,
    duration_s: float,
    on_progress: Callable[[float], Awaitable[None]] | None,
    share: tuple[float, float] = (0.0, 1.0),
) -> None:
    """Run one detector pass into ``found``; its progress is mapped onto ``share`` of the whole check."""

    async def on_stderr(line: str) -> None:
        found.line(line)

    async def on_stdout(line: str) -> None:
        key, _, value = line.partition("=")
        if on_progress is not None and key == "out_time_us" and value.strip().isdigit() and duration_s > 0:
            done = min(1.0, int(value) / 1e6 / duration_s)
            await on_progress(share[0] + (share[1] - share[0]) * done)

    try:
        await run_ffmpeg(argv, on_stderr_line=on_stderr, on_stdout_line=on_stdout)
    except FFmpegError as exc:
        raise MediaError(f"the exported file could not be checked: {exc}") from None


async def _scan_sparse(
    path: Path,
    expected: Expected,
    duration_s: float,
    gap_s: float,
    on_progress: Callable[[float], Awaitable[None]] | None,
) -> _Found:
    """The sparse pass, then the dense one over the windows it leaves (see the module's docstring)."""
    sparse = _Found([], [], [])
    await _scan(_sparse_argv(path), sparse, duration_s, on_progress, (0.0, 0.9))
    end_ms = round(duration_s * 1000)
    windows = sparse_windows(
        _closed(sparse.black, duration_s), _closed(sparse.silent, duration_s), expected.still,
        round(gap_s * 1000) + 1, end_ms,
    )  # fmt: skip
    found = _Found([], [], sparse.silent)
    for n, (lo, hi) in enumerate(windows):
        argv = _check_argv(path, has_video=True, has_audio=False, window=(lo / 1000, hi / 1000))
        seen = _Found([], [], [])
        await _scan(argv, seen, duration_s, None)
        # A stretch still open when the window ended ran to its end (the window holds all of it).
        found.black += [(start, hi / 1000 if stop is None else stop) for start, stop in seen.black]
        found.frozen += [(start, hi / 1000 if stop is None else stop) for start, stop in seen.frozen]
        if on_progress is not None:
            await on_progress(0.9 + 0.1 * (n + 1) / len(windows))
    logger.debug(
        "export check: keyframes %.2f s apart, %d windows read in full, %d black, %d frozen",
        gap_s, len(windows), len(found.black), len(found.frozen),
    )  # fmt: skip
    return found
