"""Test helpers: respx-friendly settings, envelopes, and a loopback sink server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from nemo_mcp.config import Settings

# The captured ADK exchanges, vendored from the contract so a plain clone runs every test.
ADK_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "adk"

API = "https://api.test"
TOKEN = "nmv_usr_SECRET0123456789abcdef"
TOKEN2 = "nmv_usr_FRESH9876543210fedcba"
SID = "5529798706024415232"
TOOLS = frozenset(
    {
        "upload_media",
        "send_edit",
        "get_timeline",
        "read_footage",
        "preview",
        "check_credits",
        "export_video",
        "new_project",
        "list_projects",
    }
)


def make_settings(home: Path, **overrides: Any) -> Settings:
    return Settings(home=home, api_base=overrides.pop("api_base", API), **overrides)


def ok(data: Any, *, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json={"code": 0, "message": "success", "data": data})


def app_error(code: int, message: str = "nope", *, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "message": message, "data": None})


def token_response(token: str = TOKEN, user: str = "anon_1") -> httpx.Response:
    return ok({"token": token, "user_id": user, "expires_at": "2099-03-18T00:00:00Z", "credits": 100})


def session_response(sid: str = SID) -> httpx.Response:
    return ok({"task_id": "task_1", "session_id": sid, "user_id": "anon_1"})


class FakeSleep:
    """An injected sleep that records the delays and advances a fake clock."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.now = 1_795_000_000.0  # Nov 2026, so real expiry dates compare sensibly

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@dataclass
class SinkStats:
    requests: int = 0
    body_bytes: int = 0
    headers: list[dict[str, str]] = field(default_factory=list)


@asynccontextmanager
async def discard_server(reply: dict[str, Any] | None = None) -> AsyncIterator[tuple[str, SinkStats]]:
    """A loopback HTTP/1.1 server that reads and discards request bodies, then answers JSON.

    It never holds more than one read buffer of a body, so it can take a 500 MB upload.
    """
    stats = SinkStats()
    payload = json.dumps(reply or {"code": 0, "message": "ok", "data": {"files": []}}).encode()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {
                    k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)
                }
                stats.headers.append(headers)
                remaining = int(headers.get("content-length", "0"))
                while remaining:
                    chunk = await reader.read(min(remaining, 1 << 20))
                    if not chunk:
                        return
                    remaining -= len(chunk)
                    stats.body_bytes += len(chunk)
                stats.requests += 1
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    + f"content-length: {len(payload)}\r\n\r\n".encode()
                    + payload
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", stats
    finally:
        server.close()
        await server.wait_closed()


class ProgressRecorder:
    """A progress callback that keeps every (progress, total, message) it is given."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, float | None, str | None]] = []

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self.seen.append((progress, total, message))

    @property
    def messages(self) -> list[str]:
        return [m for _, _, m in self.seen if m]
