"""Concurrency: many simultaneous ``send_edit`` calls with long streams on one server process.

Each call streams ``soak`` from ``bench/_backend.py`` (its own process): a first half with
only ``: ping`` heartbeat comments, then partial text frames every ``text_gap`` seconds, as a
model that thinks for a while and then talks. The server is ``nemo-mcp`` on stdio started
through ``bench/_lag_server.py``, which adds an event-loop lag probe (10 ms sleeps) and RSS
samples inside the server process; the official ``mcp`` client drives all calls on one
session.

Reported: the lag p99 while the calls run (bar < 50 ms); starvation (the longest silence
between two progress messages of any call, bar: within the heartbeat interval, +1 s of
slack); memory per stream ((peak RSS during the calls - RSS before) / calls).
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from _common import (
    BENCH,
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
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

BAR_LAG = 0.050
SLACK = 1.0
MiB = 2**20


async def one_call(client: Client, instruction: str) -> list[float]:
    """Run one send_edit; return the times of its start, each progress message, and its end."""
    times = [time.monotonic()]

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        times.append(time.monotonic())

    result = await client.call_tool(
        "send_edit", {"instruction": instruction}, progress_callback=on_progress, read_timeout_seconds=900
    )
    times.append(time.monotonic())
    if result.is_error:
        raise RuntimeError(f"send_edit failed: {result.content}")
    return sorted(times)


async def soak(
    url: str, *, calls: int, seconds: float, heartbeat: float, ping: float, text_gap: float, proto: str | None
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="nemo-bench-cc-") as tmp:
        out = Path(tmp) / "lag.json"
        env = bench_env(
            NEMO_API_BASE=url,
            NEMO_MCP_HOME=tmp,
            NEMO_HEARTBEAT_INTERVAL=str(heartbeat),
            BENCH_LAG_OUT=str(out),
            **({"BENCH_PROTO": proto} if proto else {}),
        )
        params = StdioServerParameters(
            command=sys.executable, args=[str(BENCH / "_lag_server.py")], env=env, cwd=ROOT
        )
        with server_log() as errlog:
            async with Client(stdio_client(params, errlog=errlog), read_timeout_seconds=900) as client:  # type: ignore[arg-type]
                await one_call(client, "bench frames=10 gap=0")  # warm-up: token, project, code paths
                await anyio.sleep(1.5)
                before = time.monotonic()
                instruction = (
                    f"soak seconds={seconds:g} ping={ping:g} text_from={seconds / 2:g} text_gap={text_gap:g}"
                )
                results: list[list[float]] = []
                failures: list[str] = []

                async def run() -> None:
                    try:
                        results.append(await one_call(client, instruction))
                    except RuntimeError as exc:
                        failures.append(str(exc))

                async with anyio.create_task_group() as tg:
                    for _ in range(calls):
                        tg.start_soon(run)
                after = time.monotonic()
                await anyio.sleep(1.5)  # one more dump of the probe's samples
        data = json.loads(out.read_text())
    lags = [lag for t, lag in data["lag"] if before <= t <= after]
    base = median([r for t, r in data["rss"] if before - 1.0 <= t <= before]) or data["rss"][0][1]
    peak = max(r for t, r in data["rss"] if before <= t <= after)
    gaps = [max(b - a for a, b in itertools.pairwise(times)) for times in results]
    return {
        "lags": lags,
        "rss_base": base,
        "rss_peak": peak,
        "gaps": gaps,
        "failures": failures,
        "wall": after - before,
    }


def main() -> None:
    p = arg_parser(__doc__.split("\n\n")[0])
    p.add_argument("--calls", type=int, default=None)
    p.add_argument("--seconds", type=float, default=None, help="length of each stream")
    p.add_argument("--proto", default=None, help="serve a proposal's patched copy (bench/proto.py)")
    args = p.parse_args()
    calls = args.calls or (10 if args.quick else 50)
    seconds = args.seconds or (10.0 if args.quick else 120.0)
    heartbeat = 2.0 if args.quick else 15.0  # 15 s is the server's default heartbeat_interval
    ping = 0.5 if args.quick else 5.0
    text_gap = 0.05
    banner(f"{calls} concurrent send_edit calls, {seconds:g} s streams", args.quick)
    if args.proto:
        from proto import prepare

        prepare(args.proto)
    with url_process([sys.executable, str(BENCH / "_backend.py")], env=bench_env()) as url:
        r = anyio.run(
            lambda: soak(
                url,
                calls=calls,
                seconds=seconds,
                heartbeat=heartbeat,
                ping=ping,
                text_gap=text_gap,
                proto=args.proto,
            )
        )
    lags: list[float] = r["lags"]
    p99 = percentile(lags, 99)
    worst_gap = max(r["gaps"], default=float("nan"))
    failed = len(r["failures"])
    starved = sum(g > heartbeat + SLACK for g in r["gaps"]) + failed
    per_stream = (r["rss_peak"] - r["rss_base"]) / calls
    print(f"wall {r['wall']:.1f} s for {calls} calls; {len(lags)} lag samples")
    print(f"event-loop lag: p50 {ms(percentile(lags, 50))}  p99 {ms(p99)}  max {ms(max(lags))}")
    print(
        f"longest silence of any call: {worst_gap:.2f} s (heartbeat {heartbeat:g} s); starved calls: {starved}"
    )
    if failed:
        print(f"FAILED calls: {failed} of {calls}, e.g. {r['failures'][0]}")
    print(f"RSS before {r['rss_base'] / MiB:.1f} MiB, peak {r['rss_peak'] / MiB:.1f} MiB, "
          f"{per_stream / 1024:.0f} KiB per stream")  # fmt: skip
    label = f" [{args.proto}]" if args.proto else ""
    emit(
        [
            Row(
                f"Event-loop lag p99, {calls} concurrent edits{label}",
                ms(p99),
                "–",
                None,
                f"< {BAR_LAG * 1000:.0f} ms",
                p99 < BAR_LAG,
                f"p50 {ms(percentile(lags, 50))}, max {ms(max(lags))}",
            ),
            Row(
                f"Longest progress silence, {calls} concurrent edits{label}",
                f"{worst_gap:.2f} s",
                f"{heartbeat:g} s heartbeat",
                worst_gap / heartbeat,
                f"≤ heartbeat + {SLACK:g} s",
                starved == 0,
                f"{starved} starved" + (f", of which {failed} calls failed" if failed else ""),
            ),
            Row(
                f"Memory per concurrent edit stream{label}",
                f"{per_stream / 1024:.0f} KiB",
                "–",
                None,
                "report",
                True,
                f"RSS {r['rss_base'] / MiB:.0f} → {r['rss_peak'] / MiB:.0f} MiB",
            ),
        ]
    )


if __name__ == "__main__":
    os.chdir(Path(__file__).resolve().parents[1])
    main()
