"""The slow facts about a session's media, each computed once.

This is the :class:`~nemo_mcp.engine.edit.Analyzer` the executor calls. Silences and scene
changes are kept in ``state["video_analyses"]`` (public, like the cloud's), keyed by media id,
kind and parameters, so a second instruction on the same media does not run ffmpeg again.

A transcript is costlier and outlives sessions: it is kept as a JSON file named by the SHA-256
of the media's bytes, the model and the language, in a cache folder shared by every session,
so the same lecture uploaded again, edited in another project or after a restart is not
recognised twice. Concurrent requests for one file wait for the first. The text each scene shows
is kept the same way (``scenes.<hash>.json``), since reading it runs a model on every scene.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from nemo_mcp.draft import Interval, TimedText
from nemo_mcp.engine import media as media_mod
from nemo_mcp.engine.edit import MediaRef
from nemo_mcp.engine.media import Progress, Transcript
from nemo_mcp.engine.media.whisper_models import language_code
from nemo_mcp.engine.pinning import FileChanged, Pin, check_pinned

logger = logging.getLogger(__name__)

ANALYSES_KEY = "video_analyses"
# Bumped when the stored transcript's shape or the way it is computed changes.
_TRANSCRIPT_FORMAT = 1
# 2: every scene of at least 1.5 s is read (1 stopped at the 30th scene).
_SCENE_TEXT_FORMAT = 2
# Scene-change times, kept by content hash: bump when detect_scenes finds them differently.
# 2: found from keyframes first, which can miss a change that reverts within one keyframe interval.
_CHANGES_FORMAT = 2


def default_cache_dir() -> Path:
    """The per-user folder transcripts are kept in when the engine gives none."""
    return media_mod.model_cache_dir().parent / "analysis"


_hashes: dict[tuple[str, int, int], str] = {}
_key_locks: dict[str, anyio.Lock] = {}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


async def content_hash(path: Path) -> str:
    """SHA-256 of the file's bytes, remembered for as long as its size and time stay the same."""
    st = await anyio.Path(path).stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    found = _hashes.get(key)
    if found is None:
        found = _hashes[key] = await anyio.to_thread.run_sync(_sha256, path)
    return found


def _write_atomically(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, separators=(",", ":"))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _read_transcript(path: Path) -> Transcript | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != _TRANSCRIPT_FORMAT:
            return None
        return Transcript.from_json(data["transcript"])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # absent or unreadable: computed again and rewritten


