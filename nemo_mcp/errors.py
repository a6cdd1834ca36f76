"""The one exception tree of nemo-mcp.

Every class carries what the backend said (``code``, ``status``, ``backend_message``)
and a ``user_message`` that tells the person, or the assistant acting for them, what to
do next. ``str(exc)`` is the user message; nothing in it ever contains a token.

::

    NemoError
    ├── ConfigError                 bad settings (a non-HTTPS base URL, an unknown skill …)
    ├── BadInput                    a value given to a tool cannot be used (a malformed id …)
    ├── PolicyError                 we refused to act on a file or URL
    │   ├── UploadRefused
    │   └── DownloadRefused
    │       └── DownloadFolderRefused   the download folder is missing or unusable
    ├── EmptyTimeline               an export asked of a project with nothing on its timeline
    ├── TransportError              no usable HTTP response (connection failed, timed out)
    ├── StreamFailure               the /run_sse stream broke
    │   ├── StreamIdle              no bytes for longer than the idle limit
    │   ├── StreamTooLong           the 15-minute total cap was reached
    │   ├── EventTooLarge           one SSE line or event exceeded the size cap
    │   ├── ReplyTooLarge           the reply text of one edit exceeded its cap
    │   └── BackendStreamError      the backend sent an error frame
    └── APIError                    the backend answered with an error
        ├── AuthError               1001 / 1010 / 1011 / HTTP 401
        ├── SessionNotFound         1002 / HTTP 404 "Session not found"
        ├── InsufficientCredits     2001
        ├── UnsupportedFileType     4001
        ├── FileTooLarge            4002 / HTTP 413
        ├── BadRequest              HTTP 400 (includes a missing X-Client-Id)
        │   └── MissingClientId
        ├── ExportNotAllowed        HTTP 402
        ├── RateLimited             HTTP 429
        ├── InvalidRequest          HTTP 422
        ├── NotFound                other 404s
        ├── ServerError             HTTP 5xx (502/503/504 are transient)
        ├── RenderFailed            a render finished with status "failed"
        ├── DiskFull                no space left on a disk (HTTP 507, ENOSPC, "disk is full")
        └── UnexpectedResponse      a body we could not understand
            └── ResponseTooLarge    a body over the size cap
"""

from __future__ import annotations

import errno
from typing import ClassVar

from nemo_mcp.redact import redact

ACCEPTED_FORMATS = (
    "mp4",
    "mov",
    "avi",
    "webm",
    "mkv",
    "jpg",
    "png",
    "gif",
    "webp",
    "mp3",
    "wav",
    "m4a",
    "aac",
)
MAX_UPLOAD_BYTES = 500 * 1024 * 1024
# Inferred: the contract only says the link ends in "?bind=<id>".
REGISTER_URL = "https://nemovideo.ai/register"


class NemoError(Exception):
    """Base of every error nemo-mcp raises on purpose."""

    default_message: ClassVar[str] = "Something went wrong while talking to the video backend."

    def __init__(self, message: str | None = None) -> None:
        self.user_message = redact(message or self.default_message)
        super().__init__(self.user_message)

    def __str__(self) -> str:
        return self.user_message


class ConfigError(NemoError):
    default_message = "The nemo-mcp configuration is invalid."


class BadInput(NemoError):
    default_message = "A value given to nemo-mcp cannot be used."


class PolicyError(NemoError):
    """We refused a file or a URL; the message names the rule and how to allow it."""


class UploadRefused(PolicyError):
    pass


class DownloadRefused(PolicyError):
    pass


class DownloadFolderRefused(DownloadRefused):
    """The folder to save an export in cannot be used; the message says how to pass a usable one."""


class EmptyTimeline(NemoError):
    default_message = (
        "The project's timeline is empty, so there is nothing to export yet. Upload media with "
        "upload_media and describe an edit with send_edit first."
    )


class TransportError(NemoError):
    default_message = (
        "Could not reach the video backend. Check the network connection (or NEMO_API_BASE) and try again."
    )


class StreamFailure(NemoError):
    default_message = (
        "The edit stream from the backend broke off. Check the timeline with get_timeline, then retry."
    )


class StreamIdle(StreamFailure):
    default_message = (
        "The backend went silent for too long, so the edit stream was closed. The edit may still have been "
        "applied: check with get_timeline before sending it again."
    )


class StreamTooLong(StreamFailure):
    default_message = (
        "The edit ran past the 15-minute limit and was stopped. Check the timeline with get_timeline; "
        "split the request into smaller edits if it keeps happening."
    )


class EventTooLarge(StreamFailure):
    default_message = (
        "The backend sent an event larger than the size limit; the stream was closed for safety."
    )


class ReplyTooLarge(StreamFailure):
    default_message = (
        "The backend's reply to the edit grew past the size nemo-mcp keeps, so the stream was stopped. "
        "Check the timeline with get_timeline; ask for a shorter answer if you retry."
    )


class BackendStreamError(StreamFailure):
    def __init__(
        self, message: str | None = None, *, backend_message: str = "", code: str | None = None
    ) -> None:
        self.backend_message = redact(backend_message)
        self.code = code
        super().__init__(message or f"The backend reported an error while editing: {self.backend_message}")


class APIError(NemoError):
    """The backend answered with an error (an application code or an HTTP status)."""

    codes: ClassVar[tuple[int, ...]] = ()
    statuses: ClassVar[tuple[int, ...]] = ()

    def __init__(
        self,
        message: str | None = None,
        *,
        code: int | None = None,
        status: int | None = None,
        backend_message: str = "",
    ) -> None:
        self.code = code
        self.status = status
        self.backend_message = redact(backend_message)
        super().__init__(message or self.describe())

    def describe(self) -> str:
        detail = f" (backend said: {self.backend_message})" if self.backend_message else ""
        return f"{self.default_message}{detail}"


