"""The MCP wiring: tools, resources and prompts over the session manager.

Each tool is a thin adapter: it checks what only the MCP side can check (the caller's
files against the upload policy, the wait budget), calls the session manager, reports
progress, and turns the result into a small typed answer. Errors become tool errors whose
text says what happened and what to do next — never a stack trace, raw JSON or a token.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.server.mcpserver.prompts.base import Message, UserMessage
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from nemo_mcp import __version__
from nemo_mcp.api.events import Heartbeat, StateDelta, StreamError, Text, ToolCall
from nemo_mcp.api.models import RenderStatus, UploadedFile
from nemo_mcp.config import SKILLS, Settings
from nemo_mcp.draft import model as timeline
from nemo_mcp.errors import ACCEPTED_FORMATS, MAX_UPLOAD_BYTES, NemoError, UploadRefused
from nemo_mcp.redact import redact
from nemo_mcp.service import CheckedFile, Notes, SessionManager, UploadPolicy, download_folder, edits, exports

log = logging.getLogger(__name__)

INSTRUCTIONS = """\
nemo-mcp edits video by conversation. Work in this order: upload_media (local files or URLs), \
then send_edit with plain-language instructions, then export_video for the finished MP4.
- Concrete instructions work better than vague ones ("cut silences longer than 1 s, then add \
captions" rather than "make it better"). Shorter source clips process faster.
- For lessons, 3-5 minute learning segments help retention. MP4 is the most compatible export.
- get_timeline shows the tracks; check_credits explains the balance.
- Keep tokens, ids and raw JSON out of the chat: describe results in words.
- A long export returns a render_id: call export_video again with it to keep waiting."""


@dataclass
class AppState:
    manager: SessionManager
    settings: Settings
    policy: UploadPolicy
    # Bounded per process: a model that fires many calls at once queues instead of flooding.
    upload_slots: anyio.CapacityLimiter = field(default_factory=lambda: anyio.CapacityLimiter(2))
    export_slots: anyio.CapacityLimiter = field(default_factory=lambda: anyio.CapacityLimiter(4))


Ctx = Context[AppState, Any]

_ID = r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$"
Session = Annotated[str | None, Field(pattern=_ID, description="Project id; default the current one.")]


# -- output models --------------------------------------------------------------------------


class MediaOut(BaseModel):
    name: str
    type: str | None = None
    duration_s: float | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None


class UploadOut(BaseModel):
    project: str
    files: list[MediaOut]
    notes: list[str] = Field(default_factory=list)


class EditOut(BaseModel):
    project: str
    reply: str
    changes: list[str]
    timeline: str
    backend_steps: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class TimelineOut(BaseModel):
    project: str
    summary: str
    duration_s: float
    tracks: list[dict[str, Any]]
    media: list[dict[str, Any]]
    draft: dict[str, Any] | None = None


class CreditsOut(BaseModel):
    available: float | None
    frozen: float | None
    total: float | None
    advice: str


class ExportOut(BaseModel):
    render_id: str
    status: str
    progress: float
    finished: bool
    download_url: str | None = None
    file: str | None = None
    message: str
    notes: list[str] = Field(default_factory=list)


class ProjectOut(BaseModel):
    project: str
    title: str | None = None
    language: str | None = None
    current: bool = False
    last_used: float | None = None
    renders: list[str] = Field(default_factory=list)


class ProjectsOut(BaseModel):
    current: str | None
    projects: list[ProjectOut]


# -- helpers --------------------------------------------------------------------------------


def _state(ctx: Ctx) -> AppState:
    state = ctx.request_context.lifespan_context
    try:
        params = ctx.session.client_params
        info = params.client_info if params else None
        state.manager.note_client(info.name if info else None)
    except Exception:  # client info is optional and varies by era; never fail a call over it
        log.debug("no client info on this request")
    return state


def _fail(exc: BaseException) -> ToolError:
    if isinstance(exc, NemoError):
        return ToolError(exc.user_message)
    log.error("unexpected error: %s", redact(f"{type(exc).__name__}: {exc}"))
    return ToolError(
        "nemo-mcp hit an unexpected internal error. The details are in the server log (stderr); "
        "try again, and report it if it repeats."
    )


#: Minimum spacing of streamed-text progress reports (0: only merge what queues up while one is being sent).
FRAGMENT_WINDOW = 0.0


class Progress:
    """Monotonic MCP progress with a 'still working' line after each quiet stretch.

    Streamed text goes through :meth:`fragment`, which only queues it: :meth:`keepalive`
    reports the queue as one message as soon as the previous report has been handed to the
    transport (and ``window`` has passed since it). An isolated fragment goes out at once;
    fragments that arrive faster than the transport writes are merged instead of queueing
    up one notification each, so the reader of the backend stream is never held back.
    """

    def __init__(
        self,
        ctx: Ctx,
        *,
        quiet_after: float,
        window: float = FRAGMENT_WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ctx = ctx
        self._n = 0.0
        self._clock = clock
        self._last = clock()
        self.quiet_after = quiet_after
        self.window = window
        self.started = clock()
        self._pending: list[str] = []
        self._arrived = anyio.Event()
        self._sending = anyio.Lock()  # one report at a time, so none is cut off mid-send

    @property
    def quiet_for(self) -> float:
        return self._clock() - self._last

    async def say(self, message: str, *, value: float | None = None, total: float | None = None) -> None:
        async with self._sending:
            await self._send_pending()  # queued fragments first, so reports keep the stream's order
            await self._report(message, value=value, total=total)

    async def fragment(self, text: str) -> None:
        """Queue streamed text for :meth:`keepalive` to report (merged with any text still queued)."""
        self._pending.append(text)
        self._arrived.set()

    async def flush(self) -> None:
        """Report queued fragments now; returns once any report in progress has been handed over."""
        async with self._sending:
            await self._send_pending()

    async def _send_pending(self) -> None:
        if self._pending:
            text = "".join(self._pending)
            self._pending.clear()
            await self._report(_tail_line(text))

    async def _report(self, message: str, *, value: float | None = None, total: float | None = None) -> None:
        self._n = max(self._n + 1e-3, value if value is not None else self._n + 1)
        self._last = self._clock()
        await self._ctx.report_progress(self._n, total, message)

    async def keepalive(self) -> None:
        """Run until cancelled: report queued fragments, and say that we are working after
        each ``quiet_after`` seconds without a report."""
        while True:
            if self._pending:
                if (wait := self._last + self.window - self._clock()) > 0:
                    await anyio.sleep(wait)
                await self.flush()
                continue
            with anyio.move_on_after(max(0.05, self.quiet_after - (self._clock() - self._last))):
                await self._arrived.wait()
            self._arrived = anyio.Event()
            if not self._pending and self._clock() - self._last >= self.quiet_after:
                elapsed = int(self._clock() - self.started)
                await self.say(f"Still working… ({elapsed} s)")


def _media_out(f: UploadedFile) -> MediaOut:
    return MediaOut(
        name=f.filename or "file",
        type=f.file_type,
        duration_s=f.duration,
        width=f.width,
        height=f.height,
        fps=f.fps,
    )


def _one_line(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _tail_line(text: str, limit: int = 120) -> str:
    """Like :func:`_one_line`, but keeps the end: the newest words of streamed text."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else "…" + flat[-(limit - 1) :]


