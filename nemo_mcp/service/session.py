"""The session manager: tokens, projects, recoveries, edits and exports.

One instance per server process, shared by every tool. It is the only place that knows
which token to use, which project is current, and how to recover from the documented
failures — each recovery at most once per call:

* 1001 (token invalid/expired): an anonymous token is replaced and the call retried; a token
  from ``NEMO_TOKEN`` is reported, never replaced;
* 1002 (session not found): a new project is created and the call retried, and the caller is
  told that the old timeline is gone;
* HTTP 429: wait ``Retry-After`` (else 30 s) and retry once;
* HTTP 400 missing client id: a new client id is made and the call retried.

Time is injected (``clock``, ``sleep``) so tests never wait for real.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import anyio
from pydantic import SecretStr

from nemo_mcp.api.client import NemoClient, ProgressFn, Sleep, StreamLimits, UploadSource
from nemo_mcp.api.events import Event
from nemo_mcp.api.models import Credits, RenderStatus, SessionState, UploadResult
from nemo_mcp.config import Settings
from nemo_mcp.errors import (
    AuthError,
    InsufficientCredits,
    MissingClientId,
    NemoError,
    RateLimited,
    RenderFailed,
    SessionNotFound,
)
from nemo_mcp.service.store import ProjectRecord, RenderRecord, Store

log = logging.getLogger(__name__)

T = TypeVar("T")
DEFAULT_RETRY_AFTER = 30.0
MAX_RETRY_AFTER = 120.0
#: Poll delays while a render's progress gives no usable estimate (the vendor documents 30 s).
POLL_SCHEDULE = (2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0)
MAX_POLL = 30.0
#: Renderers that hold near 90 % until done (stitching, upload) finish where the rate reaches this.
EARLY_TARGET = 90.0


@dataclass
class Notes:
    """Things a call should tell the user besides its result (recoveries that happened)."""

    items: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        if text not in self.items:
            self.items.append(text)


@dataclass
class ExportOutcome:
    render: RenderRecord
    status: RenderStatus
    finished: bool
    downloaded_to: Path | None = None


def backend_key(settings: Settings, api_base: str) -> str:
    return "local" if settings.backend == "local" else f"cloud:{api_base}"


def _safe_stem(text: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:60]
    return stem or "nemo"


class SessionManager:
    def __init__(
        self,
        settings: Settings,
        *,
        api_base: str | None = None,
        store: Store | None = None,
        client: NemoClient | None = None,
        transport: Any = None,
        sleep: Sleep = anyio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.api_base = (api_base or settings.api_base).rstrip("/")
        self.backend = backend_key(settings, self.api_base)
        self.store = store or Store(settings.store_path)
        self.sleep = sleep
        self.clock = clock
        self.client = client or NemoClient(
            base_url=self.api_base,
            profile=settings.profile,
            client_id=self.store.client_id(),
            platform=settings.skill_platform or "unknown",
            skill_version=settings.skill_version,
            timeout=settings.request_timeout,
            stream_limits=StreamLimits(
                idle_timeout=settings.sse_idle_timeout,
                total_timeout=settings.sse_total_timeout,
                max_event_bytes=settings.max_event_bytes,
            ),
            transport=transport,
            sleep=sleep,
        )
        self._token_lock = anyio.Lock()
        self._project_lock = anyio.Lock()
        self._platform_fixed = settings.skill_platform is not None

    async def aclose(self) -> None:
        await self.client.aclose()
        self.store.close()

    # -- attribution ------------------------------------------------------------------------

    def note_client(self, client_name: str | None) -> None:
        """Set ``X-Skill-Platform`` from the MCP client's name unless configuration fixed it."""
        if self._platform_fixed or not client_name:
            return
        name = client_name.lower()
        if "cursor" in name:
            self.client.platform = "cursor"
        elif "clawhub" in name:
            self.client.platform = "clawhub"

    # -- tokens -----------------------------------------------------------------------------

    @property
    def env_token(self) -> SecretStr | None:
        """``NEMO_TOKEN``, for the cloud only: the local engine issues its own tokens."""
        return self.settings.token if self.settings.backend == "cloud" else None

    @property
    def uses_env_token(self) -> bool:
        return self.env_token is not None

    async def token(self) -> SecretStr:
        """The token to use: ``NEMO_TOKEN``, else the stored anonymous token, else a new one."""
        if self.env_token is not None:
            return self.env_token
        stored = self.store.get_token(self.backend)
        if stored is not None and not stored.expired(self.clock()):
            return stored.token
        return await self._acquire_token(stale=stored.token if stored else None)

    async def _acquire_token(self, *, stale: SecretStr | None) -> SecretStr:
        async with self._token_lock:
            # Another call may have refreshed it while this one waited for the lock.
            current = self.store.get_token(self.backend)
            if current is not None and not current.expired(self.clock()) and current.token != stale:
                return current.token
            try:
                grant = await self.client.acquire_token()
            except MissingClientId:
                self.client.client_id = self.store.replace_client_id()
                grant = await self.client.acquire_token()
            except RateLimited as exc:
                await self.sleep(self._retry_delay(exc))
                try:
                    grant = await self.client.acquire_token()
                except RateLimited:
                    raise RateLimited(
                        "The backend grants one free token per installation per 7 days and refused another. "
                        "Set NEMO_TOKEN to your own NemoVideo token, or try again later."
                    ) from None
            saved = self.store.save_token(
                self.backend, grant.token, user_id=grant.user_id, expires_at=grant.expires_at
            )
            log.info("acquired a new anonymous token (user %s)", grant.user_id or "?")
            return saved.token

    def _retry_delay(self, exc: RateLimited) -> float:
        if exc.retry_after is None:
            return DEFAULT_RETRY_AFTER
        return min(exc.retry_after, MAX_RETRY_AFTER)

    # -- the recovery wrapper ---------------------------------------------------------------

    async def call(
        self,
        op: Callable[[SecretStr, str | None], Awaitable[T]],
        *,
        session_id: str | None = None,
        notes: Notes | None = None,
        needs_session: bool = False,
    ) -> T:
        """Run ``op(token, session_id)`` with each documented recovery applied at most once."""
        notes = notes if notes is not None else Notes()
        if needs_session and session_id is None:
            session_id = (await self.project(None, notes=notes)).session_id
        done: set[str] = set()
        while True:
            token = await self.token()
            try:
                result = await op(token, session_id)
            except AuthError as exc:
                if self.uses_env_token:
                    raise AuthError(
                        from_environment=True,
                        code=exc.code,
                        status=exc.status,
                        backend_message=exc.backend_message,
                    ) from None
                if "auth" in done:
                    raise
                done.add("auth")
                log.info("token rejected (code %s); acquiring a new anonymous token", exc.code)
                self.store.drop_token(self.backend)
                await self._acquire_token(stale=token)
            except SessionNotFound:
                if not needs_session or session_id is None or "session" in done:
                    raise
                done.add("session")
                old = session_id
                self.store.mark_project_gone(self.backend, old)
                fresh = await self.new_project(title=self._title_of(old))
                session_id = fresh.session_id
                notes.add(
                    f"The previous project ({old}) no longer exists on the backend, so a new one ({session_id}) "
                    "was started; the old timeline is gone and its media must be uploaded again."
                )
            except RateLimited as exc:
                if "rate" in done:
                    raise
                done.add("rate")
                delay = self._retry_delay(exc)
                log.info("rate limited; retrying once in %.0f s", delay)
                await self.sleep(delay)
            except MissingClientId:
                if "client" in done:
                    raise
                done.add("client")
                self.client.client_id = self.store.replace_client_id()
            except InsufficientCredits as exc:
                raise InsufficientCredits(
                    bind_id=self._bind_id(),
                    anonymous=not self.uses_env_token,
                    code=exc.code,
                    status=exc.status,
                    backend_message=exc.backend_message,
                ) from None
            else:
                if needs_session and session_id and self.store.get_project(self.backend, session_id) is None:
                    # A session id named by the caller is recorded only once the backend accepted it.
                    self.store.add_project(
                        ProjectRecord(session_id=session_id, backend=self.backend, skill=self.settings.skill)
                    )
                return result

    def _bind_id(self) -> str | None:
        stored = self.store.get_token(self.backend)
        if stored is not None and stored.user_id:
            return stored.user_id
        for project in self.store.list_projects(self.backend, include_gone=True):
            if project.user_id:
                return project.user_id
        return None

    def _title_of(self, session_id: str) -> str | None:
        record = self.store.get_project(self.backend, session_id)
        return record.title if record else None

    # -- projects ---------------------------------------------------------------------------

    async def new_project(self, title: str | None = None, language: str | None = None) -> ProjectRecord:
        """Create a backend session and make it the current project."""
        lang = language or self.settings.language

        async def create(token: SecretStr, _: str | None) -> ProjectRecord:
            info = await self.client.create_session(token, task_name=title or "project", language=lang)
            return ProjectRecord(
                session_id=info.session_id,
                backend=self.backend,
                task_id=info.task_id,
                user_id=info.user_id,
                title=title,
                language=lang,
                skill=self.settings.skill,
            )

        record = self.store.add_project(await self.call(create))
        self.store.set_current_project(self.backend, record.session_id)
        return record

    async def project(self, session_id: str | None, *, notes: Notes | None = None) -> ProjectRecord:
        """The named project, else the current one, else a new one (created on first use)."""
        if session_id:
            record = self.store.get_project(self.backend, session_id)
            if record is None:
                # A session made elsewhere (another tool, a previous install): it is adopted into
                # the store by `call` once the backend has accepted it.
                return ProjectRecord(session_id=session_id, backend=self.backend, skill=self.settings.skill)
            self.store.touch_project(self.backend, session_id)
            return record
        async with self._project_lock:
            current = self.store.current_project(self.backend)
            if current:
                record = self.store.get_project(self.backend, current)
                if record is not None and not record.gone:
                    self.store.touch_project(self.backend, current)
                    return record
            record = await self.new_project()
            if notes is not None:
                notes.add(f"Started a new project ({record.session_id}).")
            return record

    def list_projects(self) -> list[ProjectRecord]:
        return self.store.list_projects(self.backend)

    def current_project_id(self) -> str | None:
        return self.store.current_project(self.backend)

    def use_project(self, session_id: str) -> None:
        self.store.set_current_project(self.backend, session_id)

    # -- simple calls -----------------------------------------------------------------------

    async def credits(self, notes: Notes | None = None) -> Credits:
        return await self.call(lambda token, _: self.client.get_credits(token), notes=notes)

    async def state(self, session_id: str | None, notes: Notes | None = None) -> tuple[str, SessionState]:
        holder: dict[str, str] = {}

        async def op(token: SecretStr, sid: str | None) -> SessionState:
            assert sid is not None
            holder["sid"] = sid
            return await self.client.get_state(token, sid)

        sid = (await self.project(session_id, notes=notes)).session_id
        result = await self.call(op, session_id=sid, notes=notes, needs_session=True)
        return holder["sid"], result

    async def upload_files(
        self,
        sources: Sequence[UploadSource],
        session_id: str | None,
        *,
        on_progress: ProgressFn | None = None,
        notes: Notes | None = None,
    ) -> tuple[str, UploadResult]:
        holder: dict[str, str] = {}

        async def op(token: SecretStr, sid: str | None) -> UploadResult:
            assert sid is not None
            holder["sid"] = sid
            return await self.client.upload_files(token, sid, sources, on_progress=on_progress)

        sid = (await self.project(session_id, notes=notes)).session_id
        result = await self.call(op, session_id=sid, notes=notes, needs_session=True)
        return holder["sid"], result

    async def upload_urls(
        self, urls: list[str], session_id: str | None, *, notes: Notes | None = None
    ) -> tuple[str, UploadResult]:
        holder: dict[str, str] = {}

        async def op(token: SecretStr, sid: str | None) -> UploadResult:
            assert sid is not None
            holder["sid"] = sid
            return await self.client.upload_urls(token, sid, urls)

        sid = (await self.project(session_id, notes=notes)).session_id
        result = await self.call(op, session_id=sid, notes=notes, needs_session=True)
        return holder["sid"], result

    # -- edits ------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def stream_edit(
        self, instruction: str, session_id: str | None, *, notes: Notes | None = None
    ) -> AsyncIterator[tuple[str, AsyncGenerator[Event, None]]]:
        """Open the edit stream (recoveries apply until the stream starts) and yield its events."""
        stack = contextlib.AsyncExitStack()
        async with stack:

            async def op(token: SecretStr, sid: str | None) -> tuple[str, AsyncGenerator[Event, None]]:
                assert sid is not None
                events = await stack.enter_async_context(self.client.stream_edit(token, sid, instruction))
                return sid, events

            sid = (await self.project(session_id, notes=notes)).session_id
            yield await self.call(op, session_id=sid, notes=notes, needs_session=True)

    # -- exports ----------------------------------------------------------------------------

    def find_render(self, render_id: str) -> RenderRecord | None:
        return self.store.get_render(self.backend, render_id)

    async def start_export(
        self, session_id: str | None, *, fmt: str, quality: str, notes: Notes | None = None
    ) -> RenderRecord:
        """Start a render from the project's current draft and record it before anything else."""
        sid, state = await self.state(session_id, notes=notes)
        draft = state.state.draft
        if not draft:
            raise RenderFailed(
                "The project's timeline is empty, so there is nothing to export yet. Upload media with "
                "upload_media and describe an edit with send_edit first."
            )
        render_id = self.client.new_render_id()
        # Record the id first: if this process dies mid-request the job can still be found.
        record = self.store.save_render(
            RenderRecord(render_id=render_id, backend=self.backend, session_id=sid, status="starting")
        )

        async def op(token: SecretStr, s: str | None) -> RenderStatus:
            assert s is not None
            return await self.client.start_render(
                token, s, draft, render_id=render_id, fmt=fmt, quality=quality
            )

        try:
            status = await self.call(op, session_id=sid, notes=notes)
        except NemoError as exc:
            self.store.save_render(
                RenderRecord(**{**record.__dict__, "status": "failed", "error": exc.user_message})
            )
            raise
        if status.id and status.id != render_id:
            # The backend chose its own id: keep that one and forget the provisional one.
            self.store.delete_render(self.backend, render_id)
            record = RenderRecord(
                render_id=status.id, backend=self.backend, session_id=sid, status=status.status
            )
        return self._record_status(record, status)

    def _record_status(self, record: RenderRecord, status: RenderStatus) -> RenderRecord:
        return self.store.save_render(
            RenderRecord(
                render_id=record.render_id,
                backend=self.backend,
                session_id=record.session_id,
                status=status.status,
                progress=status.progress,
                output_url=status.output_url or record.output_url,
                local_file=record.local_file,
                error=status.error,
            )
        )

    def next_poll_delay(self, attempt: int, history: list[tuple[float, float]]) -> float:
        """How long to wait before the next poll.

        Without progress information the delays follow :data:`POLL_SCHEDULE`, ending at the
        documented 30 s. When the backend reports progress, the rate seen so far predicts the
        finish, and the next poll is aimed just after it (never more than 30 s away).
        """
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

    async def wait_for_render(
        self,
        record: RenderRecord,
        *,
        wait_seconds: float,
        on_progress: Callable[[RenderStatus], Awaitable[None]] | None = None,
        notes: Notes | None = None,
    ) -> tuple[RenderRecord, RenderStatus, bool]:
        """Poll until the render finishes or ``wait_seconds`` pass; returns (record, status, finished)."""
        deadline = self.clock() + wait_seconds
        attempt = 0
        history: list[tuple[float, float]] = []
        status = RenderStatus(id=record.render_id, status="pending")
        render_id = record.render_id

        async def poll(token: SecretStr, _: str | None) -> RenderStatus:
            return await self.client.get_render(token, render_id)

        first = True
        while True:
            if not first:
                delay = self.next_poll_delay(attempt, history)
                remaining = deadline - self.clock()
                if remaining <= 0:
                    return record, status, False
                await self.sleep(min(delay, remaining))
                attempt += 1
            first = False
            status = await self.call(poll, notes=notes)
            record = self._record_status(record, status)
            now = self.clock()
            if status.progress > 0 and not math.isnan(status.progress):
                history.append((now, status.progress))
            if on_progress is not None:
                await on_progress(status)
            if status.finished:
                return record, status, True
            if now >= deadline:
                return record, status, False

    async def download_render(
        self,
        record: RenderRecord,
        dest_dir: Path,
        *,
        overwrite: bool = False,
        on_progress: Callable[[int, int | None], Awaitable[None]] | None = None,
    ) -> Path:
        if not record.output_url:
            raise RenderFailed("The render has no download URL yet; wait for it to complete.")
        project = self.store.get_project(self.backend, record.session_id)
        stem = _safe_stem(project.title if project and project.title else "nemo-export")
        filename = f"{stem}-{record.render_id}.mp4"
        token = await self.token()
        path = await self.client.download(
            record.output_url,
            dest_dir,
            filename=filename,
            token=token,
            overwrite=overwrite,
            on_progress=on_progress,
        )
        self.store.save_render(RenderRecord(**{**record.__dict__, "local_file": str(path)}))
        return path
