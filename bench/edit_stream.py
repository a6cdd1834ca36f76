"""Edit streaming: ADK partial text frames from a loopback backend to an MCP client's progress callback.

The backend is ``bench/_backend.py`` (the team's fake backend plus a ``bench frames=N
gap=MS`` stream) in its own process. It records when each frame is handed to the server
(``time.monotonic()``; CLOCK_MONOTONIC is system-wide, so it compares across processes).
``nemo-mcp`` runs on stdio under the official ``mcp`` client, and ``send_edit`` relays each
partial frame as a progress notification; the callback notes which frame arrived when.

* latency: a paced stream (``--gap-ms`` between frames, about the rate of a fast model)
  gives p50/p99 from a frame leaving the backend to the client's callback;
* relay rate: an unpaced stream (gap 0) gives frames per second from the first frame's
  send to the last frame's arrival, against a bare ``httpx-sse`` loop (aconnect_sse,
  aiter_sse, ``json.loads``) reading the same stream from the same backend. Runs alternate.

``--server-cmd`` runs another server command instead of ``nemo-mcp`` (used to measure a
prototype patch without touching the project: ``bench/proto.py``).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import httpx
from _common import (
    BENCH,
    NEMO_MCP,
    ROOT,
    Row,
    arg_parser,
    banner,
    bench_env,
    emit,
    median,
    ms,
    percentile,
    server_log,
    url_process,
)
from httpx_sse import aconnect_sse
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

INDEX = re.compile(r"frame (\d+)/")
BACKEND = BENCH / "_backend.py"
BAR_P99 = 0.020
BAR_RELAY = 0.5
_runs = itertools.count(1)


def per_frame(deliveries: list[tuple[int, float]], stamps: list[float]) -> tuple[list[float], float]:
    """Latency of every frame and the relay rate.

    ``deliveries`` are (highest frame index in a message, arrival time); a message that
    carries frame k delivers every frame up to k, so a frame's latency runs from its send
    stamp to the first message at or past it. The rate is frames over the time from the
    first frame's stamp to the arrival of the last frame.
    """
    lat: list[float] = []
    i = 0
    for k, t in sorted(deliveries):
        while i < min(k, len(stamps)):
            lat.append(t - stamps[i])
            i += 1
    if i < len(stamps):
        print(f"  warning: {len(stamps) - i} of {len(stamps)} frames never arrived")
    last = max(t for _, t in deliveries)
    return lat, i / (last - stamps[0])


async def fetch_stamps(url: str, run: str) -> list[float]:
    async with httpx.AsyncClient(base_url=url) as http:
        return list((await http.get(f"/_bench/stamps/{run}")).json())


class Relay:
    """One MCP client session with nemo-mcp on stdio."""

    def __init__(self, client: Client, url: str) -> None:
        self.client = client
        self.url = url

    async def run(self, frames: int, gap_ms: float) -> tuple[list[float], float]:
        """Stream ``frames`` frames through send_edit; return per-frame latencies and frames/s."""
        run = f"relay{next(_runs)}"
        deliveries: list[tuple[int, float]] = []
        done = anyio.Event()

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            now = time.monotonic()
            found = INDEX.findall(message or "")
            if found:
                k = max(map(int, found))
                deliveries.append((k, now))
                if k >= frames:
                    done.set()

        result = await self.client.call_tool(
            "send_edit",
            {"instruction": f"bench frames={frames} gap={gap_ms:g} run={run}"},
            progress_callback=on_progress,
            read_timeout_seconds=600,
        )
        if result.is_error:
            raise RuntimeError(f"send_edit failed: {result.content}")
        with anyio.move_on_after(5):  # over stdio, notifications may trail the result
            await done.wait()
        return per_frame(deliveries, await fetch_stamps(self.url, run))


async def bare_loop(url: str, frames: int, gap_ms: float) -> tuple[list[float], float]:
    """The reference: a bare httpx-sse loop reading the same stream from the same backend."""
    run = f"bare{next(_runs)}"
    deliveries: list[tuple[int, float]] = []
    async with httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(30, read=None)) as http:
        grant = await http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "bench-bare"})
        headers = {"Authorization": f"Bearer {grant.json()['data']['token']}", "X-Skill-Source": "bench"}
        session = await http.post("/api/tasks/me/with-session/nemo_agent", headers=headers, json={})
        body = {
            "app_name": "nemo_agent",
            "user_id": "me",
            "session_id": session.json()["data"]["session_id"],
            "new_message": {
                "role": "user",
                "parts": [{"text": f"bench frames={frames} gap={gap_ms:g} run={run}"}],
            },
            "streaming": True,
        }
        async with aconnect_sse(http, "POST", "/run_sse", json=body, headers=headers) as source:
            async for sse in source.aiter_sse():
                if not sse.data:
                    continue
                event: dict[str, Any] = json.loads(sse.data)
                now = time.monotonic()
                if event.get("partial") and (m := INDEX.search(event["content"]["parts"][0]["text"])):
                    deliveries.append((int(m.group(1)), now))
    return per_frame(deliveries, await fetch_stamps(url, run))


def server_params(url: str, home: str, server_cmd: Sequence[str]) -> StdioServerParameters:
    return StdioServerParameters(
        command=server_cmd[0],
        args=list(server_cmd[1:]),
        env=bench_env(NEMO_API_BASE=url, NEMO_MCP_HOME=home, NEMO_HEARTBEAT_INTERVAL="15"),
        cwd=ROOT,
    )


async def measure(
    url: str, server_cmd: Sequence[str], *, frames: int, gap_ms: float, repeats: int
) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="nemo-bench-es-") as home,
        server_log() as errlog,
    ):
        params = server_params(url, home, server_cmd)
        async with Client(stdio_client(params, errlog=errlog), read_timeout_seconds=600) as client:  # type: ignore[arg-type]
            relay = Relay(client, url)
            await relay.run(50, 0)  # warm-up: project, token, code paths
            await bare_loop(url, 50, 0)
            paced: list[float] = []
            ours_fps: list[float] = []
            bare_fps: list[float] = []
            bare_paced: list[float] = []
            for i in range(repeats):
                lat, _ = await relay.run(frames, gap_ms)
                paced += lat
                blat, _ = await bare_loop(url, frames, gap_ms)
                bare_paced += blat
                # Unpaced: alternate who goes first.
                pair = ["ours", "bare"] if i % 2 == 0 else ["bare", "ours"]
                for who in pair:
                    if who == "ours":
                        ours_fps.append((await relay.run(frames, 0))[1])
                    else:
                        bare_fps.append((await bare_loop(url, frames, 0))[1])
                print(
                    f"  run {i + 1}: paced p50 {ms(percentile(lat, 50))} p99 {ms(percentile(lat, 99))}"
                    f" | unpaced ours {ours_fps[-1]:.0f}/s bare {bare_fps[-1]:.0f}/s",
                    flush=True,
                )
    return {"paced": paced, "bare_paced": bare_paced, "ours_fps": ours_fps, "bare_fps": bare_fps}


def main() -> None:
    p = arg_parser(__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, default=None)
    p.add_argument("--gap-ms", type=float, default=2.0, help="pause between paced frames (default 2 ms)")
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--server-cmd", default=None, help="server command line (default: nemo-mcp)")
    p.add_argument("--label", default="", help="suffix for the figure names")
    args = p.parse_args()
    frames = args.frames or (2000 if args.quick else 10_000)
    repeats = args.repeats or (1 if args.quick else 2)
    server_cmd = shlex.split(args.server_cmd) if args.server_cmd else [str(NEMO_MCP)]
    banner(f"edit streaming, {frames} frames, paced at {args.gap_ms:g} ms and unpaced", args.quick)
    with url_process([sys.executable, str(BACKEND)], env=bench_env()) as url:
        r = anyio.run(lambda: measure(url, server_cmd, frames=frames, gap_ms=args.gap_ms, repeats=repeats))
    p50, p99 = percentile(r["paced"], 50), percentile(r["paced"], 99)
    b50, b99 = percentile(r["bare_paced"], 50), percentile(r["bare_paced"], 99)
    ours_fps, bare_fps = median(r["ours_fps"]), median(r["bare_fps"])
    ratio = ours_fps / bare_fps
    print(f"paced latency, backend -> MCP callback: p50 {ms(p50)}  p99 {ms(p99)}  max {ms(max(r['paced']))}")
    print(f"paced latency, backend -> bare httpx-sse loop: p50 {ms(b50)}  p99 {ms(b99)}")
    print(
        f"unpaced relay: ours {ours_fps:.0f} frames/s, bare loop {bare_fps:.0f} frames/s, ratio {ratio:.2f}x"
    )
    label = f" {args.label}" if args.label else ""
    emit(
        [
            Row(
                f"Edit stream latency p50{label} ({args.gap_ms:g} ms pacing)",
                ms(p50),
                f"{ms(b50)} (bare httpx-sse)",
                p50 / b50,
                "–",
                None if label else True,
                "informational",
            ),
            Row(
                f"Edit stream latency p99{label} ({args.gap_ms:g} ms pacing)",
                ms(p99),
                f"{ms(b99)} (bare httpx-sse)",
                p99 / b99,
                f"< {BAR_P99 * 1000:.0f} ms",
                p99 < BAR_P99,
            ),
            Row(
                f"Edit stream relay rate{label} (unpaced)",
                f"{ours_fps:.0f} frames/s",
                f"{bare_fps:.0f} frames/s (bare httpx-sse)",
                ratio,
                f"≥ {BAR_RELAY}×",
                ratio >= BAR_RELAY,
            ),
        ]
    )


if __name__ == "__main__":
    os.chdir(Path(__file__).resolve().parents[1])
    main()
