"""The embedded engine's HTTP server: the NemoVideo API, on 127.0.0.1, editing with ffmpeg.

Every endpoint of the contract (``/work/shared/nemo-api.md``) answers in the contract's own
envelopes: ``{"code": 0, "message": "ok", "data": …}`` for most, ``{"success": true,
"data": …}`` for the render proxy, ADK-style ``{"detail": …}`` before a ``/run_sse`` stream
starts, and ADK event frames inside it. The client therefore cannot tell this engine from
the cloud except by what it says about itself (no credits are used).

Error choices where the contract leaves room: application codes travel in the envelope with
HTTP 200 (1002 unknown session, 4001 unsupported or unreadable file, 4002 too large), except
1001 (bad or expired token), which is sent with HTTP 401 so that a client reading only the
status and one reading only the code reach the same conclusion.

A cancelled export reports ``status: "cancelled"`` (the contract lists only pending,
processing, completed and failed; our client's model knows ``cancelled``, and calling a
cancelled job "failed" would be untrue). Two exports run at a time; more wait as ``pending``.

Files are served from ``/files/<kind>/<key>/<name>`` where ``key`` is a random string kept in
the store: the loopback equivalent of a signed CDN URL, usable without the token.

A ``file://`` upload URL is used in place, not copied. With ``file_roots`` (see
:func:`create_app`) it must resolve, symlinks included, to a file inside one of those folders;
the MCP server passes its upload folders, so a token holder cannot read other files through it.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import logging
import re
import secrets
import socket
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import anyio.to_thread
import httpx
import uvicorn
from pydantic import AliasGenerator, BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from nemo_mcp.config import APP_NAME, is_loopback_host
from nemo_mcp.dbfile import private_dir
from nemo_mcp.draft import ops
from nemo_mcp.draft.ops import Interval, TimedText
from nemo_mcp.engine import media as media_mod
from nemo_mcp.engine import render as render_mod
from nemo_mcp.engine.edit import (
    EditState,
    Executor,
    MediaRef,
    compose_reply,
    describe_plan,
    place_uploads,
    plan,
    push_history,
)
from nemo_mcp.engine.ffmpeg import scrub_paths
from nemo_mcp.engine.store import EngineStore, MediaRecord, RenderRecord, SessionRecord, new_key
from nemo_mcp.errors import ACCEPTED_FORMATS, MAX_UPLOAD_BYTES, ConfigError
from nemo_mcp.redact import redact

logger = logging.getLogger(__name__)

# Subtitle files are accepted beside the contract's formats: the local engine makes captions from them.
ACCEPTED_SUFFIXES = frozenset({*(f".{f}" for f in ACCEPTED_FORMATS), ".srt", ".vtt"})
LOCAL_CREDITS = 1_000_000
HEARTBEAT_S = 4.0
MAX_FILES_PER_REQUEST = 20
MAX_FORM_FIELD_BYTES = 64 * 1024
MAX_JSON_BYTES = 32 * 1024 * 1024
MAX_RUN_BODY_BYTES = 1024 * 1024
FLUSH_BYTES = 1024 * 1024
QUALITY_ALIASES = {
    "high": "high", "best": "high", "1080p": "high", "standard": "standard", "medium": "standard",
    "normal": "standard", "draft": "draft", "low": "draft", "fast": "draft", "preview": "draft",
}  # fmt: skip
_RENDER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


# -- envelopes and failures ---------------------------------------------------------------


def ok(data: Any) -> JSONResponse:
    return JSONResponse({"code": 0, "message": "ok", "data": data})


def render_ok(data: Any) -> JSONResponse:
    return JSONResponse({"success": True, "data": data})


class ApiFailure(Exception):
    """Ends a request with ``response``; raised from helpers so handlers stay linear."""

    def __init__(self, response: Response) -> None:
        super().__init__("api failure")
        self.response = response


def coded(code: int, message: str, *, status: int = 200, render: bool = False) -> ApiFailure:
    body: dict[str, Any] = {"code": code, "message": message, "data": None}
    if render:
        body = {"success": False, "error": message, "code": code, "message": message}
    return ApiFailure(JSONResponse(body, status_code=status))


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- the engine ---------------------------------------------------------------------------


@dataclass
class RenderJob:
    scope: anyio.CancelScope
    done: anyio.Event = field(default_factory=anyio.Event)


class Engine:
    """Everything one app instance owns: the store, folders, locks and running renders."""

    def __init__(
        self,
        home: Path,
        *,
        max_upload_bytes: int = MAX_UPLOAD_BYTES,
        heartbeat_s: float = HEARTBEAT_S,
        max_renders: int = 2,
        file_roots: Sequence[Path] | None = None,
    ) -> None:
        self.root = private_dir(home / "local")
        self.media_dir = private_dir(self.root / "media")
        self.render_dir = private_dir(self.root / "renders")
        self.work_dir = private_dir(self.root / "work")
        self.store = EngineStore(self.root)
        self.max_upload_bytes = max_upload_bytes
        self.heartbeat_s = heartbeat_s
        self.render_limiter = anyio.CapacityLimiter(max_renders)
        self.jobs: dict[str, RenderJob] = {}
        self._locks: dict[str, anyio.Lock] = {}
        self.task_group: anyio.abc.TaskGroup | None = None
        # None: any file this process can read may be named by a file:// URL (a token is required
        # either way); a sequence: only files inside these folders, once symlinks are resolved.
        self.file_roots: tuple[Path, ...] | None = None if file_roots is None else _resolve_roots(file_roots)

    def lock(self, session_id: str) -> anyio.Lock:
        # One edit or upload at a time per session: both read, change and write its state.
        lock = self._locks.get(session_id)
        if lock is None:
            lock = self._locks[session_id] = anyio.Lock()
        return lock

    # -- auth and lookups ---------------------------------------------------------------

    def user_for(self, request: Request, *, render: bool = False, adk: bool = False) -> str:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        record = (
            self.store.check_token(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
        )
        if record is None:
            message = (
                "The access token is missing, invalid or expired: get a new one from "
                "POST /api/auth/anonymous-token."
            )
            if adk:
                raise ApiFailure(
                    JSONResponse({"detail": message, "code": 1001, "message": message}, status_code=401)
                )
            raise coded(1001, message, status=401, render=render)
        return record.user_id

    def session_for(self, user_id: str, session_id: str, *, render: bool = False) -> SessionRecord:
        record = self.store.get_session(session_id)
        if record is None or record.user_id != user_id:
            raise coded(
                1002,
                f"Session not found: {session_id[:40]}. Create a new session; the old timeline is gone.",
                render=render,
            )
        return record

    def media_refs(self, session_id: str) -> dict[str, MediaRef]:
        refs: dict[str, MediaRef] = {}
        for record in self.store.list_media(session_id):
            info = media_info(record.info)
            if info is not None:
                refs[record.media_id] = MediaRef(record.media_id, record.filename, Path(record.path), info)
        return refs


def _resolve_roots(roots: Sequence[Path]) -> tuple[Path, ...]:
    resolved: list[Path] = []
    for root in roots:
        real = Path(root).expanduser().resolve()
        if real not in resolved:
            resolved.append(real)
    return tuple(resolved)


def inside_roots(path: Path, roots: Sequence[Path]) -> bool:
    """Whether ``path`` (already resolved) lies in one of ``roots``, comparing whole path components."""
    # is_relative_to compares components: /media-evil is not inside /media.
    return any(path.is_relative_to(root) for root in roots)


def media_info(raw: Mapping[str, Any]) -> media_mod.MediaInfo | None:
    try:
        return media_mod.MediaInfo(**raw)
    except TypeError:
        return None


def draft_of(state: Mapping[str, Any]) -> dict[str, Any]:
    draft = state.get("draft")
    return draft if isinstance(draft, dict) else {"t": [], "d": 0}


def list_of(state: Mapping[str, Any], key: str) -> list[Any]:
    value = state.get(key)
    return value if isinstance(value, list) else []


def initial_state() -> dict[str, Any]:
    return {
        "draft": {"t": [], "d": 0},
        "video_infos": [],
        "generated_media": [],
        "canvas_config": {},
        "video_analyses": [],
    }


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


async def _json_body(request: Request, *, limit: int = MAX_JSON_BYTES) -> Any:
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


# -- auth, sessions, credits, state -------------------------------------------------------


async def anonymous_token(request: Request) -> Response:
    engine = _engine(request)
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
            "expires_at": _iso(issued.record.expires),
            "credits": LOCAL_CREDITS,
            "unlimited": True,
        }
    )


async def create_session(request: Request) -> Response:
    engine = _engine(request)
    user_id = engine.user_for(request)
    body = await _json_body(request, limit=64 * 1024)
    body = body if isinstance(body, dict) else {}
    title = body.get("task_name")
    language = body.get("language")
    title = title.strip()[:200] if isinstance(title, str) and title.strip() else "project"
    language = language.strip()[:20] if isinstance(language, str) and language.strip() else "en"
    record = engine.store.create_session(
        user_id, title=title, language=language, state=initial_state(), private={}
    )
    logger.info("local engine: new session %s", record.session_id)
    return ok(
        {"task_id": record.task_id, "session_id": record.session_id, "user_id": user_id, "task_name": title}
    )


async def credits(request: Request) -> Response:
    engine = _engine(request)
    engine.user_for(request)
    return ok(
        {
            "available": LOCAL_CREDITS,
            "frozen": 0,
            "total": LOCAL_CREDITS,
            "total_granted": LOCAL_CREDITS,
            "total_consumed": 0,
            "unlimited": True,
            "note": "local engine: edits and exports use no credits",
        }
    )


async def session_state(request: Request) -> Response:
    engine = _engine(request)
    user_id = engine.user_for(request)
    record = engine.session_for(user_id, request.path_params["sid"])
    state, _ = engine.store.load_state(record.session_id)
    return ok(
        {
            "session_id": record.session_id,
            "task_id": record.task_id,
            "task_name": record.title,
            "user_id": user_id,
            "state": state,
        }
    )


# -- uploads ------------------------------------------------------------------------------


@dataclass
class _Incoming:
    """One file of an upload on its way to disk."""

    filename: str
    media_id: str
    path: Path
    copied: bool
    size: int = 0
    hash: str = ""


def _display_name(raw: str) -> str:
    # Browsers and curl send a bare name, some tools a path: keep the last component only.
    name = raw.replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = "".join(ch for ch in name if ch.isprintable())
    return name[:200] or "upload"


def _check_type(filename: str) -> str:
    suffix = Path(filename).suffix.lower()
    if suffix not in ACCEPTED_SUFFIXES:
        raise coded(
            4001,
            f"{filename}: unsupported file type. Accepted: {', '.join(ACCEPTED_FORMATS)} "
            "(and .srt/.vtt subtitles for captions).",
        )
    return suffix


def _too_large(engine: Engine, filename: str) -> ApiFailure:
    limit_mb = engine.max_upload_bytes / (1024 * 1024)
    return coded(
        4002,
        f"{filename} is larger than the {limit_mb:g} MB limit: compress it or trim it into shorter parts, "
        "or pass it as a file:// URL so it is used in place.",
    )


async def _receive_multipart(request: Request, engine: Engine, session_dir: Path) -> list[_Incoming]:
    """Stream every ``files`` part of a multipart body to disk, enforcing the size limit as it comes."""
    _, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if not boundary:
        raise coded(400, "The multipart body has no boundary.", status=400)
    events: list[tuple[str, bytes]] = []

    def on(name: str) -> Callable[..., None]:
        def callback(data: bytes | None = None, start: int = 0, end: int = 0) -> None:
            events.append((name, bytes(data[start:end]) if data is not None else b""))

        return callback

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on("begin"),
            "on_header_field": on("field"),
            "on_header_value": on("value"),
            "on_header_end": on("header_end"),
            "on_headers_finished": on("headers_done"),
            "on_part_data": on("data"),
            "on_part_end": on("end"),
        },
    )
    incoming: list[_Incoming] = []
    current: _Incoming | None = None
    handle: Any = None
    digest: Any = None
    buffer = bytearray()
    headers: dict[str, str] = {}
    field_name = b""
    value = b""
    skipped = 0

    async def flush() -> None:
        if buffer and handle is not None:
            data = bytes(buffer)
            buffer.clear()
            await anyio.to_thread.run_sync(handle.write, data)

    try:
        async for chunk in request.stream():
            parser.write(chunk)
            for kind, data in events:
                if kind == "begin":
                    headers, field_name, value, skipped = {}, b"", b"", 0
                elif kind == "field":
                    field_name += data
                elif kind == "value":
                    value += data
                elif kind == "header_end":
                    headers[field_name.decode("latin-1").lower()] = value.decode("utf-8", "replace")
                    field_name, value = b"", b""
                elif kind == "headers_done":
                    _, disp = parse_options_header(headers.get("content-disposition", ""))
                    raw_name = disp.get(b"filename")
                    if disp.get(b"name") in (b"files", b"file") and raw_name is not None:
                        if len(incoming) >= MAX_FILES_PER_REQUEST:
                            raise coded(
                                400, f"Send at most {MAX_FILES_PER_REQUEST} files per upload.", status=400
                            )
                        filename = _display_name(raw_name.decode("utf-8", "replace"))
                        suffix = _check_type(filename)
                        media_id = "m_" + secrets.token_hex(8)
                        current = _Incoming(filename, media_id, session_dir / f"{media_id}{suffix}", True)
                        incoming.append(current)
                        handle = await anyio.to_thread.run_sync(current.path.open, "xb")
                        digest = hashlib.sha256()
                elif kind == "data":
                    if current is not None:
                        current.size += len(data)
                        if current.size > engine.max_upload_bytes:
                            raise _too_large(engine, current.filename)
                        digest.update(data)
                        buffer.extend(data)
                        if len(buffer) >= FLUSH_BYTES:
                            await flush()
                    else:
                        skipped += len(data)
                        if skipped > MAX_FORM_FIELD_BYTES:
                            raise coded(400, "A form field other than 'files' is too large.", status=400)
                elif kind == "end" and current is not None:
                    await flush()
                    await anyio.to_thread.run_sync(handle.close)
                    current.hash = digest.hexdigest()
                    current, handle = None, None
            events.clear()
        parser.finalize()
    except BaseException:
        if handle is not None:
            handle.close()
        for item in incoming:
            item.path.unlink(missing_ok=True)
        raise
    if current is not None:
        # The body ended inside a file part: the upload was cut short.
        handle.close()
        for item in incoming:
            item.path.unlink(missing_ok=True)
        raise coded(400, f"The upload of {current.filename} was cut short; send it again.", status=400)
    return incoming


def _regular_file(path: Path) -> Path | None:
    try:
        resolved = path.resolve(strict=True)
    except OSError:
        return None
    return resolved if resolved.is_file() else None


def _loose_resolve(path: Path) -> Path | None:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return None


def _outside_roots(filename: str) -> ApiFailure:
    return coded(
        4001,
        f"{filename}: file:// URLs may name only files inside the folders this engine was allowed to read "
        "(the MCP server's upload folders), and this one is outside them. Move or copy it into an allowed "
        "folder (NEMO_UPLOAD_ROOTS adds folders), or upload the file itself.",
    )


def _hash_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(FLUSH_BYTES):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


async def _fetch_loopback(url: str, engine: Engine, session_dir: Path) -> _Incoming:
    filename = _display_name(urllib.parse.unquote(urllib.parse.urlsplit(url).path) or "download")
    suffix = _check_type(filename)
    media_id = "m_" + secrets.token_hex(8)
    item = _Incoming(filename, media_id, session_dir / f"{media_id}{suffix}", True)
    digest = hashlib.sha256()
    try:
        # No redirects and no proxies: a loopback URL must not become a fetch from elsewhere.
        async with (
            httpx.AsyncClient(follow_redirects=False, trust_env=False, timeout=60.0) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                raise coded(400, f"Fetching {filename} failed with HTTP {response.status_code}.", status=400)
            with item.path.open("xb") as handle:
                async for chunk in response.aiter_bytes(FLUSH_BYTES):
                    item.size += len(chunk)
                    if item.size > engine.max_upload_bytes:
                        raise _too_large(engine, filename)
                    digest.update(chunk)
                    await anyio.to_thread.run_sync(handle.write, chunk)
    except httpx.HTTPError as exc:
        item.path.unlink(missing_ok=True)
        raise coded(400, f"Fetching {filename} failed ({type(exc).__name__}).", status=400) from None
    except BaseException:
        item.path.unlink(missing_ok=True)
        raise
    item.hash = digest.hexdigest()
    return item


async def _receive_urls(body: Any, engine: Engine, session_dir: Path) -> list[_Incoming]:
    urls = body.get("urls") if isinstance(body, dict) else None
    if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
        raise coded(
            400, 'Send {"urls": ["file:///…" or "http://127.0.0.1/…"], "source_type": "url"}.', status=400
        )
    if len(urls) > MAX_FILES_PER_REQUEST:
        raise coded(400, f"Send at most {MAX_FILES_PER_REQUEST} URLs per upload.", status=400)
    incoming: list[_Incoming] = []
    try:
        for url in urls:
            parts = urllib.parse.urlsplit(url.strip())
            if parts.scheme == "file":
                if parts.netloc not in ("", "localhost"):
                    raise coded(400, "file:// URLs must name a file on this computer.", status=400)
                path = Path(urllib.request.url2pathname(parts.path))
                if not path.is_absolute():
                    raise coded(400, "A file:// URL needs an absolute path.", status=400)
                filename = _display_name(path.name)
                roots = engine.file_roots
                if roots is not None:
                    # Containment first, on the loosely resolved path (symlinks followed as far as they
                    # exist), so a refusal says nothing about whether a file outside the roots exists.
                    loose = await anyio.to_thread.run_sync(_loose_resolve, path)
                    if loose is None or not inside_roots(loose, roots):
                        raise _outside_roots(filename)
                _check_type(filename)
                resolved = await anyio.to_thread.run_sync(_regular_file, path)
                if resolved is None:
                    raise coded(4001, f"{filename}: no such file, or not a regular file that can be read.")
                if roots is not None and not inside_roots(resolved, roots):
                    raise _outside_roots(filename)  # a symlink that appeared since the first check
                # Referenced in place: a long lecture is not copied, only read when edited or rendered.
                digest, size = await anyio.to_thread.run_sync(_hash_file, resolved)
                item = _Incoming(filename, "m_" + secrets.token_hex(8), resolved, False, size, digest)
                incoming.append(item)
            elif parts.scheme in ("http", "https") and is_loopback_host(parts.hostname):
                incoming.append(await _fetch_loopback(url.strip(), engine, session_dir))
            else:
                raise coded(
                    400,
                    "The local engine works offline: it fetches URLs only from this computer (127.0.0.1 or "
                    "localhost). Download the file and upload it, or pass a file:// URL.",
                    status=400,
                )
    except BaseException:
        for item in incoming:
            if item.copied:
                item.path.unlink(missing_ok=True)
        raise
    return incoming


def _file_url(base: str, kind: str, key: str, filename: str) -> str:
    return f"{base}/files/{kind}/{key}/{urllib.parse.quote(filename)}"


async def upload(request: Request) -> Response:
    engine = _engine(request)
    user_id = engine.user_for(request)
    session = engine.session_for(user_id, request.path_params["sid"])
    session_dir = private_dir(engine.media_dir / session.session_id)
    content_type = request.headers.get("content-type", "").lower()
    length = request.headers.get("content-length", "")
    if content_type.startswith("multipart/form-data"):
        if length.isdigit() and int(length) > engine.max_upload_bytes * MAX_FILES_PER_REQUEST:
            raise _too_large(engine, "The upload")
        incoming = await _receive_multipart(request, engine, session_dir)
    elif content_type.startswith("application/json"):
        incoming = await _receive_urls(await _json_body(request, limit=1024 * 1024), engine, session_dir)
    else:
        raise coded(
            400,
            'Send multipart/form-data with field "files", or JSON {"urls": […], "source_type": "url"}.',
            status=400,
        )
    if not incoming:
        raise coded(400, 'The upload had no files: send them in the multipart field "files".', status=400)

    probed: list[tuple[_Incoming, media_mod.MediaInfo]] = []
    try:
        for item in incoming:
            if item.size == 0:
                raise coded(4001, f"{item.filename} is empty (0 bytes): upload the complete file.")
            try:
                info = await media_mod.probe(item.path)
            except media_mod.MediaError as exc:
                raise coded(4001, f"{item.filename} cannot be used: {scrub_paths(str(exc))}.") from None
            probed.append((item, info))
    except BaseException:
        for item in incoming:
            if item.copied:
                item.path.unlink(missing_ok=True)
        raise

    base = _base_url(request)
    now = time.time()
    records = [
        MediaRecord(
            media_id=item.media_id,
            session_id=session.session_id,
            filename=item.filename,
            path=str(item.path),
            copied=item.copied,
            kind=info.kind,
            info=asdict(info),
            size=item.size,
            hash=item.hash,
            file_key=new_key(),
            created=now,
        )
        for item, info in probed
    ]
    files = [_file_entry(base, record, info) for record, (_, info) in zip(records, probed, strict=True)]
    async with engine.lock(session.session_id):
        engine.store.add_media(records)
        state, private = engine.store.load_state(session.session_id)
        draft = draft_of(state)
        edit = EditState(draft=draft, media=engine.media_refs(session.session_id), private=private)
        before = copy.deepcopy(draft)
        refs = [edit.media[r.media_id] for r in records if r.media_id in edit.media]
        if place_uploads(edit.draft, refs):
            push_history(edit, before)
        state["draft"] = edit.draft
        state["video_infos"] = [*list_of(state, "video_infos"), *files]
        engine.store.save_state(session.session_id, state, edit.private)
    logger.info("local engine: %d file(s) added to session %s", len(files), session.session_id)
    return ok({"files": files, "session_state_applied": True})


def _file_entry(base: str, record: MediaRecord, info: media_mod.MediaInfo) -> dict[str, Any]:
    return {
        "media_id": record.media_id,
        "filename": record.filename,
        "file_type": info.kind,
        "cdn_url": _file_url(base, "m", record.file_key, record.filename),
        "duration": round(info.duration_ms / 1000, 3),
        "width": info.width,
        "height": info.height,
        "fps": info.fps,
        "has_audio": info.has_audio,
        "size": record.size,
        "hash": record.hash,
        "in_place": not record.copied,
    }


async def serve_media(request: Request) -> Response:
    engine = _engine(request)
    record = engine.store.media_by_key(request.path_params["key"])
    if record is None or not await anyio.Path(record.path).is_file():
        return JSONResponse({"detail": "Not Found"}, status_code=404)
    return FileResponse(record.path, filename=record.filename, content_disposition_type="inline")


async def serve_render(request: Request) -> Response:
    engine = _engine(request)
    record = engine.store.render_by_key(request.path_params["key"])
    if record is None or record.status != "completed" or not record.output_path:
        return JSONResponse({"detail": "Not Found"}, status_code=404)
    if not await anyio.Path(record.output_path).is_file():
        return JSONResponse({"detail": "Not Found"}, status_code=404)
    return FileResponse(record.output_path, media_type="video/mp4", filename=f"{record.render_id}.mp4")


# -- /run_sse -----------------------------------------------------------------------------


class _AdkModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=AliasGenerator(validation_alias=to_camel), populate_by_name=True, extra="allow"
    )


class AdkPart(_AdkModel):
    text: str | None = None


class AdkContent(_AdkModel):
    parts: list[AdkPart] | None = None
    role: str | None = None


class RunRequest(_AdkModel):
    """ADK's ``RunAgentRequest``: snake_case or camelCase, like ADK's own validation."""

    app_name: str
    user_id: str
    session_id: str
    new_message: AdkContent
    streaming: bool = False
    state_delta: dict[str, Any] | None = None


def _adk_422(errors: list[dict[str, Any]]) -> Response:
    return JSONResponse({"detail": errors}, status_code=422)


class SessionAnalyzer:
    """The interpreter's :class:`~nemo_mcp.engine.edit.Analyzer`, caching results in the state.

    Results are kept in ``state["video_analyses"]`` (public, like the cloud's) so that a second
    instruction on the same media does not run ffmpeg again.
    """

    def __init__(self, state: dict[str, Any]) -> None:
        analyses = state.get("video_analyses")
        if not isinstance(analyses, list):
            analyses = state["video_analyses"] = []
        self._analyses: list[Any] = analyses

    def _cached(self, media_id: str, kind: str, params: dict[str, Any]) -> Any:
        for entry in self._analyses:
            if (
                isinstance(entry, dict)
                and entry.get("media_id") == media_id
                and entry.get("type") == kind
                and entry.get("params") == params
            ):
                return entry.get("result")
        return None

    def _keep(self, media_id: str, kind: str, params: dict[str, Any], result: Any) -> None:
        self._analyses.append({"media_id": media_id, "type": kind, "params": params, "result": result})

    async def silences(self, media: MediaRef, *, noise_db: float, min_silence_ms: int) -> list[Interval]:
        params = {"noise_db": noise_db, "min_silence_ms": min_silence_ms}
        cached = self._cached(media.media_id, "silences", params)
        if cached is None:
            found = await media_mod.detect_silences(
                media.path, noise_db=noise_db, min_silence_ms=min_silence_ms
            )
            cached = [[a, b] for a, b in found]
            self._keep(media.media_id, "silences", params, cached)
        return [(int(a), int(b)) for a, b in cached]

    async def scenes(self, media: MediaRef) -> list[int]:
        cached = self._cached(media.media_id, "scenes", {})
        if cached is None:
            cached = await media_mod.detect_scenes(media.path)
            self._keep(media.media_id, "scenes", {}, cached)
        return [int(t) for t in cached]

    async def subtitles(self, media: MediaRef) -> list[TimedText]:
        data = await anyio.Path(media.path).read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
        return [TimedText(c.start_ms, c.end_ms, c.text) for c in media_mod.parse_subtitles(text)]

    async def transcribe(self, media: MediaRef) -> list[TimedText]:
        return [TimedText(c.start_ms, c.end_ms, c.text) for c in await media_mod.transcribe(media.path)]

    def can_transcribe(self) -> bool:
        return media_mod.transcription_available()


class AdkFrames:
    """Builds ADK-shaped events for one invocation."""

    def __init__(self) -> None:
        self.invocation_id = f"e-{uuid.uuid4()}"

    def event(
        self,
        parts: list[dict[str, Any]],
        *,
        role: str = "model",
        partial: bool | None = None,
        state_delta: dict[str, Any] | None = None,
        finish: bool = False,
        function_call: bool = False,
    ) -> dict[str, Any]:
        event: dict[str, Any] = {"content": {"parts": parts, "role": role}}
        if partial is not None:
            event["partial"] = partial
        if finish:
            event["finishReason"] = "STOP"
        event.update(
            {
                "invocationId": self.invocation_id,
                "author": APP_NAME,
                "actions": {
                    "stateDelta": state_delta or {},
                    "artifactDelta": {},
                    "requestedAuthConfigs": {},
                    "requestedToolConfirmations": {},
                },
            }
        )
        if function_call:
            event["longRunningToolIds"] = []
        event["id"] = str(uuid.uuid4())
        event["timestamp"] = time.time()
        return event

    def errors(self, exc: BaseException) -> list[dict[str, Any]]:
        """ADK 2.x's pair: an event with errorCode/errorMessage, then the bare error object."""
        message = redact(scrub_paths(str(exc) or type(exc).__name__))[:500]
        name = type(exc).__name__
        return [
            {
                "errorCode": name,
                "errorMessage": message,
                "invocationId": self.invocation_id,
                "author": APP_NAME,
                "actions": {
                    "stateDelta": {},
                    "artifactDelta": {},
                    "requestedAuthConfigs": {},
                    "requestedToolConfirmations": {},
                },
                "id": str(uuid.uuid4()),
                "timestamp": time.time(),
            },
            {
                "error": f"{name}: {message}",
                "error_details": {"error_type": name, "error_message": message, "timestamp": time.time()},
            },
        ]


def sse_data(obj: Mapping[str, Any]) -> bytes:
    return b"data: " + json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode() + b"\n\n"


HEARTBEAT = b": ping\n\n"
Emit = Callable[[Mapping[str, Any]], Awaitable[None]]


async def run_instruction(engine: Engine, session: SessionRecord, text: str, emit: Emit) -> None:
    """Plan and execute one instruction, emitting ADK events; the state is saved after each step."""
    frames = AdkFrames()
    async with engine.lock(session.session_id):
        state, private = engine.store.load_state(session.session_id)
        draft = draft_of(state)
        edit = EditState(
            draft=draft,
            media=engine.media_refs(session.session_id),
            title=session.title,
            outputs={},
            private=private,
        )
        the_plan = plan(text, edit)
        intro = describe_plan(the_plan)
        if intro:
            await emit(frames.event([{"text": intro}], partial=True))
        executor = Executor(edit, SessionAnalyzer(state))
        changes = [op for op in the_plan.operations if op.name not in ("undo", "describe_timeline")]
        undoing = any(op.name == "undo" for op in the_plan.operations)
        before = copy.deepcopy(edit.draft)
        if changes and not undoing:
            # Kept before the first step, so an edit stopped half-way can still be undone.
            push_history(edit, before)

        def save() -> None:
            state["draft"] = edit.draft
            state.update(edit.outputs)
            canvas = ops.peek_meta(edit.draft).get("canvas")
            if isinstance(canvas, dict):
                state["canvas_config"] = {
                    "width": canvas.get("w"),
                    "height": canvas.get("h"),
                    "platform": ops.peek_meta(edit.draft).get("platform"),
                }
            engine.store.save_state(session.session_id, state, edit.private)

        results = []
        for index, op in enumerate(the_plan.operations):
            call_id = f"adk-{uuid.uuid4()}"
            parts: list[dict[str, Any]] = [
                {"functionCall": {"id": call_id, "args": op.args, "name": op.name}}
            ]
            if index == 0 and intro:
                parts.insert(0, {"text": intro})
            await emit(frames.event(parts, partial=False, function_call=True))
            result = await executor.run(op)
            results.append(result)
            save()
            delta = {"draft": edit.draft, **edit.outputs}
            response = {"id": call_id, "name": op.name, "response": result.response}
            await emit(frames.event([{"functionResponse": response}], role="user", state_delta=delta))
        if changes and not undoing and edit.draft == before:
            history = edit.private.get("history")
            if isinstance(history, list) and history:
                history.pop()  # nothing changed after all: nothing to undo
        reply = compose_reply(the_plan, results, edit)
        state["last_reply"] = reply
        save()
        await emit(
            frames.event([{"text": reply}], partial=False, finish=True, state_delta={"last_reply": reply})
        )


class EditStream:
    """The ``text/event-stream`` response of ``/run_sse``, as a plain ASGI app.

    Three tasks: the edit itself, a writer that sends its frames (and a ``: ping`` comment
    whenever nothing was sent for ``heartbeat_s``), and a watcher that stops both when the
    client disconnects. No async generator is involved, so cancellation is clean.
    """

    def __init__(self, engine: Engine, session: SessionRecord, text: str) -> None:
        self.engine = engine
        self.session = session
        self.text = text

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"text/event-stream; charset=utf-8")]
        headers += [(k.lower().encode(), v.encode()) for k, v in _SSE_HEADERS.items()]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        sender, receiver = anyio.create_memory_object_stream[bytes](max_buffer_size=64)

        async def produce() -> None:
            async with sender:
                frames = AdkFrames()

                async def emit(event: Mapping[str, Any]) -> None:
                    await sender.send(sse_data(event))

                try:
                    await run_instruction(self.engine, self.session, self.text, emit)
                except Exception as exc:
                    # The stream's contract for failures is an error frame, not a broken connection.
                    logger.warning("local engine: edit failed: %s", exc, exc_info=True)
                    for event in frames.errors(exc):
                        await sender.send(sse_data(event))

        async def write(tg: anyio.abc.TaskGroup) -> None:
            async with receiver:
                while True:
                    with anyio.move_on_after(self.engine.heartbeat_s) as waited:
                        try:
                            chunk = await receiver.receive()
                        except anyio.EndOfStream:
                            break
                    if waited.cancelled_caught:
                        chunk = HEARTBEAT
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            tg.cancel_scope.cancel()

        async def watch(tg: anyio.abc.TaskGroup) -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    tg.cancel_scope.cancel()
                    return

        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(produce)
                tg.start_soon(write, tg)
                tg.start_soon(watch, tg)
        except OSError:
            logger.debug("local engine: client went away during an edit stream")


