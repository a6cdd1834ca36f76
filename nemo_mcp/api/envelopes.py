"""Reading the backend's answers: the envelopes, the error each code or status means, capped bodies."""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime
from typing import Any

import httpx

from nemo_mcp.errors import (
    APIError,
    DiskFull,
    MissingClientId,
    RateLimited,
    ResponseTooLarge,
    SessionNotFound,
    UnexpectedResponse,
    error_for_code,
    error_for_status,
    is_disk_full,
)

#: Largest JSON envelope read from the backend. Drafts, lists and states are far smaller; this
#: only stops a faulty or hostile backend from filling memory.
MAX_BODY_BYTES = 16 * 1024 * 1024


def retry_after(response: httpx.Response) -> float | None:
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


def body_message(body: Any) -> str:
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


def json_or_none(response: httpx.Response) -> Any:
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
        body = json_or_none(response)
        if body is None:
            body = response.text[:500]
    message = body_message(body)
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
            retry_after=retry_after(response), code=code, status=status, backend_message=message
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
    body = json_or_none(response)
    raise_for_error(response, body)
    if body is None:
        raise UnexpectedResponse(status=response.status_code, backend_message=response.text[:200])
    if isinstance(body, dict):
        code = body.get("code")
        if isinstance(code, int) and not isinstance(code, bool) and ("data" in body or "message" in body):
            if code != 0:
                raise error_for_code(code)(
                    code=code, status=response.status_code, backend_message=body_message(body)
                )
            return body.get("data")
        if isinstance(body.get("success"), bool):
            if not body["success"]:
                raise APIError(
                    f"The backend refused the request: {body_message(body) or 'no reason given'}",
                    status=response.status_code,
                    backend_message=body_message(body),
                )
            return body.get("data")
    return body
