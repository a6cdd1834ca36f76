"""A loopback fake of the NemoVideo HTTP API, for end-to-end tests and benchmarks.

It speaks the contract in ``shared/nemo-api.md`` with the ``{"code": 0, ...}`` envelope
and keeps just enough state to be believable: tokens, sessions with a draft that edits
change, uploads, and renders that finish after a configurable number of polls or seconds.

In a test, run it inside the current event loop::

    fake = FakeBackend(render_polls=2)
    async with serve(fake) as url:          # http://127.0.0.1:<free port>
        ...                                 # point NEMO_API_BASE at url
    assert fake.stats.render_starts == 1

Or as a separate process (it prints its URL as the first line on stdout)::

    python -m tests.fake_backend --port 0 --render-polls 3

``/run_sse`` picks what to stream from words in the instruction (lower case):

============== ==============================================================
``boom``       the captured error stream (``v1_boom``; ``v2`` picks ``v2_boom``)
``silent``     a stream without text (``v1_silent``); the draft is trimmed
``nostream``   the non-partial trim stream (``v1_trim_nostream``); trims
``hello``      a plain greeting (``v1_hi_stream``); no draft change
``nosession``  HTTP 404 ``{"detail":"Session not found"}`` before the stream
``hang``       the stream opens and then sends nothing until the client leaves
``frames:N``   N partial ADK text frames ``frame i/N sent_at=<time.monotonic()>``
               and a final non-partial frame (for benchmarks)
``gap:M``      M milliseconds between frames (any stream)
``ping:N``     N ``: ping`` heartbeat comments before the stream (with the gap)
(default)      the streamed trim (``v1_trim_stream``); the draft is trimmed to 5 s
============== ==============================================================

Captured fixtures are replayed byte for byte (the body after the header block of
``tests/fixtures/adk/*.http``, copied from the contract). Knobs come from the constructor, from ``NEMO_FAKE_*``
environment variables (:meth:`FakeBackend.from_env`), from command-line flags, or at run
time from ``POST /_fake/config`` (JSON of the same names); ``GET /_fake/stats`` returns
the counters. Failures are injected per endpoint with :meth:`FakeBackend.fail`: an HTTP
status (100-599) answers with that status, an application code (1000+) answers HTTP 200
with ``{"code": N}``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import re
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import anyio
import uvicorn
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .helpers import ADK_FIXTURES

FIXTURES = ADK_FIXTURES
MP4_HEAD = b"\x00\x00\x00\x18ftypmp42"
ENDPOINTS = (
    "token",
    "session",
    "upload",
    "credits",
    "state",
    "run_sse",
    "render_start",
    "render_poll",
    "cancel",
    "files",
)
_KINDS = {
    **dict.fromkeys(("mp4", "mov", "avi", "webm", "mkv"), "video"),
    **dict.fromkeys(("jpg", "png", "gif", "webp"), "image"),
    **dict.fromkeys(("mp3", "wav", "m4a", "aac"), "audio"),
}
TRIMMED_MS = 5000


@dataclass
class FakeConfig:
    """The knobs. Every field is also ``NEMO_FAKE_<NAME>`` and ``--<name>`` on the command line."""

    render_polls: int = 2
    """Polls until a render completes (the first poll that reaches this count says completed)."""
    render_seconds: float = 0.0
    """If > 0, a render completes this many seconds after it started (instead of by polls)."""
    render_hold: bool = False
    """While true, renders stay ``processing`` (release by setting it false)."""
    render_fail: bool = False
    """Renders end ``failed`` instead of ``completed``."""
    render_variant: str = "success"
    """Poll answer shape: ``success`` (``{"success":true,"data":…}``) or ``bare`` (``{"taskId":…}``)."""
    output_bytes: int = 64 * 1024
    """Size of the MP4 served at ``/files/<id>.mp4``."""
    media_duration: float = 10.0
    """Duration reported for uploaded video and audio files, seconds."""
    credits: float = 100.0
    """Starting credits of each token."""
    edit_cost: float = 1.0
    """Credits one ``/run_sse`` call consumes."""
    frame_gap_ms: float = 0.0
    """Default pause between stream frames (``gap:M`` in the instruction overrides it)."""


@dataclass
class Stats:
    """What the fake saw. ``headers`` keeps every request's headers, lower-cased."""

    calls: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ENDPOINTS, 0))
    headers: list[dict[str, str]] = field(default_factory=list)
    upload_bytes: int = 0
    instructions: list[str] = field(default_factory=list)

    @property
    def render_starts(self) -> int:
        return self.calls["render_start"]

    def saw_anywhere(self, needle: str) -> bool:
        """True if ``needle`` appears in any header name or value of any request."""
        return any(needle in k or needle in v for h in self.headers for k, v in h.items())


