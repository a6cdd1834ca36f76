"""What a media file holds: its kind, length, picture size and streams.

Containers are opened with PyAV, whose wheels carry FFmpeg's own libraries, so the facts
come from the demuxer's fields instead of the text ``ffmpeg -i`` prints. All PyAV work
runs in a worker thread under one time limit, so a slow or hostile file never blocks
the event loop. Besides reading the header, :func:`probe` decodes a moment from the end:
a file cut short by an interrupted upload still has a complete header when its index
sits at the front. A file whose container states no length (a live recording, a piped
WebM) is measured by reading its packets.
"""

from __future__ import annotations

import contextlib
import functools
import stat
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import anyio
import anyio.to_thread

from nemo_mcp.engine.ffmpeg import scrub_paths
from nemo_mcp.engine.media.errors import REEXPORT, MediaError
from nemo_mcp.engine.media.subtitles import (
    MAX_SUBTITLE_BYTES,
    SUBTITLE_SUFFIXES,
    parse_subtitles,
    read_subtitle_text,
)

if TYPE_CHECKING:
    from av.audio.frame import AudioFrame
    from av.audio.stream import AudioStream
    from av.container import InputContainer
    from av.packet import Packet
    from av.stream import Stream
    from av.video.frame import VideoFrame
    from av.video.stream import VideoStream

MediaKind = Literal["video", "audio", "image", "subtitle"]

# Reading a header is quick; a file that keeps the decoder busy longer is not a usable upload.
PROBE_TIME_LIMIT_S = 60.0
# The decode check reads this much from the end of the file.
_TAIL_CHECK_S = 1.5
# Codecs of pictures; a stream of one with no stated length is a still image.
_IMAGE_CODECS = frozenset({"png", "mjpeg", "webp", "bmp", "tiff", "gif", "jpegls", "jpeg2000", "jpegxl"})


@dataclass(frozen=True)
class MediaInfo:
    """The facts about one file that editing needs.

    An image has ``duration_ms`` 0 and ``has_video`` True (it is a picture); a subtitle
    file has neither video nor audio and lasts until its last cue ends. ``width`` and
    ``height`` are as displayed, i.e. after the file's rotation flag is applied.
    """

    kind: MediaKind
    duration_ms: int
    width: int | None
    height: int | None
    fps: float | None
    has_audio: bool
    has_video: bool
    video_codec: str | None = None
    audio_codec: str | None = None


async def probe(path: Path) -> MediaInfo:
    """What ``path`` holds. Unreadable, empty, corrupt or truncated files raise :class:`MediaError`."""
    path = Path(path)
    name = path.name
    try:
        st = await anyio.Path(path).stat()
        if stat.S_ISREG(st.st_mode):
            # Opening it here gives a clear "permission denied" instead of the demuxer's version of it.
            async with await anyio.open_file(path, "rb") as handle:
                await handle.read(1)
    except FileNotFoundError:
        raise MediaError(f"the file {name} does not exist: check the path and try again") from None
    except OSError as exc:
        raise MediaError(f"the file {name} cannot be read ({exc.strerror}): check its permissions") from None
    if not stat.S_ISREG(st.st_mode):
        raise MediaError(f"{name} is not a regular file: pass a video, audio, image or subtitle file")
    if st.st_size == 0:
        raise MediaError(f"the file {name} is empty (0 bytes): copy or upload it again")
    if path.suffix.lower() in SUBTITLE_SUFFIXES:
        if st.st_size > MAX_SUBTITLE_BYTES:
            raise MediaError(
                f"the subtitle file {name} is larger than 10 MB: check it is really SRT or WebVTT"
            )
        return await _probe_subtitles(path)

    # The worker watches the same deadline, so an abandoned thread stops soon after we give up.
    deadline = time.monotonic() + PROBE_TIME_LIMIT_S
    try:
        with anyio.fail_after(PROBE_TIME_LIMIT_S):
            return await anyio.to_thread.run_sync(
                functools.partial(_inspect, path, deadline), abandon_on_cancel=True
            )
    except TimeoutError:
        raise _too_long(name) from None


async def _probe_subtitles(path: Path) -> MediaInfo:
    data = await anyio.Path(path).read_bytes()
    cues = await anyio.to_thread.run_sync(lambda: parse_subtitles(read_subtitle_text(data)))
    if not cues:
        raise MediaError(
            f"the file {path.name} has no subtitle cues: save it as SRT or WebVTT (with 00:00:01,000 --> times)"
        )
    return MediaInfo(
        kind="subtitle",
        duration_ms=max(c.end_ms for c in cues),
        width=None,
        height=None,
        fps=None,
        has_audio=False,
        has_video=False,
    )


def _too_long(name: str) -> MediaError:
    return MediaError(f"reading {name} took too long: {REEXPORT}")