def _credit_advice(
    available: float | None, frozen: float | None, extra: dict[str, Any], env_token: bool
) -> str:
    if extra.get("unlimited"):
        return str(extra.get("note") or "The local engine uses no credits: edit and export freely.")
    if available is None:
        return "The backend did not report a balance."
    held = f" {frozen:g} are held for edits in progress and return if they fail." if frozen else ""
    if available <= 0:
        nxt = (
            "top up credits in your NemoVideo account"
            if env_token
            else "register (see the link AI edits give)"
        )
        return f"No credits left for AI edits; exports stay free. To keep editing, {nxt}.{held}"
    return f"{available:g} credits available for AI edits; exporting costs none.{held}"


# -- the server -----------------------------------------------------------------------------


def build_server(
    settings: Settings,
    *,
    manager_factory: Callable[[str], SessionManager] | None = None,
    policy: UploadPolicy | None = None,
) -> MCPServer[AppState]:
    """Build the MCP server. ``manager_factory(api_base)`` lets tests inject a manager."""

    @asynccontextmanager
    async def lifespan(_: MCPServer[AppState]) -> AsyncIterator[AppState]:
        async with AsyncExitStack() as stack:
            upload_policy = policy or UploadPolicy.default(
                settings.upload_roots, allow_subtitles=settings.backend == "local"
            )
            api_base = settings.api_base
            if settings.backend == "local":
                from nemo_mcp.engine.http import running_backend

                # The engine reads file:// uploads only inside the same folders this server may.
                api_base = await stack.enter_async_context(
                    running_backend(settings.home, file_roots=upload_policy.roots)
                )
            manager = (
                manager_factory(api_base) if manager_factory else SessionManager(settings, api_base=api_base)
            )
            stack.push_async_callback(manager.aclose)
            yield AppState(manager=manager, settings=settings, policy=upload_policy)

    mcp: MCPServer[AppState] = MCPServer(
        "nemo-mcp",
        title="NemoVideo editor",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        log_level="DEBUG" if settings.debug else "WARNING",
    )
    cloud = settings.backend == "cloud"
    quiet_after = settings.heartbeat_interval

    @mcp.tool(
        title="Upload media",
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=cloud),
    )
    async def upload_media(
        ctx: Ctx,
        paths: Annotated[list[str] | None, Field(description="Local files (video, audio, image).")] = None,
        urls: Annotated[list[str] | None, Field(description="https URLs the backend fetches.")] = None,
        session: Session = None,
    ) -> UploadOut:
        """Add local files or URLs to the project. Returns each file's type, duration and size."""
        state = _state(ctx)
        if not paths and not urls:
            raise ToolError("Give at least one local file in `paths` or one link in `urls`.")
        notes = Notes()
        checked: list[CheckedFile] = []
        try:
            policy = await _policy_for(ctx, state)
            for p in paths or []:
                checked.append(policy.check(p))
            checked_urls = [policy.check_url(u, allow_loopback=not cloud) for u in urls or []]
            progress = Progress(ctx, quiet_after=quiet_after)
            files: list[MediaOut] = []
            sid = session
            total = sum(c.size for c in checked)

            async def on_bytes(sent: int, _total: int) -> None:
                await ctx.report_progress(
                    sent, total, f"Uploaded {sent / 2**20:.1f} of {total / 2**20:.1f} MB"
                )

            async with state.upload_slots:
                if checked:
                    await progress.say(f"Uploading {len(checked)} file(s)…", value=0, total=total or None)
                    sid, result = await state.manager.upload_files(
                        checked, session, on_progress=on_bytes, notes=notes
                    )
                    files += [_media_out(f) for f in result.files]
                if checked_urls:
                    sid, result = await state.manager.upload_urls(checked_urls, sid, notes=notes)
                    files += [_media_out(f) for f in result.files]
        except (NemoError, UploadRefused) as exc:
            raise _fail(exc) from None
        finally:
            for c in checked:
                c.close()
        assert sid is not None
        return UploadOut(project=sid, files=files, notes=notes.items)

    @mcp.tool(
        title="Send an edit",
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=cloud),
    )
    async def send_edit(
        ctx: Ctx,
        instruction: Annotated[
            str, Field(min_length=1, max_length=4000, description="The edit, in plain words.")
        ],
        session: Session = None,
    ) -> EditOut:
        """Apply a plain-language edit. Streams progress; returns the reply and what changed."""
        state = _state(ctx)
        notes = Notes()
        try:
            return await _run_edit(ctx, state, instruction, session, notes)
        except NemoError as exc:
            raise _fail(exc) from None

    @mcp.tool(
        title="Show the timeline", annotations=ToolAnnotations(read_only_hint=True, open_world_hint=cloud)
    )
    async def get_timeline(
        ctx: Ctx,
        session: Session = None,
        include_draft: Annotated[bool, Field(description="Also return the raw draft JSON.")] = False,
    ) -> TimelineOut:
        """Summarise the project's tracks, durations and media."""
        state = _state(ctx)
        try:
            sid, st = await state.manager.state(session)
        except NemoError as exc:
            raise _fail(exc) from None
        draft = st.state.draft
        shape = timeline.structured(draft)
        return TimelineOut(
            project=sid,
            summary=timeline.summarize(draft),
            duration_s=float(shape.get("duration_s") or 0.0),
            tracks=list(shape.get("tracks") or []),
            media=[_media_entry(m) for m in st.state.video_infos],
            draft=draft if include_draft else None,
        )

    @mcp.tool(title="Check credits", annotations=ToolAnnotations(read_only_hint=True, open_world_hint=cloud))
    async def check_credits(ctx: Ctx) -> CreditsOut:
        """Show available, frozen and total credits and what they allow next."""
        state = _state(ctx)
        try:
            credits = await state.manager.credits()
        except NemoError as exc:
            raise _fail(exc) from None
        advice = _credit_advice(
            credits.available, credits.frozen, credits.model_extra or {}, state.manager.uses_env_token
        )
        return CreditsOut(
            available=credits.available, frozen=credits.frozen, total=credits.total, advice=advice
        )

    @mcp.tool(
        title="Export the video",
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=cloud),
    )
    async def export_video(
        ctx: Ctx,
        session: Session = None,
        format: Annotated[Literal["mp4"], Field(description="Container.")] = "mp4",
        quality: Annotated[
            Literal["high", "standard", "draft"], Field(description="Encoding quality.")
        ] = "high",
        download_to: Annotated[
            str | None, Field(max_length=4096, description="Existing folder to save the MP4 in.")
        ] = None,
        wait_seconds: Annotated[
            int, Field(ge=0, le=900, description="How long to wait for the render.")
        ] = 180,
        render_id: Annotated[
            str | None, Field(pattern=_ID, description="Resume waiting for this earlier render.")
        ] = None,
        overwrite: Annotated[bool, Field(description="Replace an existing file of the same name.")] = False,
    ) -> ExportOut:
        """Render the timeline to MP4 (free). Waits up to wait_seconds; resume later with render_id."""
        state = _state(ctx)
        notes = Notes()
        try:
            dest = download_folder(download_to, state.settings.download_dir) if download_to else None
            async with state.export_slots:
                return await _run_export(
                    ctx, state, session, format, quality, dest, wait_seconds, render_id, overwrite, notes
                )
        except NemoError as exc:
            raise _fail(exc) from None

    @mcp.tool(
        title="Start a new project", annotations=ToolAnnotations(read_only_hint=False, open_world_hint=cloud)
    )
    async def new_project(
        ctx: Ctx,
        title: Annotated[str | None, Field(max_length=200, description="A name for the project.")] = None,
        language: Annotated[
            str | None, Field(max_length=16, description="Language code, e.g. en, zh.")
        ] = None,
    ) -> ProjectOut:
        """Start a fresh project and make it current (earlier ones stay listed)."""
        state = _state(ctx)
        try:
            record = await state.manager.new_project(title=title, language=language)
        except NemoError as exc:
            raise _fail(exc) from None
        return ProjectOut(
            project=record.session_id,
            title=record.title,
            language=record.language,
            current=True,
            last_used=record.last_used,
        )

    @mcp.tool(title="List projects", annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False))
    async def list_projects(
        ctx: Ctx,
        switch_to: Annotated[str | None, Field(pattern=_ID, description="Make this project current.")] = None,
    ) -> ProjectsOut:
        """List the projects this server knows, newest first, with their render ids."""
        state = _state(ctx)
        mgr = state.manager
        known = {p.session_id for p in mgr.list_projects()}
        if switch_to:
            if switch_to not in known:
                raise ToolError(f"No project {switch_to!r} is known here. Call list_projects to see the ids.")
            mgr.use_project(switch_to)
        current = mgr.current_project_id()
        return ProjectsOut(
            current=current,
            projects=[
                ProjectOut(
                    project=p.session_id,
                    title=p.title,
                    language=p.language,
                    current=p.session_id == current,
                    last_used=p.last_used,
                    renders=exports.render_ids(mgr, p.session_id),
                )
                for p in mgr.list_projects()
            ],
        )

    @mcp.resource(
        "nemo://projects/{session_id}/timeline",
        name="project-timeline",
        title="Project timeline",
        mime_type="application/json",
    )
    async def project_timeline(session_id: str, ctx: Ctx) -> dict[str, Any]:
        """The project's timeline: a summary line and the draft JSON."""
        state = ctx.request_context.lifespan_context
        try:
            sid, st = await state.manager.state(session_id)
        except NemoError as exc:
            raise ResourceError(exc.user_message) from None
        return {"project": sid, "summary": timeline.summarize(st.state.draft), "draft": st.state.draft}

    @mcp.resource(
        "nemo://formats", name="formats", title="Accepted formats and limits", mime_type="application/json"
    )
    def formats() -> dict[str, Any]:
        """Accepted upload types, the size limit and the export format."""
        return {
            "upload_types": list(ACCEPTED_FORMATS),
            "subtitles_local_engine": ["srt", "vtt"],
            "max_upload_mb": MAX_UPLOAD_BYTES // 2**20,
            "export": {"format": "mp4", "video": "H.264", "audio": "AAC", "max_resolution": "1080x1920"},
        }

    _add_prompts(mcp)
    return mcp


