"""What a media file holds, and what can be heard and seen in it.

Everything here reads files through ffmpeg alone (there is no ffprobe in the wheel we ship):
:func:`probe` parses the stream summary ffmpeg prints for ``-i FILE`` and then decodes a
moment from the end, because a file cut short by an interrupted upload still has a
complete header when its index sits at the front. :func:`detect_silences` and
:func:`detect_scenes` run ffmpeg's ``silencedetect`` and ``scdet`` filters and read their
log lines as they come. Subtitle files are parsed in Python (:func:`parse_subtitles`), and
:func:`transcribe` recognises English speech offline with PocketSphinx when it is
installed (its model ships inside the wheel; nothing is downloaded).

Every failure the user can fix is a :class:`MediaError` whose text names the fix.
"""

from __future__ import annotations

import html
import importlib
import importlib.util
import logging
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import anyio
import anyio.to_thread

from nemo_mcp.engine.ffmpeg import FFmpegError, error_message, ffmpeg_command, run_ffmpeg

logger = logging.getLogger(__name__)

MediaKind = Literal["video", "audio", "image", "subtitle"]

SUBTITLE_SUFFIXES = frozenset({".srt", ".vtt", ".webvtt"})
# A subtitle file larger than this is not a subtitle file.
MAX_SUBTITLE_BYTES = 10 * 1024 * 1024
# Reading a header is quick; a file that keeps ffmpeg busy longer is not a usable upload.
PROBE_TIME_LIMIT_S = 60.0
# The decode check reads this much from the end of the file.
_TAIL_CHECK_S = 1.5
_REEXPORT = "re-export it as MP4 (H.264 video, AAC audio) and upload it again"


class MediaError(Exception):
    """A media file cannot be used; ``str(exc)`` says why and what to do about it."""


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


@dataclass(frozen=True)
class Cue:
    """One caption: shown from ``start_ms`` to ``end_ms``."""

    start_ms: int
    end_ms: int
    text: str


# --------------------------------------------------------------------------- probing


@dataclass
class _Stream:
    index: int
    codec: str
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    rotation: float = 0.0


@dataclass
class _Header:
    """What ``ffmpeg -i`` said about input #0."""

    formats: tuple[str, ...] = ()
    duration_ms: int | None = None
    video: list[_Stream] = field(default_factory=list)
    audio: list[_Stream] = field(default_factory=list)


_INPUT = re.compile(r"^Input #0, (.*), from ")
_DURATION = re.compile(r"^\s*Duration: (?:(\d+):(\d{2}):(\d{2}(?:\.\d+)?)|N/A)")
_STREAM = re.compile(r"^\s*Stream #0:(\d+)\S*: (\w+): (.*)$")
_SIZE = re.compile(r"(?:^|, )(\d{1,5})x(\d{1,5})(?=[\s,\[]|$)")
_SAR = re.compile(r"\[SAR (\d+):(\d+) DAR")
_FPS = re.compile(r"(?:^|, )(\d+(?:\.\d+)?)(k?) fps")
_TBR = re.compile(r"(?:^|, )(\d+(?:\.\d+)?)(k?) tbr")
_ROTATION = re.compile(r"rotation of (-?\d+(?:\.\d+)?) degrees", re.IGNORECASE)
_OTHER_INPUT = re.compile(r"^(Input|Output) #[1-9]")
# Pictures stored beside audio (cover art) or as previews are not the video.
_NOT_MOTION = ("(attached pic)", "(thumbnail)")
_IMAGE_CODECS = frozenset({"png", "mjpeg", "webp", "bmp", "tiff", "gif", "jpegls", "jpeg2000", "jpegxl"})


