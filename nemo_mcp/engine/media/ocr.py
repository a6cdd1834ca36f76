"""On-screen text: one frame per scene read with RapidOCR, its heading told apart from the body.

A slide's heading is what a viewer reads first: the largest line, and of lines that large the
topmost. RapidOCR's PP-OCR models (Chinese and English in one recogniser) ship inside its wheel,
so reading needs no download. RapidOCR, onnxruntime and PyAV are imported only when a frame is
read, so start-up does not pay for them.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import anyio.to_thread

from nemo_mcp.engine.media.errors import MediaError
from nemo_mcp.engine.media.whisper_models import Progress

__all__ = [
    "SCENE_FRAME_DELAY_MS",
    "SceneText",
    "TextLine",
    "ocr_available",
    "read_scene_text",
    "scenes_to_read",
    "split_heading",
]

logger = logging.getLogger(__name__)

# A slide often fades or builds in: the frame read is taken a little after the scene starts.
SCENE_FRAME_DELAY_MS: Final = 700
# Lines the recogniser is less sure of than this are left out (stray marks, textures).
_MIN_SCORE: Final = 0.6
# A lone line counts as a heading only in the top part of the frame (lower down it is a caption).
_LONE_HEADING_TOP: Final = 0.5
# A scene shorter than this is a transition or a slide building up, not a slide to read.
MIN_SCENE_MS: Final = 1500
# A scene costs about a second to read on a busy two-core laptop. Reading is long work under the
# wait budget (the call that needs it returns with progress and a later one picks it up), so a
# long lecture's slides are all read; past this many (a screen recording changes "scene" all the
# time) the longest scenes are read, as those are the ones a viewer reads too.
MAX_SCENES: Final = 300
# Scenes read per worker-thread call: a cancelled reading stops after at most this many more.
_BATCH: Final = 4
_MAX_WIDTH: Final = 1280


@dataclass(frozen=True)
class TextLine:
    """One line of text found in a frame, with its place (pixels from the top) and its height."""

    text: str
    top: float
    height: float


@dataclass(frozen=True)
class SceneText:
    """What a scene shows in writing: the heading (empty when none stands out) and the other lines."""

    start_ms: int
    heading: str
    body: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"s": self.start_ms, "heading": self.heading, "body": list(self.body)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SceneText:
        return cls(int(data["s"]), str(data["heading"]), tuple(str(t) for t in data["body"]))


def split_heading(lines: Sequence[TextLine], frame_height: float) -> tuple[str, tuple[str, ...]]:
    """The heading of a frame's lines and the body lines, both in reading order.

    The heading is the topmost of the tallest lines, joined with the line under it when that
    one is as tall (a heading wrapped onto two lines). With other lines it must stand out (a
    fifth taller than their median); alone, it must sit in the top half of the frame. Lines
    without two letters (a running timecode, a slide number) are left out.
    """
    # Timecodes, page numbers and counters carry no words: they are never a heading.
    ordered = sorted((line for line in lines if _has_words(line.text)), key=lambda line: line.top)
    if not ordered:
        return "", ()
    tallest = max(line.height for line in ordered)
    big = [line for line in ordered if line.height >= 0.85 * tallest]
    rest = [line for line in ordered if line.height < 0.85 * tallest]
    if rest:
        stands_out = tallest >= 1.2 * statistics.median(line.height for line in rest)
    else:
        stands_out = len(big) <= 2 and big[0].top < _LONE_HEADING_TOP * frame_height
    if not stands_out:
        return "", tuple(line.text for line in ordered)
    head = [big[0]]
    nxt = big[1] if len(big) > 1 else None
    if nxt is not None and nxt.top - (head[0].top + head[0].height) < 0.8 * head[0].height:
        head.append(nxt)
    heading = " ".join(line.text.strip() for line in head)
    return heading, tuple(line.text for line in ordered if line not in head)


def _has_words(text: str) -> bool:
    return sum(ch.isalpha() for ch in text) >= 2


def ocr_available() -> bool:
    """Whether RapidOCR and its runtime are installed (found, not loaded: loading takes a second)."""
    return all(importlib.util.find_spec(name) is not None for name in ("rapidocr", "onnxruntime"))


@functools.cache
def _engine() -> Any:
    from rapidocr import RapidOCR

    # One engine per process: loading the three models costs about a second.
    return RapidOCR(params={"Global.log_level": "error"})


def _lines_of(frame: Any) -> list[TextLine]:
    result = _engine()(frame)
    boxes, texts, scores = result.boxes, result.txts, result.scores
    if boxes is None or texts is None:
        return []
    out: list[TextLine] = []
    for box, text, score in zip(boxes, texts, scores or [1.0] * len(texts), strict=False):
        ys = [float(point[1]) for point in box]
        if text.strip() and float(score) >= _MIN_SCORE:
            out.append(TextLine(text.strip(), min(ys), max(ys) - min(ys)))
    return out


def _frames(path: Path, times_ms: Sequence[int]) -> list[tuple[Any, int]]:
    """The picture (BGR array, as OpenCV holds it) at or just after each time, with its height."""
    import av

    frames: list[tuple[Any, int]] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for t in times_ms:
            container.seek(int(t * 1000), any_frame=False, backward=True)  # microseconds (AV_TIME_BASE)
            picked = None
            for frame in container.decode(stream):
                picked = frame
                if frame.time is not None and frame.time * 1000 >= t:
                    break
            if picked is None:
                continue
            if picked.width > _MAX_WIDTH:
                picked = picked.reformat(
                    width=_MAX_WIDTH, height=round(picked.height * _MAX_WIDTH / picked.width)
                )
            frames.append((picked.to_ndarray(format="bgr24"), picked.height))
    return frames


def _read_batch(path: Path, starts: Sequence[int], times: Sequence[int]) -> list[SceneText]:
    """The text of the scenes starting at ``starts``, each read from its frame at ``times``."""
    try:
        frames = _frames(path, times)
    except Exception as exc:  # PyAV raises its own errors for broken or unreadable streams
        raise MediaError(
            f"could not read the pictures of {path.name} ({type(exc).__name__}): upload it again"
        ) from exc
    out: list[SceneText] = []
    for start, (frame, height) in zip(starts, frames, strict=False):
        heading, body = split_heading(_lines_of(frame), height)
        out.append(SceneText(start, heading, body))
    return out


def scenes_to_read(scene_starts_ms: Sequence[int], duration_ms: int) -> list[tuple[int, int]]:
    """The (start, end) of the scenes worth reading, in order: the first always, then those that last.

    Past :data:`MAX_SCENES` the longest are kept.
    """
    starts = sorted({0, *(int(s) for s in scene_starts_ms if 0 <= s < duration_ms)})
    spans = list(zip(starts, [*starts[1:], duration_ms], strict=True))
    kept = [spans[0], *(sp for sp in spans[1:] if sp[1] - sp[0] >= MIN_SCENE_MS)]
    if len(kept) > MAX_SCENES:
        logger.info("%d scenes last long enough to read; reading the %d longest", len(kept), MAX_SCENES)
        longest = sorted(kept[1:], key=lambda sp: sp[0] - sp[1])[: MAX_SCENES - 1]
        kept = [kept[0], *sorted(longest)]
    return kept


async def read_scene_text(
    path: Path, scene_starts_ms: Sequence[int], *, duration_ms: int, on_progress: Progress | None = None
) -> list[SceneText]:
    """The text each scene shows, read from one frame a little after its start.

    ``scene_starts_ms`` are the scenes' starts (the first scene starts at 0 whether listed or not).
    """
    if not ocr_available():
        raise MediaError(
            "reading on-screen text needs RapidOCR: reinstall nemo-mcp (pip install --upgrade nemo-mcp), "
            "which brings rapidocr and onnxruntime"
        )
    spans = scenes_to_read(scene_starts_ms, duration_ms)
    times = [min(s + SCENE_FRAME_DELAY_MS, max(s, (s + e) // 2)) for s, e in spans]
    out: list[SceneText] = []
    # A few scenes per thread call: a cancelled edit (the user pressed stop) frees the CPU and
    # the analysis lock within a few seconds instead of reading to the end.
    for i in range(0, len(spans), _BATCH):
        starts = [s for s, _ in spans[i : i + _BATCH]]
        out += await anyio.to_thread.run_sync(_read_batch, path, starts, times[i : i + _BATCH])
        if on_progress is not None:
            on_progress("ocr", min(i + _BATCH, len(spans)), len(spans))
    return out
