"""The tools: each a thin adapter that checks its input, calls the service and shapes the answer.

They check what only the MCP side can check (the caller's files against the upload policy, the
wait budget), report progress, and return a typed result. A NemoError becomes a tool error whose
text says what happened and what to do next (see :func:`~nemo_mcp.mcp.context.tool_errors`).
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from nemo_mcp import draft
from nemo_mcp.mcp.context import ID_PATTERN, AppState, Ctx, Session, app_state, tool_errors
from nemo_mcp.mcp.outputs import (
    CreditsOut,
    EditOut,
    ExportOut,
    FootageOut,
    MediaOut,
    ProjectOut,
    ProjectsOut,
    TimelineOut,
    TrackOut,
    UploadOut,
    media_entry,
)
from nemo_mcp.mcp.progress import EditProgress, Progress, render_reporter, with_keepalive
from nemo_mcp.service import (
    MAX_UPLOADS_PER_CALL,
    CheckedFile,
    Notes,
    RenderRecord,
    SessionManager,
    UploadPolicy,
    download_folder,
    edits,
    exports,
    footage,
    jobs,
)

log = logging.getLogger(__name__)

# -- upload_media ---------------------------------------------------------------------------------


#: How long a client may take to answer roots/list before the configured folders are used.
ROOTS_TIMEOUT = 5.0


async def _policy_for(ctx: Ctx, state: AppState) -> UploadPolicy:
    """The configured policy, narrowed (never widened) to the MCP client's roots when it offers them."""
    caps = ctx.client_capabilities
    if caps is None or getattr(caps, "roots", None) is None:
        return state.policy
    result = None
    try:
        with warnings.catch_warnings(), anyio.move_on_after(ROOTS_TIMEOUT):
            warnings.simplefilter("ignore")
            result = await ctx.session.list_roots()
    except Exception:  # no back-channel on this protocol era: keep the configured folders
        return state.policy
    if result is None:  # the client did not answer in time; a silent client must not hang uploads
        log.warning("roots/list got no answer in %.0f s; using the configured upload folders", ROOTS_TIMEOUT)
        return state.policy
    uris = [str(r.uri) for r in result.roots]
    return state.policy.with_roots(uris) if uris else state.policy


@tool_errors
async def upload_media(
    ctx: Ctx,
    paths: Annotated[list[str] | None, Field(description="Local files (video, audio, image).")] = None,
    urls: Annotated[list[str] | None, Field(description="https URLs the backend fetches.")] = None,
    session: Session = None,
    pick_up: Annotated[
        str | None, Field(pattern=ID_PATTERN, description="Id of an upload still running.")
    ] = None,
) -> UploadOut:
    """Add local files or URLs to the project; returns each file's type and length."""
    state = app_state(ctx)
    deadline = anyio.current_time() + state.settings.wait_budget
    if pick_up:
        job, attached = jobs.pick_up(state.manager, pick_up, jobs.Upload), True
    else:
        job, attached = await _start_upload(ctx, state, paths, urls, session)
    progress = Progress(ctx, quiet_after=state.settings.heartbeat_interval)
    finished: list[bool] = []

    async def follow() -> None:
        await progress.say(
            "Waiting for the upload already running…" if attached else "Uploading…",
            value=0,
            total=job.total or None,
        )
        finished.append(await _follow_transfer(progress, job, deadline, verb="Uploaded", bar=True))

    await with_keepalive(progress, follow)
    if not finished[0]:
        sent = f"{_mb(job.sent)} of {_mb(job.total or 0)} MB sent, " if job.total else ""
        return UploadOut(
            project=job.project,
            files=[],
            notes=job.notes.items,
            finished=False,
            pick_up=job.id,
            message=(
                f"The upload is still running ({sent}{job.elapsed:.0f} s so far); nothing is lost. Call "
                f"upload_media again with pick_up={job.id!r} (or the same paths) to get its files; it will "
                "not upload them twice."
            ),
        )
    done = job.outcome()
    return UploadOut(project=done.project, files=[MediaOut.of(f) for f in done.files], notes=job.notes.items)