def _parse_probe_output(lines: Sequence[str]) -> _Header:
    """Read the input summary of ``ffmpeg -i``; lines of other inputs or outputs are ignored."""
    header = _Header()
    current: _Stream | None = None
    in_input0 = False
    for line in lines:
        if m := _INPUT.match(line):
            in_input0 = True
            header.formats = tuple(m.group(1).split(","))
            continue
        if _OTHER_INPUT.match(line) or line.startswith("Stream mapping") or line.startswith("Output #0"):
            in_input0 = False
            current = None
            continue
        if not in_input0:
            continue
        if m := _DURATION.match(line):
            if m.group(1) is not None:
                seconds = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
                header.duration_ms = round(seconds * 1000)
            continue
        if m := _STREAM.match(line):
            current = None
            kind, rest = m.group(2), m.group(3)
            codec = re.split(r"[\s,]", rest, maxsplit=1)[0]
            stream = _Stream(index=int(m.group(1)), codec=codec)
            if kind == "Video" and not any(tag in rest for tag in _NOT_MOTION):
                if size := _SIZE.search(rest):
                    stream.width, stream.height = int(size.group(1)), int(size.group(2))
                    # Non-square pixels (DV, some phones): report the shape as displayed.
                    sar = _SAR.search(rest)
                    if (
                        sar
                        and int(sar.group(1)) > 0
                        and int(sar.group(2)) > 0
                        and sar.group(1) != sar.group(2)
                    ):
                        stream.width = max(1, round(stream.width * int(sar.group(1)) / int(sar.group(2))))
                rate = _FPS.search(rest) or _TBR.search(rest)
                if rate:
                    stream.fps = float(rate.group(1)) * (1000 if rate.group(2) else 1)
                header.video.append(stream)
                current = stream
            elif kind == "Audio":
                header.audio.append(stream)
            continue
        if current is not None and (m := _ROTATION.search(line)):
            current.rotation = float(m.group(1))
    return header


def _is_still_image(header: _Header) -> bool:
    formats = set(header.formats)
    if any(f.endswith("_pipe") for f in formats) or "image2" in formats:
        return True
    video = header.video[0]
    # A GIF of one frame reports a duration of a single frame, or none.
    if "gif" in formats or "webp" in formats:
        return header.duration_ms is None or header.duration_ms <= 100
    return video.codec in _IMAGE_CODECS and header.duration_ms is None


async def probe(path: Path) -> MediaInfo:
    """What ``path`` holds. Unreadable, empty, corrupt or truncated files raise :class:`MediaError`."""
    path = Path(path)
    name = path.name
    try:
        st = await anyio.Path(path).stat()
        if stat.S_ISREG(st.st_mode):
            # Opening it here gives a clear "permission denied" instead of ffmpeg's version of it.
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

    try:
        with anyio.fail_after(PROBE_TIME_LIMIT_S):
            return await _probe_media(path)
    except TimeoutError:
        raise MediaError(f"reading {name} took too long: {_REEXPORT}") from None


async def _probe_media(path: Path) -> MediaInfo:
    name = path.name
    header = await _read_header(path)
    video = header.video[0] if header.video else None
    audio = header.audio[0] if header.audio else None
    if video is None and audio is None:
        raise MediaError(f"the file {name} has no video, audio or picture in it: {_REEXPORT}")

    kind: MediaKind
    if video is not None and _is_still_image(header):
        kind = "image"
    elif video is not None:
        kind = "video"
    else:
        kind = "audio"

    width = height = None
    if video is not None:
        width, height = video.width, video.height
        # Phones store portrait video as landscape plus a rotation flag; ffmpeg applies it on decode.
        if width and height and round(abs(video.rotation)) % 180 == 90:
            width, height = height, width

    duration_ms = 0
    if kind != "image":
        duration_ms = (
            header.duration_ms if header.duration_ms is not None else await _scan_duration(path, header)
        )
        if duration_ms <= 0:
            raise MediaError(f"the file {name} has no playable length: {_REEXPORT}")
    await _check_decodes(path, kind, header, duration_ms)

    return MediaInfo(
        kind=kind,
        duration_ms=duration_ms,
        width=width,
        height=height,
        fps=round(video.fps, 3) if video is not None and video.fps and kind == "video" else None,
        has_audio=audio is not None and kind != "image",
        has_video=video is not None,
        video_codec=video.codec if video is not None else None,
        audio_codec=audio.codec if audio is not None else None,
    )


