"""The tools: each a thin adapter that checks its input, calls the service and shapes the answer.

They check what only the MCP side can check (the caller's files against the upload policy, the
wait budget), report progress, and return a typed result. A NemoError becomes a tool error whose
text says what happened and what to do next (see :func:`~nemo_mcp.mcp.context.tool_errors`).
"""

from __future__ import annotations

import base64
import logging
import math
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ImageContent, TextContent, ToolAnnotations
from pydantic import Field

from nemo_mcp import draft
from nemo_mcp.mcp.context import AN_ID, ID_PATTERN, AppState, Ctx, Session, app_state, tool_errors
from nemo_mcp.mcp.export import export_video
from nemo_mcp.mcp.follow import follow_edit, follow_reading, follow_transfer, mb
from nemo_mcp.mcp.outputs import (
    CreditsOut,
    EditOut,
    FootageOut,
    MediaOut,
    PreviewOut,
    ProjectOut,
    ProjectsOut,
    TimelineOut,
    TrackOut,
    UploadOut,
    media_entry,
)
from nemo_mcp.mcp.progress import Progress, with_keepalive
from nemo_mcp.service import (
    MAX_UPLOADS_PER_CALL,
    CheckedFile,
    Notes,
    UploadPolicy,
    edits,
    exports,
    footage,
    jobs,
    previews,
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
        str | None, Field(pattern=ID_PATTERN, description="Id of an upload still running."), AN_ID
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
        finished.append(await follow_transfer(progress, job, deadline, verb="Uploaded", bar=True))

    await with_keepalive(progress, follow)
    if not finished[0]:
        sent = f"{mb(job.sent)} of {mb(job.total or 0)} MB sent, " if job.total else ""
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


# -- send_edit ------------------------------------------------------------------------------------


@tool_errors
async def send_edit(
    ctx: Ctx,
    instruction: Annotated[
        str, Field(min_length=1, max_length=4000, description="The edit, in plain words.")
    ],
    session: Session = None,
    pick_up: Annotated[
        str | None, Field(pattern=ID_PATTERN, description="Id of an edit still running."), AN_ID
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
    if not await follow_edit(progress, job, budget):
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
    if not await follow_reading(progress, job, state.settings.wait_budget):
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


# -- preview --------------------------------------------------------------------------------------


@tool_errors
async def preview(
    ctx: Ctx,
    source: Annotated[str, Field(description="A file's name or a render_id; default the timeline.")] = "",
    start_s: Annotated[float | None, Field(ge=0)] = None,
    end_s: Annotated[float | None, Field(gt=0)] = None,
    count: Annotated[int, Field(description="Frames, 1-16.")] = 12,
    times: Annotated[list[float] | None, Field(description="Exact seconds instead.")] = None,
    single: Annotated[bool, Field(description="One large frame.")] = False,
    session: Session = None,
) -> Annotated[CallToolResult, PreviewOut]:
    """See frames as they will export: a contact sheet with times, or one frame."""
    state = app_state(ctx)
    request = previews.Request(source, None if times is None else tuple(times), start_s, end_s, count, single)
    progress = Progress(ctx, quiet_after=state.settings.heartbeat_interval)
    made: list[previews.PreviewResult] = []

    async def work() -> None:
        await progress.say("Rendering the preview…")
        with anyio.move_on_after(state.settings.wait_budget) as scope:
            made.append(await previews.preview(state.manager, session, request, cloud=state.cloud))
        if scope.cancelled_caught:
            raise ToolError("The preview took too long: ask for fewer frames (count) or exact times.")

    await with_keepalive(progress, work)
    return preview_result(made[0])


def preview_result(done: previews.PreviewResult) -> CallToolResult:
    """The image first, a line saying what it shows, and the layout as structured content."""
    layout = done.layout
    frames = layout.get("frames") or []
    if done.jpeg is None:
        text = done.message
    else:
        span = ", ".join(f"{f['time_s']:g}" for f in frames)
        text = f"{done.source}: {len(frames)} frame(s) at {span} s."
    out = PreviewOut(
        project=done.project,
        source=done.source,
        kind=done.kind,
        width=int(layout.get("width") or 0),
        height=int(layout.get("height") or 0),
        bytes=0 if done.jpeg is None else len(done.jpeg),
        duration_s=float(layout.get("duration_s") or 0.0),
        frames=frames,
        chapters=layout.get("chapters") or [],
        captions=layout.get("captions") or [],
        notes=[str(n) for n in layout.get("notes") or []],
        message=text,
    )
    content: list[ImageContent | TextContent] = [TextContent(type="text", text=text)]
    if done.jpeg is not None:
        data = base64.b64encode(done.jpeg).decode("ascii")
        content.insert(0, ImageContent(type="image", data=data, mime_type="image/jpeg"))
    return CallToolResult(content=list(content), structured_content=out.model_dump(mode="json"))


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
        str | None, Field(pattern=ID_PATTERN, description="Make this project current."), AN_ID
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
    ToolSpec(preview, "Preview frames", read_only=True),
    ToolSpec(check_credits, "Check credits", read_only=True),
    ToolSpec(export_video, "Export the video", read_only=False, destructive=False),
    ToolSpec(new_project, "Start a new project", read_only=False),
    ToolSpec(list_projects, "List projects", read_only=True, open_world=False),
)

TOOL_NAMES: tuple[str, ...] = tuple(spec.name for spec in TOOLS)