async def run_sse(request: Request) -> Response:
    engine = _engine(request)
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_RUN_BODY_BYTES:
            return JSONResponse({"detail": "Request body too large"}, status_code=413)
    try:
        body = json.loads(bytes(raw)) if raw.strip() else None
    except ValueError as exc:
        return _adk_422(
            [
                {
                    "type": "json_invalid",
                    "loc": ["body", 0],
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": str(exc)[:200]},
                }
            ]
        )
    try:
        req = RunRequest.model_validate(body)
    except ValidationError as exc:
        errors = []
        for err in exc.errors(include_url=False, include_context=False):
            loc = [to_camel(p) if isinstance(p, str) else p for p in err["loc"]]
            errors.append(
                {"type": err["type"], "loc": ["body", *loc], "msg": err["msg"], "input": err["input"]}
            )
        return _adk_422(errors)
    user_id = engine.user_for(request, adk=True)
    record = engine.store.get_session(req.session_id)
    if (
        record is None
        or record.user_id != user_id
        or req.app_name != APP_NAME
        or req.user_id not in ("me", user_id)
    ):
        return JSONResponse({"detail": f"Session not found: {req.session_id[:100]}"}, status_code=404)
    text = "\n".join(p.text for p in (req.new_message.parts or []) if p.text).strip()
    return _AsgiResponse(EditStream(engine, record, text))


