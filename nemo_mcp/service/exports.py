"""Exports: start a render, poll it, download it, and keep its record in the store.

The record of a render is saved before the request that starts it, so a process that dies
mid-request can still find the job; every poll updates it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from nemo_mcp.api.models import RenderStatus, new_render_id
from nemo_mcp.errors import (
    DiskFull,
    DownloadFolderRefused,
    EmptyTimeline,
    NemoError,
    RenderFailed,
    is_disk_full,
)
from nemo_mcp.service.store import RenderRecord

if TYPE_CHECKING:
    from nemo_mcp.service.projects import Notes, SessionManager

log = logging.getLogger(__name__)

#: Poll delays while a render's progress gives no usable estimate (the vendor documents 30 s).
POLL_SCHEDULE = (2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0)
MAX_POLL = 30.0
#: Renderers that hold near 90 % until done (stitching, upload) finish where the rate reaches this.
EARLY_TARGET = 90.0
#: Poll delay on the embedded engine: a loopback poll costs a millisecond, and the caller sees the render move.
LOOPBACK_POLL = 0.75


def download_folder(download_to: str, base: Path | None, allowed: Sequence[Path]) -> Path:
    """The existing folder an export is saved in; a relative path is taken from ``base`` (else the cwd).

    The folder must lie inside one of ``allowed`` (the download folder, the upload folders and
    NEMO_DOWNLOAD_ROOTS) once symlinks are resolved: a prompt must not be able to drop a file
    into ~/.config/autostart or a shell's start-up folder.
    """
    if "\x00" in download_to:
        raise DownloadFolderRefused(
            "The download folder path contains a NUL character; pass a plain folder path."
        )
    folder = Path(download_to).expanduser()
    if not folder.is_absolute():
        folder = (base or Path.cwd()) / folder
    try:
        is_dir = folder.is_dir()
        real = folder.resolve() if is_dir else folder
    except (OSError, RuntimeError):  # a name too long, a symlink loop: unusable either way
        is_dir = False
    if not is_dir:
        raise DownloadFolderRefused(
            f"The download folder {str(folder)!r} does not exist or is not a folder. Create it first, or pass "
            "an existing folder."
        )
    roots = [Path(r).expanduser().resolve() for r in allowed]
    if not any(real.is_relative_to(r) for r in roots):
        shown = ", ".join(str(r) for r in roots) or "none configured"
        raise DownloadFolderRefused(
            f"Exports are saved only in the download folder or the upload folders ({shown}); {str(folder)!r} is "
            "outside them. Pick one of those, or add the folder to NEMO_DOWNLOAD_ROOTS (or set NEMO_DOWNLOAD_DIR)."
        )
    return folder


def _safe_stem(text: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:60]
    return stem or "nemo"


def resume(mgr: SessionManager, render_id: str, session_id: str | None) -> RenderRecord:
    """The record of an earlier render to keep waiting for (a fresh one if this store never saw it)."""
    return mgr.store.get_render(mgr.backend, render_id) or RenderRecord(
        render_id=render_id,
        backend=mgr.backend,
        session_id=session_id or mgr.current_project_id() or "",
        status="pending",
    )


def render_ids(mgr: SessionManager, session_id: str) -> list[str]:
    """The ids of the renders recorded for a project."""
    return [r.render_id for r in mgr.store.list_renders(mgr.backend, session_id)]


def raise_unless_completed(status: RenderStatus) -> None:
    """A finished render that did not complete becomes :class:`RenderFailed` with what to do next."""
    if status.status != "completed":
        if is_disk_full(text=status.error or ""):
            raise DiskFull(
                f"The render failed because a disk is full ({status.error}). Free some space (the local engine "
                "renders under NEMO_MCP_HOME), then export again."
            )
        raise RenderFailed(
            f"The render {status.status}"
            + (f": {status.error}" if status.error else "")
            + ". Check the timeline with get_timeline, then export again."
        )


def draft_hash(draft: dict[str, Any], fmt: str, quality: str) -> str:
    """What identifies one export: the exact timeline, the container and the quality."""
    text = json.dumps([draft, fmt, quality], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


async def start(
    mgr: SessionManager, session_id: str | None, *, fmt: str, quality: str, notes: Notes | None = None
) -> RenderRecord:
    """Start a render from the project's current draft and record it before anything else."""
    return (await start_or_attach(mgr, session_id, fmt=fmt, quality=quality, notes=notes, attach=False))[0]


