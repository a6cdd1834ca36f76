"""The typed async HTTP client of the NemoVideo API.

It owns the wire: URLs, headers, envelopes, multipart encoding and SSE decoding. It holds
no token of its own — every authenticated method takes the token from its caller (the
session manager). Its :attr:`NemoClient.recovery` is the one recovery policy
(:mod:`nemo_mcp.api.recovery`): the client applies only its transient repeats, and only
where a repeat cannot double an effect (GET requests, and uploads, which re-open the file
from its start on each attempt); the caller applies the others (1001, 1002, 429 …).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import anyio
import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from nemo_mcp import __version__
from nemo_mcp.api.adk import Event
from nemo_mcp.api.envelopes import (
    raise_for_error,
    read_capped,
    unwrap,
)
from nemo_mcp.api.events import iter_events
from nemo_mcp.api.frames import RunRequest
from nemo_mcp.api.models import Credits, RenderStatus, SessionInfo, SessionState, TokenGrant, UploadResult
from nemo_mcp.api.multipart import MultipartUpload, ProgressFn, UploadSource
from nemo_mcp.api.recovery import Recoveries, RecoveryPolicy, Sleep
from nemo_mcp.config import APP_NAME, SkillProfile
from nemo_mcp.errors import (
    BadInput,
    TransportError,
    UnexpectedResponse,
)
from nemo_mcp.redact import SECRETS

log = logging.getLogger(__name__)


TRANSIENT_STATUSES = (502, 503, 504)
#: Overall limit of one upload request (its per-read timeout is the same).
UPLOAD_DEADLINE = 600.0
#: Connections to the backend at once: edits in flight plus uploads, polls and state reads.
MAX_CONNECTIONS = 200


# An .srt of a 4-hour lecture is about 1 MB; anything far larger is not captions.
CAPTIONS_MAX_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class StreamLimits:
    idle_timeout: float = 300.0
    total_timeout: float = 900.0
    max_event_bytes: int = 4 * 1024 * 1024


M = TypeVar("M", bound=BaseModel)


def _parse(model: type[M], payload: Any) -> M:
    try:
        return model.model_validate(payload if payload is not None else {})
    except ValidationError as exc:
        raise UnexpectedResponse(
            f"The backend sent a {model.__name__} this version of nemo-mcp cannot read "
            f"({exc.error_count()} problem(s)). Update nemo-mcp; if it persists, report it.",
        ) from None


def _seg(value: str) -> str:
    """One URL path segment: ids are quoted whole, so '../x' or '?' cannot reach another endpoint."""
    if not value or value in (".", "..") or len(value) > 256:
        raise BadInput(f"{value[:40]!r} is not a valid id. Use an id from list_projects or a tool result.")
    return quote(value, safe="")


class NemoClient:
    """One per process: a keep-alive ``httpx.AsyncClient`` and typed methods per endpoint."""

    def __init__(
        self,
        *,
        base_url: str,
        profile: SkillProfile,
        client_id: str,
        platform: str = "unknown",
        skill_version: str | None = None,
        timeout: float = 60.0,
        stream_limits: StreamLimits | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = anyio.sleep,
        clock: Callable[[], float] = time.monotonic,
        max_attempts: int = 4,
        resolve: Callable[[str, int], Awaitable[list[str]]] | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.profile = profile
        self.client_id = client_id
        self.platform = platform
        self.skill_version = skill_version or profile.version
        self.stream_limits = stream_limits or StreamLimits()
        self._clock = clock
        #: The one recovery policy; the session manager runs its operations through it too.
        self.recovery = RecoveryPolicy(sleep=sleep, max_attempts=max_attempts)
        #: Host-name resolver used by the download policy (injectable for tests).
        self.resolve = resolve
        self._timeout = timeout
        self._transport = transport
        # Sent on every request to the API origin (the local engine's key); never logged.
        self._extra_headers = dict(extra_headers or {})
        self._client: httpx.AsyncClient | None = None

    @property
    def _http(self) -> httpx.AsyncClient:
        # Made on first use: building its TLS context (the CA bundle) costs ~40 ms that
        # server start-up, and tools that never reach the backend, need not pay.
        if self._client is None:
            self._client = self._new_http(self._timeout, self._transport)
        return self._client

    def _new_http(self, timeout: float, transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=15.0),
            # Each running edit holds one connection for its whole stream (up to 15 minutes), so
            # the pool must not cap concurrent edits: a 21st edit used to wait for a free
            # connection and fail with a pool timeout after 30 s.
            limits=httpx.Limits(
                max_connections=MAX_CONNECTIONS, max_keepalive_connections=10, keepalive_expiry=60.0
            ),
            follow_redirects=False,
            transport=transport,
            headers={**self._extra_headers, "User-Agent": f"nemo-mcp/{__version__}"},
        )

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def __aenter__(self) -> NemoClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- plumbing ---------------------------------------------------------------------------

    def headers(self, token: SecretStr | None) -> dict[str, str]:
        headers = {
            "X-Skill-Source": self.profile.source,
            "X-Skill-Version": self.skill_version,
            "X-Skill-Platform": self.platform,
            "X-Client-Id": self.client_id,
        }
        if token is not None:
            SECRETS.add(token.get_secret_value())
            headers["Authorization"] = f"Bearer {token.get_secret_value()}"
        return headers

    async def _send(
        self,
        method: str,
        path: str,
        *,
        token: SecretStr | None,
        retry: bool,
        deadline: float | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send one request (repeating transient failures when ``retry``) and return the read response.

        The whole call, repeats included, ends within ``deadline`` seconds (default: the client's
        timeout): a backend that drips a byte at a time never resets it, unlike a read timeout.
        """
        extra_headers = kwargs.pop("headers", {})
        limit = self._timeout if deadline is None else deadline

        async def attempt() -> httpx.Response:
            request = self._http.build_request(
                method, path, headers={**self.headers(token), **extra_headers}, **kwargs
            )
            response = await self._fetch(request)
            if response.status_code in TRANSIENT_STATUSES:
                raise_for_error(response)
            return response

        async def once(_token: SecretStr | None, _session: str | None) -> httpx.Response:
            response = await attempt()
            log.debug("%s %s -> %s", method, path, response.status_code)
            return response

        with anyio.move_on_after(limit) as scope:
            return (await self.recovery.run(once, Recoveries(repeatable=retry)))[1]
        assert scope.cancelled_caught
        raise TransportError(
            f"The video backend did not finish answering within {limit:g} s, so the request was abandoned. "
            "Try again in a moment."
        )

    async def _fetch(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` and read its body under :data:`MAX_BODY_BYTES`, mapping transport failures."""
        try:
            response = await self._http.send(request, stream=True)
            try:
                return await read_capped(response)
            finally:
                await response.aclose()
        except httpx.TimeoutException:
            raise TransportError("The video backend did not answer in time. Try again in a moment.") from None
        except httpx.InvalidURL:
            raise BadInput("A value in the request cannot be part of a URL; check the ids passed.") from None
        except httpx.TransportError as exc:
            raise TransportError(
                f"Could not reach the video backend ({type(exc).__name__}). Check the network connection "
                "(or NEMO_API_BASE) and try again."
            ) from None

    async def _call(
        self,
        method: str,
        path: str,
        *,
        token: SecretStr | None,
        retry: bool = False,
        deadline: float | None = None,
        **kwargs: Any,
    ) -> Any:
        response = await self._send(method, path, token=token, retry=retry, deadline=deadline, **kwargs)
        return unwrap(response)

    # -- endpoints --------------------------------------------------------------------------

    async def acquire_token(self) -> TokenGrant:
        """``POST /api/auth/anonymous-token``: a free starter token for this client id."""
        data = await self._call("POST", "/api/auth/anonymous-token", token=None)
        grant = _parse(TokenGrant, data)
        SECRETS.add(grant.token.get_secret_value())
        return grant

    async def create_session(
        self, token: SecretStr, *, task_name: str = "project", language: str = "en"
    ) -> SessionInfo:
        """``POST /api/tasks/me/with-session/nemo_agent``: a new editing project."""
        data = await self._call(
            "POST",
            f"/api/tasks/me/with-session/{APP_NAME}",
            token=token,
            json={"task_name": task_name, "language": language},
        )
        return _parse(SessionInfo, data)

    @contextlib.asynccontextmanager
    async def stream_edit(
        self, token: SecretStr, session_id: str, text: str
    ) -> AsyncIterator[AsyncGenerator[Event, None]]:
        """``POST /run_sse``: yields the decoded event stream of one instruction.

        Leaving the ``async with`` block (normally, by error or by cancellation) closes the
        connection at once, so a cancelled edit stops reading from the backend.
        """
        body = RunRequest.for_text(session_id, text).body()
        headers = {**self.headers(token), "Accept": "text/event-stream", "Cache-Control": "no-store"}
        request = self._http.build_request(
            "POST",
            "/run_sse",
            json=body,
            headers=headers,
            timeout=httpx.Timeout(30.0, read=None),  # the idle watchdog bounds reads instead
        )
        late = TransportError("The video backend did not accept the edit in time. Try again.")
        limits = self.stream_limits
        response: httpx.Response | None = None
        try:
            # Reads have no timeout here (the idle watchdog bounds the stream), so bound the wait
            # for the response head on its own: a backend that never answers must not hang the edit.
            with anyio.move_on_after(min(limits.idle_timeout, limits.total_timeout)):
                response = await self._http.send(request, stream=True)
        except httpx.TimeoutException:
            raise late from None
        except httpx.TransportError as exc:
            raise TransportError(
                f"Could not reach the video backend ({type(exc).__name__}). Check the connection and try again."
            ) from None
        if response is None:
            raise late
        try:
            content_type = response.headers.get("content-type", "")
            if response.status_code >= 400 or "text/event-stream" not in content_type:
                read: httpx.Response | None = None
                with anyio.move_on_after(self._timeout):
                    read = await read_capped(response)
                if read is None:
                    raise TransportError(
                        "The video backend did not finish its answer to the edit in time. Try again."
                    )
                if read.status_code < 400:
                    # A JSON envelope instead of a stream: an application error, or nothing to stream.
                    unwrap(read)
                    raise UnexpectedResponse(
                        "The backend answered the edit without an event stream.",
                        status=read.status_code,
                    )
                raise_for_error(read)
            yield iter_events(
                response,
                idle_timeout=limits.idle_timeout,
                total_timeout=limits.total_timeout,
                max_event_bytes=limits.max_event_bytes,
                clock=self._clock,
            )
        finally:
            with anyio.CancelScope(shield=True):
                await response.aclose()

    async def upload_files(
        self,
        token: SecretStr,
        session_id: str,
        sources: Sequence[UploadSource],
        *,
        on_progress: ProgressFn | None = None,
    ) -> UploadResult:
        """Multipart upload (field ``files``) streamed from disk; several files per request."""
        if not sources:
            return UploadResult()
        body = MultipartUpload(sources, on_progress=on_progress)
        data = await self._call(
            "POST",
            f"/api/upload-video/{APP_NAME}/me/{_seg(session_id)}",
            token=token,
            retry=True,
            content=body,
            headers={"Content-Type": body.content_type, "Content-Length": str(body.content_length)},
            timeout=httpx.Timeout(UPLOAD_DEADLINE, connect=15.0),
            deadline=UPLOAD_DEADLINE,
        )
        return _parse(UploadResult, data)

    async def upload_urls(self, token: SecretStr, session_id: str, urls: Iterable[str]) -> UploadResult:
        """Upload by URL: the backend fetches the files itself."""
        data = await self._call(
            "POST",
            f"/api/upload-video/{APP_NAME}/me/{_seg(session_id)}",
            token=token,
            json={"urls": list(urls), "source_type": "url"},
        )
        return _parse(UploadResult, data)

    async def get_credits(self, token: SecretStr) -> Credits:
        data = await self._call("GET", "/api/credits/balance/simple", token=token, retry=True)
        return _parse(Credits, data)

    async def get_state(self, token: SecretStr, session_id: str) -> SessionState:
        data = await self._call(
            "GET", f"/api/state/{APP_NAME}/me/{_seg(session_id)}/latest", token=token, retry=True
        )
        return _parse(SessionState, data)

    async def read_footage(
        self, token: SecretStr, session_id: str, *, media: str = "", wait_s: float = 0.0
    ) -> dict[str, Any]:
        """``GET /api/footage/…``: the local engine's readings of a session's media (the cloud has none)."""
        params: dict[str, str] = {"wait": f"{wait_s:g}"}
        if media:
            params["media"] = media
        data = await self._call(
            "GET", f"/api/footage/{APP_NAME}/me/{_seg(session_id)}", token=token, retry=True, params=params
        )
        if not isinstance(data, dict):
            raise UnexpectedResponse(backend_message="the footage reading is not an object")
        return data

    async def preview(self, token: SecretStr, session_id: str, ask: dict[str, Any]) -> dict[str, Any]:
        """``POST /api/preview/…``: the local engine's contact sheet or frame (the cloud has none).

        ``ask`` holds ``source``, ``times`` or ``start_s``/``end_s``/``count``, and ``single``; the
        answer is the layout with the JPEG in base64 under ``jpeg``. Retried: it changes nothing.
        """
        data = await self._call(
            "POST", f"/api/preview/{APP_NAME}/me/{_seg(session_id)}", token=token, retry=True, json=ask
        )
        if not isinstance(data, dict) or not isinstance(data.get("jpeg"), str):
            raise UnexpectedResponse(backend_message="the preview is not an object with a picture")
        return data

    async def start_render(
        self,
        token: SecretStr,
        session_id: str,
        draft: dict[str, Any],
        *,
        render_id: str,
        fmt: str = "mp4",
        quality: str = "high",
    ) -> RenderStatus:
        """Start an export. Not retried: a repeat could start a second render."""
        data = await self._call(
            "POST",
            "/api/render/proxy/lambda",
            token=token,
            json={
                "id": render_id,
                "sessionId": session_id,
                "draft": draft,
                "output": {"format": fmt, "quality": quality},
            },
        )
        status = _parse(RenderStatus, data)
        return status if status.id else status.model_copy(update={"id": render_id})

    async def get_render(self, token: SecretStr, render_id: str) -> RenderStatus:
        data = await self._call("GET", f"/api/render/proxy/lambda/{_seg(render_id)}", token=token, retry=True)
        status = _parse(RenderStatus, data)
        return status if status.id else status.model_copy(update={"id": render_id})

    async def download(
        self,
        url: str,
        dest_dir: Path,
        *,
        filename: str,
        token: SecretStr | None,
        overwrite: bool = False,
        on_progress: Callable[[int, int | None], Awaitable[None]] | None = None,
        captions: bool = False,
    ) -> Path:
        """Stream a finished render to ``dest_dir/filename`` under the download policy.

        ``captions``: the render's sidecar ``.srt`` rather than its MP4: the same checks, but
        text (no MP4 header) and at most :data:`CAPTIONS_MAX_BYTES`.
        """
        from nemo_mcp.api.downloads import GiB, download_to_file, system_resolve
        from nemo_mcp.config import is_loopback_host

        base_host = httpx.URL(self.base_url).host
        local = self.base_url.startswith("http://") and is_loopback_host(base_host)
        return await download_to_file(
            self._http,
            url,
            dest_dir,
            filename=filename,
            auth_header=self.headers(token).get("Authorization") if token else None,
            api_origin=self.base_url,
            allow_loopback_http=local,
            overwrite=overwrite,
            on_progress=on_progress,
            resolve=self.resolve or system_resolve,
            require_mp4=not captions,
            max_bytes=CAPTIONS_MAX_BYTES if captions else 4 * GiB,
        )