def _add_prompts(mcp: MCPServer[AppState]) -> None:
    def lecture_segments(segment_minutes: str = "3-5", captions: str = "yes") -> list[Message]:
        cap = " with captions" if captions.lower() not in ("no", "false", "0") else ""
        return [
            UserMessage(
                f"Break this lecture into short learning segments of {segment_minutes} minutes with chapter "
                f"titles{cap}, then export a 1080p MP4. Upload the lecture first if it is not in the project."
            )
        ]

    def tutorial_polish(summary_points: str = "") -> list[Message]:
        extra = f" Summary points: {summary_points}." if summary_points else ""
        return [
            UserMessage(
                "Add chapter titles, highlight clicks, and insert a summary slide at the end of my screen "
                f"recording, then export it as MP4.{extra}"
            )
        ]

    def highlight_reel(seconds: str = "60", music_volume: str = "20%") -> list[Message]:
        return [
            UserMessage(
                f"Cut out silences, add background music at {music_volume}, and export as a {seconds}-second "
                "highlight reel. Upload the clips and the music file first."
            )
        ]

    def youtube_ready(platform: str = "youtube") -> list[Message]:
        return [UserMessage(f"Trim the intro, add captions, and export for {platform}.")]

    def youtube_chapters(language: str = "en") -> list[Message]:
        return [
            UserMessage(
                "Generate chapters with timestamps and titles for my YouTube video, following YouTube's rules "
                f"(first at 0:00, at least three, each 10 s or longer). Write the titles in language '{language}'."
            )
        ]

    for fn, skill in (
        (lecture_segments, "best-video-learn"),
        (tutorial_polish, "tutor-video"),
        (highlight_reel, "video-making-ai"),
        (youtube_ready, "video-skill-online"),
        (youtube_chapters, "chapter-generator"),
    ):
        profile = SKILLS[skill]
        mcp.prompt(name=skill, title=profile.title, description=profile.description)(fn)