async def _start_upload(
    ctx: Ctx, state: AppState, paths: list[str] | None, urls: list[str] | None, session: str | None
) -> tuple[jobs.Upload, bool]:
    """Check the caller's files and links, then start their upload (or attach to the same one running)."""
    if not paths and not urls:
        raise ToolError(
            "Give at least one local file in `paths` or one link in `urls` (or the `pick_up` id of an upload)."
        )
    for given, what in ((paths, "files"), (urls, "links")):
        # Before any file is opened: a list of thousands must cost nothing but this refusal.
        if given and len(given) > MAX_UPLOADS_PER_CALL:
            raise ToolError(
                f"{len(given)} {what} were given; upload at most {MAX_UPLOADS_PER_CALL} {what} per call. "
                "Split them into several upload_media calls."
            )
    checked: list[CheckedFile] = []
    try:
        policy = await _policy_for(ctx, state)
        for p in paths or []:
            checked.append(policy.check(p))
        engine = None if state.cloud else state.manager.api_base
        checked_urls = [policy.check_url(u, engine_origin=engine) for u in urls or []]
        # The project is settled first (made on first use), so a repeat of this call names the same upload.
        notes = Notes()
        project = (await state.manager.project(session, notes=notes)).session_id
    except BaseException:
        for c in checked:
            c.close()
        raise
    # From here the upload owns the opened files and closes them however it ends.
    job = jobs.Upload(state.manager, checked, checked_urls, project, state.upload_slots, notes=notes)
    return jobs.submit(state.manager, job)


def _mb(n: int) -> str:
    return f"{n / 2**20:.1f}"


async def _follow_transfer(
    progress: Progress, job: jobs.Transfer[Any], deadline: float, *, verb: str, bar: bool
) -> bool:
    """Show the transfer's bytes until it ends or ``deadline`` passes; whether it finished.

    The transfer belongs to the session manager, so the deadline leaves it going; a cancelled
    call (the user pressed stop) stops it. ``bar`` reports bytes as the progress value itself.
    """

    async def show() -> None:
        shown = -1
        while True:
            # Taken before reporting: a change while a report is being sent is not missed.
            moved, ended = job.watch(), job.done.is_set()
            if job.sent != shown:
                shown = job.sent
                if job.total:
                    line = f"{verb} {_mb(shown)} of {_mb(job.total)} MB"
                    await progress.say(line, value=shown if bar else None, total=job.total if bar else None)
                elif shown:
                    await progress.say(f"{verb} {_mb(shown)} MB")
            if ended:
                return
            await moved.wait()

    completed = False
    try:
        with anyio.move_on_after(max(0.0, deadline - anyio.current_time())):
            await show()
        completed = True
    finally:
        if not completed:
            job.cancel()
    return job.done.is_set()


# -- send_edit ------------------------------------------------------------------------------------


@tool_errors
async def send_edit(
    ctx: Ctx,
    instruction: Annotated[
        str, Field(min_length=1, max_length=4000, description="The edit, in plain words.")
    ],
    session: Session = None,
    pick_up: Annotated[
        str | None, Field(pattern=ID_PATTERN, description="Id of an edit still running.")
    ] = None,
) -> EditOut:
    """Apply a plain-language edit; returns the reply and what changed."""
    state = app_state(ctx)
    budget = state.settings.wait_budget
    if pick_up:
        job, attached = edits.pick_up(state.manager, pick_up), True
    else:
        job, attached = edits.submit(state.manager, instruction, session)
    progress = Progress(ctx, quiet_after=state.settings.heartbeat_interval)
    await progress.say("Waiting for the edit already running…" if attached else "Sending the edit…")
    if not await _follow_edit(progress, job, budget):
        return EditOut(
            project=job.project,
            reply=(
                f"The edit is still running ({job.elapsed:.0f} s so far); nothing is lost. Call send_edit "
                f"again with pick_up={job.id!r} (or the same instruction) to get its result."
            ),
            changes=[],
            timeline="",
            notes=job.notes.items,
            finished=False,
            pick_up=job.id,
        )
    result = job.outcome()
    return EditOut(
        project=result.project,
        reply=result.reply,
        changes=result.changes,
        timeline=result.timeline,
        backend_steps=result.backend_steps,
        notes=job.notes.items,
    )


async def _follow_edit(progress: Progress, job: edits.EditJob, budget: float) -> bool:
    """Show the edit's progress for at most ``budget`` seconds; whether it finished.

    The edit belongs to the session manager, so running out of budget leaves it going; a
    cancelled call (the user pressed stop) stops it.
    """
    relay = EditProgress(progress)

    async def follow() -> None:
        with anyio.move_on_after(budget), job.listen() as events:
            async for event in events:
                await relay.on_event(event)
            await job.done.wait()

    return await _follow_job(progress, job, follow)


async def _follow_job(progress: Progress, job: jobs.Job[Any], follow: Callable[[], Awaitable[None]]) -> bool:
    """Run ``follow`` (which watches ``job`` within its budget) with keepalives; whether the job finished.

    Only a cancelled call (the user pressed stop) stops the job: a spent budget leaves it going.
    """
    completed = False
    try:
        await with_keepalive(progress, follow)
        completed = True
    finally:
        if not completed:
            job.cancel()
    return job.done.is_set()


