"""The contract's JSON envelopes, and failures that end a request with one of them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

MAX_JSON_BYTES = 32 * 1024 * 1024


def ok(data: Any) -> JSONResponse:
    """The ``{"code": 0, "message": "ok", "data": …}`` envelope of most endpoints."""
    return JSONResponse({"code": 0, "message": "ok", "data": data})


def render_ok(data: Any) -> JSONResponse:
    """The render proxy's ``{"success": true, "data": …}`` envelope."""
    return JSONResponse({"success": True, "data": data})


class ApiFailure(Exception):
    """Ends a request with ``response``; raised from helpers so handlers stay linear."""

    def __init__(self, response: Response) -> None:
        super().__init__("api failure")
        self.response = response


def coded(code: int, message: str, *, status: int = 200, render: bool = False) -> ApiFailure:
    """A failure in the envelope of its endpoint: the render proxy's, or the coded one of the rest."""
    body: dict[str, Any] = {"code": code, "message": message, "data": None}
    if render:
        body = {"success": False, "error": message, "code": code, "message": message}
    return ApiFailure(JSONResponse(body, status_code=status))


def adk_detail(message: str, *, status: int, code: int | None = None) -> ApiFailure:
    """A failure in ADK's ``{"detail": …}`` shape, as ``/run_sse`` answers before its stream starts."""
    body: dict[str, Any] = {"detail": message}
    if code is not None:
        body.update(code=code, message=message)
    return ApiFailure(JSONResponse(body, status_code=status))


def iso(epoch: float | None) -> str | None:
    """A UTC timestamp as the contract writes it: ``2025-01-31T12:00:00Z``."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def json_body(request: Request, *, limit: int = MAX_JSON_BYTES) -> Any:
    """The request's JSON (``{}`` when empty), read without holding more than ``limit`` bytes."""
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise coded(400, "The request body is too large.", status=413)
    if not data.strip():
        return {}
    try:
        return json.loads(bytes(data))
    except ValueError:
        raise coded(400, "The request body is not valid JSON.", status=400) from None


async def on_failure(request: Request, exc: Exception) -> Response:
    """Starlette's handler for :class:`ApiFailure`: the response it carries."""
    assert isinstance(exc, ApiFailure)
    return exc.response


async def on_http(request: Request, exc: Exception) -> Response:
    """Starlette's own errors (404, 405) in the ``{"detail": …}`` shape the cloud uses."""
    assert isinstance(exc, HTTPException)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