@dataclass
class _Session:
    sid: str
    task_id: str
    user_id: str
    task_name: str
    language: str
    draft: dict[str, Any] | None = None
    media: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Render:
    rid: str
    sid: str
    draft: dict[str, Any]
    started: float
    polls: int = 0
    cancelled: bool = False
    created: float = field(default_factory=time.time)


def fixture_body(name: str) -> bytes:
    """The body of a captured ``.http`` fixture: everything after the header block."""
    raw = (FIXTURES / name).read_bytes()
    return raw.split(b"\r\n\r\n", 1)[1]


def _frames(body: bytes) -> list[bytes]:
    """Split an SSE body into events, each with its blank-line terminator (joins back to ``body``)."""
    parts = re.split(rb"(?<=\n\n)", body)
    return [p for p in parts if p]


def trimmed(draft: dict[str, Any] | None, ms: int = TRIMMED_MS) -> dict[str, Any]:
    """The draft after "trim to 5 s": each video track keeps its first segment, cut to ``ms``."""
    if not draft or not draft.get("t"):
        return {"t": [{"tt": 0, "sg": [{"d": ms}]}]}
    out: dict[str, Any] = json.loads(json.dumps(draft))
    for track in out["t"]:
        if track.get("tt") == 0 and track.get("sg"):
            first = track["sg"][0]
            first["d"] = min(int(first.get("d", ms)), ms)
            track["sg"] = [first]
    return out