# -- read_footage ---------------------------------------------------------------------------------


@tool_errors
async def read_footage(
    ctx: Ctx,
    file: Annotated[str, Field(description="A file's name; default the timeline.")] = "",
    start: Annotated[int, Field(ge=0, description="First sentence.")] = 0,
    limit: int = footage.DEFAULT_SENTENCES,  # kept within 1…MAX_SENTENCES by footage.shape
    words: Annotated[bool, Field(description="Add word times.")] = False,
    session: Session = None,
) -> FootageOut:
    """Timed sentences, on-screen headings and long silences of the footage."""
    state = app_state(ctx)
    mgr = state.manager
    project = (await mgr.project(session)).session_id
    # The same file asked again attaches to its reading: a long analysis is picked up, never repeated.
    job, attached = footage.start(mgr, project, file, cloud=state.cloud)
    progress = Progress(ctx, quiet_after=state.settings.heartbeat_interval)
    await progress.say("Waiting for the reading already running…" if attached else "Reading the footage…")
    if not await _follow_reading(progress, job, state.settings.wait_budget):
        said = job.progress()
        return FootageOut(
            project=job.project,
            times="",
            sentences=[],
            total=0,
            notes=[
                *job.notes.items,
                f"Still analysing ({said or 'started'}; {job.elapsed:.0f} s so far); nothing is lost. Call "
                "read_footage again with the same file to get the result once it is ready.",
            ],
            finished=False,
        )
    page = footage.shape(job.outcome(), footage.Window(start=start, limit=limit, words=words))
    return FootageOut.of(job.project, page, job.notes.items)


async def _follow_reading(progress: Progress, job: footage.FootageJob, budget: float) -> bool:
    """Relay the analysis' progress for at most ``budget`` seconds; whether it finished.

    The reading belongs to the session manager: running out of budget leaves it going; a
    cancelled call (the user pressed stop) stops it.
    """

    async def follow() -> None:
        with anyio.move_on_after(budget):
            said = ""
            while not job.done.is_set():
                if (now := job.progress()) and now != said:
                    said = now
                    await progress.say(now)
                with anyio.move_on_after(1.0):
                    await job.done.wait()

    return await _follow_job(progress, job, follow)


# -- get_timeline / check_credits -----------------------------------------------------------------


@tool_errors
async def get_timeline(
    ctx: Ctx,
    session: Session = None,
    include_draft: Annotated[bool, Field(description="Also return the raw draft JSON.")] = False,
) -> TimelineOut:
    """Summarise the project's tracks, durations and media."""
    state = app_state(ctx)
    sid, st = await state.manager.state(session)
    raw = st.state.draft
    shape = draft.structured(raw)
    return TimelineOut(
        project=sid,
        summary=draft.summarize(raw),
        duration_s=float(shape.get("duration_s") or 0.0),
        tracks=[TrackOut.model_validate(t) for t in shape.get("tracks") or []],
        media=[media_entry(m) for m in st.state.video_infos],
        draft=raw if include_draft else None,
    )


def credit_advice(
    available: float | None, frozen: float | None, extra: dict[str, Any], env_token: bool
) -> str:
    """What the balance allows next, in one or two sentences."""
    if extra.get("unlimited"):
        return str(extra.get("note") or "The local engine uses no credits: edit and export freely.")
    if available is None or not math.isfinite(available):
        return "The backend did not report a balance."
    held = (
        f" {frozen:g} are held for edits in progress and return if they fail."
        if frozen and math.isfinite(frozen)
        else ""
    )
    if available <= 0:
        nxt = (
            "top up credits in your NemoVideo account"
            if env_token
            else "register (see the link AI edits give)"
        )
        return f"No credits left for AI edits; exports stay free. To keep editing, {nxt}.{held}"
    return f"{available:g} credits available for AI edits; exporting costs none.{held}"


@tool_errors
async def check_credits(ctx: Ctx) -> CreditsOut:
    """Show available, frozen and total credits and what they allow next."""
    state = app_state(ctx)
    credits = await state.manager.credits()
    advice = credit_advice(
        credits.available, credits.frozen, credits.model_extra or {}, state.manager.uses_env_token
    )
    return CreditsOut(available=credits.available, frozen=credits.frozen, total=credits.total, advice=advice)


