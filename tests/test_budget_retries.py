"""The wait budget in-process: calls return in time, and asking again attaches instead of redoing.

The server runs in this process with respx standing in for the NemoVideo API (see test_server).
Renders are polled on a fake clock, so an export's budget passes at once; an edit's budget is
real time (the stream is held on an event the test releases).
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import respx

from nemo_mcp.service import edits
from nemo_mcp.service.store import RenderRecord, Store

from .helpers import API, SID
from .test_server import DRAFT_5S, DRAFT_10S, STATE, connected, state

pytestmark = pytest.mark.anyio

RENDER = "/api/render/proxy/lambda"
SSE = {"content-type": "text/event-stream"}
PARTIAL = b'data: {"content":{"parts":[{"text":"Cutting"}],"role":"model"},"partial":true}\n\n'
FINAL = b'data: {"content":{"parts":[{"text":"Cut the first 5 seconds."}],"role":"model"}}\n\n'


def render_answer(render_id: str, status: str = "processing", progress: float = 30) -> httpx.Response:
    data: dict[str, Any] = {"id": render_id, "status": status, "progress": progress}
    if status == "completed":
        data["outputUrl"] = f"https://cdn.test/{render_id}.mp4"
    return httpx.Response(200, json={"success": True, "data": data})


def mock_renders(router: respx.Router, done: set[str]) -> respx.Route:
    """Starting echoes the client's id; a poll says processing until the id is in ``done``."""

    def start(request: httpx.Request) -> httpx.Response:
        return render_answer(json.loads(request.content)["id"], "pending", 0)

    def poll(request: httpx.Request) -> httpx.Response:
        rid = request.url.path.rsplit("/", 1)[-1]
        return render_answer(rid, "completed", 100) if rid in done else render_answer(rid)

    router.get(url__regex=rf"{RENDER}/[^/]+$").mock(side_effect=poll)
    return router.post(RENDER).mock(side_effect=start)


async def export(client: Any, **args: Any) -> dict[str, Any]:
    result = await client.call_tool("export_video", args)
    assert not result.is_error, result.content
    data: dict[str, Any] = result.structured_content
    return data


async def test_a_repeated_export_of_the_same_timeline_attaches_to_its_render(tmp_path: Path) -> None:
    """Two exports of one timeline share one render; a changed timeline or quality starts a new one."""
    done: set[str] = set()
    drafts = [DRAFT_10S]
    async with respx.mock(base_url=API, assert_all_called=False) as router:
        router.get(STATE).mock(side_effect=lambda _: state(drafts[0]))
        start = mock_renders(router, done)
        async with connected(tmp_path, router, wait_budget=6) as client:
            first = await export(client)
            again = await export(client)
            assert not first["finished"] and not again["finished"]
            assert again["render_id"] == first["render_id"] and start.call_count == 1
            done.add(first["render_id"])
            finished = await export(client)
            assert finished["finished"] and finished["render_id"] == first["render_id"]
            assert start.call_count == 1
            draft_quality = await export(client, quality="draft")
            drafts[0] = DRAFT_5S
            changed = await export(client)
    assert len({first["render_id"], draft_quality["render_id"], changed["render_id"]}) == 3
    assert start.call_count == 3


async def test_an_export_is_found_again_after_a_server_restart(tmp_path: Path) -> None:
    """A restarted server attaches an export without render_id to the render its store kept."""
    done: set[str] = set()
    async with respx.mock(base_url=API, assert_all_called=False) as router:
        router.get(STATE).mock(return_value=state(DRAFT_10S))
        start = mock_renders(router, done)
        async with connected(tmp_path, router, wait_budget=6) as client:
            first = await export(client)
        assert not first["finished"] and first["render_id"] in first["message"]
        done.add(first["render_id"])
        async with connected(tmp_path, router, wait_budget=6) as client:
            again = await export(client)
    assert again["finished"] and again["render_id"] == first["render_id"] and again["status"] == "completed"
    assert start.call_count == 1


async def test_the_wait_seconds_asked_for_is_capped_by_the_budget(tmp_path: Path) -> None:
    """export_video(wait_seconds=900) still returns once the server's budget is spent."""
    async with respx.mock(base_url=API, assert_all_called=False) as router:
        router.get(STATE).mock(return_value=state(DRAFT_10S))
        mock_renders(router, set())
        async with connected(tmp_path, router, wait_budget=6) as client:
            with anyio.fail_after(20):
                out = await export(client, wait_seconds=900)
    assert not out["finished"] and out["status"] == "processing"


