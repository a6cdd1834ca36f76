"""Issue 11, item 8: the smaller holes on the client side, one test (or a few) each."""

from __future__ import annotations

import json
import math
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from mcp import Client

from nemo_mcp import config
from nemo_mcp.api.models import Credits
from nemo_mcp.errors import DiskFull, UploadRefused
from nemo_mcp.mcp import build_server
from nemo_mcp.mcp.tools import credit_advice
from nemo_mcp.redact import redact
from nemo_mcp.service import MAX_UPLOADS_PER_CALL, SessionManager
from nemo_mcp.service.uploads import UploadPolicy

from ..helpers import API, FakeSleep, make_settings, session_response, token_response

pytestmark = pytest.mark.anyio

MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(1024)


def server_for(tmp_path: Path, media: Path | None = None, **settings: Any) -> Any:
    cfg = make_settings(tmp_path / "home", **settings)
    fake = FakeSleep()
    policy = UploadPolicy([media], cwd=media) if media else None
    return build_server(
        cfg,
        manager_factory=lambda base: SessionManager(cfg, api_base=base, sleep=fake, clock=fake.clock),
        policy=policy,
    )


def text(result: Any) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


# -- upload_media: the per-call cap comes first ---------------------------------------------------


async def test_a_huge_list_of_paths_is_refused_before_any_is_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over MAX_UPLOADS_PER_CALL paths: one refusal naming the cap, and the policy never looks at a file."""
    media = tmp_path / "media"
    media.mkdir()
    looked: list[str] = []
    monkeypatch.setattr(UploadPolicy, "check", lambda self, p: looked.append(p))
    paths = [str(media / f"{i}.mp4") for i in range(5000)]
    async with (
        respx.mock(base_url=API, assert_all_called=False) as router,
        Client(server_for(tmp_path, media)) as c,
    ):
        result = await c.call_tool("upload_media", {"paths": paths})
        assert not router.calls
    assert result.is_error and f"at most {MAX_UPLOADS_PER_CALL} files" in text(result)
    assert looked == []


# -- hard links -----------------------------------------------------------------------------------


def test_a_hard_link_into_an_upload_folder_is_refused(tmp_path: Path) -> None:
    """A second name for a file kept elsewhere is refused with a message naming the fix (copy, not link)."""
    media, outside = tmp_path / "media", tmp_path / "private"
    media.mkdir()
    outside.mkdir()
    (outside / "secret.mp4").write_bytes(MP4)
    (media / "innocent.mp4").hardlink_to(outside / "secret.mp4")
    (media / "own.mp4").write_bytes(MP4)
    policy = UploadPolicy([media], cwd=media)
    with pytest.raises(UploadRefused, match="hard link") as info:
        policy.check(str(media / "innocent.mp4"))
    assert "Copy the file" in str(info.value)
    with policy.check(str(media / "own.mp4")) as ok:
        assert ok.size == len(MP4)


# -- a damaged state store ------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["garbage", "home is a file"])
async def test_a_damaged_state_store_still_answers_initialize_and_every_tool_says_the_fix(
    tmp_path: Path, damage: str
) -> None:
    """The server starts; each tool answers with doctor's advice for that damage instead of running."""
    home = tmp_path / "home"
    if damage == "garbage":
        home.mkdir()
        (home / "state.sqlite3").write_bytes(b"this is not a database, just noise " * 200)
        fix = "move the file aside"
    else:
        home.write_bytes(b"")  # NEMO_MCP_HOME names a file: nothing can be created under it
        fix = "writable for your user"
    cfg = make_settings(home)
    async with Client(build_server(cfg)) as client:
        listed = await client.list_tools()
        assert listed.tools
        for name, args in (("check_credits", {}), ("list_projects", {}), ("get_timeline", {})):
            result = await client.call_tool(name, args)
            assert result.is_error, name
            assert fix in text(result) and "state store" in text(result), text(result)


