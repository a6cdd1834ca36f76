"""The streamable-HTTP app of :mod:`nemo_mcp.mcp.transport`: DNS-rebinding checks, the bearer gate, no token leaks.

The MCP app is reached in-process through ``httpx2.ASGITransport`` (which runs no lifespan,
so each test enters ``mcp.session_manager.run()`` itself); the server's own calls go over
real loopback HTTP to the fake backend, which records every header it receives.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpx
import httpx2
import pytest
from anyio.abc import Process
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from nemo_mcp.config import Settings
from nemo_mcp.errors import ConfigError
from nemo_mcp.mcp import build_server
from nemo_mcp.mcp.transport import http_app

from .fake_backend import FakeBackend, serve
from .helpers import TOOLS

pytestmark = pytest.mark.anyio

PORT = 8765
INBOUND = "inbound-SECRET-4f1c2d3e5a6b7c8d"
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}


@asynccontextmanager
async def mcp_http(
    tmp: Path,
    api_base: str,
    *,
    host: str = "127.0.0.1",
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> AsyncIterator[httpx2.AsyncClient]:
    """An httpx2 client wired (in-process) to ``http_app`` for ``host:PORT``, with the MCP session manager running."""
    settings = Settings(api_base=api_base, home=tmp / "home")
    mcp = build_server(settings)
    app = http_app(mcp, host=host, port=PORT, auth_token=token)
    base = f"http://{host if ':' not in host else f'[{host}]'}:{PORT}"
    async with (
        mcp.session_manager.run(),
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=base, headers=headers) as http,
    ):
        yield http


async def test_foreign_origin_is_refused_with_403(tmp_path: Path) -> None:
    """A browser page from another origin gets 403 on POST, GET and DELETE, in both protocol eras."""
    evil = {"Origin": "https://evil.example"}
    async with serve(FakeBackend()) as url, mcp_http(tmp_path, url) as http:
        ok = await http.post(
            "/mcp", json=INITIALIZE, headers={**ACCEPT, "Origin": f"http://127.0.0.1:{PORT}"}
        )
        assert ok.status_code == 200
        for origin in (
            "https://evil.example",
            "null",
            f"http://127.0.0.1:{PORT + 1}",
            "http://localhost.evil.example",
        ):
            r = await http.post("/mcp", json=INITIALIZE, headers={**ACCEPT, "Origin": origin})
            assert (r.status_code, r.text) == (403, "Invalid Origin header"), origin
        modern = {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/list",
            "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}},
        }
        r = await http.post(
            "/mcp", json=modern, headers={**ACCEPT, **evil, "MCP-Protocol-Version": "2026-07-28"}
        )
        assert r.status_code == 403
        assert (await http.get("/mcp", headers={"Accept": "text/event-stream", **evil})).status_code == 403
        assert (await http.delete("/mcp", headers=evil)).status_code == 403


async def test_foreign_host_header_is_refused_with_421(tmp_path: Path) -> None:
    """A request whose Host is not this server's address (DNS rebinding) gets 421."""
    async with serve(FakeBackend()) as url, mcp_http(tmp_path, url) as http:
        for host in (
            "evil.example",
            f"evil.example:{PORT}",
            f"127.0.0.1:{PORT + 1}",
            f"attacker.localhost:{PORT}",
        ):
            r = await http.post("/mcp", json=INITIALIZE, headers={**ACCEPT, "Host": host})
            assert (r.status_code, r.text) == (421, "Invalid Host header"), host
        for host in (f"localhost:{PORT}", f"127.0.0.1:{PORT}"):
            r = await http.post("/mcp", json=INITIALIZE, headers={**ACCEPT, "Host": host})
            assert r.status_code == 200, host


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.7", "::", "example.com"])
def test_reachable_bind_without_token_is_refused(tmp_path: Path, host: str) -> None:
    """Building the app for an address other machines can reach, without a token, raises ConfigError naming NEMO_MCP_AUTH_TOKEN."""
    mcp = build_server(Settings(api_base="https://api.example", home=tmp_path / "home"))
    with pytest.raises(ConfigError, match="NEMO_MCP_AUTH_TOKEN"):
        http_app(mcp, host=host, port=PORT, auth_token=None)
    with pytest.raises(ConfigError, match="NEMO_MCP_AUTH_TOKEN"):
        http_app(mcp, host=host, port=PORT, auth_token="")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_bind_needs_no_token(tmp_path: Path, host: str) -> None:
    """Loopback addresses are served without a token."""
    mcp = build_server(Settings(api_base="https://api.example", home=tmp_path / "home"))
    assert http_app(mcp, host=host, port=PORT, auth_token=None) is not None


