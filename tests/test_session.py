"""The session manager: token precedence, persistence and the documented recoveries."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest
import respx
from pydantic import SecretStr

from nemo_mcp import errors
from nemo_mcp.service import Notes, SessionManager

from .helpers import (
    API,
    SID,
    TOKEN,
    TOKEN2,
    FakeSleep,
    app_error,
    make_settings,
    ok,
    session_response,
    token_response,
)

pytestmark = pytest.mark.anyio

STATE = f"/api/state/nemo_agent/me/{SID}/latest"
CREDITS = "/api/credits/balance/simple"


def manager(home: Path, sleep: FakeSleep | None = None, **settings: object) -> SessionManager:
    fake = sleep or FakeSleep()
    return SessionManager(make_settings(home, **settings), sleep=fake, clock=fake.clock)


async def test_env_token_is_used_and_no_anonymous_token_is_requested(tmp_path: Path) -> None:
    """With NEMO_TOKEN set, requests carry it and the anonymous-token endpoint is never called."""
    async with respx.mock(base_url=API, assert_all_called=False) as router:
        anon = router.post("/api/auth/anonymous-token").mock(return_value=token_response())
        route = router.get(CREDITS).mock(return_value=ok({"available": 5}))
        mgr = manager(tmp_path, token=SecretStr("nmv_usr_MINE123456"))
        await mgr.credits()
        await mgr.aclose()
    assert anon.call_count == 0
    assert route.calls.last.request.headers["Authorization"] == "Bearer nmv_usr_MINE123456"


async def test_anonymous_token_and_client_id_persist_across_restarts(tmp_path: Path) -> None:
    """A second manager on the same home reuses the stored token and client id: one token request in all."""
    async with respx.mock(base_url=API) as router:
        anon = router.post("/api/auth/anonymous-token").mock(return_value=token_response())
        router.get(CREDITS).mock(return_value=ok({"available": 5}))
        first = manager(tmp_path)
        await first.credits()
        client_id = first.client.client_id
        await first.aclose()
        second = manager(tmp_path)
        await second.credits()
        assert second.client.client_id == client_id
        await second.aclose()
    assert anon.call_count == 1
    assert anon.calls.last.request.headers["X-Client-Id"] == client_id


async def test_expired_stored_token_is_replaced_before_use(tmp_path: Path) -> None:
    """A stored token past its expiry is not sent; a new one is acquired first."""
    async with respx.mock(base_url=API) as router:
        anon = router.post("/api/auth/anonymous-token").mock(
            side_effect=[
                ok({"token": TOKEN, "user_id": "anon_1", "expires_at": "2001-01-01T00:00:00Z"}),
                token_response(TOKEN2),
            ]
        )
        route = router.get(CREDITS).mock(return_value=ok({"available": 5}))
        mgr = manager(tmp_path)
        await mgr.token()
        await mgr.credits()
        await mgr.aclose()
    assert anon.call_count == 2
    assert route.calls.last.request.headers["Authorization"] == f"Bearer {TOKEN2}"


async def test_1001_acquires_a_new_token_and_retries_exactly_once(tmp_path: Path) -> None:
    """side_effect [token, 1001, token, 200] makes exactly those calls, the retry with the new token."""
    async with respx.mock(base_url=API) as router:
        anon = router.post("/api/auth/anonymous-token").mock(
            side_effect=[token_response(TOKEN), token_response(TOKEN2)]
        )
        route = router.get(CREDITS).mock(side_effect=[app_error(1001, "token expired"), ok({"available": 7})])
        mgr = manager(tmp_path)
        credits = await mgr.credits()
        await mgr.aclose()
    assert credits.available == 7
    assert anon.call_count == 2 and route.call_count == 2
    assert [c.request.headers["Authorization"] for c in route.calls] == [
        f"Bearer {TOKEN}",
        f"Bearer {TOKEN2}",
    ]


async def test_1001_twice_gives_up_after_one_recovery(tmp_path: Path) -> None:
    """A token rejected again after one refresh raises AuthError instead of looping."""
    async with respx.mock(base_url=API) as router:
        anon = router.post("/api/auth/anonymous-token").mock(
            side_effect=[token_response(TOKEN), token_response(TOKEN2)]
        )
        route = router.get(CREDITS).mock(return_value=app_error(1001))
        mgr = manager(tmp_path)
        with pytest.raises(errors.AuthError):
            await mgr.credits()
        await mgr.aclose()
    assert anon.call_count == 2 and route.call_count == 2


async def test_1001_with_env_token_is_reported_not_replaced(tmp_path: Path) -> None:
    """A rejected NEMO_TOKEN raises an error naming NEMO_TOKEN; no anonymous token is requested."""
    async with respx.mock(base_url=API, assert_all_called=False) as router:
        anon = router.post("/api/auth/anonymous-token").mock(return_value=token_response())
        router.get(CREDITS).mock(return_value=app_error(1001))
        mgr = manager(tmp_path, token=SecretStr("nmv_usr_MINE123456"))
        with pytest.raises(errors.AuthError) as info:
            await mgr.credits()
        await mgr.aclose()
    assert anon.call_count == 0
    assert info.value.from_environment and "NEMO_TOKEN" in str(info.value)
    assert "nmv_usr_MINE123456" not in str(info.value)


async def test_1002_creates_a_new_session_retries_and_tells_the_user(tmp_path: Path) -> None:
    """On 1002 the call is retried on a fresh session and a note says the old timeline is gone."""
    new_sid = "7777"
    async with respx.mock(base_url=API) as router:
        router.post("/api/auth/anonymous-token").mock(return_value=token_response())
        create = router.post("/api/tasks/me/with-session/nemo_agent").mock(
            side_effect=[session_response(SID), session_response(new_sid)]
        )
        old = router.get(STATE).mock(return_value=app_error(1002, "session not found"))
        new = router.get(f"/api/state/nemo_agent/me/{new_sid}/latest").mock(
            return_value=ok({"state": {"draft": None}})
        )
        mgr = manager(tmp_path)
        notes = Notes()
        sid, _ = await mgr.state(None, notes=notes)
        projects = mgr.list_projects()
        old_record = mgr.store.get_project(mgr.backend, SID)
        await mgr.aclose()
    assert sid == new_sid and create.call_count == 2 and old.call_count == 1 and new.call_count == 1
    assert any("old timeline is gone" in n for n in notes.items)
    assert [p.session_id for p in projects] == [new_sid]
    assert old_record is not None and old_record.gone


async def test_429_honours_retry_after_then_retries_once(tmp_path: Path) -> None:
    """A 429 with Retry-After: 7 waits 7 s (on the injected clock) and retries once."""
    sleep = FakeSleep()
    async with respx.mock(base_url=API) as router:
        router.post("/api/auth/anonymous-token").mock(return_value=token_response())
        route = router.get(CREDITS).mock(
            side_effect=[httpx.Response(429, headers={"Retry-After": "7"}, json={}), ok({"available": 1})]
        )
        mgr = manager(tmp_path, sleep)
        await mgr.credits()
        await mgr.aclose()
    assert route.call_count == 2 and sleep.delays == [7.0]


async def test_429_without_retry_after_waits_30_seconds_and_a_second_429_surfaces(tmp_path: Path) -> None:
    """Without Retry-After the wait is 30 s; a second 429 is raised, not retried again."""
    sleep = FakeSleep()
    async with respx.mock(base_url=API) as router:
        router.post("/api/auth/anonymous-token").mock(return_value=token_response())
        route = router.get(CREDITS).mock(return_value=httpx.Response(429, json={"message": "slow"}))
        mgr = manager(tmp_path, sleep)
        with pytest.raises(errors.RateLimited):
            await mgr.credits()
        await mgr.aclose()
    assert route.call_count == 2 and sleep.delays == [30.0]


async def test_400_missing_client_id_on_token_request_makes_a_new_id_and_retries(tmp_path: Path) -> None:
    """HTTP 400 for a missing client id: a fresh id is stored and the token request retried with it."""
    async with respx.mock(base_url=API) as router:
        anon = router.post("/api/auth/anonymous-token").mock(
            side_effect=[
                httpx.Response(400, json={"detail": "X-Client-Id header is required"}),
                token_response(),
            ]
        )
        router.get(CREDITS).mock(return_value=ok({"available": 1}))
        mgr = manager(tmp_path)
        first_id = mgr.client.client_id
        await mgr.credits()
        stored_id = mgr.store.client_id()
        await mgr.aclose()
    ids = [c.request.headers["X-Client-Id"] for c in anon.calls]
    assert ids[0] == first_id and ids[1] != first_id
    assert stored_id == ids[1]


async def test_2001_for_anonymous_users_links_registration_with_bind_id(tmp_path: Path) -> None:
    """Out of credits on an anonymous token: the message carries the registration link with ?bind=<user id>."""
    async with respx.mock(base_url=API) as router:
        router.post("/api/auth/anonymous-token").mock(return_value=token_response(user="anon_42"))
        router.get(CREDITS).mock(return_value=app_error(2001, "no credits"))
        mgr = manager(tmp_path)
        with pytest.raises(errors.InsufficientCredits) as info:
            await mgr.credits()
        await mgr.aclose()
    assert "?bind=anon_42" in str(info.value)


async def test_2001_for_registered_users_says_top_up(tmp_path: Path) -> None:
    """Out of credits with the user's own token: the advice is to top up, with no registration link."""
    async with respx.mock(base_url=API) as router:
        router.get(CREDITS).mock(return_value=app_error(2001))
        mgr = manager(tmp_path, token=SecretStr("nmv_usr_MINE123456"))
        with pytest.raises(errors.InsufficientCredits) as info:
            await mgr.credits()
        await mgr.aclose()
    assert "Top up" in str(info.value) and "bind=" not in str(info.value)


