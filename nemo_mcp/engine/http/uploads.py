"""``POST /api/upload-video/…``: files sent in a multipart body, or named by URLs, added to a session.

Every file is probed before any is kept: an upload adds all of its files or none.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response

from nemo_mcp.dbfile import private_dir
from nemo_mcp.engine import media as media_mod
from nemo_mcp.engine.ffmpeg import scrub_paths
from nemo_mcp.engine.http.auth import session_for, user_for
from nemo_mcp.engine.http.edits import add_uploads
from nemo_mcp.engine.http.engine import Engine, engine_of
from nemo_mcp.engine.http.envelopes import coded, json_body, ok
from nemo_mcp.engine.http.files import MEDIA, base_url, file_url
from nemo_mcp.engine.http.incoming import MAX_FILES_PER_REQUEST, Incoming, discard, too_large
from nemo_mcp.engine.http.multipart import receive_multipart
from nemo_mcp.engine.http.sources import receive_urls
from nemo_mcp.engine.pinning import FileChanged, Pin, check_pinned
from nemo_mcp.engine.store import MediaRecord, new_key

logger = logging.getLogger(__name__)

MAX_URLS_BODY_BYTES = 1024 * 1024


async def _receive(request: Request, engine: Engine, folder: Path) -> list[Incoming]:
    """The upload's files, from a multipart body or a JSON list of URLs."""
    content_type = request.headers.get("content-type", "")
    length = request.headers.get("content-length", "")
    limit = engine.max_upload_bytes
    if content_type.lower().startswith("multipart/form-data"):
        if length.isdigit() and int(length) > limit * MAX_FILES_PER_REQUEST:
            raise too_large(limit, "The upload")
        return await receive_multipart(request.stream(), content_type, folder, max_file_bytes=limit)
    if content_type.lower().startswith("application/json"):
        body = await json_body(request, limit=MAX_URLS_BODY_BYTES)
        return await receive_urls(
            body,
            folder,
            roots=engine.file_roots,
            max_file_bytes=limit,
            own=(engine.own_port, engine.own_headers),
        )
    raise coded(
        400,
        'Send multipart/form-data with field "files", or JSON {"urls": […], "source_type": "url"}.',
        status=400,
    )


async def _probe_all(incoming: list[Incoming]) -> list[tuple[Incoming, media_mod.MediaInfo]]:
    """Each file with its media facts; an empty or unreadable one fails the whole upload."""
    probed: list[tuple[Incoming, media_mod.MediaInfo]] = []
    try:
        for item in incoming:
            if item.size == 0:
                raise coded(4001, f"{item.filename} is empty (0 bytes): upload the complete file.")
            try:
                info = await media_mod.probe(item.path)
            except media_mod.MediaError as exc:
                raise coded(4001, f"{item.filename} cannot be used: {scrub_paths(str(exc))}.") from None
            pin = Pin.decode(item.pin)
            if pin is not None:
                # What was probed by path must still be what was hashed and pinned.
                try:
                    await anyio.to_thread.run_sync(check_pinned, item.path, pin, item.filename)
                except FileChanged as exc:
                    raise coded(4001, f"{exc}.") from None
            probed.append((item, info))
    except BaseException:
        discard(incoming)
        raise
    return probed


def _record(session_id: str, item: Incoming, info: media_mod.MediaInfo, now: float) -> MediaRecord:
    return MediaRecord(
        media_id=item.media_id,
        session_id=session_id,
        filename=item.filename,
        path=str(item.path),
        copied=item.copied,
        kind=info.kind,
        info=asdict(info),
        size=item.size,
        hash=item.hash,
        file_key=new_key(),
        created=now,
        pin=item.pin,
    )


def _file_entry(base: str, record: MediaRecord, info: media_mod.MediaInfo) -> dict[str, Any]:
    return {
        "media_id": record.media_id,
        "filename": record.filename,
        "file_type": info.kind,
        "cdn_url": file_url(base, MEDIA, record.file_key, record.filename),
        "duration": round(info.duration_ms / 1000, 3),
        "width": info.width,
        "height": info.height,
        "fps": info.fps,
        "has_audio": info.has_audio,
        "size": record.size,
        "hash": record.hash,
        "in_place": not record.copied,
    }


async def upload(request: Request) -> Response:
    """Receive, probe and record the files, then place them on the session's timeline."""
    engine = engine_of(request)
    user_id = user_for(engine, request)
    session = session_for(engine, user_id, request.path_params["sid"])
    incoming = await _receive(request, engine, private_dir(engine.media_dir / session.session_id))
    if not incoming:
        raise coded(400, 'The upload had no files: send them in the multipart field "files".', status=400)
    probed = await _probe_all(incoming)
    now = time.time()
    records = [_record(session.session_id, item, info, now) for item, info in probed]
    base = base_url(request)
    files = [_file_entry(base, record, info) for record, (_, info) in zip(records, probed, strict=True)]
    await add_uploads(engine, session, records, files)
    logger.info("local engine: %d file(s) added to session %s", len(files), session.session_id)
    return ok({"files": files, "session_state_applied": True})
