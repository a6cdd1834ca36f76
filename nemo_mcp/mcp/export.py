"""export_video: render the timeline, pick a running render up, save the MP4 where the user said."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import anyio
from pydantic import Field

from nemo_mcp.api.models import RenderStatus
from nemo_mcp.mcp.context import AN_ID, ID_PATTERN, AppState, Ctx, Session, app_state, tool_errors
from nemo_mcp.mcp.follow import follow_transfer, mb
from nemo_mcp.mcp.outputs import (
    ExportOut,
)
from nemo_mcp.mcp.progress import Progress, render_reporter, with_keepalive
from nemo_mcp.service import (
    Notes,
    RenderRecord,
    SessionManager,
    download_folder,
    exports,
    jobs,
)


@tool_errors
async def export_video(
    ctx: Ctx,
    session: Session = None,
    format: Annotated[Literal["mp4"], Field(description="Container.")] = "mp4",
    quality: Annotated[Literal["high", "standard", "draft"], Field(description="Encoding quality.")] = "high",
    download_to: Annotated[
        str | None, Field(max_length=4096, description="Existing folder to save the MP4 in.")
    ] = None,
    wait_seconds: Annotated[
        int | None, Field(ge=0, le=900, description="Wait limit (at most the budget).")
    ] = None,
    render_id: Annotated[
        str | None, Field(pattern=ID_PATTERN, description="An earlier render to wait for."), AN_ID
    ] = None,
    overwrite: Annotated[bool, Field(description="Replace a file of the same name.")] = False,
) -> ExportOut:
    """Render the timeline to MP4 (free); resume a long one with render_id."""
    state = app_state(ctx)
    dest = (
        download_folder(download_to, state.settings.download_dir, _download_roots(state))
        if download_to
        else None
    )
    budget = state.settings.wait_budget
    wait = budget if wait_seconds is None else min(wait_seconds, budget)
    progress = Progress(ctx, quiet_after=state.settings.heartbeat_interval)
    order = _Order(session, format, quality, dest, render_id, overwrite)
    out: list[ExportOut] = []

    async def work() -> None:
        async with state.export_slots:
            out.append(await _export(progress, state, order, anyio.current_time() + wait))

    await with_keepalive(progress, work)
    return out[0]


def _download_roots(state: AppState) -> list[Path]:
    """Where download_to may point: the download folder, the configured upload folders, NEMO_DOWNLOAD_ROOTS."""
    settings = state.settings
    return [
        *([settings.download_dir] if settings.download_dir else []),
        *state.policy.roots,
        *settings.download_roots,
    ]


@dataclass(frozen=True)
class _Order:
    session: str | None
    fmt: str
    quality: str
    dest: Path | None
    render_id: str | None
    overwrite: bool


async def _export(progress: Progress, state: AppState, order: _Order, deadline: float) -> ExportOut:
    mgr = state.manager
    notes = Notes()
    if order.render_id:
        record = exports.resume(mgr, order.render_id, order.session)
        await progress.say(f"Resuming render {order.render_id}…", value=0, total=100)
    else:
        await progress.say("Starting the render…", value=0, total=100)
        async with mgr.render_lock:
            record, attached = await exports.start_or_attach(
                mgr, order.session, fmt=order.fmt, quality=order.quality, notes=notes
            )
        if attached:
            notes.add(f"This timeline was already exported as {record.render_id}; that render is used again.")
    wait_s = max(0.0, deadline - anyio.current_time())
    record, status, finished = await exports.wait(
        mgr, record, wait_seconds=wait_s, on_progress=render_reporter(progress), notes=notes
    )
    if not finished:
        return ExportOut(
            render_id=record.render_id,
            status=status.status,
            progress=status.progress,
            finished=False,
            message=(
                f"The render is still {status.status} ({status.progress:.0f}%); nothing is lost. Call "
                f"export_video again with render_id={record.render_id!r} (and the same download_to) to keep "
                "waiting; it will not start a second render."
            ),
            notes=notes.items,
        )
    exports.raise_unless_completed(status)
    path: Path | None = None
    if order.dest is not None:
        path, running = await _download(
            progress, mgr, record, order, deadline, captions_url=status.captions_url
        )
        if running is not None:
            got = f"{mb(running.sent)} of {mb(running.total)} MB" if running.total else "started"
            return ExportOut(
                render_id=record.render_id,
                status="downloading",
                progress=100.0,
                finished=False,
                download_url=status.output_url or record.output_url,
                message=(
                    f"The render is done and the MP4 is still downloading ({got}); nothing is lost. Call "
                    f"export_video again with render_id={record.render_id!r} and the same download_to to get "
                    "the file; it will not download it twice."
                ),
                notes=notes.items,
            )
    saved = f" and saved to {path}" if path else "; download it from the link"
    # The check ran in the render job (local engine) or in the download job (cloud).
    checks = exports.checks_of(mgr.store.get_render(mgr.backend, record.render_id) or record)
    found = exports.describe_checks(checks)
    facts = _render_facts(status, path)
    return ExportOut(
        render_id=record.render_id,
        status="completed",
        progress=100.0,
        finished=True,
        download_url=status.output_url or record.output_url,
        file=str(path) if path else None,
        check=checks or {},
        render=facts,
        message=f"The export is ready{saved}.{_how_rendered(facts, status.captions_url)}"
        + (f" {found}" if found else ""),
        notes=notes.items,
    )


def _render_facts(status: RenderStatus, path: Path | None) -> dict[str, str]:
    """The render's path and caption handling as structured fields (empty when the backend is silent)."""
    srt = path.with_suffix(".srt") if path is not None else None
    facts = {
        "path": status.render_path,
        "reason": status.render_reason,
        "captions": status.captions,
        "srt": str(srt) if srt is not None and srt.is_file() else None,
    }
    return {key: value for key, value in facts.items() if value}


