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
import email.utils
import logging
import mimetypes
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol, TypeVar
from urllib.parse import quote

import anyio
import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from nemo_mcp import __version__
from nemo_mcp.api.adk import Event
from nemo_mcp.api.events import iter_events
from nemo_mcp.api.frames import RunRequest
from nemo_mcp.api.models import Credits, RenderStatus, SessionInfo, SessionState, TokenGrant, UploadResult
from nemo_mcp.api.recovery import Recoveries, RecoveryPolicy, Sleep
from nemo_mcp.config import APP_NAME, SkillProfile
from nemo_mcp.errors import (
    APIError,
    BadInput,
    DiskFull,
    MissingClientId,
    RateLimited,
    ResponseTooLarge,
    SessionNotFound,
    TransportError,
    UnexpectedResponse,
    error_for_code,
    error_for_status,
    is_disk_full,
)
from nemo_mcp.redact import SECRETS

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int], Awaitable[None]]

TRANSIENT_STATUSES = (502, 503, 504)
#: Largest JSON envelope read from the backend. Drafts, lists and states are far smaller; this
#: only stops a faulty or hostile backend from filling memory.
MAX_BODY_BYTES = 16 * 1024 * 1024
#: Overall limit of one upload request (its per-read timeout is the same).
UPLOAD_DEADLINE = 600.0
#: Connections to the backend at once: edits in flight plus uploads, polls and state reads.
MAX_CONNECTIONS = 200
UPLOAD_CHUNK = 1024 * 1024


class UploadSource(Protocol):
    """A local file that passed the upload policy (see :mod:`nemo_mcp.service.uploads`)."""

    @property
    def name(self) -> str: ...

    @property
    def size(self) -> int: ...

    @property
    def mime_type(self) -> str: ...

    def open(self) -> IO[bytes]: ...


@dataclass(frozen=True)
class PathSource:
    """An :class:`UploadSource` over a plain path, for callers that did their own checks."""

    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def size(self) -> int:
        return self.path.stat().st_size

    @property
    def mime_type(self) -> str:
        return mimetypes.guess_type(self.path.name)[0] or "application/octet-stream"

    def open(self) -> IO[bytes]:
        return self.path.open("rb")


@dataclass(frozen=True)
class StreamLimits:
    idle_timeout: float = 300.0
    total_timeout: float = 900.0
    max_event_bytes: int = 4 * 1024 * 1024


def _quote_filename(name: str) -> str:
    # RFC 7578: quote and escape; drop characters that would break the header line.
    safe = "".join(ch for ch in name if ch >= " " and ch != "\x7f")
    return safe.replace("\\", "\\\\").replace('"', "%22") or "upload"