class AuthError(APIError):
    codes = (1001, 1010, 1011)
    statuses = (401,)
    default_message = "The access token is invalid or has expired."

    def __init__(self, message: str | None = None, *, from_environment: bool = False, **kw: object) -> None:
        self.from_environment = from_environment
        if message is None and from_environment:
            message = (
                "The token in NEMO_TOKEN is invalid or has expired. Create a new one in your NemoVideo "
                "account and update NEMO_TOKEN (or unset it to use a free anonymous token)."
            )
        super().__init__(message, **kw)  # type: ignore[arg-type]


class SessionNotFound(APIError):
    codes = (1002,)
    default_message = (
        "The editing project no longer exists on the backend. A new project is needed; the old timeline is gone, "
        "so upload the media again."
    )


class InsufficientCredits(APIError):
    codes = (2001,)

    def __init__(
        self, message: str | None = None, *, bind_id: str | None = None, anonymous: bool = True, **kw: object
    ) -> None:
        self.bind_id = bind_id
        self.anonymous = anonymous
        if message is None:
            if anonymous:
                link = f"{REGISTER_URL}?bind={bind_id}" if bind_id else REGISTER_URL
                message = (
                    "The free starter credits are used up. Register at "
                    f"{link} to keep this project and get more credits, then try again."
                )
            else:
                message = "This account has no credits left for AI edits. Top up credits, then try again."
        super().__init__(message, **kw)  # type: ignore[arg-type]


class UnsupportedFileType(APIError):
    codes = (4001,)
    default_message = (
        "That file type is not supported. Accepted formats: " + ", ".join(ACCEPTED_FORMATS) + "."
    )

    def describe(self) -> str:
        # The backend also uses 4001 for damaged files; its own words come first when it gave any.
        if self.backend_message:
            formats = ", ".join(ACCEPTED_FORMATS)
            return f"The backend refused the file: {self.backend_message}. Accepted formats: {formats}."
        return self.default_message


class FileTooLarge(APIError):
    codes = (4002,)
    statuses = (413,)
    default_message = "The file is larger than the 500 MB limit. Compress it or trim it into shorter parts, then upload again."


class BadRequest(APIError):
    statuses = (400,)
    default_message = "The backend rejected the request as malformed."


class MissingClientId(BadRequest):
    default_message = "The backend asked for a client id (X-Client-Id) that was missing."


class ExportNotAllowed(APIError):
    statuses = (402,)
    default_message = (
        "Export is not available on the current plan. Register or upgrade the plan to unlock export; "
        "this is about the subscription tier, not about credits."
    )


class RateLimited(APIError):
    statuses = (429,)
    default_message = "The backend is rate limiting requests. Wait a minute and try again."

    def __init__(self, message: str | None = None, *, retry_after: float | None = None, **kw: object) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)  # type: ignore[arg-type]


class InvalidRequest(APIError):
    statuses = (422,)
    default_message = "The backend could not validate the request."


class NotFound(APIError):
    statuses = (404,)
    default_message = "The backend does not know that item."


class ServerError(APIError):
    statuses = (500, 502, 503, 504)
    default_message = "The video backend had a temporary problem. Try again in a moment."

    @property
    def transient(self) -> bool:
        return self.status in (502, 503, 504)


class RenderFailed(APIError):
    default_message = (
        "The render failed on the backend. Check the timeline with get_timeline and export again."
    )


class UnexpectedResponse(APIError):
    default_message = "The backend sent a response nemo-mcp could not understand."


class ResponseTooLarge(UnexpectedResponse):
    default_message = (
        "The backend sent a response larger than nemo-mcp accepts, so it was stopped. Try again; if it "
        "persists, check NEMO_API_BASE points at the NemoVideo API."
    )


class DiskFull(APIError):
    """A disk is full: the backend's (HTTP 507 or its words) or this machine's (ENOSPC)."""

    statuses = (507,)
    default_message = (
        "A disk is full (no space left on the device), so the work could not be saved. Free some space "
        "(the local engine keeps its files under NEMO_MCP_HOME), then try again."
    )


_DISK_FULL_WORDS = ("no space left on device", "disk is full", "disk full", "enospc")


def is_disk_full(exc: BaseException | None = None, *, text: str = "") -> bool:
    """Whether an OS error, an SQLite error or a backend message says a disk is full."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    said = f"{text} {exc if exc is not None else ''}".lower()
    return any(word in said for word in _DISK_FULL_WORDS)


_BY_CODE: dict[int, type[APIError]] = {
    c: cls
    for cls in (AuthError, SessionNotFound, InsufficientCredits, UnsupportedFileType, FileTooLarge)
    for c in cls.codes
}
_BY_STATUS: dict[int, type[APIError]] = {
    s: cls
    for cls in (
        AuthError,
        FileTooLarge,
        BadRequest,
        ExportNotAllowed,
        RateLimited,
        InvalidRequest,
        NotFound,
        ServerError,
        DiskFull,
    )
    for s in cls.statuses
}


def error_for_code(code: int) -> type[APIError]:
    """The exception class for an application error code (unknown codes map to :class:`APIError`)."""
    return _BY_CODE.get(code, APIError)


def error_for_status(status: int) -> type[APIError]:
    """The exception class for an HTTP status (unknown 5xx map to :class:`ServerError`)."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return ServerError
    return APIError
