"""A server killed in the middle of an export resumes the same render after a restart.

Two ``python -m nemo_mcp`` processes share one NEMO_MCP_HOME and one fake backend. The first
is SIGKILLed while ``export_video`` waits on a render the fake holds at "processing"; the
second finds the project and the render id in its store and finishes that render without
starting another.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest
from mcp import MCPError

from .fake_backend import MP4_HEAD, FakeBackend, serve
from .test_stdio_e2e import assert_only_jsonrpc, spawned

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def _wait_until(condition: Callable[[], bool], *, timeout: float = 20) -> None:
    with anyio.fail_after(timeout):
        while not condition():
            await anyio.sleep(0.02)


async def test_export_resumes_after_the_server_is_killed(tmp_path: Path) -> None:
    """SIGKILL during an export, restart on the same home: list_projects keeps the render id and export_video(render_id) completes it; one render start in all."""
    fake = FakeBackend(render_hold=True, output_bytes=100_000)
    pid_file = tmp_path / "server.pid"
    out_dir = tmp_path / "exports"
    out_dir.mkdir()
    with anyio.fail_after(90):
        async with serve(fake) as url:
            # -- first life: upload, start an export, die while it renders ------------------------
            async with spawned(url, tmp_path, pid_file=pid_file, run="1") as s:
                clip = s.media / "talk.mp4"
                clip.write_bytes(MP4_HEAD + bytes(50_000))
                up = await s.client.call_tool("upload_media", {"paths": [str(clip)]})
                assert not up.is_error, up.content
                assert up.structured_content is not None
                project = up.structured_content["project"]
                outcome: list[BaseException | object] = []

                async def export() -> None:
                    try:
                        outcome.append(await s.client.call_tool("export_video", {"wait_seconds": 600}))
                    except MCPError as exc:  # the connection died under the call
                        outcome.append(exc)

                async with anyio.create_task_group() as tg:
                    tg.start_soon(export)
                    await _wait_until(lambda: fake.stats.calls["render_poll"] >= 1)
                    os.kill(int(pid_file.read_text()), signal.SIGKILL)
                assert len(outcome) == 1 and isinstance(outcome[0], MCPError), outcome
            assert_only_jsonrpc(tmp_path / "stdout-1.bin")
            assert fake.stats.render_starts == 1
            (render_id,) = fake.renders

            # -- second life: same home, the render is found and finished -------------------------
            fake.configure(render_hold=False)
            async with spawned(url, tmp_path, run="2") as s:
                listed = await s.client.call_tool("list_projects", {})
                assert listed.structured_content is not None
                assert listed.structured_content["current"] == project
                by_id = {p["project"]: p for p in listed.structured_content["projects"]}
                assert by_id[project]["renders"] == [render_id]

                resumed = await s.client.call_tool(
                    "export_video", {"render_id": render_id, "download_to": str(out_dir), "wait_seconds": 60}
                )
                assert not resumed.is_error, resumed.content
                out = resumed.structured_content
                assert out is not None
                assert (out["render_id"], out["status"], out["finished"]) == (render_id, "completed", True)
                saved = Path(out["file"])
                assert saved.read_bytes()[:12] == MP4_HEAD and saved.stat().st_size == 100_000
            assert_only_jsonrpc(tmp_path / "stdout-2.bin")
    assert fake.stats.render_starts == 1, "a second render was started"
    assert fake.stats.calls["session"] == 1 and fake.stats.calls["token"] == 1  # token and project were kept