async def start_or_attach(
    mgr: SessionManager,
    session_id: str | None,
    *,
    fmt: str,
    quality: str,
    notes: Notes | None = None,
    attach: bool = True,
) -> tuple[RenderRecord, bool]:
    """Like :func:`start`, but a timeline identical to one already rendering or rendered (same
    format and quality) attaches to that render instead; returns (record, attached)."""
    sid, state = await mgr.state(session_id, notes=notes)
    draft = state.state.draft
    if not draft:
        raise EmptyTimeline()
    digest = draft_hash(draft, fmt, quality)
    earlier = mgr.store.render_of(mgr.backend, sid, digest) if attach else None
    if earlier is not None and earlier.status != "starting":
        return earlier, True
    # A record left "starting" (a process died mid-request) is started again under its own id:
    # the backend reports the job it already has under that id instead of making a second one.
    render_id = earlier.render_id if earlier is not None else new_render_id()
    # Record the id first: if this process dies mid-request the job can still be found.
    record = mgr.store.save_render(
        RenderRecord(
            render_id=render_id,
            backend=mgr.backend,
            session_id=sid,
            status="starting",
            draft_hash=digest,
            expected=_expected_json(draft),
        )
    )

    # The draft belongs to this session: a gone session is reported, not replaced.
    async def op(token: SecretStr, _: str | None) -> RenderStatus:
        return await mgr.client.start_render(token, sid, draft, render_id=render_id, fmt=fmt, quality=quality)

    try:
        _, status = await mgr.call(op, notes=notes)
    except NemoError as exc:
        mgr.store.save_render(
            RenderRecord(**{**record.__dict__, "status": "failed", "error": exc.user_message})
        )
        raise
    if status.id and status.id != render_id:
        # The backend chose its own id: keep that one and forget the provisional one.
        mgr.store.delete_render(mgr.backend, render_id)
        record = RenderRecord(**{**record.__dict__, "render_id": status.id, "status": status.status})
    return _record_status(mgr, record, status), False


def _record_status(mgr: SessionManager, record: RenderRecord, status: RenderStatus) -> RenderRecord:
    return mgr.store.save_render(
        RenderRecord(
            **{
                **record.__dict__,
                "backend": mgr.backend,
                "status": status.status,
                "progress": status.progress,
                "output_url": status.output_url or record.output_url,
                "error": status.error,
                "checks": _checks_json(status) or record.checks,
            }
        )
    )


def _expected_json(draft: dict[str, Any]) -> str:
    """What the timeline asks for, kept with the render for the check of the downloaded MP4."""
    from nemo_mcp.engine import media

    return json.dumps(media.expected_of(draft).as_dict())


def _checks_json(status: RenderStatus) -> str | None:
    """The check a backend ran itself (the local engine reports it in the render status)."""
    found = (status.model_extra or {}).get("checks")
    return json.dumps(found) if isinstance(found, dict) else None


def checks_of(record: RenderRecord) -> dict[str, Any] | None:
    """The check recorded for a render, as the tool result carries it."""
    found = json.loads(record.checks) if record.checks else None
    return found if isinstance(found, dict) else None


def describe_checks(check: dict[str, Any] | None) -> str:
    """One plain sentence about what the check of an MP4 found (see :func:`checks_of`), or ''."""
    if not check:
        return ""
    parts: list[str] = []
    for p in check.get("problems") or []:
        what = {"black": "a black picture", "frozen": "a frozen picture", "silent": "silence"}.get(
            p.get("kind"), ""
        )
        if what:
            parts.append(f"{what} from {p['start_s']:.1f} s to {p['end_s']:.1f} s")
    timeline_s = float(check.get("timeline_s") or 0)
    if timeline_s > 0 and abs(float(check.get("duration_s") or 0) - timeline_s) > 1.0:
        parts.append(f"{check['duration_s']:.1f} s long against a timeline of {check['timeline_s']:.1f} s")
    return ("The check of the MP4 found " + "; ".join(parts) + ".") if parts else ""


async def check_download(
    mgr: SessionManager,
    record: RenderRecord,
    path: Path,
    on_progress: Callable[[float], Awaitable[None]] | None = None,
) -> RenderRecord:
    """Check a downloaded MP4 here against its timeline, unless the backend already checked it.

    A file that cannot be read is left unchecked (it is the user's file; the download stands).
    """
    from nemo_mcp.engine import media

    current = mgr.store.get_render(mgr.backend, record.render_id) or record
    if current.checks:
        return current
    expected = media.Expected.from_dict(json.loads(current.expected) if current.expected else None)
    try:
        found = await media.check_export(path, expected, on_progress=on_progress)
    except media.MediaError as exc:
        log.warning("the downloaded render %s could not be checked: %s", record.render_id, exc)
        return current
    return mgr.store.save_render(RenderRecord(**{**current.__dict__, "checks": json.dumps(found.as_dict())}))