def _media_entry(info: Any) -> dict[str, Any]:
    if not isinstance(info, dict):
        return {"value": info}
    keep = ("id", "filename", "name", "file_type", "type", "duration", "width", "height", "fps")
    return {k: info[k] for k in keep if k in info}


async def _policy_for(ctx: Ctx, state: AppState) -> UploadPolicy:
    """The configured policy, narrowed to the MCP client's roots when it offers them."""
    caps = ctx.client_capabilities
    if caps is None or getattr(caps, "roots", None) is None:
        return state.policy
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = await ctx.session.list_roots()
    except Exception:  # no back-channel on this protocol era: keep the configured folders
        return state.policy
    uris = [str(r.uri) for r in result.roots]
    return state.policy.with_roots(uris) if uris else state.policy


async def _run_edit(
    ctx: Ctx, state: AppState, instruction: str, session: str | None, notes: Notes
) -> EditOut:
    edit = await edits.begin(state.manager, instruction, session, notes=notes)
    progress = Progress(ctx, quiet_after=state.settings.heartbeat_interval)
    await progress.say("Sending the edit…")
    streamed = False  # whether the current turn's text already went out as fragments
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(progress.keepalive)
            async with edit.stream() as stream_events:
                async for event in stream_events:
                    match event:
                        case Text(partial=True):
                            if event.text.strip():
                                streamed = True
                                await progress.fragment(event.text)
                        case Text():
                            # The final event repeats the fragments; show it only if nothing was streamed.
                            if event.text.strip() and not streamed:
                                await progress.say(_one_line(event.text))
                            streamed = False
                        case ToolCall():
                            await progress.say(f"Running {event.name}…")
                        case Heartbeat() if progress.quiet_for >= progress.quiet_after:
                            await progress.say("Still working…")
                        case StateDelta() | Heartbeat() | StreamError():
                            pass
            await progress.flush()
            tg.cancel_scope.cancel()
    except* NemoError as group:
        # The task group wraps what it raises; callers handle the NemoError itself.
        raise group.exceptions[0] from None
    result = await edit.finish()
    return EditOut(
        project=result.project,
        reply=result.reply,
        changes=result.changes,
        timeline=result.timeline,
        backend_steps=result.backend_steps,
        notes=notes.items,
    )