async def _read_header(path: Path) -> _Header:
    lines: list[str] = []

    async def collect(line: str) -> None:
        # A header is a few dozen lines; a file stuffed with metadata gets no more than this.
        if len(lines) < 5000:
            lines.append(line)

    # Without an output ffmpeg exits with status 1 after printing the summary: that is expected.
    result = await run_ffmpeg(ffmpeg_command("-i", str(path)), on_stderr_line=collect, check=False)
    header = _parse_probe_output(lines)
    if not header.formats:
        reason = error_message(result.stderr_tail, [str(path)], name_input=False)
        raise MediaError(
            f"the file {path.name} is not a readable video, audio or image file ({reason}): {_REEXPORT}"
        )
    return header


def _stream_maps(kind: MediaKind, header: _Header) -> list[str]:
    maps: list[str] = []
    if kind in ("video", "image") and header.video:
        maps += ["-map", f"0:{header.video[0].index}"]
    if kind in ("video", "audio") and header.audio:
        maps += ["-map", f"0:{header.audio[0].index}"]
    return maps


async def _progress_of(argv: list[str]) -> tuple[dict[str, str], int]:
    """Run ``argv`` (which writes ``-progress pipe:1``) and return its last progress block and exit code."""
    values: dict[str, str] = {}

    async def keep(line: str) -> None:
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()

    result = await run_ffmpeg(argv, on_stdout_line=keep, check=False)
    return values, result.returncode


