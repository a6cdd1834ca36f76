"""Tokens: issuing anonymous ones, and the checks every endpoint makes before it acts."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from nemo_mcp.engine.http.engine import Engine, engine_of
from nemo_mcp.engine.http.envelopes import adk_detail, coded, iso, ok
from nemo_mcp.engine.store import SessionRecord

LOCAL_CREDITS = 1_000_000
_UNAUTHORISED = (
    "The access token is missing, invalid or expired: get a new one from POST /api/auth/anonymous-token."
)


def user_for(engine: Engine, request: Request, *, render: bool = False, adk: bool = False) -> str:
    """The user of the request's bearer token; else a 1001 failure with HTTP 401, in the endpoint's shape."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    record = engine.store.check_token(token) if scheme.lower() == "bearer" and token else None
    if record is None:
        if adk:
            raise adk_detail(_UNAUTHORISED, status=401, code=1001)
        raise coded(1001, _UNAUTHORISED, status=401, render=render)
    return record.user_id


def session_for(engine: Engine, user_id: str, session_id: str, *, render: bool = False) -> SessionRecord:
    """The user's session ``session_id``; another user's or an unknown one is a 1002 failure."""
    record = engine.store.get_session(session_id)
    if record is None or record.user_id != user_id:
        raise coded(
            1002,
            f"Session not found: {session_id[:40]}. Create a new session; the old timeline is gone.",
            render=render,
        )
    return record


async def anonymous_token(request: Request) -> Response:
    """``POST /api/auth/anonymous-token``: a token for the installation named by ``X-Client-Id``."""
    engine = engine_of(request)
    client_id = request.headers.get("x-client-id", "").strip()
    if not client_id or len(client_id) > 200 or not client_id.isprintable():
        raise coded(
            400, "The X-Client-Id header is required: send a UUID identifying this installation.", status=400
        )
    issued = engine.store.issue_token(client_id)
    return ok(
        {
            "token": issued.token,
            "user_id": issued.record.user_id,
            "expires_at": iso(issued.record.expires),
            "credits": LOCAL_CREDITS,
            "unlimited": True,
        }
    )