# --------------------------------------------------------------------------- the worker


@dataclass(frozen=True)
class _Header:
    """What the container says before anything is decoded."""

    formats: frozenset[str]
    duration_ms: int | None
    start_s: float | None
    video: VideoStream | None
    audio: AudioStream | None


class _Clock:
    """The deadline the worker thread checks between packets."""

    def __init__(self, name: str, deadline: float) -> None:
        self.name = name
        self.deadline = deadline

    def left(self) -> float:
        return max(0.001, self.deadline - time.monotonic())

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise _too_long(self.name)


def _open(path: Path, clock: _Clock) -> InputContainer:
    import av

    try:
        # The timeout bounds each blocking read inside FFmpeg, where our own checks cannot reach.
        return av.open(str(path), metadata_errors="replace", timeout=clock.left())
    except av.ExitError:
        raise _too_long(path.name) from None
    except av.FFmpegError as exc:
        reason = scrub_paths(exc.strerror or str(exc), [str(path)])
        raise MediaError(
            f"the file {path.name} is not a readable video, audio or image file ({reason}): {REEXPORT}"
        ) from None


def _inspect(path: Path, deadline: float) -> MediaInfo:
    """The blocking part of :func:`probe`: header, length and decode check, with PyAV."""
    clock = _Clock(path.name, deadline)
    with _open(path, clock) as container:
        header = _read_header(container)
        if header.video is None and header.audio is None:
            raise MediaError(f"the file {path.name} has no video, audio or picture in it: {REEXPORT}")
        kind = _kind_of(header)
        duration_ms = 0
        if kind != "image":
            if header.duration_ms is not None:
                duration_ms = header.duration_ms
            else:
                duration_ms = _scan_duration(path, kind, clock)
            if duration_ms <= 0:
                raise MediaError(f"the file {path.name} has no playable length: {REEXPORT}")
        rotation = _check_decodes(container, header, kind, duration_ms, clock)
        # Streams are read while their container is open.
        return _info(header, kind, duration_ms, rotation)


def _read_header(container: InputContainer) -> _Header:
    import av

    # Cover art and preview pictures ride along as video streams but are not the video.
    not_motion = av.stream.Disposition.attached_pic | av.stream.Disposition.timed_thumbnails
    video = next((s for s in container.streams.video if not s.disposition & not_motion), None)
    duration = container.duration
    return _Header(
        formats=frozenset(container.format.name.split(",")),
        duration_ms=round(duration / 1000) if duration is not None and duration >= 0 else None,
        start_s=container.start_time / 1_000_000 if container.start_time is not None else None,
        video=video,
        audio=next(iter(container.streams.audio), None),
    )


def _codec_name(stream: Stream) -> str:
    # The codec's own name ("mp3"), not the decoder's ("mp3float"), as ffmpeg reports it.
    return stream.codec_context.codec.canonical_name


def _kind_of(header: _Header) -> MediaKind:
    if header.video is None:
        return "audio"
    formats = header.formats
    if any(f.endswith("_pipe") for f in formats) or "image2" in formats:
        return "image"
    # A GIF of one frame states the length of a single frame, or none.
    if "gif" in formats or "webp" in formats:
        still = header.duration_ms is None or header.duration_ms <= 100
    else:
        still = _codec_name(header.video) in _IMAGE_CODECS and header.duration_ms is None
    return "image" if still else "video"


def _info(header: _Header, kind: MediaKind, duration_ms: int, rotation: float) -> MediaInfo:
    video, audio = header.video, header.audio
    width = height = fps = None
    if video is not None:
        width, height = _display_size(video)
        # Phones store portrait video as landscape plus a rotation flag, applied on display.
        if width and height and round(abs(rotation)) % 180 == 90:
            width, height = height, width
        rate = video.average_rate or video.base_rate
        if rate and kind == "video":
            # Two decimals, as ffmpeg states rates ("29.97", "23.98").
            fps = round(float(rate), 2)
    return MediaInfo(
        kind=kind,
        duration_ms=duration_ms,
        width=width,
        height=height,
        fps=fps,
        has_audio=audio is not None and kind != "image",
        has_video=video is not None,
        video_codec=_codec_name(video) if video is not None else None,
        audio_codec=_codec_name(audio) if audio is not None else None,
    )


def _display_size(video: VideoStream) -> tuple[int | None, int | None]:
    """Picture size as shown: non-square pixels (DV, some phones) stretch the width."""
    width, height = video.codec_context.width or None, video.codec_context.height or None
    sar = video.sample_aspect_ratio or video.codec_context.sample_aspect_ratio
    if width and sar and sar > 0 and sar != 1:
        width = max(1, round(width * sar))
    return width, height