def _progress_time_ms(values: dict[str, str]) -> int:
    for key in ("out_time_us", "out_time_ms"):  # out_time_ms is in microseconds too (an old ffmpeg quirk)
        raw = values.get(key, "")
        if raw.lstrip("-").isdigit():
            return max(0, int(raw) // 1000)
    return 0


async def _scan_duration(path: Path, header: _Header) -> int:
    """The length of a file whose header does not state it, by reading every packet (no decoding)."""
    kind: MediaKind = "video" if header.video else "audio"
    argv = ffmpeg_command(
        "-v", "error", "-i", str(path), *_stream_maps(kind, header),
        "-c", "copy", "-f", "null", "-progress", "pipe:1", "-nostats", "-",
    )  # fmt: skip
    values, _ = await _progress_of(argv)
    return _progress_time_ms(values)


async def _check_decodes(path: Path, kind: MediaKind, header: _Header, duration_ms: int) -> None:
    """Decode a moment at the end: a truncated file fails here even when its header looks whole."""
    name = path.name
    if kind == "image":
        args = ["-i", str(path), *_stream_maps(kind, header), "-frames:v", "1"]
    else:
        start = max(0.0, duration_ms / 1000 - _TAIL_CHECK_S)
        args = ["-ss", f"{start:.3f}", "-i", str(path), *_stream_maps(kind, header), "-t", "1"]
    argv = ffmpeg_command("-v", "error", *args, "-f", "null", "-progress", "pipe:1", "-nostats", "-")
    values, returncode = await _progress_of(argv)
    frames = int(values["frame"]) if values.get("frame", "").isdigit() else 0
    decoded = frames > 0 or (kind == "audio" and _progress_time_ms(values) > 0)
    if returncode != 0 or not decoded:
        if kind == "image":
            raise MediaError(
                f"the image {name} cannot be decoded (damaged or incomplete): save it again as PNG or JPEG"
            )
        raise MediaError(
            f"the file {name} is damaged or incomplete (it ends before its stated length of "
            f"{duration_ms / 1000:.1f} s, e.g. after an interrupted upload or copy): copy it again or {_REEXPORT}"
        )


async def _probe_subtitles(path: Path) -> MediaInfo:
    name = path.name
    cues = parse_subtitles(read_subtitle_text(await anyio.Path(path).read_bytes()))
    if not cues:
        raise MediaError(
            f"the file {name} has no subtitle cues: save it as SRT or WebVTT (with 00:00:01,000 --> times)"
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


def read_subtitle_text(data: bytes) -> str:
    """Subtitle bytes as text: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Old SRT files from Windows tools are usually in the ANSI code page.
        return data.decode("cp1252", errors="replace")


# --------------------------------------------------------------------------- subtitles

_TIMING = re.compile(
    r"^\s*(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{1,3})\s*-->\s*(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{1,3})(?:\s|$)"
)
_TAG = re.compile(r"<[^>]*>")
_ASS_OVERRIDE = re.compile(r"\{\\[^}]*\}")


def _timestamp_ms(hours: str | None, minutes: str, seconds: str, fraction: str) -> int:
    # A fraction of "5" means half a second, as in "00:01.5".
    return ((int(hours or 0) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + int(fraction.ljust(3, "0"))


def _clean_cue_text(lines: list[str]) -> str:
    cleaned = []
    for line in lines:
        line = html.unescape(_ASS_OVERRIDE.sub("", _TAG.sub("", line))).replace("\xa0", " ").strip()
        if line:
            cleaned.append(line)
    return "\n".join(cleaned)


def parse_subtitles(text: str) -> list[Cue]:
    """Cues of an SRT or WebVTT document, sorted by start; styling tags are removed.

    Tolerates a BOM, CRLF or CR line ends, cue settings after the times, identifiers,
    NOTE/STYLE blocks, multi-line cues, optional hours and missing blank lines between cues.
    """
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    cues: list[Cue] = []
    current: tuple[int, int, list[str]] | None = None

    def finish() -> None:
        if current is None:
            return
        start, end, body = current
        content = _clean_cue_text(body)
        if content and end > start:
            cues.append(Cue(start_ms=start, end_ms=end, text=content))

    for line in text.split("\n"):
        if m := _TIMING.match(line):
            if current is not None:
                # No blank line before this cue: the previous cue's last line was this cue's number.
                if current[2] and current[2][-1].strip().isdigit():
                    current[2].pop()
                finish()
            g = m.groups()
            current = (_timestamp_ms(*g[0:4]), _timestamp_ms(*g[4:8]), [])
        elif current is not None:
            if line.strip():
                current[2].append(line)
            else:
                finish()
                current = None
    finish()
    cues.sort(key=lambda c: (c.start_ms, c.end_ms))
    return cues


# --------------------------------------------------------------------------- analysis

_SILENCE_START = re.compile(r"silence_start: (-?\d+(?:\.\d+)?)")
_SILENCE_END = re.compile(r"silence_end: (-?\d+(?:\.\d+)?)")
_SCENE = re.compile(r"lavfi\.scd\.score: (\d+(?:\.\d+)?), lavfi\.scd\.time: (-?\d+(?:\.\d+)?)")


def _analysis_error(path: Path, what: str, exc: FFmpegError) -> MediaError:
    return MediaError(f"could not {what} in {path.name} ({exc}): {_REEXPORT}")


async def detect_silences(
    path: Path, *, noise_db: float = -35.0, min_silence_ms: int = 600
) -> list[tuple[int, int]]:
    """Stretches quieter than ``noise_db`` for at least ``min_silence_ms``, as (start, end) ms."""
    info = await probe(path)
    if not info.has_audio:
        raise MediaError(f"{path.name} has no sound, so it has no silences to find")
    silences: list[tuple[int, int]] = []
    start: int | None = None

    async def on_line(line: str) -> None:
        nonlocal start
        if m := _SILENCE_START.search(line):
            start = max(0, round(float(m.group(1)) * 1000))
        elif (m := _SILENCE_END.search(line)) and start is not None:
            end = min(info.duration_ms, round(float(m.group(1)) * 1000))
            if end > start:
                silences.append((start, end))
            start = None

    detector = f"asetpts=PTS-STARTPTS,silencedetect=noise={noise_db:.1f}dB:duration={max(min_silence_ms, 1) / 1000:.3f}"
    argv = ffmpeg_command(
        "-i", str(path), "-map", "0:a:0", "-af", detector, "-vn", "-sn", "-dn", "-f", "null", "-"
    )
    try:
        await run_ffmpeg(argv, on_stderr_line=on_line)
    except FFmpegError as exc:
        raise _analysis_error(path, "look for silences", exc) from exc
    # A silence still open at the end of the file lasts until the end.
    if start is not None and info.duration_ms - start >= min_silence_ms:
        silences.append((start, info.duration_ms))
    return silences


async def detect_scenes(path: Path, *, threshold: float = 10.0) -> list[int]:
    """Times (ms) where the picture changes scene: ffmpeg's ``scdet`` score above ``threshold`` (0-100)."""
    info = await probe(path)
    if info.kind != "video":
        raise MediaError(f"{path.name} is not a video, so it has no scenes to find")
    found: set[int] = set()

    async def on_line(line: str) -> None:
        if m := _SCENE.search(line):
            found.add(max(0, round(float(m.group(2)) * 1000)))

    # A small picture scores scene changes about as well as a full one, at a fraction of the cost.
    chain = f"setpts=PTS-STARTPTS,scale=320:-2:flags=fast_bilinear,scdet=threshold={threshold:g}"
    argv = ffmpeg_command(
        "-i", str(path), "-map", "0:v:0", "-vf", chain, "-an", "-sn", "-dn", "-f", "null", "-"
    )
    try:
        await run_ffmpeg(argv, on_stderr_line=on_line)
    except FFmpegError as exc:
        raise _analysis_error(path, "look for scene changes", exc) from exc
    return sorted(t for t in found if t > 0)


# --------------------------------------------------------------------------- transcription

SAMPLE_RATE = 16000
_CHUNK_BYTES = SAMPLE_RATE * 2 * 4  # four seconds of 16-bit mono PCM per hand-off to the decoder thread
# PocketSphinx slows down and grows its search on very long utterances; long speech is cut here.
_MAX_UTTERANCE_S = 30.0
MAX_CAPTION_CHARS = 42
MAX_CAPTION_MS = 5000
# A pause this long between words starts a new caption.
_CAPTION_GAP_MS = 700


def transcription_available() -> bool:
    """Whether :func:`transcribe` can run here (PocketSphinx and its bundled model are installed)."""
    try:
        return importlib.util.find_spec("pocketsphinx") is not None
    except (ImportError, ValueError):
        return False


@dataclass(frozen=True)
class Word:
    """One recognised word and when it was said."""

    text: str
    start_ms: int
    end_ms: int


def _load_pocketsphinx() -> ModuleType:
    try:
        return importlib.import_module("pocketsphinx")
    except ImportError as exc:
        raise MediaError(
            "offline transcription unavailable: install the 'pocketsphinx' package "
            "(pip install pocketsphinx), or add captions from an SRT or WebVTT file instead"
        ) from exc


class _Recogniser:
    """PocketSphinx fed with PCM in arbitrary pieces; runs in a worker thread, one call at a time.

    Voice activity detection splits the audio into utterances, each decoded on its own so
    that word times stay exact and the decoder's search stays small.
    """

    def __init__(self, module: ModuleType) -> None:
        self._decoder: Any = module.Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")
        self._endpointer: Any = module.Endpointer(sample_rate=SAMPLE_RATE)
        self._frame_bytes: int = self._endpointer.frame_bytes
        self._frame_rate: int = int(self._decoder.config["frate"])
        self._pending = bytearray()
        self._utterance_start: float | None = None
        self._utterance_s = 0.0
        self.words: list[Word] = []

    def feed(self, data: bytes) -> None:
        self._pending += data
        usable = len(self._pending) - len(self._pending) % self._frame_bytes
        for offset in range(0, usable, self._frame_bytes):
            self._frame(bytes(self._pending[offset : offset + self._frame_bytes]))
        del self._pending[:usable]

    def finish(self) -> list[Word]:
        if self._endpointer.in_speech:
            # end_stream wants at least one byte; a frame of silence stands in for nothing.
            last = bytes(self._pending) or bytes(self._frame_bytes)
            speech = self._endpointer.end_stream(last)
            if speech is not None:
                self._speech(speech)
        self._pending.clear()
        self._end_utterance()
        return self.words

    def _frame(self, frame: bytes) -> None:
        speech = self._endpointer.process(frame)
        if speech is not None:
            self._speech(speech)
        if self._utterance_start is not None and not self._endpointer.in_speech:
            self._end_utterance()

    def _speech(self, speech: bytes) -> None:
        if self._utterance_start is None:
            self._utterance_start = float(self._endpointer.speech_start)
            self._utterance_s = 0.0
            self._decoder.start_utt()
        elif self._utterance_s >= _MAX_UTTERANCE_S:
            # Continuous speech: close this utterance and open the next where it stopped.
            next_start = self._utterance_start + self._utterance_s
            self._end_utterance()
            self._utterance_start = next_start
            self._utterance_s = 0.0
            self._decoder.start_utt()
        self._decoder.process_raw(speech, False, False)
        self._utterance_s += len(speech) / 2 / SAMPLE_RATE

    def _end_utterance(self) -> None:
        if self._utterance_start is None:
            return
        offset_ms = self._utterance_start * 1000
        self._decoder.end_utt()
        for seg in self._decoder.seg():
            word = _spoken_word(str(seg.word))
            if word:
                self.words.append(
                    Word(
                        text=word,
                        start_ms=round(offset_ms + seg.start_frame * 1000 / self._frame_rate),
                        end_ms=round(offset_ms + (seg.end_frame + 1) * 1000 / self._frame_rate),
                    )
                )
        self._utterance_start = None


def _spoken_word(token: str) -> str:
    """A dictionary token as text, or "" for silence, noise and filler markers."""
    if not token or token[0] in "<[+" or token.startswith("++"):
        return ""
    word = re.sub(r"\(\d+\)$", "", token)  # "read(2)" is the second pronunciation of "read"
    return "I" if word == "i" else word.replace("_", " ")


def words_to_cues(
    words: Sequence[Word], *, max_chars: int = MAX_CAPTION_CHARS, max_ms: int = MAX_CAPTION_MS
) -> list[Cue]:
    """Group words into caption lines of at most ``max_chars`` characters and ``max_ms`` each.

    A long pause also ends a line, so a caption never spans silence.
    """
    cues: list[Cue] = []
    line: list[Word] = []
    # A caption after a pause starts a sentence, as far as a reader can tell: capitalise it.
    after_pause = True

    def flush() -> None:
        if line:
            text = " ".join(w.text for w in line)
            if after_pause:
                text = text[:1].upper() + text[1:]
            end_ms = max(line[-1].end_ms, line[0].start_ms + 1)
            cues.append(Cue(start_ms=line[0].start_ms, end_ms=end_ms, text=text))
            line.clear()

    for word in words:
        if line:
            paused = word.start_ms - line[-1].end_ms > _CAPTION_GAP_MS
            length = sum(len(w.text) + 1 for w in line) + len(word.text)
            if paused or length > max_chars or word.end_ms - line[0].start_ms > max_ms:
                flush()
                after_pause = paused
        line.append(word)
    flush()
    return cues


async def transcribe(path: Path) -> list[Cue]:
    """English speech in ``path`` as caption cues, recognised offline with PocketSphinx."""
    module = _load_pocketsphinx()
    info = await probe(path)
    if not info.has_audio:
        raise MediaError(f"{path.name} has no sound to transcribe")
    recogniser: _Recogniser = await anyio.to_thread.run_sync(_Recogniser, module)
    buffer = bytearray()

    async def on_data(chunk: bytes) -> None:
        buffer.extend(chunk)
        if len(buffer) >= _CHUNK_BYTES:
            data = bytes(buffer)
            buffer.clear()
            await anyio.to_thread.run_sync(recogniser.feed, data)

    argv = ffmpeg_command(
        "-v", "error", "-i", str(path), "-map", "0:a:0", "-vn", "-sn", "-dn",
        "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "s16le", "pipe:1",
    )  # fmt: skip
    try:
        await run_ffmpeg(argv, on_stdout_data=on_data)
    except FFmpegError as exc:
        raise _analysis_error(path, "read the sound", exc) from exc
    if buffer:
        await anyio.to_thread.run_sync(recogniser.feed, bytes(buffer))
    words = await anyio.to_thread.run_sync(recogniser.finish)
    logger.debug("transcribed %d words from %s", len(words), path.name)
    return words_to_cues(words)