class _AsgiResponse(Response):
    """Lets a Starlette endpoint hand the request over to a plain ASGI callable."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        super().__init__()
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)


# -- renders ------------------------------------------------------------------------------


def _render_view(record: RenderRecord, base: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": record.render_id,
        "status": record.status,
        "progress": round(record.progress),
        "createdAt": _iso(record.created),
        "completedAt": _iso(record.completed),
    }
    if record.status == "completed" and record.output_path:
        url = _file_url(base, "r", record.file_key, f"{record.render_id}.mp4")
        data["outputUrl"] = url
        data["output"] = {
            "url": url,
            "duration": round((record.duration_ms or 0) / 1000, 3),
            "size": record.size,
        }
    if record.error:
        data["error"] = record.error
    return data


async def start_render(request: Request) -> Response:
    engine = _engine(request)
    user_id = engine.user_for(request, render=True)
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise coded(400, "Send a JSON object.", status=400, render=True)
    sid = body.get("sessionId") or body.get("session_id")
    if not isinstance(sid, str) or not sid:
        raise coded(400, "sessionId is required.", status=400, render=True)
    session = engine.session_for(user_id, sid, render=True)
    render_id = body.get("id")
    if render_id is None:
        render_id = f"render_{int(time.time() * 1000)}"
    if not isinstance(render_id, str) or not _RENDER_ID.match(render_id):
        raise coded(400, "id must be 1-100 letters, digits, '.', '_' or '-'.", status=400, render=True)
    raw_output = body.get("output")
    output: dict[str, Any] = raw_output if isinstance(raw_output, dict) else {}
    fmt = str(output.get("format") or "mp4").lower()
    if fmt != "mp4":
        raise coded(400, f"The local engine exports mp4 only, not {fmt[:20]}.", status=400, render=True)
    quality = QUALITY_ALIASES.get(str(output.get("quality") or "high").lower())
    if quality is None:
        raise coded(
            400, f"quality must be one of {', '.join(render_mod.QUALITY_PRESETS)}.", status=400, render=True
        )
    existing = engine.store.get_render(render_id)
    if existing is not None:
        if existing.user_id != user_id or existing.session_id != session.session_id:
            raise coded(409, "That render id is already used by another export.", status=409, render=True)
        return render_ok(_render_view(existing, _base_url(request)))
    state, _ = engine.store.load_state(session.session_id)
    given = body.get("draft")
    draft: dict[str, Any] = given if isinstance(given, dict) else draft_of(state)
    if ops.timeline_ms(draft) <= 0:
        raise coded(
            400,
            "There is nothing to export yet: the timeline is empty. Upload a video first.",
            status=400,
            render=True,
        )
    sources = {
        ref.media_id: render_mod.SourceMedia(ref.path, ref.info)
        for ref in engine.media_refs(session.session_id).values()
    }
    record = engine.store.create_render(render_id, session.session_id, user_id)
    if engine.task_group is None:
        raise coded(503, "The local engine is shutting down.", status=503, render=True)
    job = RenderJob(anyio.CancelScope())
    engine.jobs[render_id] = job
    engine.task_group.start_soon(
        _render_job, engine, record, draft, sources, quality, _base_url(request), job
    )
    return render_ok({"id": render_id, "status": "pending", "progress": 0})


async def _render_job(
    engine: Engine,
    record: RenderRecord,
    draft: dict[str, Any],
    sources: dict[str, render_mod.SourceMedia],
    quality: str,
    base: str,
    job: RenderJob,
) -> None:
    out_path = engine.render_dir / f"{record.render_id}.mp4"
    work = engine.work_dir / record.render_id
    store = engine.store
    try:
        with job.scope:
            async with engine.render_limiter:
                store.update_render(record.render_id, status="processing", progress=1)

                async def progress(fraction: float) -> None:
                    store.update_render(record.render_id, progress=max(1.0, min(99.0, fraction * 100)))

                try:
                    result = await render_mod.render_draft(
                        draft, sources, out_path, quality=quality, on_progress=progress, work_dir=work
                    )
                except media_mod.MediaError as exc:
                    store.update_render(record.render_id, status="failed", error=redact(str(exc))[:500])
                    return
                except Exception as exc:
                    # A background job must never take the engine down; report it on the job instead.
                    logger.warning("local engine: render %s failed: %s", record.render_id, exc, exc_info=True)
                    store.update_render(
                        record.render_id,
                        status="failed",
                        error=redact(scrub_paths(str(exc)))[:500] or "failed",
                    )
                    return
                store.update_render(
                    record.render_id,
                    status="completed",
                    progress=100,
                    output_path=str(result.path),
                    duration_ms=result.duration_ms,
                    size=result.size,
                )
                _note_generated(engine, record, result, base)
        if job.scope.cancelled_caught:
            out_path.unlink(missing_ok=True)
            store.update_render(record.render_id, status="cancelled", error="The export was cancelled.")
    finally:
        with anyio.CancelScope(shield=True):
            current = store.get_render(record.render_id)
            if current is not None and current.status in ("pending", "processing"):
                # Cancelled from outside (the engine is stopping): no file, and say so.
                out_path.unlink(missing_ok=True)
                store.update_render(
                    record.render_id, status="failed", error="The local engine stopped; export again."
                )
            await anyio.to_thread.run_sync(_remove_tree, work)
            engine.jobs.pop(record.render_id, None)
            job.done.set()


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def _note_generated(engine: Engine, record: RenderRecord, result: render_mod.RenderResult, base: str) -> None:
    state, private = engine.store.load_state(record.session_id)
    generated = list_of(state, "generated_media")
    fresh = engine.store.get_render(record.render_id)
    key = fresh.file_key if fresh else record.file_key
    generated.append(
        {
            "id": record.render_id,
            "type": "video",
            "url": _file_url(base, "r", key, f"{record.render_id}.mp4"),
            "duration": round(result.duration_ms / 1000, 3),
            "size": result.size,
            "width": result.width,
            "height": result.height,
            "created_at": _iso(time.time()),
        }
    )
    state["generated_media"] = generated
    engine.store.save_state(record.session_id, state, private)


def _owned_render(engine: Engine, request: Request, user_id: str) -> RenderRecord:
    record = engine.store.get_render(request.path_params["rid"])
    if record is None or record.user_id != user_id:
        raise coded(404, "No export with that id.", status=404, render=True)
    return record


async def render_status(request: Request) -> Response:
    engine = _engine(request)
    user_id = engine.user_for(request, render=True)
    return render_ok(_render_view(_owned_render(engine, request, user_id), _base_url(request)))


async def cancel_render(request: Request) -> Response:
    engine = _engine(request)
    user_id = engine.user_for(request, render=True)
    record = _owned_render(engine, request, user_id)
    if record.status == "completed":
        raise coded(
            409, "That export has already finished; there is nothing to cancel.", status=409, render=True
        )
    job = engine.jobs.get(record.render_id)
    if job is not None:
        job.scope.cancel()
        # Wait for ffmpeg to be gone and the partial file removed before saying it is cancelled.
        with anyio.move_on_after(15):
            await job.done.wait()
    record = engine.store.get_render(record.render_id) or record
    return render_ok(_render_view(record, _base_url(request)))


# -- the app ------------------------------------------------------------------------------


async def _on_failure(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiFailure)
    return exc.response


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)


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

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        stale = engine.store.fail_unfinished_renders(
            "The local engine was restarted during this export; export again."
        )
        if stale:
            logger.info("local engine: %d unfinished export(s) from an earlier run marked failed", stale)
        async with anyio.create_task_group() as tg:
            engine.task_group = tg
            try:
                yield
            finally:
                engine.task_group = None
                tg.cancel_scope.cancel()
        engine.store.close()

    routes = [
        Route("/api/auth/anonymous-token", anonymous_token, methods=["POST"]),
        Route(f"/api/tasks/me/with-session/{APP_NAME}", create_session, methods=["POST"]),
        Route(f"/api/upload-video/{APP_NAME}/me/{{sid}}", upload, methods=["POST"]),
        Route("/api/credits/balance/simple", credits, methods=["GET"]),
        Route(f"/api/state/{APP_NAME}/me/{{sid}}/latest", session_state, methods=["GET"]),
        Route("/run_sse", run_sse, methods=["POST"]),
        Route("/api/render/proxy/lambda", start_render, methods=["POST"]),
        Route("/api/render/proxy/lambda/{rid}", render_status, methods=["GET"]),
        Route("/api/render/proxy/lambda/{rid}/cancel", cancel_render, methods=["POST"]),
        Route("/files/m/{key}/{name}", serve_media, methods=["GET", "HEAD"]),
        Route("/files/r/{key}/{name}", serve_render, methods=["GET", "HEAD"]),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={ApiFailure: _on_failure, HTTPException: _on_http},
    )
    app.state.engine = engine
    return app


# -- serving ------------------------------------------------------------------------------


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its host process."""

    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield


def bind_socket(host: str, port: int, *, allow_remote: bool = False) -> socket.socket:
    """A listening-ready TCP socket; non-loopback hosts only with ``allow_remote``."""
    if not is_loopback_host(host) and not allow_remote:
        raise ConfigError(
            f"The local engine serves only this computer: refusing to listen on {host!r}. Use 127.0.0.1, "
            "or allow remote access explicitly (it has no protection beyond its tokens)."
        )
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        host = "127.0.0.1"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"The local engine cannot listen on {host}:{port} ({exc.strerror or exc})."
        ) from None
    return sock


def _url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@contextlib.asynccontextmanager
async def _running(app: Starlette, sock: socket.socket, *, embedded: bool) -> AsyncIterator[anyio.Event]:
    """Run uvicorn on ``sock`` in the current event loop; yields an event set when it stops."""
    config = uvicorn.Config(
        app, log_config=None, access_log=False, lifespan="on", ws="none", timeout_graceful_shutdown=3
    )
    server = (_EmbeddedServer if embedded else uvicorn.Server)(config)
    stopped = anyio.Event()
    failure: list[str] = []

    async def run() -> None:
        # Shielded: only should_exit stops it, so shutdown is always uvicorn's orderly one.
        with anyio.CancelScope(shield=True):
            try:
                await server.serve(sockets=[sock])
            except SystemExit:
                failure.append("the local engine failed to start (see the log)")
            finally:
                stopped.set()

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(run)
            while not server.started:
                if stopped.is_set():
                    raise RuntimeError(failure[0] if failure else "the local engine stopped while starting")
                await anyio.sleep(0.01)
            try:
                yield stopped
            finally:
                server.should_exit = True
                with anyio.CancelScope(shield=True):
                    with anyio.move_on_after(10):
                        await stopped.wait()
                    if not stopped.is_set():
                        server.force_exit = True
                        with anyio.move_on_after(5):
                            await stopped.wait()
    finally:
        sock.close()