def next_poll_delay(attempt: int, history: list[tuple[float, float]], *, loopback: bool = False) -> float:
    """How long to wait before the next poll.

    On loopback (the embedded engine) every poll is cheap, so it is :data:`LOOPBACK_POLL`. On
    the cloud, without progress information the delays follow :data:`POLL_SCHEDULE`, ending at the
    documented 30 s. When the backend reports progress, the rate seen so far predicts the
    finish, and the next poll is aimed just after it (never more than 30 s away).
    """
    if loopback:
        return LOOPBACK_POLL
    fallback = POLL_SCHEDULE[min(attempt, len(POLL_SCHEDULE) - 1)]
    if len(history) >= 2:
        (t0, p0), (t1, p1) = history[0], history[-1]
        if p1 > p0 and t1 > t0 and p1 < 100:
            rate = (p1 - p0) / (t1 - t0)
            # Aim first where the rate reaches EARLY_TARGET, then at 100: one more poll
            # when progress is truly linear, seconds instead of a tenth of the render when
            # the renderer jumps from ~90 % to done.
            target = EARLY_TARGET if p1 < EARLY_TARGET - 0.5 else 100.0
            remaining = (target - p1) / rate
            return max(1.0, min(MAX_POLL, remaining + 0.5))
    return fallback


async def wait(
    mgr: SessionManager,
    record: RenderRecord,
    *,
    wait_seconds: float,
    on_progress: Callable[[RenderStatus], Awaitable[None]] | None = None,
    notes: Notes | None = None,
) -> tuple[RenderRecord, RenderStatus, bool]:
    """Poll until the render finishes or ``wait_seconds`` pass; returns (record, status, finished)."""
    deadline = mgr.clock() + wait_seconds
    attempt = 0
    history: list[tuple[float, float]] = []
    status = RenderStatus(id=record.render_id, status="pending")
    render_id = record.render_id

    async def poll(token: SecretStr, _: str | None) -> RenderStatus:
        return await mgr.client.get_render(token, render_id)

    first = True
    while True:
        if not first:
            delay = next_poll_delay(attempt, history, loopback=mgr.backend == "local")
            remaining = deadline - mgr.clock()
            if remaining <= 0:
                return record, status, False
            await mgr.sleep(min(delay, remaining))
            attempt += 1
        first = False
        _, status = await mgr.call(poll, notes=notes)
        record = _record_status(mgr, record, status)
        now = mgr.clock()
        if status.progress > 0 and not math.isnan(status.progress):
            history.append((now, status.progress))
        if on_progress is not None:
            await on_progress(status)
        if status.finished:
            return record, status, True
        if now >= deadline:
            return record, status, False


async def download(
    mgr: SessionManager,
    record: RenderRecord,
    dest_dir: Path,
    *,
    overwrite: bool = False,
    on_progress: Callable[[int, int | None], Awaitable[None]] | None = None,
    captions_url: str | None = None,
) -> Path:
    """Save a finished render as ``<project title>-<render id>.mp4`` in ``dest_dir`` and record the path.

    With ``captions_url`` (captions shipped as a track), the ``.srt`` is saved beside it, same name.
    """
    if not record.output_url:
        raise RenderFailed("The render has no download URL yet; wait for it to complete.")
    project = mgr.store.get_project(mgr.backend, record.session_id)
    stem = _safe_stem(project.title if project and project.title else "nemo-export")
    filename = f"{stem}-{record.render_id}.mp4"
    token = await mgr.token()
    # Captions shipped as a track come with an .srt: saved first, under the MP4's name, so the
    # pair is complete or the .srt is removed again (nothing half-saved is left).
    captions = await _captions_file(mgr, captions_url, dest_dir, f"{stem}-{record.render_id}.srt", overwrite)
    try:
        path = await mgr.client.download(
            record.output_url,
            dest_dir,
            filename=filename,
            token=token,
            overwrite=overwrite,
            on_progress=on_progress,
        )
    except BaseException:
        if captions is not None:
            captions.unlink(missing_ok=True)
        raise
    mgr.store.save_render(RenderRecord(**{**record.__dict__, "local_file": str(path)}))
    return path


async def _captions_file(
    mgr: SessionManager, url: str | None, dest_dir: Path, filename: str, overwrite: bool
) -> Path | None:
    """The render's sidecar captions saved into ``dest_dir``, when it has them (same checks as the MP4)."""
    if not url:
        return None
    token = await mgr.token()
    return await mgr.client.download(
        url, dest_dir, filename=filename, token=token, overwrite=overwrite, captions=True
    )
