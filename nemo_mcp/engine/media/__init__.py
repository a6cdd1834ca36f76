"""What a media file holds, and what can be heard and seen in it.

- :mod:`.probe`: the facts editing needs (kind, length, displayed size, streams), read with
  PyAV, with a decode check that catches truncated uploads;
- :mod:`.subtitles`: SubRip and WebVTT files as timed cues, read with pysubs2;
- :mod:`.analysis`: silences and scene changes, found by ffmpeg's filters;
- :mod:`.speech`: offline English transcription with PocketSphinx, and captions from words.

Every failure the user can fix is a :class:`MediaError` whose text names the fix. PyAV,
pysubs2 and PocketSphinx are imported only when a function needs them.
"""

from __future__ import annotations

from nemo_mcp.engine.media.analysis import detect_scenes, detect_silences
from nemo_mcp.engine.media.errors import MediaError
from nemo_mcp.engine.media.probe import PROBE_TIME_LIMIT_S, MediaInfo, MediaKind, probe
from nemo_mcp.engine.media.speech import (
    MAX_CAPTION_CHARS,
    MAX_CAPTION_MS,
    Word,
    transcribe,
    transcription_available,
    words_to_cues,
)
from nemo_mcp.engine.media.subtitles import (
    MAX_SUBTITLE_BYTES,
    SUBTITLE_SUFFIXES,
    Cue,
    parse_subtitles,
    read_subtitle_text,
)

__all__ = [
    "MAX_CAPTION_CHARS",
    "MAX_CAPTION_MS",
    "MAX_SUBTITLE_BYTES",
    "PROBE_TIME_LIMIT_S",
    "SUBTITLE_SUFFIXES",
    "Cue",
    "MediaError",
    "MediaInfo",
    "MediaKind",
    "Word",
    "detect_scenes",
    "detect_silences",
    "parse_subtitles",
    "probe",
    "read_subtitle_text",
    "transcribe",
    "transcription_available",
    "words_to_cues",
]
