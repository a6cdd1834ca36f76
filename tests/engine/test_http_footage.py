"""The engine's footage route: whose sessions it reads, how it names a missing file, what it answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.engine.helpers import ZH_HEADINGS, bare, ffmpeg, zh_slides_video
from tests.engine.test_app import Api, engine

pytestmark = pytest.mark.anyio

ROUTE = "/api/footage/nemo_agent/me/{sid}"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with engine(tmp_path / "home") as client:
        yield client


@pytest.fixture
def still(tmp_path: Path) -> Path:
    out = tmp_path / "slide.png"
    ffmpeg("-f", "lavfi", "-i", "color=c=navy:s=320x180", "-frames:v", "1", str(out))
    return out


async def test_a_timeline_without_sound_reads_as_nothing_said(api: Api, still: Path) -> None:
    """A picture alone: finished at once, no reading (nothing to hear or scan), the draft to lay it out by."""
    sid = await api.new_session()
    await api.upload(sid, still)
    body = (await api.http.get(ROUTE.format(sid=sid), headers=api.auth)).json()
    assert body["code"] == 0
    data = body["data"]
    assert data["finished"] is True and data["media"] == []
    assert data["draft"]["t"]  # the picture's piece, which the caller maps readings through


async def test_an_unknown_file_is_refused_with_the_files_there_are(api: Api, still: Path) -> None:
    """Naming a file the project does not hold: a 400 listing its files, so the fix is plain."""
    sid = await api.new_session()
    await api.upload(sid, still)
    r = await api.http.get(ROUTE.format(sid=sid), params={"media": "nope.mp4"}, headers=api.auth)
    assert r.status_code == 400
    assert "slide.png" in r.json()["message"]
    r = await api.http.get(ROUTE.format(sid=sid), params={"wait": "soon"}, headers=api.auth)
    assert r.status_code == 400 and "wait" in r.json()["message"]


async def test_another_installations_session_is_not_read(api: Api) -> None:
    """A token of another client id gets 1002 for this session, as every session route answers."""
    sid = await api.new_session()
    r = await api.http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "someone-else"})
    other = {"Authorization": f"Bearer {r.json()['data']['token']}"}
    body = (await api.http.get(ROUTE.format(sid=sid), headers=other)).json()
    assert body["code"] == 1002


async def test_reading_slides_past_the_wait_is_picked_up_with_progress(api: Api, tmp_path: Path) -> None:
    """Reading on-screen text outlasts a zero wait: the call answers unfinished, later calls pick it up."""
    pytest.importorskip("rapidocr")
    sid = await api.new_session()
    await api.upload(sid, zh_slides_video(tmp_path / "zh.mp4", 2))
    first = (await api.http.get(ROUTE.format(sid=sid), params={"wait": "0"}, headers=api.auth)).json()["data"]
    assert first["finished"] is False and first["media"] == []
    seen: list[str] = []
    for _ in range(30):  # each call waits at most 20 s
        data = (await api.http.get(ROUTE.format(sid=sid), params={"wait": "20"}, headers=api.auth)).json()[
            "data"
        ]
        if data["finished"]:
            break
        seen.append(data["progress"])
    assert data["finished"] is True, seen
    (reading,) = data["media"]
    assert [bare(heading) for _, heading, _ in reading["scenes"]] == ZH_HEADINGS
