"""What the engine refuses to make or render: over-long timelines, drafts it cannot vouch for, runaway exports."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from nemo_mcp.draft.model import VIDEO
from nemo_mcp.engine.limits import MAX_TIMELINE_MS, render_time_limit_s
from nemo_mcp.engine.media import probe
from nemo_mcp.engine.render import RenderError, SourceMedia, render_draft
from tests.engine.test_app import Api, engine

pytestmark = pytest.mark.anyio


async def _session_with_video(api: Api, video: Path) -> str:
    sid = await api.new_session()
    await api.upload(sid, video)
    return sid


async def test_a_1000_hour_title_card_is_refused_when_asked(tmp_path: Path, gap_video: Path) -> None:
    """The edit is refused with the cap in its message and the timeline is left as it was."""
    async with engine(tmp_path / "home", heartbeat_s=0.05) as api:
        sid = await _session_with_video(api, gap_video)
        before = (await api.state(sid))["draft"]
        stream = await api.edit(sid, 'add a title card "Week 1" for 1000 hours')
        (response,) = stream.responses()
        assert response["response"]["ok"] is False
        assert "4 h" in response["response"]["error"]
        after = (await api.state(sid))["draft"]
        assert after["d"] == before["d"] < MAX_TIMELINE_MS


async def test_a_short_title_card_still_works(tmp_path: Path, gap_video: Path) -> None:
    """The cap leaves ordinary edits alone: a 3-second card lengthens the timeline by 3 s."""
    async with engine(tmp_path / "home", heartbeat_s=0.05) as api:
        sid = await _session_with_video(api, gap_video)
        before = (await api.state(sid))["draft"]["d"]
        stream = await api.edit(sid, 'add a title card "Week 1" for 3 seconds')
        assert stream.responses()[0]["response"]["ok"] is True
        assert (await api.state(sid))["draft"]["d"] == before + 3000


async def _post_render(api: Api, sid: str, rid: str, draft: dict[str, Any]) -> dict[str, Any]:
    body = {"id": rid, "sessionId": sid, "draft": draft, "output": {"format": "mp4", "quality": "draft"}}
    r = await api.http.post("/api/render/proxy/lambda", json=body, headers=api.auth)
    data: dict[str, Any] = r.json()
    return {"status": r.status_code, **data}


def _segments(draft: dict[str, Any]) -> list[dict[str, Any]]:
    return [seg for track in draft["t"] for seg in track.get("sg", [])]


async def test_a_posted_draft_with_a_bogus_media_id_is_refused(tmp_path: Path, gap_video: Path) -> None:
    """A client's draft naming media the session lacks is refused before any export exists."""
    async with engine(tmp_path / "home", heartbeat_s=0.05) as api:
        sid = await _session_with_video(api, gap_video)
        draft = copy.deepcopy((await api.state(sid))["draft"])
        _segments(draft)[0]["m"]["src"] = "m_bogus"
        answer = await _post_render(api, sid, "r-bogus", draft)
        assert answer["status"] == 400 and answer["success"] is False
        assert "m_bogus" in str(answer)
        status = await api.http.get("/api/render/proxy/lambda/r-bogus", headers=api.auth)
        assert status.status_code == 404  # no job was created


async def test_a_posted_draft_over_the_cap_is_refused(tmp_path: Path, gap_video: Path) -> None:
    """A hand-made draft lasting 1000 hours is refused with the cap named, without starting ffmpeg."""
    async with engine(tmp_path / "home", heartbeat_s=0.05) as api:
        sid = await _session_with_video(api, gap_video)
        draft = copy.deepcopy((await api.state(sid))["draft"])
        main = next(t for t in draft["t"] if t.get("tt") == VIDEO)
        main["sg"].append({"id": "c1", "d": 1000 * 3_600_000, "m": {"card": {"text": "Week 1"}}})
        answer = await _post_render(api, sid, "r-long", draft)
        assert answer["status"] == 400
        assert "4 h" in str(answer)


async def test_the_engine_s_own_draft_posted_back_is_rendered(tmp_path: Path, gap_video: Path) -> None:
    """The draft the engine made, as the client posts it, passes the checks and exports."""
    async with engine(tmp_path / "home", heartbeat_s=0.05) as api:
        sid = await _session_with_video(api, gap_video)
        draft = (await api.state(sid))["draft"]
        answer = await _post_render(api, sid, "r-own", draft)
        assert answer["status"] == 200 and answer["data"]["status"] == "pending"
        done = await api.poll("r-own", until=("completed", "failed"))
        assert done["status"] == "completed", done


def test_render_time_limit_grows_with_the_timeline() -> None:
    """Every export gets at least the floor, and longer timelines get proportionally more."""
    assert render_time_limit_s(0) == render_time_limit_s(-5) > 0
    assert render_time_limit_s(3600) - render_time_limit_s(0) == 6 * 3600


async def test_a_render_over_its_time_limit_is_stopped_and_leaves_nothing(
    tmp_path: Path, gap_video: Path
) -> None:
    """ffmpeg is stopped at the limit, the error names it, and neither the output nor a .part remains."""
    info = await probe(gap_video)
    draft = {"t": [{"tt": VIDEO, "m": {"role": "main"}, "sg": [{"d": 6000, "m": {"src": "m1", "in": 0}}]}]}
    out = tmp_path / "out" / "x.mp4"
    with pytest.raises(RenderError, match="time limit"):
        await render_draft(
            draft,
            {"m1": SourceMedia(gap_video, info)},
            out,
            quality="high",
            work_dir=tmp_path / "work",
            time_limit_s=0.05,
        )
    assert not out.exists()
    assert not list(out.parent.glob("*.part"))
