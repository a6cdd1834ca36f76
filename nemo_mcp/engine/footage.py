"""What one media file holds for a reader: sentences, words, scenes with their text, long silences.

The engine's footage route and the MCP server (for files it uploaded to the cloud, analysed on
this computer) both build a reading here from the same cached analysis
(:class:`~nemo_mcp.engine.analysis.SessionAnalyzer`), so the two backends read alike. A reading
is plain JSON in the file's own milliseconds; laying it onto a timeline is the caller's step.
"""

from __future__ import annotations

from typing import Any, Final

from nemo_mcp.engine import media as media_mod
from nemo_mcp.engine.analysis import SessionAnalyzer
from nemo_mcp.engine.edit import MediaRef

#: A pause in the speech at least this long is listed as a silence (a 2 s pause measures about
#: 1.8 s between the edges voice-activity detection finds).
LONG_SILENCE_MS: Final = 1500


def long_silences(speech: tuple[tuple[int, int], ...], duration_ms: int) -> list[list[int]]:
    """The stretches without speech of at least :data:`LONG_SILENCE_MS`, the file's ends included."""
    out: list[list[int]] = []
    cursor = 0
    for a, b in [*speech, (duration_ms, duration_ms)]:
        if a - cursor >= LONG_SILENCE_MS:
            out.append([cursor, a])
        cursor = max(cursor, b)
    return out


async def read_media(analyzer: SessionAnalyzer, ref: MediaRef) -> dict[str, Any]:
    """The reading of ``ref``: what is said (sentences and words), its scenes' text and long silences.

    Speech needs a file with sound and speech recognition installed; scenes need a video and
    OCR. What could not be read is named under ``missing`` with the reason, never guessed.
    """
    reading: dict[str, Any] = {
        "media_id": ref.media_id,
        "filename": ref.filename,
        "kind": ref.kind,
        "duration_ms": ref.info.duration_ms,
        "sentences": [],
        "words": [],
        "scenes": [],
        "silences": [],
        "missing": [],
    }
    if ref.kind in ("video", "audio") and ref.info.has_audio:
        if media_mod.transcription_available():
            transcript = await analyzer.transcript(ref)
            assert transcript is not None
            reading["language"] = transcript.language
            reading["sentences"] = [[s.start_ms, s.end_ms, s.text] for s in transcript.sentences]
            reading["words"] = [[w.start_ms, w.end_ms, w.text] for w in transcript.words]
            reading["silences"] = long_silences(transcript.speech, ref.info.duration_ms)
        else:
            reading["missing"].append("speech: speech recognition (faster-whisper) is not installed")
    if ref.kind == "video":
        if media_mod.ocr_available():
            scenes = await analyzer.scene_text(ref)
            reading["scenes"] = [[s.start_ms, s.heading, list(s.body)] for s in scenes]
        else:
            reading["missing"].append("on-screen text: OCR (rapidocr) is not installed")
    return reading