class FakeBackend:
    """The fake's state and its Starlette app (``.app``)."""

    def __init__(self, config: FakeConfig | None = None, **knobs: Any) -> None:
        self.config = config or FakeConfig()
        self.configure(**knobs)
        self.stats = Stats()
        self.tokens: dict[str, float] = {}  # token -> credits left
        self.sessions: dict[str, _Session] = {}
        self.renders: dict[str, _Render] = {}
        self._failures: dict[str, list[int | None]] = {}  # endpoint -> [code, times left or None]
        self._ids = itertools.count(1)
        self.app = Starlette(
            routes=[
                Route("/api/auth/anonymous-token", self._token, methods=["POST"]),
                Route("/api/tasks/me/with-session/{app}", self._session, methods=["POST"]),
                Route("/api/upload-video/{app}/me/{sid}", self._upload, methods=["POST"]),
                Route("/api/credits/balance/simple", self._credits, methods=["GET"]),
                Route("/api/state/{app}/me/{sid}/latest", self._state, methods=["GET"]),
                Route("/run_sse", self._run_sse, methods=["POST"]),
                Route("/api/render/proxy/lambda", self._render_start, methods=["POST"]),
                Route("/api/render/proxy/lambda/{rid}", self._render_poll, methods=["GET"]),
                Route("/api/render/proxy/lambda/{rid}/cancel", self._cancel, methods=["POST"]),
                Route("/files/{name}", self._file, methods=["GET"]),
                Route("/_fake/config", self._admin_config, methods=["GET", "POST"]),
                Route("/_fake/stats", self._admin_stats, methods=["GET"]),
            ]
        )

    # -- knobs ------------------------------------------------------------------------------

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> FakeBackend:
        env = os.environ if environ is None else environ
        knobs: dict[str, Any] = {
            f.name: env[f"NEMO_FAKE_{f.name.upper()}"]
            for f in fields(FakeConfig)
            if f"NEMO_FAKE_{f.name.upper()}" in env
        }
        return cls(**knobs)

    def configure(self, **knobs: Any) -> None:
        """Change knobs (strings are converted to the field's type)."""
        defaults = FakeConfig()
        for name, value in knobs.items():
            if not hasattr(defaults, name):
                raise TypeError(f"unknown fake backend knob {name!r}")
            kind = type(getattr(defaults, name))
            if kind is bool and isinstance(value, str):
                value = value.strip().lower() in ("1", "true", "yes", "on")
            setattr(self.config, name, kind(value))

    def fail(self, endpoint: str, code: int, *, times: int | None = None) -> None:
        """Answer the next ``times`` requests to ``endpoint`` (all, if None) with ``code``."""
        if endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; one of {ENDPOINTS}")
        self._failures[endpoint] = [code, times]

    def clear_failures(self) -> None:
        self._failures.clear()

    # -- plumbing ---------------------------------------------------------------------------

    def _enter(self, endpoint: str, request: Request) -> Response | None:
        """Count the call, record its headers, and return an injected failure if one is due."""
        self.stats.calls[endpoint] += 1
        self.stats.headers.append({k.lower(): v for k, v in request.headers.items()})
        failure = self._failures.get(endpoint)
        if failure is None:
            return None
        code, times = failure
        assert code is not None
        if times is not None:
            if times <= 0:
                del self._failures[endpoint]
                return None
            failure[1] = times - 1
        if code < 1000:
            return JSONResponse(
                {"code": code, "message": f"injected HTTP {code}", "data": None}, status_code=code
            )
        return _err(code, f"injected error {code}")

    def _admit(self, endpoint: str, request: Request) -> str | Response:
        """:meth:`_enter`, then :meth:`_auth`: the token of an admitted call, or the refusal."""
        return self._enter(endpoint, request) or self._auth(request)

    def _auth(self, request: Request) -> str | Response:
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ").strip()
        if not header.startswith("Bearer ") or token not in self.tokens:
            return _err(1001, "token invalid or expired", status=401)
        return token

    def _next_id(self) -> int:
        return next(self._ids)

    # -- endpoints --------------------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        if failed := self._enter("token", request):
            return failed
        if not request.headers.get("x-client-id"):
            return JSONResponse({"detail": "Missing X-Client-Id header"}, status_code=400)
        token = f"nmv_usr_fake{self._next_id():04d}{uuid.uuid4().hex[:16]}"
        self.tokens[token] = self.config.credits
        return _ok(
            {"token": token, "user_id": "anon_fake", "expires_at": "2099-01-01T00:00:00Z", "credits": 100}
        )

    async def _session(self, request: Request) -> Response:
        auth = self._admit("session", request)
        if isinstance(auth, Response):
            return auth
        body = await _json(request)
        n = self._next_id()
        sid = str(5529798706024415232 + n)
        self.sessions[sid] = _Session(
            sid=sid,
            task_id=f"task_{n}",
            user_id="anon_fake",
            task_name=str(body.get("task_name") or "project"),
            language=str(body.get("language") or "en"),
        )
        return _ok({"task_id": f"task_{n}", "session_id": sid, "user_id": "anon_fake"})

    async def _upload(self, request: Request) -> Response:
        if failed := self._enter("upload", request):
            await _discard(request)
            return failed
        auth = self._auth(request)
        if isinstance(auth, Response):
            await _discard(request)
            return auth
        session = self.sessions.get(request.path_params["sid"])
        if session is None:
            await _discard(request)
            return _err(1002, "session not found")
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > 500 * 1024 * 1024:
            await _discard(request)
            return _err(4002, "file too large")
        ctype = request.headers.get("content-type", "")
        if ctype.startswith("multipart/form-data"):
            names, size = await self._read_multipart(request, ctype)
        else:
            body = await _json(request)
            names = [
                u.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0] or "remote.mp4"
                for u in body.get("urls") or []
            ]
            size = 0
        self.stats.upload_bytes += size
        files = []
        for name in names:
            ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
            if ext not in _KINDS:
                return _err(4001, f"unsupported file type: {ext or 'none'}")
            files.append(self._media(name, _KINDS[ext], size))
        session.media += files
        video = [f for f in session.media if f["file_type"] == "video"]
        if video and not session.draft:
            session.draft = {
                "t": [
                    {
                        "tt": 0,
                        "sg": [{"d": int(f["duration"] * 1000), "m": {"name": f["filename"]}} for f in video],
                    }
                ]
            }
        return _ok({"files": files, "session_state_applied": True})

    def _media(self, name: str, kind: str, size: int) -> dict[str, Any]:
        info: dict[str, Any] = {
            "filename": name,
            "file_type": kind,
            "cdn_url": f"https://cdn.fake.example/{uuid.uuid4().hex}/{name}",
            "hash": uuid.uuid4().hex,
            "size": size,
        }
        if kind in ("video", "audio"):
            info["duration"] = self.config.media_duration
        if kind in ("video", "image"):
            info |= {"width": 1920, "height": 1080}
        if kind == "video":
            info["fps"] = 30
        return info

    @staticmethod
    async def _read_multipart(request: Request, ctype: str) -> tuple[list[str], int]:
        """Stream the body through a multipart parser; keep the file names, count and drop the bytes."""
        _, params = parse_options_header(ctype)
        names: list[str] = []
        header: list[bytes] = [b"", b""]
        size = 0

        def on_header_field(data: bytes, start: int, end: int) -> None:
            header[0] += data[start:end]

        def on_header_value(data: bytes, start: int, end: int) -> None:
            header[1] += data[start:end]

        def on_header_end() -> None:
            if header[0].lower() == b"content-disposition":
                _, opts = parse_options_header(header[1])
                if b"filename" in opts:
                    names.append(opts[b"filename"].decode("utf-8", "replace"))
            header[0] = header[1] = b""

        def on_part_data(data: bytes, start: int, end: int) -> None:
            nonlocal size
            size += end - start

        parser = MultipartParser(
            params[b"boundary"],
            {
                "on_header_field": on_header_field,
                "on_header_value": on_header_value,
                "on_header_end": on_header_end,
                "on_part_data": on_part_data,
            },
        )
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
        return names, size

    async def _credits(self, request: Request) -> Response:
        auth = self._admit("credits", request)
        if isinstance(auth, Response):
            return auth
        left = self.tokens[auth]
        return _ok({"available": left, "frozen": 0, "total": left})

    async def _state(self, request: Request) -> Response:
        auth = self._admit("state", request)
        if isinstance(auth, Response):
            return auth
        s = self.sessions.get(request.path_params["sid"])
        if s is None:
            return _err(1002, "session not found")
        return _ok(
            {
                "session_id": s.sid,
                "task_id": s.task_id,
                "task_name": s.task_name,
                "state": {
                    "draft": s.draft,
                    "video_infos": s.media,
                    "generated_media": [],
                    "canvas_config": {"width": 1920, "height": 1080},
                    "video_analyses": [],
                },
            }
        )

    async def _run_sse(self, request: Request) -> Response:
        auth = self._admit("run_sse", request)
        if isinstance(auth, Response):
            return auth
        body = await _json(request)
        parts = ((body.get("new_message") or {}).get("parts")) or [{}]
        text = str(parts[0].get("text") or "")
        self.stats.instructions.append(text)
        session = self.sessions.get(str(body.get("session_id")))
        words = text.lower()
        if session is None or _has(words, "nosession"):
            return JSONResponse({"detail": "Session not found"}, status_code=404)
        self.tokens[auth] = max(0.0, self.tokens[auth] - self.config.edit_cost)
        era = "v2" if _has(words, "v2") else "v1"
        gap = _number(words, "gap", self.config.frame_gap_ms) / 1000
        pings = int(_number(words, "ping", 0))
        frames: Iterator[bytes] | None = None
        if _has(words, "hang"):
            return StreamingResponse(_hang(), media_type="text/event-stream")
        if (n := _number(words, "frames", -1)) >= 0:
            frames = _text_frames(int(n))
        elif _has(words, "boom"):
            frames = iter(_frames(fixture_body(f"{era}_boom.http")))
        elif _has(words, "hello"):
            frames = iter(_frames(fixture_body("v1_hi_stream.http")))
        else:
            name = (
                "silent"
                if _has(words, "silent")
                else "trim_nostream"
                if _has(words, "nostream")
                else "trim_stream"
            )
            if era == "v2" and name == "trim_nostream":
                era = "v1"
            session.draft = trimmed(session.draft)  # the backend applied the edit
            frames = iter(_frames(fixture_body(f"{era}_{name}.http")))

        async def stream() -> AsyncIterator[bytes]:
            for _ in range(pings):
                yield b": ping\n\n"
                await asyncio.sleep(gap)
            for i, frame in enumerate(frames):
                if gap and i:
                    await asyncio.sleep(gap)
                yield frame

        return StreamingResponse(
            stream(), media_type="text/event-stream; charset=utf-8", headers={"cache-control": "no-cache"}
        )

    async def _render_start(self, request: Request) -> Response:
        auth = self._admit("render_start", request)
        if isinstance(auth, Response):
            return auth
        if not request.headers.get("x-skill-source"):
            return JSONResponse({"code": 402, "message": "free plan cannot export"}, status_code=402)
        body = await _json(request)
        sid = str(body.get("sessionId") or "")
        if sid not in self.sessions:
            return _err(1002, "session not found")
        rid = str(body.get("id") or f"render_{int(time.time() * 1000)}")
        self.renders[rid] = _Render(rid=rid, sid=sid, draft=body.get("draft") or {}, started=time.monotonic())
        return JSONResponse({"success": True, "data": {"id": rid, "status": "pending", "progress": 5}})

    async def _render_poll(self, request: Request) -> Response:
        auth = self._admit("render_poll", request)
        if isinstance(auth, Response):
            return auth
        render = self.renders.get(request.path_params["rid"])
        if render is None:
            return JSONResponse({"success": False, "error": "render not found"}, status_code=404)
        render.polls += 1
        return JSONResponse(self._render_view(render, str(request.base_url).rstrip("/")))

    def _render_view(self, r: _Render, base: str) -> dict[str, Any]:
        cfg = self.config
        if cfg.render_seconds > 0:
            fraction = (time.monotonic() - r.started) / cfg.render_seconds
        else:
            fraction = r.polls / max(1, cfg.render_polls)
        error = None
        url = None
        if r.cancelled:
            status, progress, error = "cancelled", 0.0, "cancelled by the client"
        elif cfg.render_hold or fraction < 1:
            status = "processing"
            # Always below 100 and strictly increasing from poll to poll.
            progress = min(95.0, 5 + 85 * min(fraction, 1.0)) + min(4.0, r.polls * 0.01)
        elif cfg.render_fail:
            status, progress, error = "failed", 100.0, "the renderer crashed (injected)"
        else:
            status, progress, url = "completed", 100.0, f"{base}/files/{r.rid}.mp4"
        if cfg.render_variant == "bare":
            view: dict[str, Any] = {"taskId": r.rid, "status": status, "progress": progress}
            if url:
                view["output"] = {"url": url, "duration": TRIMMED_MS / 1000, "size": cfg.output_bytes}
            if error:
                view["error"] = error
            return view
        data: dict[str, Any] = {
            "id": r.rid,
            "status": status,
            "progress": progress,
            "createdAt": int(r.created * 1000),
        }
        if url:
            data |= {"outputUrl": url, "completedAt": int(time.time() * 1000)}
        if error:
            data["error"] = error
        return {"success": True, "data": data}

    async def _cancel(self, request: Request) -> Response:
        auth = self._admit("cancel", request)
        if isinstance(auth, Response):
            return auth
        render = self.renders.get(request.path_params["rid"])
        if render is None:
            return JSONResponse({"success": False, "error": "render not found"}, status_code=404)
        render.cancelled = True
        return JSONResponse(self._render_view(render, str(request.base_url).rstrip("/")))

    async def _file(self, request: Request) -> Response:
        if failed := self._enter("files", request):
            return failed
        rid = request.path_params["name"].removesuffix(".mp4")
        if rid not in self.renders:
            return Response(status_code=404)
        body = MP4_HEAD + bytes(max(0, self.config.output_bytes - len(MP4_HEAD)))
        return Response(body, media_type="video/mp4")

    async def _admin_config(self, request: Request) -> Response:
        if request.method == "POST":
            body = await _json(request)
            fail = body.pop("fail", None) or {}
            try:
                self.configure(**body)
                for endpoint, code in fail.items():
                    self.fail(endpoint, int(code))
            except (TypeError, ValueError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(asdict(self.config))

    async def _admin_stats(self, request: Request) -> Response:
        s = self.stats
        return JSONResponse(
            {
                "calls": s.calls,
                "render_starts": s.render_starts,
                "upload_bytes": s.upload_bytes,
                "instructions": s.instructions,
                "requests": len(s.headers),
            }
        )


# -- helpers ----------------------------------------------------------------------------------


def _ok(data: Any) -> JSONResponse:
    return JSONResponse({"code": 0, "message": "success", "data": data})


def _err(code: int, message: str, *, status: int = 200) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "data": None}, status_code=status)


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