class MultipartUpload(httpx.AsyncByteStream):
    """A multipart/form-data body streamed from disk in fixed-size chunks.

    The total length is known up front (so the request carries Content-Length and the
    server can refuse an oversize body at once) and memory stays at one chunk whatever
    the file size. Each iteration re-opens the sources, so a retried request starts
    every file from its first byte.
    """

    def __init__(
        self, sources: Sequence[UploadSource], *, field: str = "files", on_progress: ProgressFn | None = None
    ) -> None:
        self.boundary = uuid.uuid4().hex
        self._sources = list(sources)
        self._on_progress = on_progress
        self._heads = [
            (
                f"--{self.boundary}\r\n"
                f'Content-Disposition: form-data; name="{field}"; filename="{_quote_filename(s.name)}"\r\n'
                f"Content-Type: {s.mime_type}\r\n\r\n"
            ).encode()
            for s in self._sources
        ]
        self._sizes = [s.size for s in self._sources]
        self._tail = f"--{self.boundary}--\r\n".encode()
        self.total_file_bytes = sum(self._sizes)
        self.content_length = sum(
            len(h) + n + 2 for h, n in zip(self._heads, self._sizes, strict=True)
        ) + len(self._tail)

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    async def __aiter__(self) -> AsyncIterator[bytes]:
        sent = 0
        for head, source, size in zip(self._heads, self._sources, self._sizes, strict=True):
            yield head
            remaining = size
            with source.open() as fh:
                while remaining > 0:
                    chunk = fh.read(min(UPLOAD_CHUNK, remaining))
                    if not chunk:
                        # The file shrank after it was checked: never send a short body
                        # under a Content-Length that promised more.
                        raise TransportError(
                            f"{source.name} changed while it was being uploaded; upload it again."
                        )
                    remaining -= len(chunk)
                    sent += len(chunk)
                    yield chunk
                    if self._on_progress is not None:
                        await self._on_progress(sent, self.total_file_bytes)
            yield b"\r\n"
        yield self._tail


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _body_message(body: Any) -> str:
    if isinstance(body, dict):
        for key in ("message", "error", "detail", "msg"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
            if value:
                return str(value)[:500]
    if isinstance(body, str):
        return body[:500]
    return ""


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def raise_for_error(response: httpx.Response, body: Any = None) -> None:
    """Turn an error response into the matching exception (2xx bodies are checked by :func:`unwrap`)."""
    status = response.status_code
    if status < 400:
        return
    if body is None:
        body = _json_or_none(response)
        if body is None:
            body = response.text[:500]
    message = _body_message(body)
    code = body.get("code") if isinstance(body, dict) and isinstance(body.get("code"), int) else None
    if code not in (None, 0):
        assert code is not None
        cls = error_for_code(code)
        if cls is not APIError:
            raise cls(code=code, status=status, backend_message=message)
    if status == 404 and "session not found" in message.lower():
        raise SessionNotFound(code=code, status=status, backend_message=message)
    if status == 429:
        raise RateLimited(
            retry_after=_retry_after(response), code=code, status=status, backend_message=message
        )
    if status == 400 and "client" in message.lower() and "id" in message.lower():
        raise MissingClientId(code=code, status=status, backend_message=message)
    if is_disk_full(text=message):  # not a "temporary problem": it stays until space is freed
        raise DiskFull(code=code, status=status, backend_message=message)
    raise error_for_status(status)(code=code, status=status, backend_message=message)


async def read_capped(response: httpx.Response, max_bytes: int = MAX_BODY_BYTES) -> httpx.Response:
    """A copy of a streamed ``response`` with its body read, refusing a body over ``max_bytes``.

    The declared length is checked before reading, and the decoded bytes are counted as they
    arrive (so a compressed body cannot expand past the cap either): memory stays within
    ``max_bytes`` plus one chunk. The caller closes ``response``.
    """
    too_large = ResponseTooLarge(
        f"The backend sent a response over {max_bytes // 1_048_576} MiB (HTTP {response.status_code}), so it "
        "was stopped unread. Try again; if it persists, check that NEMO_API_BASE points at the NemoVideo API.",
        status=response.status_code,
    )
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise too_large
        chunks.append(chunk)
    # The body is decoded already, so the copy must not claim an encoding or an old length.
    headers = [
        (k, v) for k, v in response.headers.multi_items() if k not in ("content-encoding", "content-length")
    ]
    return httpx.Response(
        response.status_code, headers=headers, content=b"".join(chunks), request=response.request
    )


def unwrap(response: httpx.Response) -> Any:
    """Return the payload of a response in any of the three envelopes, or raise its error."""
    body = _json_or_none(response)
    raise_for_error(response, body)
    if body is None:
        raise UnexpectedResponse(status=response.status_code, backend_message=response.text[:200])
    if isinstance(body, dict):
        code = body.get("code")
        if isinstance(code, int) and not isinstance(code, bool) and ("data" in body or "message" in body):
            if code != 0:
                raise error_for_code(code)(
                    code=code, status=response.status_code, backend_message=_body_message(body)
                )
            return body.get("data")
        if isinstance(body.get("success"), bool):
            if not body["success"]:
                raise APIError(
                    f"The backend refused the request: {_body_message(body) or 'no reason given'}",
                    status=response.status_code,
                    backend_message=_body_message(body),
                )
            return body.get("data")
    return body


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
    ) -> Path:
        """Stream a finished render to ``dest_dir/filename`` under the download policy."""
        from nemo_mcp.api.downloads import download_to_file, system_resolve
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
        )
