"""The session manager: tokens, the current project, and calls made with the recovery policy.

One instance per server process, shared by every tool. It is the only place that knows
which token to use and which project is current. Every backend call goes through
:meth:`SessionManager.call`, which runs it under the one recovery policy of
:mod:`nemo_mcp.api.recovery` and supplies the effects that need the store: a replaced
anonymous token (a ``NEMO_TOKEN`` is reported, never replaced), a new project when the old
one is gone (and a note telling the user), a new client id. Time is injected (``clock``,
``sleep``) so tests never wait for real.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
from pydantic import SecretStr

from nemo_mcp.api.adk import Event
from nemo_mcp.api.models import Credits, SessionState, TokenGrant, UploadResult
from nemo_mcp.api.recovery import Recoveries, Sleep
from nemo_mcp.config import Settings
from nemo_mcp.errors import AuthError, InsufficientCredits, RateLimited
from nemo_mcp.service.store import ProjectRecord, Store

if TYPE_CHECKING:
    from anyio.abc import TaskGroup

    from nemo_mcp.api.client import NemoClient
    from nemo_mcp.api.multipart import ProgressFn, UploadSource
    from nemo_mcp.service.edits import EditJob
    from nemo_mcp.service.jobs import Transfer

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class Notes:
    """Things a call should tell the user besides its result (recoveries that happened)."""

    items: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        if text not in self.items:
            self.items.append(text)


def backend_key(settings: Settings, api_base: str) -> str:
    return "local" if settings.backend == "local" else f"cloud:{api_base}"


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
        engine_headers: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = settings
        # The embedded engine's key travels in these headers; the manager only passes them on.
        self._engine_headers = dict(engine_headers or {})
        self.api_base = (api_base or settings.api_base).rstrip("/")
        self.backend = backend_key(settings, self.api_base)
        self.store = store or Store(settings.store_path)
        self.sleep = sleep
        self.clock = clock
        self._transport = transport
        self._client = client
        self._platform = settings.skill_platform or "unknown"
        self._token_lock = anyio.Lock()
        self._project_lock = anyio.Lock()
        self._platform_fixed = settings.skill_platform is not None
        #: Edits that outlive the tool call that sent them, by pick-up id (see service/edits.py).
        self.edit_jobs: dict[str, EditJob] = {}
        #: Uploads and export downloads that outlive their tool call, by pick-up id (service/jobs.py).
        self.transfers: dict[str, Transfer[Any]] = {}
        #: Held while an export looks for an identical render and starts one, so two calls never both start.
        self.render_lock = anyio.Lock()
        self._tasks: TaskGroup | None = None

    @property
    def client(self) -> NemoClient:
        """The API client, made on first use: importing httpx need not slow the server's start-up."""
        if self._client is None:
            from nemo_mcp.api.client import NemoClient, StreamLimits

            settings = self.settings
            self._client = NemoClient(
                base_url=self.api_base,
                profile=settings.profile,
                client_id=self.store.client_id(),
                platform=self._platform,
                skill_version=settings.skill_version,
                timeout=settings.request_timeout,
                stream_limits=StreamLimits(
                    idle_timeout=settings.sse_idle_timeout,
                    total_timeout=settings.sse_total_timeout,
                    max_event_bytes=settings.max_event_bytes,
                ),
                transport=self._transport,
                sleep=self.sleep,
                extra_headers=self._engine_headers,
            )
        return self._client

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Own the work that outlives a tool call (edits past the wait budget) until the server stops."""
        async with anyio.create_task_group() as tg:
            self._tasks = tg
            try:
                yield
            finally:
                self._tasks = None
                tg.cancel_scope.cancel()

    def spawn(self, fn: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run ``fn`` in the background, owned by this manager rather than by the calling tool."""
        if self._tasks is None:
            raise RuntimeError("the session manager is not running (enter SessionManager.running() first)")
        self._tasks.start_soon(fn)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
        self.store.close()

    # -- attribution ------------------------------------------------------------------------

    def note_client(self, client_name: str | None) -> None:
        """Set ``X-Skill-Platform`` from the MCP client's name unless configuration fixed it."""
        if self._platform_fixed or not client_name:
            return
        name = client_name.lower()
        for platform in ("cursor", "clawhub"):
            if platform in name:
                self._platform = platform
                if self._client is not None:
                    self._client.platform = platform
                break

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

            async def acquire(_token: SecretStr | None, _session: str | None) -> TokenGrant:
                return await self.client.acquire_token()

            how = Recoveries(replace_client_id=self._replace_client_id, wait_on_rate_limit=True)
            try:
                _, grant = await self.client.recovery.run(acquire, how)
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

    async def _refresh_token(self, stale: SecretStr | None) -> None:
        self.store.drop_token(self.backend)
        await self._acquire_token(stale=stale)

    def _replace_client_id(self) -> None:
        self.client.client_id = self.store.replace_client_id()

    # -- calls ------------------------------------------------------------------------------

    async def call(
        self,
        op: Callable[[SecretStr, str | None], Awaitable[T]],
        *,
        session_id: str | None = None,
        notes: Notes | None = None,
    ) -> tuple[str | None, T]:
        """Run ``op(token, session_id)`` under the recovery policy; returns the session id it ended on.

        A call given a ``session_id`` whose session is gone moves to a new project and says so
        in ``notes``; a call without one is never moved.
        """
        notes = notes if notes is not None else Notes()

        async def replace_session(old: str) -> str:
            self.store.mark_project_gone(self.backend, old)
            fresh = await self.new_project(title=self._title_of(old))
            notes.add(
                f"The previous project ({old}) no longer exists on the backend, so a new one "
                f"({fresh.session_id}) was started; the old timeline is gone and its media must be "
                "uploaded again."
            )
            return fresh.session_id

        how = Recoveries(
            bearer=self.token,
            refresh_token=None if self.uses_env_token else self._refresh_token,
            replace_session=replace_session,
            replace_client_id=self._replace_client_id,
            wait_on_rate_limit=True,
        )

        async def authorised(token: SecretStr | None, sid: str | None) -> T:
            assert token is not None  # the bearer hook always gives one
            return await op(token, sid)

        try:
            return await self.client.recovery.run(authorised, how, session_id=session_id)
        except AuthError as exc:
            if not self.uses_env_token:
                raise
            raise AuthError(
                from_environment=True, code=exc.code, status=exc.status, backend_message=exc.backend_message
            ) from None
        except InsufficientCredits as exc:
            raise InsufficientCredits(
                bind_id=self._bind_id(),
                anonymous=not self.uses_env_token,
                code=exc.code,
                status=exc.status,
                backend_message=exc.backend_message,
            ) from None

    async def call_in_project(
        self,
        session_id: str | None,
        op: Callable[[SecretStr, str], Awaitable[T]],
        *,
        notes: Notes | None = None,
    ) -> tuple[str, T]:
        """Run ``op`` in the named (else current, else new) project, then adopt the project it ended on."""
        sid = (await self.project(session_id, notes=notes)).session_id

        async def scoped(token: SecretStr, s: str | None) -> T:
            assert s is not None  # a call given a session id keeps one
            return await op(token, s)

        final, result = await self.call(scoped, session_id=sid, notes=notes)
        assert final is not None
        self.adopt(final)
        return final, result

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

        record = self.store.add_project((await self.call(create))[1])
        self.store.set_current_project(self.backend, record.session_id)
        return record

    async def project(self, session_id: str | None, *, notes: Notes | None = None) -> ProjectRecord:
        """The named project, else the current one, else a new one (created on first use)."""
        if session_id:
            record = self.store.get_project(self.backend, session_id)
            if record is None:
                # A session made elsewhere (another tool, a previous install): it is recorded by
                # :meth:`adopt` once the backend has accepted it.
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

    def adopt(self, session_id: str) -> None:
        """Record a session the backend accepted but the store does not know (made elsewhere)."""
        if self.store.get_project(self.backend, session_id) is None:
            self.store.add_project(
                ProjectRecord(session_id=session_id, backend=self.backend, skill=self.settings.skill)
            )

    def list_projects(self) -> list[ProjectRecord]:
        return self.store.list_projects(self.backend)

    def current_project_id(self) -> str | None:
        return self.store.current_project(self.backend)

    def use_project(self, session_id: str) -> None:
        self.store.set_current_project(self.backend, session_id)

    # -- simple calls -----------------------------------------------------------------------

    async def credits(self, notes: Notes | None = None) -> Credits:
        async def op(token: SecretStr, _: str | None) -> Credits:
            return await self.client.get_credits(token)

        return (await self.call(op, notes=notes))[1]

    async def state(self, session_id: str | None, notes: Notes | None = None) -> tuple[str, SessionState]:
        return await self.call_in_project(session_id, self.client.get_state, notes=notes)

    async def upload_files(
        self,
        sources: Sequence[UploadSource],
        session_id: str | None,
        *,
        on_progress: ProgressFn | None = None,
        notes: Notes | None = None,
    ) -> tuple[str, UploadResult]:
        async def op(token: SecretStr, sid: str) -> UploadResult:
            return await self.client.upload_files(token, sid, sources, on_progress=on_progress)

        return await self.call_in_project(session_id, op, notes=notes)

    async def upload_urls(
        self, urls: list[str], session_id: str | None, *, notes: Notes | None = None
    ) -> tuple[str, UploadResult]:
        async def op(token: SecretStr, sid: str) -> UploadResult:
            return await self.client.upload_urls(token, sid, urls)

        return await self.call_in_project(session_id, op, notes=notes)

    @contextlib.asynccontextmanager
    async def stream_edit(
        self, instruction: str, session_id: str | None, *, notes: Notes | None = None
    ) -> AsyncIterator[tuple[str, AsyncGenerator[Event, None]]]:
        """Open the edit stream (recoveries apply until the stream starts) and yield its events."""
        async with contextlib.AsyncExitStack() as stack:

            async def op(token: SecretStr, sid: str) -> AsyncGenerator[Event, None]:
                return await stack.enter_async_context(self.client.stream_edit(token, sid, instruction))

            yield await self.call_in_project(session_id, op, notes=notes)
