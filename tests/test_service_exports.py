"""Exports and projects in the service layer: render records, errors of their own, adopting sessions."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import respx

from nemo_mcp import errors
from nemo_mcp.api.models import RenderStatus
from nemo_mcp.service import SessionManager, download_folder, exports

from .helpers import API, SID, FakeSleep, make_settings, ok, token_response

pytestmark = pytest.mark.anyio

STATE = f"/api/state/nemo_agent/me/{SID}/latest"


def manager(home: Path) -> SessionManager:
    fake = FakeSleep()
    return SessionManager(make_settings(home), sleep=fake, clock=fake.clock)


async def test_export_of_an_empty_timeline_is_refused_before_any_render(tmp_path: Path) -> None:
    """An empty draft raises EmptyTimeline (not an API error), and no render is started or recorded."""
    async with respx.mock(base_url=API, assert_all_called=False) as router:
        router.post("/api/auth/anonymous-token").mock(return_value=token_response())
        router.get(STATE).mock(return_value=ok({"state": {"draft": None}}))
        render = router.post("/api/render/proxy/lambda")
        mgr = manager(tmp_path)
        with pytest.raises(errors.EmptyTimeline) as info:
            await exports.start(mgr, SID, fmt="mp4", quality="high")
        recorded = mgr.store.list_renders(mgr.backend, SID)
        await mgr.aclose()
    assert not isinstance(info.value, errors.APIError)
    assert "nothing to export yet" in str(info.value) and "upload_media" in str(info.value)
    assert render.call_count == 0 and recorded == []


def test_resume_builds_a_record_for_a_render_this_store_never_saw(tmp_path: Path) -> None:
    """An unknown render id resumes as a pending render of the named project."""
    mgr = manager(tmp_path)
    record = exports.resume(mgr, "render_9", "proj_1")
    assert (record.render_id, record.session_id, record.status) == ("render_9", "proj_1", "pending")
    assert exports.render_ids(mgr, "proj_1") == []
    mgr.store.close()


def test_a_finished_render_that_did_not_complete_is_a_render_failure() -> None:
    """A failed status becomes RenderFailed carrying the backend's reason and the next step."""
    exports.raise_unless_completed(RenderStatus(id="r", status="completed"))
    with pytest.raises(errors.RenderFailed, match=r"The render failed: bad draft\. Check the timeline"):
        exports.raise_unless_completed(RenderStatus(id="r", status="failed", error="bad draft"))


def test_poll_delay_follows_the_schedule_then_aims_at_the_predicted_finish() -> None:
    """Without progress the schedule applies; with a steady rate the next poll lands near 90 %."""
    assert [exports.next_poll_delay(n, []) for n in (0, 1, 9)] == [2.0, 3.0, 30.0]
    assert exports.next_poll_delay(1, [(0.0, 10.0), (10.0, 80.0)]) == pytest.approx(10 / 7 + 0.5)


@pytest.mark.parametrize("kind", ["missing", "file", "nul"])
def test_a_bad_download_folder_has_its_own_refusal(tmp_path: Path, kind: str) -> None:
    """A missing folder, a file or a NUL in the path raises DownloadFolderRefused naming the fix."""
    target = tmp_path / "nowhere"
    if kind == "file":
        target.write_bytes(b"")
    given = "a\x00b" if kind == "nul" else str(target)
    with pytest.raises(errors.DownloadFolderRefused) as info:
        download_folder(given, None, [tmp_path])
    assert isinstance(info.value, errors.DownloadRefused) and not isinstance(info.value, errors.UploadRefused)
    fix = "plain folder path" if kind == "nul" else "Create it first, or pass an existing folder"
    assert fix in str(info.value)


def test_a_relative_download_folder_is_taken_from_the_configured_base(tmp_path: Path) -> None:
    """A relative folder is resolved under the configured download folder."""
    (tmp_path / "exports").mkdir()
    assert download_folder("exports", tmp_path, [tmp_path]) == tmp_path / "exports"


@pytest.mark.parametrize("where", ["elsewhere", "symlink"])
def test_a_download_folder_outside_the_allowed_ones_is_refused(tmp_path: Path, where: str) -> None:
    """A folder outside the allowed ones (also through a symlink inside them) is refused, naming the setting."""
    allowed, outside = tmp_path / "exports", tmp_path / "autostart"
    allowed.mkdir()
    outside.mkdir()
    given = outside
    if where == "symlink":
        given = allowed / "link"
        given.symlink_to(outside)
    with pytest.raises(errors.DownloadFolderRefused, match="NEMO_DOWNLOAD_ROOTS"):
        download_folder(str(given), None, [allowed])
    assert download_folder(str(allowed), None, [allowed]) == allowed


async def test_a_session_named_by_the_caller_is_adopted_only_once_the_backend_accepts_it(
    tmp_path: Path,
) -> None:
    """A session made elsewhere enters the store after a successful call, not after a refused one."""
    async with respx.mock(base_url=API) as router:
        router.post("/api/auth/anonymous-token").mock(return_value=token_response())
        router.get(STATE).mock(return_value=ok({"state": {"draft": {"t": []}}}))
        router.get("/api/state/nemo_agent/me/bad/latest").mock(return_value=httpx.Response(422, json={}))
        mgr = manager(tmp_path)
        sid, _ = await mgr.state(SID)
        with pytest.raises(errors.InvalidRequest):
            await mgr.state("bad")
        known = [p.session_id for p in mgr.list_projects()]
        await mgr.aclose()
    assert sid == SID and known == [SID]
