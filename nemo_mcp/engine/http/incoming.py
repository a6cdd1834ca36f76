"""One uploaded file on its way in: its name, type check, size limit and place on disk."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nemo_mcp.engine.http.envelopes import ApiFailure, coded
from nemo_mcp.engine.store import new_media_id
from nemo_mcp.errors import ACCEPTED_FORMATS

# Subtitle files are accepted beside the contract's formats: the local engine makes captions from them.
ACCEPTED_SUFFIXES = frozenset({*(f".{f}" for f in ACCEPTED_FORMATS), ".srt", ".vtt"})
MAX_FILES_PER_REQUEST = 20
FLUSH_BYTES = 1024 * 1024


@dataclass
class Incoming:
    """One file of an upload: copied into the session's folder, or referenced in place."""

    filename: str
    media_id: str
    path: Path
    copied: bool
    size: int = 0
    hash: str = ""
    pin: str = ""  # for a file used in place: its identity when checked (engine.pinning)


def display_name(raw: str) -> str:
    """The last component of a sent file name, printable and at most 200 characters."""
    # Browsers and curl send a bare name, some tools a path: keep the last component only.
    name = raw.replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = "".join(ch for ch in name if ch.isprintable())
    return name[:200] or "upload"


def check_type(filename: str) -> str:
    """The file's suffix when the engine accepts it; else a 4001 failure listing what it accepts."""
    suffix = Path(filename).suffix.lower()
    if suffix not in ACCEPTED_SUFFIXES:
        raise coded(
            4001,
            f"{filename}: unsupported file type. Accepted: {', '.join(ACCEPTED_FORMATS)} "
            "(and .srt/.vtt subtitles for captions).",
        )
    return suffix


def too_large(limit_bytes: int, filename: str) -> ApiFailure:
    """The 4002 failure of a file over ``limit_bytes``, suggesting what to do instead."""
    limit_mb = limit_bytes / (1024 * 1024)
    return coded(
        4002,
        f"{filename} is larger than the {limit_mb:g} MB limit: compress it or trim it into shorter parts, "
        "or pass it as a file:// URL so it is used in place.",
    )


def new_copy(folder: Path, filename: str) -> Incoming:
    """A file to be copied into ``folder`` under a fresh media id (its type checked first)."""
    suffix = check_type(filename)
    media_id = new_media_id()
    return Incoming(filename, media_id, folder / f"{media_id}{suffix}", copied=True)


def discard(items: list[Incoming]) -> None:
    """Remove the copies among ``items``; files referenced in place are not ours to delete."""
    for item in items:
        if item.copied:
            item.path.unlink(missing_ok=True)
