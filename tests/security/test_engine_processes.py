"""Real engine processes on one home: ffmpeg dies with a SIGKILLed server, and a second server
leaves the first one's exports alone while sweeping what dead ones left behind."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from nemo_mcp.engine.http import ENGINE_KEY_HEADER, new_engine_key
from tests.engine.helpers import ffmpeg
from tests.security.engine_procs import free_port, stop

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="parent-death signals are Linux's")


@dataclass
class Server:
    """One `nemo-mcp local-backend` process and a client of it."""

    proc: subprocess.Popen[bytes]
    http: httpx.Client
    token: str = ""

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        r = self.http.request(method, path, headers={"Authorization": f"Bearer {self.token}"}, **kwargs)
        return r.json()


@contextmanager
def local_backend(home: Path, roots: Path) -> Iterator[Server]:
    port, key = free_port(), new_engine_key()
    env = {**os.environ, "NEMO_MCP_HOME": str(home), "NEMO_UPLOAD_ROOTS": str(roots), "NEMO_ENGINE_KEY": key}
    proc = subprocess.Popen(
        [sys.executable, "-m", "nemo_mcp", "local-backend", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    http = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={ENGINE_KEY_HEADER: key}, timeout=60)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                r = http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "proc-test"})
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and proc.poll() is None, "local-backend did not start"
                time.sleep(0.2)
        yield Server(proc, http, r.json()["data"]["token"])
    finally:
        http.close()
        stop(proc)


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    media = tmp_path / "media"
    media.mkdir()
    path = media / "clip.mp4"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=320x180:r=25:d=1",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        str(path),
    )
    return path


def start_long_export(server: Server, clip: Path, rid: str) -> str:
    """A session with ``clip`` and a 30-minute title card, exporting as ``rid``; waits until ffmpeg runs."""
    sid = server.call("POST", "/api/tasks/me/with-session/nemo_agent", json={"task_name": "t"})["data"][
        "session_id"
    ]
    up = server.call(
        "POST", f"/api/upload-video/nemo_agent/me/{sid}", json={"urls": [clip.as_uri()], "source_type": "url"}
    )
    assert up["code"] == 0, up
    body = {"app_name": "nemo_agent", "user_id": "me", "session_id": sid,
            "new_message": {"parts": [{"text": 'add a title card "Week 1" for 30 minutes'}]}}  # fmt: skip
    with server.http.stream(
        "POST", "/run_sse", json=body, headers={"Authorization": f"Bearer {server.token}"}
    ) as r:
        r.read()
    order = {"id": rid, "sessionId": sid, "output": {"format": "mp4", "quality": "high"}}
    assert server.call("POST", "/api/render/proxy/lambda", json=order)["success"] is True
    deadline = time.monotonic() + 60
    while not ffmpeg_children(server.proc.pid):
        assert time.monotonic() < deadline, server.call("GET", f"/api/render/proxy/lambda/{rid}")
        time.sleep(0.1)
    return sid


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with suppress(OSError):  # the thread ended meanwhile
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def ffmpeg_children(pid: int) -> list[int]:
    return [c for c in _children(pid) if "ffmpeg" in _cmdline(c)]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie waiting to be reaped by whoever adopted it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def test_ffmpeg_dies_within_2_s_of_a_sigkilled_server(tmp_path: Path, clip: Path) -> None:
    """kill -9 of the engine's process takes its running ffmpeg with it."""
    with local_backend(tmp_path / "home", clip.parent) as server:
        start_long_export(server, clip, "r-kill")
        (child,) = ffmpeg_children(server.proc.pid)
        server.proc.kill()
        server.proc.wait()
        deadline = time.monotonic() + 2
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(child), f"ffmpeg {child} outlived its server"


def test_a_second_server_leaves_live_exports_alone_and_sweeps_dead_ones(tmp_path: Path, clip: Path) -> None:
    """A second server on the home does not fail the first's export; after the first dies, the next
    start marks its export failed and removes its partial file and work folder."""
    home = tmp_path / "home"
    renders, work = home / "local" / "renders", home / "local" / "work"
    with local_backend(home, clip.parent) as first:
        start_long_export(first, clip, "r-first")
        deadline = time.monotonic() + 30
        while not list(renders.glob("r-first.mp4.*.part")) and time.monotonic() < deadline:
            time.sleep(0.1)  # ffmpeg creates its output once the graph is set up
        assert list(renders.glob("r-first.mp4.*.part")) and (work / "r-first").is_dir()
        with local_backend(home, clip.parent) as second:
            status = first.call("GET", "/api/render/proxy/lambda/r-first")["data"]
            assert status["status"] == "processing", status
            assert ffmpeg_children(first.proc.pid)
            assert list(renders.glob("r-first.mp4.*.part"))
            assert second.proc.poll() is None
        first.proc.kill()
        first.proc.wait()
        with local_backend(home, clip.parent) as third:
            status = third.call("GET", "/api/render/proxy/lambda/r-first")
            # Tokens are per client id and user; the render belongs to the same installation's user.
            assert status["data"]["status"] == "failed", status
            assert "restarted" in status["data"]["error"]
        assert not list(renders.glob("*.part"))
        assert not (work / "r-first").exists()