async def _discard(request: Request) -> None:
    async for _ in request.stream():
        pass


def _has(words: str, keyword: str) -> bool:
    return re.search(rf"\b{keyword}\b", words) is not None


def _number(words: str, key: str, default: float) -> float:
    match = re.search(rf"\b{key}:(\d+(?:\.\d+)?)", words)
    return float(match.group(1)) if match else default


def _text_frames(n: int) -> Iterator[bytes]:
    """N partial ADK text frames stamped with ``time.monotonic()`` when made, then a final frame."""
    invocation = f"e-{uuid.uuid4()}"
    for i in range(1, n + 1):
        event = {
            "content": {
                "parts": [{"text": f"frame {i}/{n} sent_at={time.monotonic():.6f}"}],
                "role": "model",
            },
            "partial": True,
            "invocationId": invocation,
            "author": "nemo_agent",
            "id": f"f{i}",
            "timestamp": time.time(),
        }
        yield b"data: " + json.dumps(event, separators=(",", ":")).encode() + b"\n\n"
    final = {
        "content": {"parts": [{"text": f"Streamed {n} frames."}], "role": "model"},
        "partial": False,
        "finishReason": "STOP",
        "invocationId": invocation,
        "author": "nemo_agent",
        "id": "final",
        "timestamp": time.time(),
    }
    yield b"data: " + json.dumps(final, separators=(",", ":")).encode() + b"\n\n"


