"""The benchmarks' loopback backend: the team's fake NemoVideo backend plus two stream shapes.

``tests/fake_backend.py`` is reused as is (tokens, sessions, state, renders); this subclass
only adds ``/run_sse`` instructions that the benchmarks need:

``bench frames=N gap=MS run=ID``
    N partial ADK text frames ``frame i/N``, MS milliseconds apart, then a final frame.
    Each frame's send time (``time.monotonic()``, taken after the pause, just before the
    frame is handed to the server) is kept under ``ID`` and returned by
    ``GET /_bench/stamps/ID``, so latency can be computed for every frame even when a
    relay merges several frames into one message.
``soak seconds=T ping=P text_from=F text_gap=G``
    a T-second stream: ``: ping`` heartbeat comments every P s until F s, then partial
    text frames every G s until T s, then a final frame.

Renders (with the fake's ``render_seconds`` knob) report progress linearly from 0 to 100.

Run it as ``python bench/_backend.py`` (prints its URL, serves until terminated).
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fake_backend import FakeBackend

_ARG = re.compile(r"(\w+)=([\w.]+)")


def sse(event: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(event, separators=(",", ":")).encode() + b"\n\n"


def text_frame(text: str, invocation: str, n: int, *, partial: bool = True) -> bytes:
    return sse(
        {
            "content": {"parts": [{"text": text}], "role": "model"},
            "partial": partial,
            "invocationId": invocation,
            "author": "nemo_agent",
            "id": f"f{n}",
            "timestamp": time.time(),
        }
    )


class BenchBackend(FakeBackend):
    def __init__(self) -> None:
        super().__init__()
        self.stamps: dict[str, list[float]] = {}
        self.app.router.routes.append(Route("/_bench/stamps/{run}", self._get_stamps, methods=["GET"]))

    async def _get_stamps(self, request: Request) -> Response:
        return JSONResponse(self.stamps.pop(request.path_params["run"], []))

    async def _run_sse(self, request: Request) -> Response:
        body = await request.json()  # cached by Starlette, so the fake can read it again
        text = str((((body.get("new_message") or {}).get("parts")) or [{}])[0].get("text") or "")
        kind, _, rest = text.partition(" ")
        if kind not in ("bench", "soak"):
            return await super()._run_sse(request)
        if failed := self._enter("run_sse", request):
            return failed
        auth = self._auth(request)
        if isinstance(auth, Response):
            return auth
        args = dict(_ARG.findall(rest))
        stream = self._frames(args) if kind == "bench" else self._soak(args)
        return StreamingResponse(
            stream, media_type="text/event-stream", headers={"cache-control": "no-cache"}
        )

    def _render_view(self, r: Any, base: str) -> dict[str, Any]:
        """As the fake's, but progress runs linearly from 0 to 100 over ``render_seconds``."""
        view = super()._render_view(r, base)
        data = view.get("data", view)
        seconds = self.config.render_seconds
        if seconds > 0 and data.get("status") == "processing" and not self.config.render_hold:
            data["progress"] = round(100 * min(0.9999, (time.monotonic() - r.started) / seconds), 2)
        return view

    async def _frames(self, args: dict[str, str]) -> AsyncIterator[bytes]:
        n, gap = int(args["frames"]), float(args.get("gap", "0")) / 1000
        stamps = self.stamps.setdefault(args.get("run", "-"), [])
        invocation = f"e-{uuid.uuid4()}"
        for i in range(1, n + 1):
            if gap and i > 1:
                await asyncio.sleep(gap)
            stamps.append(time.monotonic())
            yield text_frame(f"frame {i}/{n} ", invocation, i)
        yield text_frame(f"Streamed {n} frames.", invocation, n + 1, partial=False)

    async def _soak(self, args: dict[str, str]) -> AsyncIterator[bytes]:
        seconds, ping = float(args["seconds"]), float(args["ping"])
        text_from, text_gap = float(args["text_from"]), float(args["text_gap"])
        invocation = f"e-{uuid.uuid4()}"
        start = time.monotonic()
        while time.monotonic() - start + ping <= text_from:
            await asyncio.sleep(ping)
            yield b": ping\n\n"
        i = 0
        while time.monotonic() - start < seconds:
            i += 1
            yield text_frame(f"word{i} ", invocation, i)
            await asyncio.sleep(text_gap)
        yield text_frame(f"Soaked for {seconds:g} s.", invocation, i + 1, partial=False)


def main() -> None:
    fake = BenchBackend()
    fake.configure(render_polls=1)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    print(f"http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(
        fake.app, log_config=None, access_log=False, lifespan="off", ws="none", timeout_graceful_shutdown=1
    )
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