# -- export_video ---------------------------------------------------------------------------------


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
        str | None, Field(pattern=ID_PATTERN, description="An earlier render to wait for.")
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
        path, running = await _download(progress, mgr, record, order.dest, order.overwrite, deadline)
        if running is not None:
            got = f"{_mb(running.sent)} of {_mb(running.total)} MB" if running.total else "started"
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
    return ExportOut(
        render_id=record.render_id,
        status="completed",
        progress=100.0,
        finished=True,
        download_url=status.output_url or record.output_url,
        file=str(path) if path else None,
        message=f"The export is ready{saved}.",
        notes=notes.items,
    )


async def _download(
    progress: Progress,
    mgr: SessionManager,
    record: RenderRecord,
    dest: Path,
    overwrite: bool,
    deadline: float,
) -> tuple[Path | None, jobs.Transfer[Path] | None]:
    """The saved MP4, or the download still running when ``deadline`` came (it goes on, to be picked up).

    A download of this render into this folder that is running, or done and not yet collected,
    is attached to: the same file is never fetched twice into one folder.
    """
    running = jobs.find(mgr, jobs.download_key(mgr, record.render_id, dest))
    if running is None and not overwrite:
        saved = _saved_before(record.local_file, dest)
        if saved is not None:
            return saved, None
    if running is not None:
        job: jobs.Transfer[Path] = running
        await progress.say("Waiting for the download already running…")
    else:
        job = jobs.submit(mgr, jobs.RenderDownload(mgr, record, dest, overwrite=overwrite))[0]
        await progress.say("Downloading the MP4…")
    if not await _follow_transfer(progress, job, deadline, verb="Downloaded", bar=False):
        return None, job
    return job.outcome(), None


def _saved_before(local_file: str | None, dest: Path) -> Path | None:
    """The file an earlier call already saved from this render into ``dest``, if it is still there."""
    if not local_file:
        return None
    path = Path(local_file)
    return path if path.parent == dest and path.is_file() else None


# -- projects -------------------------------------------------------------------------------------


@tool_errors
async def new_project(
    ctx: Ctx,
    title: Annotated[str | None, Field(max_length=200, description="A name for the project.")] = None,
    language: Annotated[str | None, Field(max_length=16, description="Language code, e.g. en, zh.")] = None,
) -> ProjectOut:
    """Start a fresh project and make it current."""
    state = app_state(ctx)
    record = await state.manager.new_project(title=title, language=language)
    return ProjectOut.of(record, current=True)


@tool_errors
async def list_projects(
    ctx: Ctx,
    switch_to: Annotated[
        str | None, Field(pattern=ID_PATTERN, description="Make this project current.")
    ] = None,
) -> ProjectsOut:
    """List known projects, newest first, with their render ids."""
    mgr = app_state(ctx).manager
    if switch_to:
        if switch_to not in {p.session_id for p in mgr.list_projects()}:
            raise ToolError(f"No project {switch_to!r} is known here. Call list_projects to see the ids.")
        mgr.use_project(switch_to)
    current = mgr.current_project_id()
    return ProjectsOut(
        current=current,
        projects=[
            ProjectOut.of(p, current=p.session_id == current, renders=exports.render_ids(mgr, p.session_id))
            for p in mgr.list_projects()
        ],
    )


# -- the table ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToolSpec:
    """One tool as published: its function (named as the tool), title and behaviour hints."""

    fn: Callable[..., Awaitable[Any]]
    title: str
    read_only: bool
    destructive: bool | None = None
    #: Whether it reaches outside this machine when the backend is the cloud (never otherwise).
    open_world: bool = True

    @property
    def name(self) -> str:
        return self.fn.__name__

    def annotations(self, *, cloud: bool) -> ToolAnnotations:
        hints = ToolAnnotations(read_only_hint=self.read_only, open_world_hint=cloud and self.open_world)
        if self.destructive is not None:  # unset, not null, when the tool does not say
            hints.destructive_hint = self.destructive
        return hints


#: Every tool, in the order tools/list shows them.
TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(upload_media, "Upload media", read_only=False, destructive=False),
    ToolSpec(send_edit, "Send an edit", read_only=False, destructive=False),
    ToolSpec(get_timeline, "Show the timeline", read_only=True),
    ToolSpec(read_footage, "Read the footage", read_only=True),
    ToolSpec(check_credits, "Check credits", read_only=True),
    ToolSpec(export_video, "Export the video", read_only=False, destructive=False),
    ToolSpec(new_project, "Start a new project", read_only=False),
    ToolSpec(list_projects, "List projects", read_only=True, open_world=False),
)

TOOL_NAMES: tuple[str, ...] = tuple(spec.name for spec in TOOLS)
