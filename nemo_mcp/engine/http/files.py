"""Files served to anyone holding their URL: ``/files/<kind>/<key>/<name>``.

``key`` is a random string kept in the store, the loopback equivalent of a signed CDN URL,
so these URLs work without the token.
"""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path

import anyio
import anyio.to_thread
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from nemo_mcp.engine.http.engine import engine_of
from nemo_mcp.engine.pinning import FileChanged, Pin, open_pinned

MEDIA = "m"
RENDER = "r"
_HAS_PROC_FD = os.path.isdir("/proc/self/fd")


def base_url(request: Request) -> str:
    """The engine's own address as the client reached it, without a trailing slash."""
    return str(request.base_url).rstrip("/")


def file_url(base: str, kind: str, key: str, filename: str) -> str:
    """The URL under which ``filename`` (an upload, or an export) is served."""
    return f"{base}/files/{kind}/{key}/{urllib.parse.quote(filename)}"


def _not_found() -> Response:
    return JSONResponse({"detail": "Not Found"}, status_code=404)


async def serve_media(request: Request) -> Response:
    """An uploaded or referenced file, shown inline; a file used in place only if it is still the one checked."""
    record = engine_of(request).store.media_by_key(request.path_params["key"])
    if record is None or not await anyio.Path(record.path).is_file():
        return _not_found()
    pin = Pin.decode(record.pin)
    if pin is None:  # a copy in the engine's own folder
        return FileResponse(record.path, filename=record.filename, content_disposition_type="inline")
    try:
        fd = await anyio.to_thread.run_sync(open_pinned, Path(record.path), pin, record.filename)
    except FileChanged as exc:
        return JSONResponse({"detail": str(exc)}, status_code=409)
    # Served through the descriptor just checked, so nothing swapped in afterwards can be read;
    # where the system has no /proc, by path right after the check.
    served = f"/proc/self/fd/{fd}" if _HAS_PROC_FD else record.path
    return FileResponse(
        served,
        filename=record.filename,
        content_disposition_type="inline",
        background=BackgroundTask(os.close, fd),
    )


async def serve_render(request: Request) -> Response:
    """A finished export, as ``<render id>.mp4``, or its captions as ``<render id>.srt`` when it has them."""
    record = engine_of(request).store.render_by_key(request.path_params["key"])
    if record is None or record.status != "completed" or not record.output_path:
        return _not_found()
    path, media_type, suffix = Path(record.output_path), "video/mp4", ".mp4"
    if str(request.path_params["name"]).endswith(".srt"):
        # Only the sidecar the render wrote beside its MP4: the name picks the kind, never a path.
        path, media_type, suffix = path.with_suffix(".srt"), "application/x-subrip", ".srt"
    if not await anyio.Path(path).is_file():
        return _not_found()
    return FileResponse(path, media_type=media_type, filename=f"{record.render_id}{suffix}")
