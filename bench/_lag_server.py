"""``nemo-mcp`` on stdio with an event-loop lag probe running in the server's own loop.

It does what ``nemo-mcp`` (``nemo_mcp.cli.main._serve``) does for stdio — settings from the
environment, ``build_server``, ``run_stdio_async`` — plus one task that sleeps 10 ms at a
time and records how late it wakes up (the lag every other task on the loop also sees),
and the process RSS every 0.25 s. Samples carry ``time.monotonic()`` stamps, so the
benchmark can cut out the window it cares about; they are written as JSON to
``$BENCH_LAG_OUT`` every second and at exit. ``$BENCH_PROTO=<name>`` serves the patched
copy that ``bench/proto.py prepare <name>`` made instead of the installed package.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import anyio
from _common import CACHE, proc_status

PERIOD = 0.010


async def probe(out: Path) -> None:
    lags: list[tuple[float, float]] = []
    rss: list[tuple[float, int]] = []
    next_rss = next_dump = 0.0
    try:
        while True:
            start = time.perf_counter()
            await anyio.sleep(PERIOD)
            now = time.monotonic()
            lags.append((now, time.perf_counter() - start - PERIOD))
            if now >= next_rss:
                rss.append((now, proc_status()["VmRSS"]))
                next_rss = now + 0.25
            if now >= next_dump:
                dump(out, lags, rss)
                next_dump = now + 1.0
    finally:
        dump(out, lags, rss)


def dump(out: Path, lags: list[tuple[float, float]], rss: list[tuple[float, int]]) -> None:
    out.write_text(json.dumps({"lag": lags, "rss": rss}))


def main() -> int:
    if proto := os.environ.get("BENCH_PROTO"):  # a proposal's patched copy (see bench/proto.py)
        sys.path.insert(0, str(CACHE / "proto" / proto))
    from nemo_mcp.cli.main import _parser, _settings, _setup_logging
    from nemo_mcp.mcp.server import build_server

    settings = _settings(_parser().parse_args([]))
    mcp = build_server(settings)
    _setup_logging(bool(settings.debug))
    out = Path(os.environ["BENCH_LAG_OUT"])

    async def serve() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(probe, out)
            await mcp.run_stdio_async()
            tg.cancel_scope.cancel()

    anyio.run(serve)
    return 0


if __name__ == "__main__":
    sys.exit(main())
