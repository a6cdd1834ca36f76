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
# Whisper hears 30 s at a time. Speech longer than one window is cut into windows at pauses and
# _BATCH windows are decoded together (see _batches; of batches of 4, 8 and 16 windows, 8 took the
# least CPU time on the 45-minute narration); a stretch of speech longer than a window (no 400 ms
# pause) is split at its quietest moment near an even split, within _SPLIT_SLACK_S.
_WINDOW_S: Final = 30
_BATCH: Final = 8
_SPLIT_SLACK_S: Final = 1
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


@dataclass(frozen=True)
class _Speech:
    """A file's voiced sound joined end to end, ready for Whisper, and where it came from."""

    model: Any
    samples: int  # of the whole file, at SAMPLE_RATE
    chunks: list[dict[str, int]]  # Silero's stretches (padded), in file samples
    pieces: list[dict[str, int]]  # the same, longer ones split to fit a window
    voiced: Any  # float32 samples of ``pieces`` joined

    @property
    def duration_s(self) -> float:
        return self.samples / SAMPLE_RATE


def _listen(path: Path, choice: ModelChoice, on_progress: Progress | None) -> _Speech:
    """Load the model, decode the sound and find the speech in it; runs in a worker thread."""
    import numpy as np
    from faster_whisper.audio import decode_audio
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    model = _load_model(ensure_model(choice, on_progress))
    audio = decode_audio(str(path), sampling_rate=SAMPLE_RATE)
    vad = VadOptions(min_silence_duration_ms=_VAD_MIN_SILENCE_MS, speech_pad_ms=_VAD_PAD_MS)
    chunks = get_speech_timestamps(audio, vad, sampling_rate=SAMPLE_RATE)
    pieces = _split_long(audio, chunks)
    voiced = np.concatenate([audio[c["start"] : c["end"]] for c in pieces]) if pieces else audio[:0]
    return _Speech(model, len(audio), chunks, pieces, voiced)


def _batches(speech: _Speech) -> list[list[dict[str, float]]]:
    """How ``speech`` is decoded: [[]] for one pass of faster-whisper's ``transcribe``, else windows in batches.

    Speech that fits one window is decoded as ``transcribe`` does (timestamp tokens, temperature
    fallback): there is nothing to batch. Longer speech is cut at pauses into windows of at most
    30 s, and each _BATCH of them is encoded and beam-searched together. Whisper hears each window
    without the text before it, where ``transcribe`` conditions on it: on the 45-minute narration
    that changed about 2 words in 100 and scored no worse against its script (bench/asr_long.py),
    at about two thirds of the CPU time, because the beam search runs for a batch at once instead
    of window by window.
    """
    if len(speech.voiced) <= _WINDOW_S * SAMPLE_RATE:
        return [[]] if speech.pieces else []
    windows = _windows(speech.pieces)
    return [windows[i : i + _BATCH] for i in range(0, len(windows), _BATCH)]


def _recognise_batch(
    speech: _Speech, batch: list[dict[str, float]], language: str | None
) -> tuple[list[Word], str]:
    """The words in one batch of windows (or all the speech, for ``[]``) and the language; a worker thread.

    Decoding keeps faster-whisper's beam of 5 and no prompt: bench/asr.py found no setting that helps
    across narrations, and a prompt or hot words would fit one file at the expense of others.
    """
    from faster_whisper import BatchedInferencePipeline
    from faster_whisper.transcribe import restore_speech_timestamps

    options: dict[str, Any] = {
        "language": language,
        "word_timestamps": True,
        "vad_filter": False,
        "beam_size": 5,
    }
    if batch:
        pipeline = BatchedInferencePipeline(speech.model)
        segments, info = pipeline.transcribe(
            speech.voiced, clip_timestamps=batch, batch_size=_BATCH, **options
        )
    else:
        segments, info = speech.model.transcribe(speech.voiced, **options)
    words: list[Word] = []
    for segment in restore_speech_timestamps(segments, speech.pieces, SAMPLE_RATE):
        words += [_word(w) for w in segment.words or () if str(w.word).strip()]
    return words, str(info.language)


def _windows(chunks: Sequence[dict[str, int]]) -> list[dict[str, float]]:
    """Consecutive ``chunks`` (each at most a window long) grouped into windows of at most 30 s of
    the joined speech: the seconds where each window starts and ends in that joined speech."""
    limit = _WINDOW_S * SAMPLE_RATE
    out: list[dict[str, float]] = []
    start = end = 0
    for chunk in chunks:
        length = chunk["end"] - chunk["start"]
        if end + length - start > limit and end > start:
            out.append({"start": start / SAMPLE_RATE, "end": end / SAMPLE_RATE})
            start = end
        end += length
    out.append({"start": start / SAMPLE_RATE, "end": end / SAMPLE_RATE})
    return out


def _split_long(audio: Any, chunks: Sequence[dict[str, int]]) -> list[dict[str, int]]:
    """``chunks`` with every stretch longer than a window split, each cut at the quietest 20 ms
    within _SPLIT_SLACK_S of an even split (so no piece exceeds a window and a word is rarely cut)."""
    import numpy as np

    frame, slack = SAMPLE_RATE // 50, _SPLIT_SLACK_S * SAMPLE_RATE
    out: list[dict[str, int]] = []
    for chunk in chunks:
        start, end = chunk["start"], chunk["end"]
        long = end - start > _WINDOW_S * SAMPLE_RATE
        pieces = -(-(end - start) // (_WINDOW_S * SAMPLE_RATE - 2 * slack)) if long else 1
        cuts = [start]
        for i in range(1, pieces):
            low = start + (end - start) * i // pieces - slack
            around = audio[low : low + 2 * slack]
            energy = np.square(around[: len(around) // frame * frame]).reshape(-1, frame).sum(axis=1)
            cuts.append(low + int(np.argmin(energy)) * frame + frame // 2)
        out += [{"start": a, "end": b} for a, b in zip(cuts, [*cuts[1:], end], strict=True)]
    return out


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
    speech = await anyio.to_thread.run_sync(_listen, path, choice, on_progress)
    words: list[Word] = []
    # One worker-thread call per batch: a cancelled edit (the user pressed stop) frees the CPU
    # after the batch under way instead of at the end of a long file.
    batches = _batches(speech)
    for batch in batches:
        if on_progress is not None:
            # Before each batch as well as after the last: a file of one batch still says, while
            # it is heard, that recognition is under way.
            heard_s = words[-1].end_ms / 1000 if words else 0.0
            on_progress("transcribe", min(heard_s, speech.duration_s), speech.duration_s)
        found, language = await anyio.to_thread.run_sync(_recognise_batch, speech, batch, language)
        words += found
    if on_progress is not None and batches:
        on_progress("transcribe", speech.duration_s, speech.duration_s)
    transcript = Transcript(
        language=language or "",
        model=choice.name,
        duration_ms=round(speech.duration_s * 1000),
        words=tuple(words),
        sentences=tuple(sentences_of(words)),
        speech=tuple(_unpadded(speech.chunks, speech.samples)),
    )
    logger.debug("recognised %d words in %s with %s", len(transcript.words), path.name, choice.name)
    return transcript
