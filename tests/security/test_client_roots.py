"""Roots offered by an MCP client only narrow the configured upload folders, and a silent client cannot hang uploads."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anyio
import pytest
import respx
from mcp import Client, types

from nemo_mcp.mcp import build_server, tools
from nemo_mcp.service import SessionManager
from nemo_mcp.service.uploads import UploadPolicy

from ..helpers import API, FakeSleep, make_settings

pytestmark = pytest.mark.anyio

MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(1024)


def server_for(tmp_path: Path, media: Path) -> Any:
    cfg = make_settings(tmp_path / "home")
    fake = FakeSleep()
    return build_server(
        cfg,
        manager_factory=lambda base: SessionManager(cfg, api_base=base, sleep=fake, clock=fake.clock),
        policy=UploadPolicy([media], cwd=media),
    )


@pytest.mark.parametrize("offered", ["file:///", "home"])
async def test_a_broad_client_root_does_not_widen_the_upload_folders(tmp_path: Path, offered: str) -> None:
    """A client answering roots/list with file:/// or a parent folder cannot open a file outside the configured one."""
    media = tmp_path / "media"
    media.mkdir()
    secret = tmp_path / "id_rsa.mp4"
    secret.write_bytes(MP4)  # media-shaped, so only the folder rule can refuse it
    asked: list[bool] = []

    async def roots(_: Any) -> types.ListRootsResult:
        asked.append(True)
        uri = "file:///" if offered == "file:///" else tmp_path.as_uri()
        return types.ListRootsResult(roots=[types.Root(uri=uri)])  # type: ignore[arg-type]

    server = server_for(tmp_path, media)
    async with (
        respx.mock(base_url=API, assert_all_called=False) as router,
        Client(server, mode="legacy", list_roots_callback=roots) as client,
    ):
        result = await client.call_tool("upload_media", {"paths": [str(secret)]})
        assert not router.calls
    assert asked, "the client was never asked for its roots"
    assert result.is_error
    assert "outside the folders" in result.content[0].text  # type: ignore[union-attr]


async def test_a_client_that_never_answers_roots_list_does_not_hang_the_upload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """roots/list gives up after ROOTS_TIMEOUT and the configured folders decide (here: a refusal)."""
    assert tools.ROOTS_TIMEOUT == 5.0
    monkeypatch.setattr(tools, "ROOTS_TIMEOUT", 1.0)
    media = tmp_path / "media"
    media.mkdir()

    async def silent(_: Any) -> types.ListRootsResult:
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    server = server_for(tmp_path, media)
    async with Client(server, mode="legacy", list_roots_callback=silent) as client:
        started = time.monotonic()
        with anyio.fail_after(10):
            result = await client.call_tool("upload_media", {"paths": [str(tmp_path / "elsewhere.mp4")]})
        elapsed = time.monotonic() - started
    assert result.is_error and "outside the folders" in result.content[0].text  # type: ignore[union-attr]
    assert 0.9 <= elapsed < 3, elapsed
