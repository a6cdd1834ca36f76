"""Rebuild the demo's narration, nemo_mcp/assets/lecture_speech.m4a, and its .srt.

    python tools/make_demo_speech.py        (flite and ffmpeg on PATH, or FFMPEG=/path/to/ffmpeg)

The lecture is three parts (the three slides of the demo), each a few sentences. Every sentence is
synthesised alone with Flite's "slt" voice (Whisper tiny.en reads it far better than eSpeak),
its own leading and trailing silence trimmed, and the sentences joined with exact stretches of
digital silence, so the cue times are exact and the pauses are what "cut out silences" finds.
Pauses are 1.0 s inside a part and 1.8 s between parts: the demo puts its slide changes in the
longest pauses, and under 2 s no pause counts as an unintended silence in the export check.
Keep each part at least 10 s long (YouTube's chapter rule) and the slide text in
nemo_mcp/cli/sample.py (``SLIDES``) in step with what is said here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

PARTS = (
    (
        "Welcome to this short lecture on photosynthesis.",
        "Photosynthesis is how green plants make their own food from light.",
        "It takes place in the leaves, inside small green parts called chloroplasts.",
    ),
    (
        "A plant takes in water through its roots, and carbon dioxide from the air.",
        "With the energy of sunlight, it turns them into sugar and oxygen.",
        "The oxygen leaves the plant through tiny openings in its leaves.",
    ),
    (
        "The sugar feeds the plant, and the oxygen is the air we breathe.",
        "Without photosynthesis, there would be no food for animals or people.",
        "To sum up, plants turn light, water and carbon dioxide into food and oxygen.",
    ),
)
LEAD_S, INSIDE_S, BETWEEN_S, TAIL_S = 1.0, 1.0, 1.8, 1.0
RATE = 16000
OUT = Path(__file__).resolve().parent.parent / "nemo_mcp" / "assets"
_TRIM = "silenceremove=start_periods=1:start_threshold=-50dB"


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True)


def _seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def _stamp(s: float) -> str:
    ms = round(s * 1000)
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def main() -> int:
    ffmpeg = os.environ.get("FFMPEG", "ffmpeg")
    sentences = [(text, i > 0 and j == 0) for i, part in enumerate(PARTS) for j, text in enumerate(part)]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pieces: list[Path] = []
        cues: list[str] = []
        t = 0.0
        for n, (text, new_part) in enumerate(sentences, start=1):
            raw, voiced, gap = work / f"raw{n}.wav", work / f"s{n}.wav", work / f"g{n}.wav"
            _run("flite", "-voice", "slt", "-t", text, "-o", str(raw))
            # Trim the voice's own silence at both ends, so a cue's times are the speech's times.
            _run(ffmpeg, "-v", "error", "-y", "-i", str(raw), "-af",
                 f"{_TRIM},areverse,{_TRIM},areverse,aresample={RATE}", "-ac", "1", str(voiced))  # fmt: skip
            pause = LEAD_S if n == 1 else BETWEEN_S if new_part else INSIDE_S
            _run(ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", f"anullsrc=r={RATE}:cl=mono",
                 "-t", f"{pause}", str(gap))  # fmt: skip
            start = t + pause
            end = start + _seconds(voiced)
            cues.append(f"{n}\n{_stamp(start)} --> {_stamp(end)}\n{text}\n")
            pieces += [gap, voiced]
            t = end
        tail = work / "tail.wav"
        _run(ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", f"anullsrc=r={RATE}:cl=mono", "-t", f"{TAIL_S}",
             str(tail))  # fmt: skip
        pieces.append(tail)
        listing = work / "list.txt"
        listing.write_text("".join(f"file '{p}'\n" for p in pieces), encoding="utf-8")
        _run(ffmpeg, "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing),
             "-c:a", "aac", "-b:a", "24k", "-ar", str(RATE), "-ac", "1", "-map_metadata", "-1",
             "-fflags", "+bitexact", "-movflags", "+faststart", str(OUT / "lecture_speech.m4a"))  # fmt: skip
    (OUT / "lecture_speech.srt").write_text("\n".join(cues), encoding="utf-8")
    print(f"{len(cues)} sentences, {t + TAIL_S:.2f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