def _read_changes(path: Path) -> list[int] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != _CHANGES_FORMAT:
            return None
        return [int(t) for t in data["changes"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # absent or unreadable: found again and rewritten


def _read_scene_text(path: Path) -> list[media_mod.SceneText] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != _SCENE_TEXT_FORMAT:
            return None
        return [media_mod.SceneText.from_json(s) for s in data["scenes"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # absent or unreadable: read again and rewritten


class ProgressNotes:
    """The latest progress of slow analysis (reported from worker threads), as sentences to send.

    :meth:`report` is the :data:`~nemo_mcp.engine.media.Progress` callback; :meth:`fresh` gives
    the sentence for the newest report once, or None when nothing new happened since.
    """

    def __init__(self) -> None:
        self._latest: tuple[str, float, float] | None = None
        self._sent: tuple[str, float, float] | None = None

    def report(self, what: str, done: float, total: float) -> None:
        self._latest = (what, done, total)  # one assignment: safe from any thread

    def fresh(self) -> str | None:
        latest = self._latest
        if latest is None or latest == self._sent:
            return None
        self._sent = latest
        what, done, total = latest
        if what == "download":
            mb = 1024 * 1024
            return f"Downloading the speech model: {done / mb:.0f} of {total / mb:.0f} MB…"
        share = f" ({done / total:.0%})" if total > 0 else ""
        if what == "ocr":
            return f"Reading the on-screen text: scene {done:.0f} of {total:.0f}{share}…"
        return f"Recognising speech: {done:.0f} of {total:.0f} seconds{share}…"


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
    """An analyzer whose small results live in ``state["video_analyses"]``, transcripts in ``cache_dir``."""

    def __init__(
        self,
        state: dict[str, Any],
        *,
        language: str | None = None,
        cache_dir: Path | None = None,
        on_progress: Progress | None = None,
    ) -> None:
        analyses = state.get(ANALYSES_KEY)
        if not isinstance(analyses, list):
            analyses = state[ANALYSES_KEY] = []
        self._analyses: list[Any] = analyses
        self._language = language
        self._cache_dir = cache_dir or default_cache_dir()
        self._on_progress = on_progress

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
        """The times of ``media``'s scene changes, in source milliseconds, found once per file's content.

        Kept in the session's state and, because finding them decodes every frame (minutes for a long
        lecture), on disk by content hash too: read_footage's reading and a later edit share them.
        """
        cached = self._cached(media.media_id, "scenes", {})
        if cached is None:
            file = self._cache_dir / f"changes.{await self._digest(media)}.json"
            async with _key_locks.setdefault(str(file), anyio.Lock()):
                cached = await anyio.to_thread.run_sync(_read_changes, file)
                if cached is None:
                    cached = await media_mod.detect_scenes(await _readable(media))
                    data = {"format": _CHANGES_FORMAT, "changes": list(cached)}
                    await anyio.to_thread.run_sync(_write_atomically, file, data)
            self._keep(media.media_id, "scenes", {}, cached)
        return [int(t) for t in cached]

    async def subtitles(self, media: MediaRef) -> list[TimedText]:
        """The cues of a subtitle file, in whichever encoding the media package reads."""
        data = await anyio.Path(await _readable(media)).read_bytes()
        text = media_mod.read_subtitle_text(data)
        return [TimedText(c.start_ms, c.end_ms, c.text) for c in media_mod.parse_subtitles(text)]

    async def scene_text(self, media: MediaRef) -> list[media_mod.SceneText]:
        """What each scene of ``media`` shows in writing (heading and body), read once per file's content."""
        source = await _readable(media)
        file = self._cache_dir / f"scenes.{await self._digest(media)}.json"
        async with _key_locks.setdefault(str(file), anyio.Lock()):
            found = await anyio.to_thread.run_sync(_read_scene_text, file)
            if found is not None:
                return found
            found = await media_mod.read_scene_text(
                source,
                await self.scenes(media),
                duration_ms=media.info.duration_ms,
                on_progress=self._on_progress,
            )
            data = {"format": _SCENE_TEXT_FORMAT, "scenes": [s.to_json() for s in found]}
            await anyio.to_thread.run_sync(_write_atomically, file, data)
            logger.info("kept the on-screen text of %s (%d scenes)", media.filename, len(found))
            return found

    async def _digest(self, media: MediaRef) -> str:
        try:
            return await content_hash(await _readable(media))
        except OSError as exc:
            raise media_mod.MediaError(
                f"could not read {media.filename} ({exc.strerror or type(exc).__name__}): upload it again"
            ) from exc

    async def _transcript_file(self, media: MediaRef) -> tuple[Path, media_mod.ModelChoice]:
        choice = media_mod.choose_model(None, self._language)
        digest = await self._digest(media)
        lang = (self._language or "auto").lower()
        return self._cache_dir / f"{digest}.{choice.name}.{lang}.json", choice

    async def transcript(self, media: MediaRef, *, cached_only: bool = False) -> Transcript | None:
        """What is said in ``media``: words, sentences and speech, recognised once per file's content.

        ``cached_only``: return None rather than recognise (or fetch a model) when it is not kept yet.
        """
        file, choice = await self._transcript_file(media)
        lock = _key_locks.setdefault(str(file), anyio.Lock())
        async with lock:
            found = await anyio.to_thread.run_sync(_read_transcript, file)
            if found is not None or cached_only:
                return found
            found = await media_mod.recognise(
                await _readable(media),
                choice,
                language=language_code(self._language),
                on_progress=self._on_progress,
            )
            await anyio.to_thread.run_sync(
                _write_atomically, file, {"format": _TRANSCRIPT_FORMAT, "transcript": found.to_json()}
            )
            logger.info("kept the transcript of %s (%d words)", media.filename, len(found.words))
            return found

    async def transcribe(self, media: MediaRef) -> list[TimedText]:
        """What is said in ``media``, as caption cues (two readable lines each)."""
        transcript = await self.transcript(media)
        assert transcript is not None
        return [TimedText(c.start_ms, c.end_ms, c.text) for c in media_mod.words_to_cues(transcript.words)]

    def can_transcribe(self) -> bool:
        """Whether speech recognition is installed (the model may still be fetched on first use)."""
        return media_mod.transcription_available()