async def test_project_is_created_on_first_use_and_reused_after_restart(tmp_path: Path) -> None:
    """The first call creates a project; a restarted manager keeps using it."""
    async with respx.mock(base_url=API) as router:
        router.post("/api/auth/anonymous-token").mock(return_value=token_response())
        create = router.post("/api/tasks/me/with-session/nemo_agent").mock(return_value=session_response())
        router.get(STATE).mock(return_value=ok({"state": {"draft": {"t": []}}}))
        mgr = manager(tmp_path)
        await mgr.state(None)
        await mgr.aclose()
        again = manager(tmp_path)
        sid, _ = await again.state(None)
        await again.aclose()
    assert create.call_count == 1 and sid == SID
    assert json.loads(create.calls.last.request.content) == {"task_name": "project", "language": "en"}


async def test_platform_is_detected_from_the_mcp_client_unless_configured(tmp_path: Path) -> None:
    """A Cursor client sets X-Skill-Platform to cursor; NEMO_SKILL_PLATFORM overrides detection."""
    mgr = manager(tmp_path / "a")
    mgr.note_client("Cursor")
    fixed = manager(tmp_path / "b", skill_platform="clawhub")
    fixed.note_client("cursor-vscode")
    other = manager(tmp_path / "c")
    other.note_client("claude-ai")
    assert (mgr.client.platform, fixed.client.platform, other.client.platform) == (
        "cursor",
        "clawhub",
        "unknown",
    )
    for m in (mgr, fixed, other):
        await m.aclose()