def held_stream(gate: anyio.Event) -> httpx.Response:
    """An edit stream that sends one fragment, then its final reply once ``gate`` is set."""

    class Held(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield PARTIAL
            await gate.wait()
            yield FINAL

    return httpx.Response(200, headers=SSE, stream=Held())


async def test_a_repeated_edit_attaches_to_the_one_still_running(tmp_path: Path) -> None:
    """The same instruction sent again while it runs waits for the first; the backend sees it once."""
    gate = anyio.Event()
    async with respx.mock(base_url=API, assert_all_called=False) as router:
        router.get(STATE).mock(side_effect=lambda _: state(DRAFT_5S if gate.is_set() else DRAFT_10S))
        run = router.post("/run_sse").mock(side_effect=lambda _: held_stream(gate))
        async with connected(tmp_path, router, wait_budget=0.5) as client:
            calls = [
                await client.call_tool("send_edit", {"instruction": "cut the first 5 s"}) for _ in range(2)
            ]
            first, second = (c.structured_content for c in calls)
            assert first is not None and second is not None
            assert (first["finished"], second["finished"]) == (False, False)
            assert first["pick_up"] == second["pick_up"] and run.call_count == 1
            gate.set()
            picked = (
                await client.call_tool(
                    "send_edit", {"instruction": "cut the first 5 s", "pick_up": first["pick_up"]}
                )
            ).structured_content
            # Collected: the same words now are a new edit (the user may want it twice).
            fresh = (
                await client.call_tool("send_edit", {"instruction": "cut the first 5 s"})
            ).structured_content
    assert picked is not None and picked["finished"] and picked["changes"] and picked["pick_up"] is None
    assert picked["reply"].startswith("Cut the first 5 seconds")
    assert fresh is not None and fresh["finished"] and run.call_count == 2


async def test_an_unknown_pick_up_id_is_an_error_that_names_get_timeline(tmp_path: Path) -> None:
    """A pick-up id this server never issued (or forgot in a restart) says how to check the result."""
    async with respx.mock(base_url=API, assert_all_called=False) as router:
        router.get(STATE).mock(return_value=state(DRAFT_10S))
        async with connected(tmp_path, router) as client:
            result = await client.call_tool("send_edit", {"instruction": "x", "pick_up": "edit_000000000000"})
    assert result.is_error and "get_timeline" in result.content[0].text  # type: ignore[union-attr]


@pytest.mark.slow
async def test_progress_never_pauses_for_more_than_5_s_while_an_edit_runs(tmp_path: Path) -> None:
    """With the default heartbeat, a silent 11 s edit call still reports progress every 5 s or sooner."""
    gate = anyio.Event()
    stamps: list[float] = []

    async def on_progress(_p: float, _t: float | None, _m: str | None) -> None:
        stamps.append(time.monotonic())

    async with respx.mock(base_url=API, assert_all_called=False) as router:
        router.get(STATE).mock(return_value=state(DRAFT_10S))
        router.post("/run_sse").mock(side_effect=lambda _: held_stream(gate))
        cfg: dict[str, Any] = {"wait_budget": 11.0, "heartbeat_interval": 4.0}
        async with connected(tmp_path, router, **cfg) as client:
            began = time.monotonic()
            result = await client.call_tool(
                "send_edit", {"instruction": "slow"}, progress_callback=on_progress
            )
            ended = time.monotonic()
            gate.set()
    assert result.structured_content is not None and not result.structured_content["finished"]
    points = [began, *stamps, ended]
    assert max(b - a for a, b in itertools.pairwise(points)) <= 5.0
    assert 10.5 < ended - began < 20


def test_a_store_from_before_render_hashes_opens_and_keeps_them(tmp_path: Path) -> None:
    """An older state file gains the draft_hash column; renders saved then are found by it."""
    path = tmp_path / "state.sqlite3"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE renders (render_id TEXT NOT NULL, backend TEXT NOT NULL, session_id TEXT NOT NULL, "
        "status TEXT NOT NULL, progress REAL NOT NULL DEFAULT 0, output_url TEXT, local_file TEXT, error TEXT, "
        "created REAL NOT NULL, updated REAL NOT NULL, PRIMARY KEY (backend, render_id))"
    )
    db.commit()
    db.close()
    store = Store(path)
    store.save_render(RenderRecord("r1", "local", "s1", "processing", draft_hash="abc"))
    store.save_render(RenderRecord("r2", "local", "s1", "failed", draft_hash="def"))
    found = store.render_of("local", "s1", "abc")
    assert found is not None and found.render_id == "r1"
    assert store.render_of("local", "s1", "def") is None  # a failed render is not reused
    store.close()


class _Jobs:
    """Just what ``edits.submit`` needs of a session manager: its edit table and a spawner."""

    def __init__(self) -> None:
        self.edit_jobs: dict[str, edits.EditJob] = {}
        self.spawned: list[object] = []

    def current_project_id(self) -> str:
        return SID

    def spawn(self, fn: object) -> None:
        self.spawned.append(fn)


async def test_a_repeated_edit_never_attaches_to_one_the_user_stopped() -> None:
    """After a stop, the same words are new work: they start a fresh edit instead of the stopped one."""
    mgr = _Jobs()
    first, attached = edits.submit(mgr, "cut the first 5 s", SID)
    assert not attached
    again, attached = edits.submit(mgr, "cut the first 5 s", SID)
    assert again is first and attached
    first.cancel()
    fresh, attached = edits.submit(mgr, "cut the first 5 s", SID)
    assert fresh is not first and not attached and len(mgr.spawned) == 2
