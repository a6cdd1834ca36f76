"""The slow facts about a session's media, computed once per file and kept in the session's state.

This is the :class:`~nemo_mcp.engine.edit.Analyzer` the executor calls. Silences and scene
changes are kept in ``state["video_analyses"]`` (public, like the cloud's), keyed by media id,
kind and parameters, so a second instruction on the same media does not run ffmpeg again.
Subtitle files are small and read each time; transcripts are made each time they are asked for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from nemo_mcp.draft import Interval, TimedText
from nemo_mcp.engine import media as media_mod
from nemo_mcp.engine.edit import MediaRef
from nemo_mcp.engine.pinning import FileChanged, Pin, check_pinned

ANALYSES_KEY = "video_analyses"


async def _readable(media: MediaRef) -> Path:
    """``media``'s path, once a file used in place is checked to be the one uploaded (else a MediaError)."""
    pin = Pin.decode(media.pin)
    if pin is not None:
        try:
            await anyio.to_thread.run_sync(check_pinned, media.path, pin, media.filename)
        except FileChanged as exc:
            raise media_mod.MediaError(str(exc)) from None
    return media.path


class SessionAnalyzer:
    """An analyzer whose cache is the list ``state["video_analyses"]`` of one session's state."""

    def __init__(self, state: dict[str, Any]) -> None:
        analyses = state.get(ANALYSES_KEY)
        if not isinstance(analyses, list):
            analyses = state[ANALYSES_KEY] = []
        self._analyses: list[Any] = analyses

    def _cached(self, media_id: str, kind: str, params: dict[str, Any]) -> Any:
        for entry in self._analyses:
            if (
                isinstance(entry, dict)
                and entry.get("media_id") == media_id
                and entry.get("type") == kind
                and entry.get("params") == params
            ):
                return entry.get("result")
        return None

    def _keep(self, media_id: str, kind: str, params: dict[str, Any], result: Any) -> None:
        self._analyses.append({"media_id": media_id, "type": kind, "params": params, "result": result})

    async def silences(self, media: MediaRef, *, noise_db: float, min_silence_ms: int) -> list[Interval]:
        """The silent stretches of ``media``'s sound, in source milliseconds."""
        params = {"noise_db": noise_db, "min_silence_ms": min_silence_ms}
        cached = self._cached(media.media_id, "silences", params)
        if cached is None:
            found = await media_mod.detect_silences(
                await _readable(media), noise_db=noise_db, min_silence_ms=min_silence_ms
            )
            cached = [[a, b] for a, b in found]
            self._keep(media.media_id, "silences", params, cached)
        return [(int(a), int(b)) for a, b in cached]

    async def scenes(self, media: MediaRef) -> list[int]:
        """The times of ``media``'s scene changes, in source milliseconds."""
        cached = self._cached(media.media_id, "scenes", {})
        if cached is None:
            cached = await media_mod.detect_scenes(await _readable(media))
            self._keep(media.media_id, "scenes", {}, cached)
        return [int(t) for t in cached]

    async def subtitles(self, media: MediaRef) -> list[TimedText]:
        """The cues of a subtitle file, in whichever encoding the media package reads."""
        data = await anyio.Path(await _readable(media)).read_bytes()
        text = media_mod.read_subtitle_text(data)
        return [TimedText(c.start_ms, c.end_ms, c.text) for c in media_mod.parse_subtitles(text)]

    async def transcribe(self, media: MediaRef) -> list[TimedText]:
        """What is said in ``media``, as timed text."""
        return [
            TimedText(c.start_ms, c.end_ms, c.text)
            for c in await media_mod.transcribe(await _readable(media))
        ]

    def can_transcribe(self) -> bool:
        """Whether speech recognition is installed."""
        return media_mod.transcription_available()
