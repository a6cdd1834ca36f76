"""Files served to anyone holding their URL: ``/files/<kind>/<key>/<name>``.

``key`` is a random string kept in the store, the loopback equivalent of a signed CDN URL,
so these URLs work without the token.
"""

from __future__ import annotations

import urllib.parse

import anyio
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from nemo_mcp.engine.http.engine import engine_of

MEDIA = "m"
RENDER = "r"


def base_url(request: Request) -> str:
    """The engine's own address as the client reached it, without a trailing slash."""
    return str(request.base_url).rstrip("/")


def file_url(base: str, kind: str, key: str, filename: str) -> str:
    """The URL under which ``filename`` (an upload, or an export) is served."""
    return f"{base}/files/{kind}/{key}/{urllib.parse.quote(filename)}"


def _not_found() -> Response:
    return JSONResponse({"detail": "Not Found"}, status_code=404)


async def serve_media(request: Request) -> Response:
    """An uploaded or referenced file, shown inline."""
    record = engine_of(request).store.media_by_key(request.path_params["key"])
    if record is None or not await anyio.Path(record.path).is_file():
        return _not_found()
    return FileResponse(record.path, filename=record.filename, content_disposition_type="inline")


async def serve_render(request: Request) -> Response:
    """A finished export, as ``<render id>.mp4``."""
    record = engine_of(request).store.render_by_key(request.path_params["key"])
    if record is None or record.status != "completed" or not record.output_path:
        return _not_found()
    if not await anyio.Path(record.output_path).is_file():
        return _not_found()
    return FileResponse(record.output_path, media_type="video/mp4", filename=f"{record.render_id}.mp4")