async def _run_export(
    ctx: Ctx,
    state: AppState,
    session: str | None,
    fmt: str,
    quality: str,
    dest: Path | None,
    wait_seconds: int,
    render_id: str | None,
    overwrite: bool,
    notes: Notes,
) -> ExportOut:
    mgr = state.manager
    if render_id:
        record = exports.resume(mgr, render_id, session)
        await ctx.report_progress(0, 100, f"Resuming render {render_id}…")
    else:
        await ctx.report_progress(0, 100, "Starting the render…")
        record = await mgr.start_export(session, fmt=fmt, quality=quality, notes=notes)

    last = [0.0]

    async def on_status(status: RenderStatus) -> None:
        value = max(last[0] + 1e-3, min(status.progress, 100.0))
        last[0] = value
        await ctx.report_progress(value, 100, f"Rendering… {status.progress:.0f}% ({status.status})")

    record, status, finished = await mgr.wait_for_render(
        record, wait_seconds=wait_seconds, on_progress=on_status, notes=notes
    )
    if not finished:
        return ExportOut(
            render_id=record.render_id,
            status=status.status,
            progress=status.progress,
            finished=False,
            message=(
                f"The render is still {status.status} ({status.progress:.0f}%). Call export_video again with "
                f"render_id={record.render_id!r} to keep waiting; it will not start a second render."
            ),
            notes=notes.items,
        )
    exports.raise_unless_completed(status)
    path: Path | None = None
    if dest is not None:
        await ctx.report_progress(100, 100, "Downloading the MP4…")
        path = await mgr.download_render(record, dest, overwrite=overwrite)
    message = (
        "The export is ready" + (f" and saved to {path}" if path else "; download it from the link") + "."
    )
    return ExportOut(
        render_id=record.render_id,
        status="completed",
        progress=100.0,
        finished=True,
        download_url=status.output_url or record.output_url,
        file=str(path) if path else None,
        message=message,
        notes=notes.items,
    )
