"""What a media file holds, and what can be heard and seen in it.

- :mod:`.probe`: the facts editing needs (kind, length, displayed size, streams), read with
  PyAV, with a decode check that catches truncated uploads;
- :mod:`.subtitles`: SubRip and WebVTT files as timed cues, read with pysubs2;
- :mod:`.analysis`: silences, found by ffmpeg's filter;
- :mod:`.scenes`: scene changes, scored by ffmpeg's ``scdet`` on keyframes first, then where they differ;
- :mod:`.speech`: speech recognition with word timings and voice activity (faster-whisper),
  the model chosen and fetched by :mod:`.whisper_models`;
- :mod:`.captions`: timed words made into readable captions;
- :mod:`.ocr`: on-screen text, one frame per scene (RapidOCR), the heading told from the body;
- :mod:`.checks`: an exported MP4 against its timeline (length, sound, black/frozen/silent stretches).
- :mod:`.frames`, :mod:`.sheet`, :mod:`.preview`: pictures at given times, laid out as a contact sheet.

Every failure the user can fix is a :class:`MediaError` whose text names the fix. PyAV,
pysubs2, faster-whisper and RapidOCR are imported only when a function needs them.
"""

from __future__ import annotations

from nemo_mcp.engine.media.analysis import detect_silences
from nemo_mcp.engine.media.captions import MAX_CAPTION_CHARS, MAX_CAPTION_MS, MIN_CAPTION_MS, words_to_cues
from nemo_mcp.engine.media.checks import (
    Expected,
    ExportCheck,
    Problem,
    check_export,
    expected_of,
)
from nemo_mcp.engine.media.errors import MediaError
from nemo_mcp.engine.media.ocr import SceneText, TextLine, ocr_available, read_scene_text, split_heading
from nemo_mcp.engine.media.preview import contact_sheet_of_file
from nemo_mcp.engine.media.probe import PROBE_TIME_LIMIT_S, MediaInfo, MediaKind, probe
from nemo_mcp.engine.media.scenes import SceneSearch, detect_scenes, find_scene_changes
from nemo_mcp.engine.media.speech import Sentence, Transcript, Word, recognise, transcription_available
from nemo_mcp.engine.media.subtitles import (
    MAX_SUBTITLE_BYTES,
    SUBTITLE_SUFFIXES,
    Cue,
    parse_subtitles,
    read_subtitle_text,
)
from nemo_mcp.engine.media.whisper_models import (
    MODEL_REPOS,
    ModelChoice,
    Progress,
    choose_model,
    missing_model_message,
    model_cache_dir,
    pull_model,
)

__all__ = [
    "MAX_CAPTION_CHARS",
    "MAX_CAPTION_MS",
    "MAX_SUBTITLE_BYTES",
    "MIN_CAPTION_MS",
    "MODEL_REPOS",
    "PROBE_TIME_LIMIT_S",
    "SUBTITLE_SUFFIXES",
    "Cue",
    "Expected",
    "ExportCheck",
    "MediaError",
    "MediaInfo",
    "MediaKind",
    "ModelChoice",
    "Problem",
    "Progress",
    "SceneSearch",
    "SceneText",
    "Sentence",
    "TextLine",
    "Transcript",
    "Word",
    "check_export",
    "choose_model",
    "contact_sheet_of_file",
    "detect_scenes",
    "detect_silences",
    "expected_of",
    "find_scene_changes",
    "missing_model_message",
    "model_cache_dir",
    "ocr_available",
    "parse_subtitles",
    "probe",
    "pull_model",
    "read_scene_text",
    "read_subtitle_text",
    "recognise",
    "split_heading",
    "transcription_available",
    "words_to_cues",
]
