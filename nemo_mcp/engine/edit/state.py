"""What an instruction works on: the session's draft and media, the analyzer of slow facts, results."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

from nemo_mcp.draft import ops
from nemo_mcp.draft.ops import Interval, TimedText
from nemo_mcp.engine.edit.operations import Operation
from nemo_mcp.engine.media import MediaInfo, SceneText, Transcript

__all__ = [
    "HISTORY_LIMIT",
    "IMAGE_STILL_MS",
    "Analyzer",
    "EditRefused",
    "EditState",
    "MediaRef",
    "StepResult",
    "place_uploads",
    "push_history",
]


HISTORY_LIMIT: Final = 20


@dataclass(frozen=True)
class MediaRef:
    """One media file of the session, as the interpreter sees it."""

    media_id: str
    filename: str
    path: Path
    info: MediaInfo
    #: For a file used in place, its identity when uploaded (``engine.pinning``); checked before each read.
    pin: str = ""

    @property
    def kind(self) -> str:
        return self.info.kind


@dataclass
class EditState:
    """What an instruction works on. ``outputs`` and ``private`` are merged back by the caller.

    ``outputs`` holds public results beside the draft (``youtube_chapters``, ``canvas_config``);
    ``private`` holds the undo ``history`` and the caption cues by video id (``captions``).
    """

    draft: dict[str, Any]
    media: dict[str, MediaRef]
    title: str = "project"
    outputs: dict[str, Any] = field(default_factory=dict)
    private: dict[str, Any] = field(default_factory=dict)


class Analyzer(Protocol):
    """The slow facts about media; the app's implementation caches them per session."""

    async def silences(self, media: MediaRef, *, noise_db: float, min_silence_ms: int) -> list[Interval]: ...

    async def scenes(self, media: MediaRef) -> list[int]: ...

    async def subtitles(self, media: MediaRef) -> list[TimedText]: ...

    async def transcribe(self, media: MediaRef) -> list[TimedText]: ...

    async def transcript(self, media: MediaRef, *, cached_only: bool = False) -> Transcript | None: ...

    async def scene_text(self, media: MediaRef) -> list[SceneText]: ...

    def can_transcribe(self) -> bool: ...


class EditRefused(Exception):
    """An operation cannot run on this project; ``str()`` says why and what to do."""


@dataclass(frozen=True)
class StepResult:
    operation: Operation
    ok: bool
    message: str
    response: dict[str, Any]


# -- placing uploads ----------------------------------------------------------------------
IMAGE_STILL_MS: Final = 5000


def place_uploads(draft: dict[str, Any], refs: Sequence[MediaRef]) -> list[str]:
    """Append uploaded videos and images to the main track, as an editor's import does.

    Audio and subtitle files wait in the library until an instruction uses them
    ("add background music", "add captions"). Returns the names placed.
    """
    placed: list[str] = []
    for ref in refs:
        if ref.kind not in ("video", "image"):
            continue
        track = ops.ensure_track(draft, ops.VIDEO, "main", "Main")
        d = ref.info.duration_ms if ref.kind == "video" else IMAGE_STILL_MS
        track["sg"].append({"d": d, "m": {"src": ref.media_id, "in": 0, "name": ref.filename}})
        placed.append(ref.filename)
    if placed:
        ops.update_duration(draft)
        ops.sync_bgm(draft)
    return placed


def push_history(state: EditState, snapshot: dict[str, Any]) -> None:
    """Keep ``snapshot`` for undo (the last :data:`HISTORY_LIMIT` only)."""
    history = state.private.setdefault("history", [])
    history.append(snapshot)
    del history[:-HISTORY_LIMIT]
