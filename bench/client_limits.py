"""Memory and time of the client against hostile backends (issue 11, item 4).

A loopback server (``tests/security/hostile_backend.py``) offers a 10 GB JSON body, a chunked
body without end, and an SSE flood of 60 KB text frames; the real client must refuse each
within its limits. Printed: the peak-RSS growth of this process (VmHWM after a reset), the
seconds until the error, and the bytes the server managed to send.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from _common import Row, arg_parser, banner, emit, proc_status, reset_peak_rss

MiB = 2**20
BAR_RSS = 200 * MiB


async def one(shape: str) -> tuple[str, float, int, int]:
    from pydantic import SecretStr

    from nemo_mcp.api.adk import ReplyBuilder
    from nemo_mcp.api.client import NemoClient
    from nemo_mcp.config import SKILLS
    from nemo_mcp.errors import NemoError
    from tests.security.hostile_backend import base_url, hostile_backend

    token = SecretStr("nmv_usr_bench_limits")
    with hostile_backend(shape) as server:
        client = NemoClient(base_url=base_url(server), profile=SKILLS["best-video-learn"], client_id="bench")
        before = proc_status()["VmRSS"]
        reset_peak_rss()
        started = time.monotonic()
        outcome = "no error"
        try:
            if shape == "flood":
                reply = ReplyBuilder()
                async with client.stream_edit(token, "s", "hi") as events:
                    async for event in events:
                        reply.feed(event)
            else:
                await client.get_credits(token)
        except NemoError as exc:
            outcome = type(exc).__name__
        finally:
            await client.aclose()
        seconds = time.monotonic() - started
        growth = proc_status()["VmHWM"] - before
        return outcome, seconds, growth, server.sent


def main() -> None:
    args = arg_parser(__doc__ or "").parse_args()
    banner("client limits against hostile backends", args.quick)
    rows: list[Row] = []
    for shape, what in (
        ("huge", "10 GB JSON body (declared)"),
        ("chunked", "endless chunked JSON body"),
        ("flood", "SSE flood of 60 KB text frames"),
    ):
        outcome, seconds, growth, sent = asyncio.run(one(shape))
        print(
            f"{what}: {outcome} after {seconds:.2f} s; peak RSS growth {growth / MiB:.1f} MiB; "
            f"server sent {sent / MiB:.1f} MiB",
            flush=True,
        )
        rows.append(
            Row(
                f"Peak-RSS growth, {what}",
                f"{growth / MiB:.1f} MiB",
                "–",
                None,
                f"< {BAR_RSS // MiB} MiB",
                growth < BAR_RSS and outcome != "no error",
                f"{outcome} in {seconds:.2f} s",
            )
        )
    emit(rows)


if __name__ == "__main__":
    os.chdir(Path(__file__).resolve().parents[1])
    main()
