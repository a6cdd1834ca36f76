"""The engine as an ASGI app: the route table, the error handlers and the engine's lifetime."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import Route

from nemo_mcp.config import APP_NAME
from nemo_mcp.engine.http.auth import anonymous_token
from nemo_mcp.engine.http.edits import run_sse
from nemo_mcp.engine.http.engine import HEARTBEAT_S, Engine
from nemo_mcp.engine.http.envelopes import ApiFailure, on_failure, on_http
from nemo_mcp.engine.http.files import serve_media, serve_render
from nemo_mcp.engine.http.footage import read_footage
from nemo_mcp.engine.http.previews import preview
from nemo_mcp.engine.http.renders import cancel_render, render_status, start_render
from nemo_mcp.engine.http.sessions import create_session, credits, session_state
from nemo_mcp.engine.http.uploads import upload
from nemo_mcp.engine.owners import live_owners, sweep_leftovers
from nemo_mcp.errors import MAX_UPLOAD_BYTES

logger = logging.getLogger(__name__)

ROUTES = [
    Route("/api/auth/anonymous-token", anonymous_token, methods=["POST"]),
    Route(f"/api/tasks/me/with-session/{APP_NAME}", create_session, methods=["POST"]),
    Route(f"/api/upload-video/{APP_NAME}/me/{{sid}}", upload, methods=["POST"]),
    Route("/api/credits/balance/simple", credits, methods=["GET"]),
    Route(f"/api/state/{APP_NAME}/me/{{sid}}/latest", session_state, methods=["GET"]),
    Route("/run_sse", run_sse, methods=["POST"]),
    Route(f"/api/footage/{APP_NAME}/me/{{sid}}", read_footage, methods=["GET"]),
    Route(f"/api/preview/{APP_NAME}/me/{{sid}}", preview, methods=["POST"]),
    Route("/api/render/proxy/lambda", start_render, methods=["POST"]),
    Route("/api/render/proxy/lambda/{rid}", render_status, methods=["GET"]),
    Route("/api/render/proxy/lambda/{rid}/cancel", cancel_render, methods=["POST"]),
    Route("/files/m/{key}/{name}", serve_media, methods=["GET", "HEAD"]),
    Route("/files/r/{key}/{name}", serve_render, methods=["GET", "HEAD"]),
]


def _sweep(engine: Engine) -> None:
    """Fail the exports of engines that are gone and remove their partial files and work folders.

    Another server on the same home may be running its own exports right now: those are left alone.
    """
    live = live_owners(engine.owner.folder, engine.owner)
    stale = engine.store.fail_unfinished_renders(
        "The local engine was restarted during this export; export again.", live_owners=live
    )
    removed = sweep_leftovers(engine.render_dir, engine.work_dir, engine.store.unfinished_render_ids())
    if stale or removed:
        logger.info(
            "local engine: %d unfinished export(s) from an earlier run marked failed, %d leftover(s) removed",
            stale,
            removed,
        )


def _lifespan(engine: Engine) -> Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]]:
    """Sweeps what engines that are gone left behind, runs export jobs, and closes the store at the end."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        _sweep(engine)
        async with anyio.create_task_group() as tg:
            engine.task_group = tg
            try:
                yield
            finally:
                engine.task_group = None
                tg.cancel_scope.cancel()
        engine.store.close()
        engine.owner.release()

    return lifespan


def create_app(
    home: Path,
    *,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
    heartbeat_s: float = HEARTBEAT_S,
    max_renders: int = 2,
    file_roots: Sequence[Path] | None = None,
) -> Starlette:
    """The engine as an ASGI app, with its state under ``home/local``.

    ``file_roots``: when given, a ``file://`` upload URL must resolve (symlinks included) to a
    file inside one of these folders, else it is refused with code 4001. None keeps the old
    behaviour: any file the process can read.
    """
    engine = Engine(
        home,
        max_upload_bytes=max_upload_bytes,
        heartbeat_s=heartbeat_s,
        max_renders=max_renders,
        file_roots=file_roots,
    )
    app = Starlette(
        routes=list(ROUTES),
        lifespan=_lifespan(engine),
        exception_handlers={ApiFailure: on_failure, HTTPException: on_http},
    )
    app.state.engine = engine
    return app
