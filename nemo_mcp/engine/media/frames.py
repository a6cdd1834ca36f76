"""Pictures of a media file at given times, fast: seek to the keyframe before each, decode forward.

A contact sheet of a long lecture needs a dozen pictures, not every frame: each time is reached
by seeking to the keyframe before it and decoding forward to it (a few dozen frames at most),
and each picture is scaled down by the decoder's scaler before it becomes a Pillow image, so a
1080p source never costs more than its small copies in memory. Times close together (within a
keyframe interval) are reached by decoding on instead of seeking back.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nemo_mcp.engine.media.errors import REEXPORT, MediaError

if TYPE_CHECKING:
    from PIL.Image import Image

#: A later time this close after the last picture is reached by decoding on rather than seeking.
_DECODE_ON_S = 2.0


def fit(width: int, height: int, box_w: int, box_h: int) -> tuple[int, int]:
    """``width`` x ``height`` scaled to fit inside ``box_w`` x ``box_h`` (never up), even sides."""
    scale = min(1.0, box_w / max(1, width), box_h / max(1, height))
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def grab_frames(path: Path, times_s: Sequence[float], box: tuple[int, int]) -> list[Image]:
    """The picture shown at each of ``times_s`` (sorted or not), each fitted inside ``box``.

    An image file gives its one picture for every time. Raises :class:`MediaError` for a file
    without pictures or one that cannot be decoded.
    """
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise MediaError(f"{path.name} has no pictures (it is sound only): preview a video instead")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            formats = container.format.name.split(",")
            if "image2" in formats or any(f.endswith("_pipe") for f in formats):
                # A picture file: its one picture stands for every time.
                return [_Decoder(container, stream, box).at(0.0)] * len(times_s)
            order = sorted(range(len(times_s)), key=lambda i: times_s[i])
            found: dict[int, Image] = {}
            decoder = _Decoder(container, stream, box)
            for i in order:
                found[i] = decoder.at(times_s[i])
            return [found[i] for i in range(len(times_s))]
    except MediaError:
        raise
    except Exception as exc:  # PyAV raises its own errors for broken or unreadable streams
        raise MediaError(
            f"could not read the pictures of {path.name} ({type(exc).__name__}): {REEXPORT}"
        ) from exc


class _Decoder:
    """Walks one video stream forward, seeking only when the next time is far ahead (or behind)."""

    def __init__(self, container: Any, stream: Any, box: tuple[int, int]) -> None:
        self._container, self._stream, self._box = container, stream, box
        self._frames: Any = None
        self._last: Any = None  # the last decoded frame

    def _seek(self, t: float) -> None:
        if t > 0 or self._frames is not None:  # a fresh container is at its start already
            # Microseconds (AV_TIME_BASE): to the keyframe at or before t.
            self._container.seek(max(0, int(t * 1_000_000)), any_frame=False, backward=True)
        self._frames = self._container.decode(self._stream)
        self._last = None

    def at(self, t: float) -> Image:
        last_t = None if self._last is None or self._last.time is None else self._last.time
        if self._frames is None or last_t is None or t < last_t or t - last_t > _DECODE_ON_S:
            self._seek(t)
        picked = self._last
        for frame in self._frames:
            if frame.time is not None and frame.time > t + 1e-3 and picked is not None:
                self._last = frame
                break
            picked = self._last = frame
        if picked is None:
            raise MediaError("no picture could be decoded there")
        w, h = fit(picked.width, picked.height, *self._box)
        image: Image = picked.to_image(width=w, height=h)
        return image


def keyframes_before(path: Path, times_s: Sequence[float]) -> list[float | None]:
    """For each time, the time of the last keyframe at or before it (None where it cannot be told).

    Read from the packets alone, nothing decoded: a seek and one packet per time. A picture at a
    keyframe costs one frame to decode, where one between keyframes costs every frame since the last.
    """
    import av

    found: list[float | None] = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return [None] * len(times_s)
            stream = container.streams.video[0]
            for t in times_s:
                container.seek(max(0, int(t * 1_000_000)), any_frame=False, backward=True)
                packet = next((p for p in container.demux(stream) if p.pts is not None), None)
                pts = None if packet is None else packet.pts
                base = None if packet is None else packet.time_base
                at = None if pts is None or base is None else float(pts * base)
                found.append(at if at is not None and at <= t + 1e-3 else None)
    except Exception:  # a file whose packets cannot be read is decoded the slow, exact way
        return [None] * len(times_s)
    return found


def snap_to_keyframes(path: Path, times_s: Sequence[float], tolerance_s: float) -> list[float]:
    """Each time moved back to the keyframe before it when that is at most ``tolerance_s`` earlier."""
    keys = keyframes_before(path, times_s)
    return [k if k is not None and t - k <= tolerance_s else t for t, k in zip(times_s, keys, strict=True)]
