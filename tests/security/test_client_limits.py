"""A faulty or hostile backend cannot make the client hold unbounded memory or wait forever.

Each test runs a real loopback server (``hostile_backend``) and the real client over a real
socket, and checks the error kind, how soon it came, and (with tracemalloc) the memory held.
"""

from __future__ import annotations

import contextlib
import time
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from nemo_mcp.api.adk import MAX_REPLY_CHARS, ReplyBuilder
from nemo_mcp.api.client import NemoClient, StreamLimits
from nemo_mcp.api.downloads import download_to_file
from nemo_mcp.api.envelopes import MAX_BODY_BYTES
from nemo_mcp.config import SKILLS
from nemo_mcp.errors import DownloadRefused, ReplyTooLarge, ResponseTooLarge, TransportError

from .hostile_backend import base_url, hostile_backend

pytestmark = pytest.mark.anyio

TOKEN = SecretStr("nmv_usr_limits_test_token")
MB = 1024 * 1024


@contextlib.asynccontextmanager
async def client_for(url: str, *, timeout: float = 10.0, total: float = 30.0) -> AsyncIterator[NemoClient]:
    client = NemoClient(
        base_url=url,
        profile=SKILLS["best-video-learn"],
        client_id="limits-test",
        timeout=timeout,
        stream_limits=StreamLimits(idle_timeout=total, total_timeout=total),
    )
    async with client:
        yield client


async def read_edit(client: NemoClient, reply: ReplyBuilder) -> None:
    """Stream one edit through the real reader into ``reply``, as service.edits does."""
    async with client.stream_edit(TOKEN, "sess_1", "hello") as events:
        async for event in events:
            reply.feed(event)


async def download_from(server: Any, folder: Path, **options: Any) -> Path:
    """Download the server's /render.mp4 as the local-engine client does (loopback http allowed)."""
    async with httpx.AsyncClient() as http:
        return await download_to_file(
            http,
            base_url(server) + "/render.mp4",
            folder,
            filename="export.mp4",
            auth_header=None,
            api_origin=base_url(server),
            allow_loopback_http=True,
            **options,
        )


@contextlib.contextmanager
def measured() -> AsyncIterator[dict[str, float]]:  # type: ignore[misc]
    """Peak traced memory (MB) and elapsed seconds of the block."""
    figures: dict[str, float] = {}
    tracemalloc.start()
    started = time.monotonic()
    try:
        yield figures
    finally:
        figures["seconds"] = time.monotonic() - started
        figures["peak_mb"] = tracemalloc.get_traced_memory()[1] / MB
        tracemalloc.stop()


@pytest.mark.parametrize("shape", ["huge", "chunked"])
async def test_ten_gigabyte_body_is_refused_with_bounded_memory(shape: str) -> None:
    """A 10 GB JSON body (declared or chunked) ends in ResponseTooLarge, holding well under 200 MB."""
    with hostile_backend(shape) as server, measured() as m:
        async with client_for(base_url(server)) as client:
            with pytest.raises(ResponseTooLarge) as caught:
                await client.get_credits(TOKEN)
    assert caught.value.status == 200
    assert m["peak_mb"] < 200, m
    assert m["seconds"] < 20, m
    # The declared length is refused before reading; the chunked one stops just past the cap.
    assert server.sent < (64 * MB if shape == "huge" else MAX_BODY_BYTES + 64 * MB)


async def test_dripping_backend_gets_an_error_within_the_deadline() -> None:
    """One byte every 2 s never trips a read timeout, but the call's 3 s deadline ends it."""
    with hostile_backend("drip", drip_every=2.0) as server:
        async with client_for(base_url(server), timeout=3.0) as client:
            started = time.monotonic()
            with pytest.raises(TransportError, match="within 3 s"):
                await client.get_credits(TOKEN)  # a GET: transient repeats run inside the same deadline
            elapsed = time.monotonic() - started
    assert 2.9 <= elapsed < 4.5, elapsed


async def test_sse_flood_of_large_text_frames_stops_at_the_reply_cap() -> None:
    """60 KB text frames without end: the reply cap ends the stream, memory stays bounded."""
    with hostile_backend("flood") as server, measured() as m:
        async with client_for(base_url(server)) as client:
            reply = ReplyBuilder()
            with pytest.raises(ReplyTooLarge):
                await read_edit(client, reply)
    assert m["peak_mb"] < 200, m
    assert m["seconds"] < 20, m
    assert reply.max_text_chars == MAX_REPLY_CHARS
    assert server.sent < 64 * MB  # stopped after about 1 MB of text, not read on


async def test_edit_answered_by_a_dripping_body_ends_at_the_deadline() -> None:
    """/run_sse answered by a JSON body that drips (no stream to watch) still ends at the 2 s deadline."""
    with hostile_backend("drip", drip_every=0.5) as server:
        async with client_for(base_url(server), timeout=2.0) as client:
            started = time.monotonic()
            with pytest.raises(TransportError, match="in time"):
                await read_edit(client, ReplyBuilder())
            elapsed = time.monotonic() - started
    assert elapsed < 3.5, elapsed


async def test_download_that_drips_is_stopped_and_leaves_no_file(tmp_path: Path) -> None:
    """A download link that drips is abandoned at its deadline, and no partial file stays behind."""
    with hostile_backend("drip", drip_every=0.5) as server:
        started = time.monotonic()
        with pytest.raises(TransportError, match="did not finish within 2 s"):
            await download_from(server, tmp_path, deadline=2.0)
        elapsed = time.monotonic() - started
    assert elapsed < 3.5, elapsed
    assert list(tmp_path.iterdir()) == []


async def test_download_that_is_not_an_mp4_is_not_kept(tmp_path: Path) -> None:
    """A link serving an HTML page instead of the render is refused and nothing is saved."""
    with hostile_backend("html") as server, pytest.raises(DownloadRefused, match="not an MP4"):
        await download_from(server, tmp_path)
    assert list(tmp_path.iterdir()) == []