async def _hang() -> AsyncIterator[bytes]:
    await asyncio.Event().wait()  # until the client disconnects and the response is cancelled
    yield b""  # pragma: no cover


# -- running it -------------------------------------------------------------------------------


def server_env(api_base: str, tmp: Path) -> dict[str, str]:
    """Environment for a ``nemo-mcp`` process that uses this fake and keeps all its state under ``tmp``.

    Uploads are allowed from ``tmp/media`` (created here), exports anywhere under ``tmp``. Only PATH, PYTHONPATH and HOME are inherited,
    so a developer's own NEMO_TOKEN never leaks into a test.
    """
    media = tmp / "media"
    media.mkdir(parents=True, exist_ok=True)
    env = {k: os.environ[k] for k in ("PATH", "HOME", "SYSTEMROOT", "PYTHONPATH") if k in os.environ}
    return env | {
        "NEMO_API_BASE": api_base,
        "NEMO_MCP_HOME": str(tmp / "home"),
        "NEMO_UPLOAD_ROOTS": str(media),
        "NEMO_DOWNLOAD_ROOTS": str(tmp),  # exports land in folders the tests make under tmp
        "PYTHONUNBUFFERED": "1",
    }


class _QuietServer(uvicorn.Server):
    """uvicorn without its signal handlers: inside a test the test runner owns the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _config(app: Any, *, lifespan: Literal["auto", "on", "off"] = "off") -> uvicorn.Config:
    return uvicorn.Config(
        app, log_config=None, access_log=False, lifespan=lifespan, timeout_graceful_shutdown=1, ws="none"
    )


def bind_loopback(port: int = 0) -> socket.socket:
    """A TCP socket bound to 127.0.0.1 (a free port when ``port`` is 0), not yet listening."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