async def test_no_token_appears_in_logs_or_errors_over_a_full_recovery_flow(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """With DEBUG logging on, a 1001 → new token → 1002 → new session → 429 → 2001 flow never shows a token."""
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    async with respx.mock(base_url=API) as router:
        router.post("/api/auth/anonymous-token").mock(
            side_effect=[token_response(TOKEN), token_response(TOKEN2)]
        )
        router.post("/api/tasks/me/with-session/nemo_agent").mock(
            side_effect=[session_response(SID), session_response("8888")]
        )
        router.get(STATE).mock(side_effect=[app_error(1001, f"bad token {TOKEN}"), app_error(1002)])
        router.get("/api/state/nemo_agent/me/8888/latest").mock(
            side_effect=[httpx.Response(429, json={"message": f"Bearer {TOKEN2}"}), ok({"state": {}})]
        )
        router.get(CREDITS).mock(return_value=app_error(2001, f"token={TOKEN2} has no credits"))
        mgr = manager(tmp_path)
        notes = Notes()
        await mgr.state(None, notes=notes)
        try:
            await mgr.credits()
        except errors.NemoError as exc:
            texts.append(str(exc))
            texts.append(repr(exc))
            texts.extend(str(a) for a in exc.args)
        await mgr.aclose()
    texts.extend(notes.items)
    texts.extend(r.getMessage() for r in caplog.records)
    blob = "\n".join(texts)
    assert texts, "the flow produced no text to check"
    assert TOKEN not in blob and TOKEN2 not in blob
    assert "SECRET" not in blob and "FRESH" not in blob


async def test_env_token_is_not_sent_to_the_local_engine(tmp_path: Path) -> None:
    """With the local backend, NEMO_TOKEN (a cloud credential) is ignored: the engine's own token is used."""
    async with respx.mock(base_url=API) as router:
        anon = router.post("/api/auth/anonymous-token").mock(return_value=token_response(TOKEN2))
        route = router.get(CREDITS).mock(return_value=ok({"available": 5}))
        mgr = manager(tmp_path, token=SecretStr("nmv_usr_MINE123456"), backend="local")
        await mgr.credits()
        await mgr.aclose()
    assert anon.call_count == 1
    assert route.calls.last.request.headers["Authorization"] == f"Bearer {TOKEN2}"
