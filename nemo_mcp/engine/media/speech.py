"""Speech recognition with word timings (faster-whisper), and the transcript it gives.

One pass does everything the editor needs from the sound: Silero voice-activity detection
(shipped inside faster-whisper) finds where someone speaks, only that speech is given to
Whisper, and the words come back with their times on the file's own clock. The speech
stretches are kept too: silence cutting reads them instead of a loudness threshold.

faster-whisper (and with it CTranslate2 and onnxruntime) is imported only when recognition
runs, and the model is loaded once per process.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import anyio.to_thread

from nemo_mcp.engine.media.errors import MediaError
from nemo_mcp.engine.media.probe import probe
from nemo_mcp.engine.media.whisper_models import ModelChoice, Progress, ensure_model

logger = logging.getLogger(__name__)

__all__ = [
    "SAMPLE_RATE",
    "Sentence",
    "Transcript",
    "Word",
    "recognise",
    "sentences_of",
    "transcription_available",
]

SAMPLE_RATE: Final = 16000
# Voice activity: pauses shorter than this stay inside one stretch of speech (shorter than
# faster-whisper's 2 s, because silence cutting needs the pauses between sentences); each stretch is
# padded by _VAD_PAD_MS so Whisper hears the edges of words (the padding is taken off again
# in the speech stretches the transcript keeps).
_VAD_MIN_SILENCE_MS: Final = 400
_VAD_PAD_MS: Final = 200
# Words this far apart end a sentence even without a full stop (Whisper sometimes leaves it out).
_SENTENCE_GAP_MS: Final = 2000
_SENTENCE_END: Final = re.compile(r"[.!?…。！？]['\"”’)\]]*$")


@dataclass(frozen=True)
class Word:
    """One recognised word, when it was said (file milliseconds), and how sure the model was."""

    text: str
    start_ms: int
    end_ms: int
    probability: float = 1.0


@dataclass(frozen=True)
class Sentence:
    """Words ``first``..``last`` (inclusive) of a transcript: one spoken sentence."""

    text: str
    start_ms: int
    end_ms: int
    first: int
    last: int


@dataclass(frozen=True)
class Transcript:
    """What is said in one file: words, sentences and the stretches of speech, in file milliseconds."""

    language: str
    model: str
    duration_ms: int
    words: tuple[Word, ...]
    sentences: tuple[Sentence, ...]
    speech: tuple[tuple[int, int], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "model": self.model,
            "duration_ms": self.duration_ms,
            "words": [[w.text, w.start_ms, w.end_ms, w.probability] for w in self.words],
            "speech": [list(s) for s in self.speech],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Transcript:
        words = tuple(Word(str(t), int(a), int(b), float(p)) for t, a, b, p in data["words"])
        return cls(
            language=str(data["language"]),
            model=str(data["model"]),
            duration_ms=int(data["duration_ms"]),
            words=words,
            sentences=tuple(sentences_of(words)),
            speech=tuple((int(a), int(b)) for a, b in data["speech"]),
        )


def transcription_available() -> bool:
    """Whether faster-whisper is installed (the model itself may still need fetching)."""
    try:
        return importlib.util.find_spec("faster_whisper") is not None
    except (ImportError, ValueError):
        return False


def sentences_of(words: Sequence[Word]) -> list[Sentence]:
    """Words grouped into sentences: a full stop, question or exclamation mark, or a long pause ends one."""
    out: list[Sentence] = []
    first = 0
    for i, word in enumerate(words):
        last_word = i == len(words) - 1
        paused = not last_word and words[i + 1].start_ms - word.end_ms >= _SENTENCE_GAP_MS
        if last_word or paused or _SENTENCE_END.search(word.text):
            part = words[first : i + 1]
            text = " ".join(w.text for w in part)
            out.append(Sentence(text, part[0].start_ms, part[-1].end_ms, first, i))
            first = i + 1
    return out


_models: dict[str, Any] = {}
_models_lock = threading.Lock()


def _load_model(folder: Path) -> Any:
    """The Whisper model in ``folder``, loaded once per process (int8 on the CPU)."""
    key = str(folder.resolve())
    with _models_lock:
        model = _models.get(key)
        if model is None:
            from faster_whisper import WhisperModel

            model = WhisperModel(key, device="cpu", compute_type="int8", cpu_threads=os.cpu_count() or 0)
            _models[key] = model
        return model


def _require_whisper() -> None:
    if not transcription_available():
        raise MediaError(
            "Speech recognition is not installed here (the faster-whisper package is missing): reinstall "
            'nemo-mcp, or upload an .srt or .vtt subtitle file with the video and say "add captions".'
        )


def _recognise_blocking(
    path: Path, choice: ModelChoice, language: str | None, on_progress: Progress | None
) -> Transcript:
    """Decode, detect speech, recognise it; runs in a worker thread."""
    import numpy as np
    from faster_whisper.audio import decode_audio
    from faster_whisper.transcribe import restore_speech_timestamps
    from faster_whisper.vad import VadOptions, collect_chunks, get_speech_timestamps

    model = _load_model(ensure_model(choice, on_progress))
    audio = decode_audio(str(path), sampling_rate=SAMPLE_RATE)
    duration_s = len(audio) / SAMPLE_RATE
    vad = VadOptions(min_silence_duration_ms=_VAD_MIN_SILENCE_MS, speech_pad_ms=_VAD_PAD_MS)
    chunks = get_speech_timestamps(audio, vad, sampling_rate=SAMPLE_RATE)
    speech = _unpadded(chunks, len(audio))
    words: list[Word] = []
    found_language = language or ""
    if chunks:
        voiced = np.concatenate(collect_chunks(audio, chunks, sampling_rate=SAMPLE_RATE)[0])
        # Decoding keeps faster-whisper's defaults (beam 5, conditioning on the previous text,
        # temperature fallback, no prompt): bench/asr.py found no setting that helps across
        # narrations, and a prompt or hot words would fit one file at the expense of others.
        segments, info = model.transcribe(
            voiced, language=language, word_timestamps=True, vad_filter=False, beam_size=5
        )
        found_language = str(info.language)
        for segment in restore_speech_timestamps(segments, chunks, SAMPLE_RATE):
            words += [_word(w) for w in segment.words or () if str(w.word).strip()]
            if on_progress is not None:
                on_progress("transcribe", min(float(segment.end), duration_s), duration_s)
    return Transcript(
        language=found_language,
        model=choice.name,
        duration_ms=round(duration_s * 1000),
        words=tuple(words),
        sentences=tuple(sentences_of(words)),
        speech=tuple(speech),
    )


def _word(w: Any) -> Word:
    return Word(
        str(w.word).strip(), round(float(w.start) * 1000), round(float(w.end) * 1000), float(w.probability)
    )


def _unpadded(chunks: Sequence[dict[str, int]], samples: int) -> list[tuple[int, int]]:
    """Silero's stretches (sample indices, padded) as milliseconds of actual speech."""
    out: list[tuple[int, int]] = []
    for chunk in chunks:
        start = chunk["start"] + (_VAD_PAD_MS * SAMPLE_RATE // 1000 if chunk["start"] > 0 else 0)
        end = chunk["end"] - (_VAD_PAD_MS * SAMPLE_RATE // 1000 if chunk["end"] < samples else 0)
        if end > start:
            out.append((start * 1000 // SAMPLE_RATE, end * 1000 // SAMPLE_RATE))
    return out


async def recognise(
    path: Path, choice: ModelChoice, *, language: str | None = None, on_progress: Progress | None = None
) -> Transcript:
    """The transcript of the speech in ``path`` with the model ``choice``; ``language`` None detects it."""
    _require_whisper()
    info = await probe(path)
    if not info.has_audio:
        raise MediaError(f"{path.name} has no sound to transcribe")
    transcript = await anyio.to_thread.run_sync(_recognise_blocking, path, choice, language, on_progress)
    logger.debug("recognised %d words in %s with %s", len(transcript.words), path.name, choice.name)
    return transcript