def _how_rendered(facts: dict[str, str], captions_url: str | None) -> str:
    """Which render ran and how the captions ship, as the engine reported it (the cloud says nothing)."""
    said = ""
    if facts.get("path") == "smart":
        said += " Smart render: the source's pictures were kept, only the frames at the cuts re-encoded."
    elif facts.get("path") == "full" and "reason" in facts:
        said += f" Full render ({facts['reason']})."
    if facts.get("captions") == "track":
        where = f" saved as {facts['srt']}" if "srt" in facts else f" at {captions_url}"
        said += f" Captions are a subtitle track in the MP4 and an .srt file{where}."
    elif facts.get("captions") == "burned":
        said += " Captions are burned into the picture."
    return said


async def _download(
    progress: Progress,
    mgr: SessionManager,
    record: RenderRecord,
    order: _Order,
    deadline: float,
    *,
    captions_url: str | None,
) -> tuple[Path | None, jobs.Transfer[Path] | None]:
    """The saved MP4, or the download still running when ``deadline`` came (it goes on, to be picked up).

    A download of this render into this folder that is running, or done and not yet collected,
    is attached to: the same file is never fetched twice into one folder.
    """
    dest, overwrite = order.dest, order.overwrite
    assert dest is not None
    running = jobs.find(mgr, jobs.download_key(mgr, record.render_id, dest))
    if running is None and not overwrite:
        saved = _saved_before(record.local_file, dest)
        if saved is not None:
            return saved, None
    if running is not None:
        job: jobs.Transfer[Path] = running
        await progress.say("Waiting for the download already running…")
    else:
        download = jobs.RenderDownload(mgr, record, dest, overwrite=overwrite, captions_url=captions_url)
        job = jobs.submit(mgr, download)[0]
        await progress.say("Downloading the MP4…")
    if not await follow_transfer(progress, job, deadline, verb="Downloaded", bar=False):
        return None, job
    return job.outcome(), None


def _saved_before(local_file: str | None, dest: Path) -> Path | None:
    """The file an earlier call already saved from this render into ``dest``, if it is still there."""
    if not local_file:
        return None
    path = Path(local_file)
    return path if path.parent == dest and path.is_file() else None
