"""The one error of the media package, and the fix most of its messages suggest."""

from __future__ import annotations

from pathlib import Path

from nemo_mcp.engine.ffmpeg import FFmpegError

REEXPORT = "re-export it as MP4 (H.264 video, AAC audio) and upload it again"


class MediaError(Exception):
    """A media file cannot be used; ``str(exc)`` says why and what to do about it."""


def analysis_error(path: Path, what: str, exc: FFmpegError) -> MediaError:
    """A failed ffmpeg pass over ``path`` as a MediaError naming what was being done."""
    return MediaError(f"could not {what} in {path.name} ({exc}): {REEXPORT}")