def _streams_for(kind: MediaKind, header: _Header) -> list[Stream]:
    streams: list[Stream] = []
    if kind in ("video", "image") and header.video is not None:
        streams.append(header.video)
    if kind in ("video", "audio") and header.audio is not None:
        streams.append(header.audio)
    return streams


def _packets(container: InputContainer, streams: Sequence[Stream], clock: _Clock) -> Iterator[Packet[Stream]]:
    """Packets of ``streams`` until the end, or until the file stops making sense."""
    import av

    try:
        for packet in container.demux(list(streams)):
            clock.check()
            yield packet
    except av.FFmpegError:
        # A damaged stretch ends the reading, as it ends ffmpeg's.
        return


def _scan_duration(path: Path, kind: MediaKind, clock: _Clock) -> int:
    """The length of a file whose header does not state it, by reading every packet (no decoding)."""
    first: Fraction | None = None
    last: Fraction | None = None
    # A container of its own: the decode check needs the first one still at its start.
    with _open(path, clock) as container:
        header = _read_header(container)
        for packet in _packets(container, _streams_for(kind, header), clock):
            stamp = packet.pts if packet.pts is not None else packet.dts
            if stamp is None or packet.time_base is None:
                continue
            begin = stamp * packet.time_base
            end = begin + (packet.duration or 0) * packet.time_base
            first = begin if first is None else min(first, begin)
            last = end if last is None else max(last, end)
    if first is None or last is None:
        return 0
    start = Fraction(header.start_s) if header.start_s is not None else first
    return max(0, round((last - start) * 1000))


def _decoded(
    container: InputContainer, streams: Sequence[Stream], clock: _Clock
) -> Iterator[AudioFrame | VideoFrame]:
    """Frames of ``streams`` from where the container stands; undecodable packets are skipped, as players do."""
    import av

    for packet in _packets(container, streams, clock):
        try:
            frames = packet.decode()
        except av.FFmpegError:
            continue
        yield from (f for f in frames if isinstance(f, av.AudioFrame | av.VideoFrame))


def _first_picture(container: InputContainer, video: VideoStream, clock: _Clock) -> VideoFrame | None:
    import av

    return next((f for f in _decoded(container, [video], clock) if isinstance(f, av.VideoFrame)), None)


def _reaches_end(
    container: InputContainer, header: _Header, kind: MediaKind, duration_ms: int, clock: _Clock
) -> bool:
    """Whether a moment at the end decodes: a truncated file fails here even when its header looks whole."""
    import av

    target = (header.start_s or 0.0) + max(0.0, duration_ms / 1000 - _TAIL_CHECK_S)
    # Not seekable: read on to the end instead, as ffmpeg falls back to.
    with contextlib.suppress(av.FFmpegError):
        container.seek(round(target * 1_000_000))
    # Any stream will do: a transport stream may land between keyframes of its picture.
    return any(_frame_end(f) >= target for f in _decoded(container, _streams_for(kind, header), clock))


def _check_decodes(
    container: InputContainer, header: _Header, kind: MediaKind, duration_ms: int, clock: _Clock
) -> float:
    """Decode the first picture and a moment at the end; returns the picture's rotation in degrees."""
    rotation = 0.0
    if header.video is not None:
        picture = _first_picture(container, header.video, clock)
        if picture is None and kind == "image":
            raise MediaError(
                f"the image {clock.name} cannot be decoded (damaged or incomplete): save it again as PNG or JPEG"
            )
        if picture is None:
            raise _damaged(clock.name, duration_ms)
        rotation = _rotation(picture, header.video)
    if kind != "image" and not _reaches_end(container, header, kind, duration_ms, clock):
        raise _damaged(clock.name, duration_ms)
    return rotation


def _damaged(name: str, duration_ms: int) -> MediaError:
    return MediaError(
        f"the file {name} is damaged or incomplete (it ends before its stated length of "
        f"{duration_ms / 1000:.1f} s, e.g. after an interrupted upload or copy): copy it again or {REEXPORT}"
    )


def _frame_end(frame: AudioFrame | VideoFrame) -> float:
    """When a decoded frame stops showing or sounding, in the stream's seconds."""
    import av

    start = frame.time
    if start is None:
        return float("inf")  # no timestamps: nothing to place it by, so it counts
    if isinstance(frame, av.AudioFrame):
        return start + frame.samples / (frame.sample_rate or 1)
    if frame.duration and frame.time_base is not None:
        return start + float(frame.duration * frame.time_base)
    return start


def _rotation(frame: VideoFrame, stream: VideoStream | None) -> float:
    """Degrees the picture is turned when shown: the display matrix, else an old-style tag."""
    if frame.rotation:
        return float(frame.rotation)
    tag = stream.metadata.get("rotate", "0") if stream is not None else "0"
    try:
        return float(tag)
    except ValueError:
        return 0.0
