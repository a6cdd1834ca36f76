"""The state one app instance owns: its store, folders, per-session locks and running exports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
from starlette.requests import Request

from nemo_mcp.dbfile import private_dir
from nemo_mcp.engine.edit import MediaRef
from nemo_mcp.engine.media import MediaInfo
from nemo_mcp.engine.owners import OwnerLock
from nemo_mcp.engine.pinning import FileChanged, Pin, check_pinned
from nemo_mcp.engine.store import EngineStore, MediaRecord
from nemo_mcp.errors import MAX_UPLOAD_BYTES

HEARTBEAT_S = 4.0


@dataclass
class RenderJob:
    """A running export: the scope that cancels it, and an event set once it has cleaned up."""

    scope: anyio.CancelScope
    done: anyio.Event = field(default_factory=anyio.Event)


class Engine:
    """Everything one app instance owns: the store, folders, locks and running renders."""

    def __init__(
        self,
        home: Path,
        *,
        max_upload_bytes: int = MAX_UPLOAD_BYTES,
        heartbeat_s: float = HEARTBEAT_S,
        max_renders: int = 2,
        file_roots: Sequence[Path] | None = None,
    ) -> None:
        self.root = private_dir(home / "local")
        self.media_dir = private_dir(self.root / "media")
        self.render_dir = private_dir(self.root / "renders")
        self.work_dir = private_dir(self.root / "work")
        self.store = EngineStore(self.root)
        # This instance's claim on its renders, for as long as the process lives (see engine.owners).
        self.owner = OwnerLock(self.root / "owners")
        self.max_upload_bytes = max_upload_bytes
        self.heartbeat_s = heartbeat_s
        self.render_limiter = anyio.CapacityLimiter(max_renders)
        self.jobs: dict[str, RenderJob] = {}
        self._locks: dict[str, anyio.Lock] = {}
        self.task_group: anyio.abc.TaskGroup | None = None
        # Set once serving: the port it listens on and the headers that pass its gate, so a
        # loopback upload URL pointing at the engine itself can be fetched.
        self.own_port: int | None = None
        self.own_headers: dict[str, str] = {}
        # None: any file this process can read may be named by a file:// URL (a token is required
        # either way); a sequence: only files inside these folders, once symlinks are resolved.
        self.file_roots: tuple[Path, ...] | None = None if file_roots is None else _resolve_roots(file_roots)

    def lock(self, session_id: str) -> anyio.Lock:
        """The session's lock: one edit or upload at a time, as both read, change and write its state."""
        lock = self._locks.get(session_id)
        if lock is None:
            lock = self._locks[session_id] = anyio.Lock()
        return lock

    def media_refs(self, session_id: str) -> dict[str, MediaRef]:
        """The session's media the editor can use, by media id (records that no longer parse are left out).

        Files used in place carry their pin: every read checks it first (engine.analysis, renders).
        """
        refs: dict[str, MediaRef] = {}
        for record in self.store.list_media(session_id):
            info = media_info(record.info)
            if info is not None:
                path = Path(record.path)
                refs[record.media_id] = MediaRef(record.media_id, record.filename, path, info, record.pin)
        return refs

    def changed_media(self, session_id: str) -> list[MediaRecord]:
        """The session's in-place files that were changed, moved or swapped since they were uploaded."""
        changed: list[MediaRecord] = []
        for record in self.store.list_media(session_id):
            pin = Pin.decode(record.pin)
            if pin is None:
                continue  # a copy, or a record older than pinning
            try:
                check_pinned(Path(record.path), pin, record.filename)
            except FileChanged:
                changed.append(record)
        return changed


def engine_of(request: Request) -> Engine:
    """The engine of the app serving ``request``."""
    engine: Engine = request.app.state.engine
    return engine


def _resolve_roots(roots: Sequence[Path]) -> tuple[Path, ...]:
    resolved: list[Path] = []
    for root in roots:
        real = Path(root).expanduser().resolve()
        if real not in resolved:
            resolved.append(real)
    return tuple(resolved)


def media_info(raw: Mapping[str, Any]) -> MediaInfo | None:
    """A stored media record's facts, or None when they were written by an incompatible version."""
    try:
        return MediaInfo(**raw)
    except TypeError:
        return None
