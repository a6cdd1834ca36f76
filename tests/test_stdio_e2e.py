"""``nemo-mcp`` as a real subprocess on stdio, driven by the official MCP client, against the fake backend.

The server command runs under ``tests/stdio_tee.py``, which copies every byte the server writes
to stdout into a file, so the tests can prove that stdout carried protocol messages only.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from .fake_backend import MP4_HEAD, FakeBackend, serve, server_env
from .helpers import TOOLS, ProgressRecorder

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

TEE = Path(__file__).with_name("stdio_tee.py")


@dataclass
class Spawned:
    client: Client
    stdout_copy: Path
    stderr_log: Path
    media: Path
    tmp: Path


@asynccontextmanager
async def spawned(
    api_base: str, tmp: Path, *, mode: str = "auto", pid_file: Path | None = None, run: str = "1"
) -> AsyncIterator[Spawned]:
    """A Client of ``python -m nemo_mcp`` started (through the tee) as a subprocess.

    State lives in ``tmp/home`` whatever ``run`` is; ``run`` only names the capture files,
    so a restarted server keeps its store while each run's stdout is checked on its own.
    """
    copy, log = tmp / f"stdout-{run}.bin", tmp / f"stderr-{run}.log"
    (tmp / "cwd").mkdir(exist_ok=True)
    tee = [str(TEE), str(copy), *(["--pid-file", str(pid_file)] if pid_file else [])]
    params = StdioServerParameters(
        command=sys.executable,
        args=[*tee, sys.executable, "-m", "nemo_mcp"],
        env=server_env(api_base, tmp) | {"NEMO_HEARTBEAT_INTERVAL": "5"},
        cwd=tmp / "cwd",
    )
    with log.open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog), mode=mode, read_timeout_seconds=60) as client:
            yield Spawned(client, copy, log, tmp / "media", tmp)


def assert_only_jsonrpc(stdout_copy: Path) -> list[dict[str, Any]]:
    """Every line the server wrote to stdout is one JSON-RPC 2.0 message; return them."""
    raw = stdout_copy.read_bytes()
    assert raw, "the server wrote nothing to stdout"
    assert raw.endswith(b"\n"), "the last stdout line is unterminated"
    messages = []
    for line in raw.split(b"\n")[:-1]:
        msg = json.loads(line.decode("utf-8"))
        assert isinstance(msg, dict) and msg.get("jsonrpc") == "2.0", line[:200]
        is_response = "id" in msg and ("result" in msg or "error" in msg)
        is_call = isinstance(msg.get("method"), str)
        assert is_response != is_call, line[:200]
        messages.append(msg)
    return messages


async def test_every_tool_resource_and_prompt_over_stdio_with_clean_stdout(tmp_path: Path) -> None:
    """All the tools, both resources and a prompt work over real stdio; stdout holds only JSON-RPC."""
    fake = FakeBackend(render_polls=2, output_bytes=200_000)
    with anyio.fail_after(90):
        async with serve(fake) as url, spawned(url, tmp_path) as s:
            c = s.client
            assert {t.name for t in (await c.list_tools()).tools} == TOOLS

            clip = s.media / "lecture.mp4"
            clip.write_bytes(MP4_HEAD + bytes(300_000))
            up_progress = ProgressRecorder()
            up = await c.call_tool("upload_media", {"paths": [str(clip)]}, progress_callback=up_progress)
            assert not up.is_error, up.content
            assert up.structured_content is not None
            project = up.structured_content["project"]
            assert up.structured_content["files"] == [
                {
                    "name": "lecture.mp4",
                    "type": "video",
                    "duration_s": 10.0,
                    "width": 1920,
                    "height": 1080,
                    "fps": 30.0,
                }
            ]
            assert any(m.startswith("Uploaded") for m in up_progress.messages)
            assert fake.stats.upload_bytes == clip.stat().st_size

            # A stream without any text: the server diffs the timeline itself (10 s -> 5 s).
            silent = await c.call_tool("send_edit", {"instruction": "silent trim of the intro"})
            assert not silent.is_error, silent.content
            assert silent.structured_content is not None
            assert silent.structured_content["reply"].startswith("The edit was applied.")
            assert silent.structured_content["changes"]

            # A streamed reply: fragments and the backend's tool call arrive as progress.
            edit_progress = ProgressRecorder()
            edit = await c.call_tool(
                "send_edit", {"instruction": "trim it to five seconds"}, progress_callback=edit_progress
            )
            assert not edit.is_error, edit.content
            assert edit.structured_content is not None
            assert "Done! Trimmed to 5s." in edit.structured_content["reply"]
            assert edit.structured_content["backend_steps"] == ["trim_video"]
            await anyio.sleep(0.1)  # over JSON-RPC, progress notifications can trail the result
            assert "Running trim_video…" in edit_progress.messages
            values = [p for p, _, _ in edit_progress.seen]
            assert values == sorted(values)

            tl = await c.call_tool("get_timeline", {"include_draft": True})
            assert not tl.is_error, tl.content
            assert tl.structured_content is not None
            assert tl.structured_content["duration_s"] == 5.0
            assert tl.structured_content["draft"] == fake.sessions[project].draft

            credits = await c.call_tool("check_credits", {})
            assert not credits.is_error, credits.content
            assert credits.structured_content is not None
            assert credits.structured_content["available"] == 98  # 100, minus one per edit

            out_dir = tmp_path / "exports"
            out_dir.mkdir()
            ex_progress = ProgressRecorder()
            export = await c.call_tool(
                "export_video",
                {"download_to": str(out_dir), "wait_seconds": 60},
                progress_callback=ex_progress,
            )
            assert not export.is_error, export.content
            ex = export.structured_content
            assert ex is not None and ex["finished"] is True and ex["status"] == "completed"
            saved = Path(ex["file"])
            assert saved.parent == out_dir.resolve()
            assert saved.read_bytes()[:12] == MP4_HEAD and saved.stat().st_size == 200_000
            assert any(m.startswith("Rendering") for m in ex_progress.messages)
            assert fake.stats.render_starts == 1

            second = await c.call_tool("new_project", {"title": "Second cut", "language": "de"})
            assert not second.is_error, second.content
            assert second.structured_content is not None
            assert second.structured_content["project"] != project
            listed = await c.call_tool("list_projects", {})
            assert listed.structured_content is not None
            assert listed.structured_content["current"] == second.structured_content["project"]
            by_id = {p["project"]: p for p in listed.structured_content["projects"]}
            assert by_id[project]["renders"] == [ex["render_id"]]
            assert by_id[second.structured_content["project"]]["title"] == "Second cut"

            templates = (await c.list_resource_templates()).resource_templates
            assert [t.uri_template for t in templates] == ["nemo://projects/{session_id}/timeline"]
            formats = (await c.read_resource("nemo://formats")).contents[0]
            assert "mp4" in json.loads(formats.text)["upload_types"]  # type: ignore[union-attr]
            timeline = (await c.read_resource(f"nemo://projects/{project}/timeline")).contents[0]
            assert json.loads(timeline.text)["draft"] == fake.sessions[project].draft  # type: ignore[union-attr]

            prompt = await c.get_prompt("video-making-ai", {"seconds": "30"})
            assert "30-second highlight reel" in prompt.messages[0].content.text  # type: ignore[union-attr]

    messages = assert_only_jsonrpc(s.stdout_copy)
    assert sum(1 for m in messages if "result" in m) >= 12
    assert any(m.get("method") == "notifications/progress" for m in messages)


@pytest.mark.filterwarnings("ignore:ping is removed:mcp.MCPDeprecationWarning")
async def test_legacy_handshake_era_over_stdio(tmp_path: Path) -> None:
    """A 2025-11-25 client (initialize handshake) can ping and call tools; stdout stays JSON-RPC only."""
    fake = FakeBackend()
    with anyio.fail_after(60):
        async with serve(fake) as url, spawned(url, tmp_path, mode="legacy") as s:
            assert s.client.protocol_version == "2025-11-25"
            await s.client.send_ping()
            credits = await s.client.call_tool("check_credits", {})
            assert not credits.is_error, credits.content
            missing = await s.client.call_tool("list_projects", {"switch_to": "nope"})
            assert missing.is_error
    messages = assert_only_jsonrpc(s.stdout_copy)
    init = next(m for m in messages if m.get("id") == messages[0].get("id"))
    assert init["result"]["protocolVersion"] == "2025-11-25"
    assert init["result"]["serverInfo"]["name"] == "nemo-mcp"