@contextlib.asynccontextmanager
async def serve_asgi(
    app: Any, sock: socket.socket | None = None, *, lifespan: Literal["auto", "on", "off"] = "off"
) -> AsyncIterator[str]:
    """Serve any ASGI app with uvicorn on ``sock`` (default: a free loopback port) in this event loop."""
    sock = sock or bind_loopback()
    server = _QuietServer(_config(app, lifespan=lifespan))
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(server.serve, [sock])
            try:
                with anyio.fail_after(10):
                    while not server.started:
                        await anyio.sleep(0.01)
                yield f"http://127.0.0.1:{sock.getsockname()[1]}"
            finally:
                # Idle keep-alive connections close at once; a stream still running gets 1 s.
                server.should_exit = True
    finally:
        sock.close()


@contextlib.asynccontextmanager
async def serve(fake: FakeBackend | None = None) -> AsyncIterator[str]:
    """Run ``fake`` on 127.0.0.1 (a free port) in the current event loop; yield its base URL."""
    async with serve_asgi((fake or FakeBackend()).app) as url:
        yield url


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.fake_backend", description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    for f in fields(FakeConfig):
        p.add_argument(
            f"--{f.name.replace('_', '-')}", dest=f.name, default=None, help=f"(NEMO_FAKE_{f.name.upper()})"
        )
    args = p.parse_args(argv)
    fake = FakeBackend.from_env()
    fake.configure(**{f.name: v for f in fields(FakeConfig) if (v := getattr(args, f.name)) is not None})
    sock = bind_loopback(args.port)
    print(f"http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    uvicorn.Server(_config(fake.app)).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