@contextlib.asynccontextmanager
async def running_backend(
    home: Path,
    *,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
    heartbeat_s: float = HEARTBEAT_S,
    max_renders: int = 2,
    file_roots: Sequence[Path] | None = None,
) -> AsyncIterator[str]:
    """Serve the engine on a free 127.0.0.1 port for the duration of the block; yields its base URL.

    ``file_roots`` limits ``file://`` uploads to those folders (see :func:`create_app`).
    """
    app = create_app(
        home,
        max_upload_bytes=max_upload_bytes,
        heartbeat_s=heartbeat_s,
        max_renders=max_renders,
        file_roots=file_roots,
    )
    sock = bind_socket("127.0.0.1", 0)
    async with _running(app, sock, embedded=True):
        url = _url_of(sock)
        logger.info("local engine listening on %s", url)
        yield url


async def serve(
    home: Path,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    allow_remote: bool = False,
    file_roots: Sequence[Path] | None = None,
    task_status: anyio.abc.TaskStatus[str] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the engine until cancelled; reports the base URL through ``task_status``."""
    app = create_app(home, file_roots=file_roots)
    sock = bind_socket(host, port, allow_remote=allow_remote)
    async with _running(app, sock, embedded=True) as stopped:
        url = _url_of(sock)
        logger.info("local engine listening on %s", url)
        task_status.started(url)
        await stopped.wait()


def run_forever(
    home: Path,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    allow_remote: bool = False,
    file_roots: Sequence[Path] | None = None,
) -> None:
    """``nemo-mcp local-backend``: serve in the foreground until Ctrl-C or SIGTERM."""

    async def main() -> None:
        app = create_app(home, file_roots=file_roots)
        sock = bind_socket(host, port, allow_remote=allow_remote)
        async with _running(app, sock, embedded=False) as stopped:
            logger.warning("local engine listening on %s (Ctrl-C to stop)", _url_of(sock))
            await stopped.wait()

    anyio.run(main)