# -- *.localhost ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "loopback"),
    [
        (["127.0.0.1"], True),
        (["::1", "127.0.0.2"], True),
        (["93.184.216.34"], False),
        (["127.0.0.1", "10.0.0.1"], False),
        ([], False),
    ],
)
def test_a_dot_localhost_name_is_loopback_only_when_it_resolves_there(
    monkeypatch: pytest.MonkeyPatch, answers: list[str], loopback: bool
) -> None:
    """``app.localhost`` gets loopback's trust only when every address it resolves to is loopback."""

    def fake_getaddrinfo(host: str, *_: Any, **__: Any) -> list[Any]:
        assert host == "app.localhost"
        if not answers:
            raise socket.gaierror(socket.EAI_NONAME, "unknown")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, 0)) for a in answers]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    assert config.is_loopback_host("app.localhost") is loopback
    assert config.is_loopback_host("localhost") and config.is_loopback_host("127.0.0.1")
    if not loopback:
        with pytest.raises(config.ConfigError):
            config.check_api_base("http://app.localhost:8766")


# -- redaction ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "prose", ["Call it without a bearer token.", "bearer credentials are missing", "a Bearer header"]
)
def test_prose_about_bearer_tokens_is_left_alone(prose: str) -> None:
    """Words after "bearer" are redacted only when they look like a credential."""
    assert redact(prose) == prose


@pytest.mark.parametrize("secret", ["abc123def456", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOjF9.sig", "a" * 24])
def test_bearer_credentials_are_still_redacted(secret: str) -> None:
    """A token after "Bearer" (digits, or long) is masked."""
    assert secret not in redact(f"sent Bearer {secret} to the host")


# -- a full disk ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "message"), [(500, "[Errno 28] No space left on device"), (507, "Insufficient Storage")]
)
async def test_a_full_disk_on_the_backend_is_reported_as_such(
    tmp_path: Path, status: int, message: str
) -> None:
    """HTTP 507, or a 500 that says ENOSPC, is a full disk with its fix, not a temporary backend problem."""
    async with respx.mock(base_url=API, assert_all_called=False) as router, Client(server_for(tmp_path)) as c:
        router.post("/api/auth/anonymous-token").mock(return_value=token_response())
        router.post("/api/tasks/me/with-session/nemo_agent").mock(return_value=session_response())
        router.get("/api/credits/balance/simple").mock(
            return_value=httpx.Response(status, json={"code": status, "message": message, "data": None})
        )
        result = await c.call_tool("check_credits", {})
    assert result.is_error
    assert "disk is full" in text(result) and "temporary" not in text(result), text(result)


async def test_a_full_local_disk_under_the_store_is_reported_as_such(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's "database or disk is full" while saving becomes the full-disk answer."""
    import sqlite3

    from nemo_mcp.service.store import Store

    def full(*_: Any, **__: Any) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Store, "client_id", full)
    async with respx.mock(base_url=API, assert_all_called=False), Client(server_for(tmp_path)) as c:
        result = await c.call_tool("check_credits", {})
    assert result.is_error and DiskFull.default_message in text(result), text(result)


# -- NaN credits ----------------------------------------------------------------------------------


def test_nan_or_infinite_credits_are_no_balance() -> None:
    """NaN and infinity in the balance read as "not reported", and the advice never prints nan."""
    credits = Credits.model_validate(json.loads('{"available": NaN, "frozen": Infinity, "total": 5}'))
    assert (credits.available, credits.frozen, credits.total) == (None, None, 5)
    advice = credit_advice(math.nan, math.nan, {}, env_token=False)
    assert "nan" not in advice.lower() and "did not report" in advice
    assert "nan" not in credit_advice(3.0, math.nan, {}, env_token=False).lower()


async def test_check_credits_with_a_nan_balance_says_none_was_reported(tmp_path: Path) -> None:
    """Through the tool: a NaN balance is null in the result and the advice says none was reported."""
    body = b'{"code": 0, "message": "ok", "data": {"available": NaN, "frozen": 0, "total": NaN}}'
    async with respx.mock(base_url=API, assert_all_called=False) as router, Client(server_for(tmp_path)) as c:
        router.post("/api/auth/anonymous-token").mock(return_value=token_response())
        router.get("/api/credits/balance/simple").mock(
            return_value=httpx.Response(200, content=body, headers={"Content-Type": "application/json"})
        )
        result = await c.call_tool("check_credits", {})
    assert not result.is_error, text(result)
    out = result.structured_content
    assert out is not None and out["available"] is None and "nan" not in out["advice"].lower()
