"""Offline English speech recognition with PocketSphinx, and words grouped into captions.

Kept apart from the rest of the package so that another recogniser can replace it
without touching probing, analysis or subtitles. PocketSphinx's model ships inside its
wheel, so nothing is downloaded; the import happens only when transcription runs.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio.to_thread

from nemo_mcp.engine.ffmpeg import FFmpegError, ffmpeg_command, run_ffmpeg
from nemo_mcp.engine.media.errors import MediaError, analysis_error
from nemo_mcp.engine.media.probe import probe
from nemo_mcp.engine.media.subtitles import Cue

logger = logging.getLogger(__name__)

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
        raise analysis_error(path, "read the sound", exc) from exc
    if buffer:
        await anyio.to_thread.run_sync(recogniser.feed, bytes(buffer))
    words = await anyio.to_thread.run_sync(recogniser.finish)
    logger.debug("transcribed %d words from %s", len(words), path.name)
    return words_to_cues(words)