async def test_bearer_token_is_required_and_never_forwarded(tmp_path: Path) -> None:
    """Off loopback, requests without the exact bearer token get 401; with it tools work, and the backend never sees it."""
    fake = FakeBackend()
    async with serve(fake) as url, mcp_http(tmp_path, url, host="192.0.2.7", token=INBOUND) as http:
        for auth in (
            None,
            "Bearer wrong",
            f"bearer {INBOUND}",
            f"Bearer {INBOUND} ",
            INBOUND,
            f"Basic {INBOUND}",
        ):
            headers = {**ACCEPT, **({"Authorization": auth} if auth else {})}
            r = await http.post("/mcp", json=INITIALIZE, headers=headers)
            assert r.status_code == 401, auth
            assert r.headers["www-authenticate"] == "Bearer"
            assert INBOUND not in r.text
        # The gate answers before the DNS-rebinding checks, so a bad Host without a token is 401 too.
        r = await http.post("/mcp", json=INITIALIZE, headers={**ACCEPT, "Host": "evil.example"})
        assert r.status_code == 401
        assert fake.stats.headers == []

        http.headers["Authorization"] = f"Bearer {INBOUND}"
        r = await http.post("/mcp", json=INITIALIZE, headers={**ACCEPT, "Origin": "https://evil.example"})
        assert r.status_code == 403  # a valid token does not switch off the Origin check
        async with Client(streamable_http_client("http://192.0.2.7:8765/mcp", http_client=http)) as client:
            assert len((await client.list_tools()).tools) == len(TOOLS)
            for name, args in (
                ("check_credits", {}),
                ("new_project", {"title": "over http"}),
                ("send_edit", {"instruction": "trim it"}),
                ("get_timeline", {}),
            ):
                result = await client.call_tool(name, args)
                assert not result.is_error, (name, result.content)
    assert fake.stats.calls["run_sse"] == 1 and len(fake.stats.headers) >= 5
    assert not fake.stats.saw_anywhere(INBOUND), "the inbound MCP token reached the video backend"
    assert not fake.stats.saw_anywhere(INBOUND.lower())
    forwarded = {h.get("authorization", "") for h in fake.stats.headers} - {""}
    assert forwarded and all(a.startswith("Bearer nmv_usr_fake") for a in forwarded)


async def test_wildcard_bind_with_token_serves_clients_addressing_the_machine(tmp_path: Path) -> None:
    """Bound to 0.0.0.0 with a token, a client that reaches the machine by its LAN address is served."""
    async with (
        serve(FakeBackend()) as url,
        mcp_http(
            tmp_path, url, host="0.0.0.0", token=INBOUND, headers={"Authorization": f"Bearer {INBOUND}"}
        ) as http,
    ):
        r = await http.post("/mcp", json=INITIALIZE, headers={**ACCEPT, "Host": f"192.168.1.20:{PORT}"})
        assert r.status_code == 200, (r.status_code, r.text)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
async def test_cli_serves_streamable_http_on_loopback(tmp_path: Path) -> None:
    """`nemo-mcp --transport http` serves MCP on 127.0.0.1 with the rebinding checks on, and stops on SIGTERM."""
    fake = FakeBackend()
    port = _free_port()
    env = {k: os.environ[k] for k in ("PATH", "HOME") if k in os.environ}
    env |= {"NEMO_API_BASE": "", "NEMO_MCP_HOME": str(tmp_path / "home")}
    async with serve(fake) as url:
        env["NEMO_API_BASE"] = url
        with (tmp_path / "stderr.log").open("wb") as errlog:
            process = await anyio.open_process(
                [
                    sys.executable,
                    "-m",
                    "nemo_mcp",
                    "--transport",
                    "http",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                env=env,
                stdin=subprocess.DEVNULL,  # a server that wrongly serves stdio exits at once
                stderr=errlog,
                stdout=errlog,
            )
            try:
                endpoint = f"http://127.0.0.1:{port}/mcp"
                await _wait_for_port(port, process, tmp_path / "stderr.log")
                async with Client(endpoint) as client:
                    credits = await client.call_tool("check_credits", {})
                    assert not credits.is_error, credits.content
                async with httpx.AsyncClient() as http:
                    r = await http.post(
                        endpoint, json=INITIALIZE, headers={**ACCEPT, "Origin": "https://evil.example"}
                    )
                    assert r.status_code == 403
                    r = await http.post(endpoint, json=INITIALIZE, headers={**ACCEPT, "Host": "evil.example"})
                    assert r.status_code == 421
                process.terminate()
                with anyio.fail_after(10):
                    await process.wait()
            finally:
                if process.returncode is None:
                    process.kill()
                    with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                        await process.wait()
                await process.aclose()
    assert fake.stats.calls["credits"] == 1


async def _wait_for_port(port: int, process: Process, log: Path) -> None:
    with anyio.fail_after(20):
        while True:
            if process.returncode is not None:
                pytest.fail(
                    f"the server exited ({process.returncode}) without listening on {port}: {log.read_text()[-1500:]}"
                )
            try:
                stream = await anyio.connect_tcp("127.0.0.1", port)
            except OSError:
                await anyio.sleep(0.05)
                continue
            await stream.aclose()
            return
