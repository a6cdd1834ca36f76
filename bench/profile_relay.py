"""Profile the ``nemo-mcp`` server process while it relays an unpaced edit stream (py-spy).

Starts ``bench/_backend.py`` and ``nemo-mcp`` on stdio (or ``--server-cmd``), streams
``--frames`` partial frames with no pause, samples the server with ``py-spy record`` (raw
collapsed stacks) and prints the functions with the most samples, on their own and
including callees, plus the CPU seconds each process used. Needs ``py-spy``
(``pip install py-spy``); Linux may need ptrace permission (root, or
``kernel.yama.ptrace_scope=0``).
"""

from __future__ import annotations

import collections
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio
from _common import BENCH, NEMO_MCP, arg_parser, bench_env, server_log, url_process
from edit_stream import Relay, server_params
from mcp import Client
from mcp.client.stdio import stdio_client

_FILE = re.compile(r" \((?:[^()]*/)?(?:site-packages/|lib/python3\.\d+/)?([^()]*)\)$")


def children(marker: str) -> list[int]:
    me = str(os.getpid())
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(") ", 1)[1].split()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if stat[1] == me and marker in cmdline:
            found.append(int(entry))
    return found


def cpu_seconds(pid: int | str) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


def summarize(raw: Path, top: int) -> str:
    own: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = [_FILE.sub(r" (\1)", f) for f in stack.split(";")]
        own[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
    out = [f"{total} samples", "", "own time:"]
    out += [f"  {100 * n / total:5.1f}%  {f}" for f, n in own.most_common(top)]
    out += ["", "including callees:"]
    out += [f"  {100 * n / total:5.1f}%  {f}" for f, n in incl.most_common(2 * top)]
    return "\n".join(out)


async def profile(url: str, server_cmd: list[str], frames: int, seconds: float, out: Path) -> None:
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        raise SystemExit("py-spy is not installed: pip install py-spy")
    with tempfile.TemporaryDirectory(prefix="nemo-bench-prof-") as home, server_log() as errlog:
        params = server_params(url, home, server_cmd)
        async with Client(stdio_client(params, errlog=errlog), read_timeout_seconds=600) as client:  # type: ignore[arg-type]
            relay = Relay(client, url)
            await relay.run(50, 0)
            pid = children(Path(server_cmd[-1]).name if len(server_cmd) > 1 else "nemo-mcp")[0]
            argv = [spy, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "250"]
            argv += ["--format", "raw", "--output", str(out), "--nonblocking"]
            recorder = await anyio.open_process(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            await anyio.sleep(0.5)
            server_cpu, own_cpu, wall = cpu_seconds(pid), time.process_time(), time.monotonic()
            _, rate = await relay.run(frames, 0)
            wall = time.monotonic() - wall
            server_cpu, own_cpu = cpu_seconds(pid) - server_cpu, time.process_time() - own_cpu
            await recorder.wait()
    print(f"relayed {frames} frames at {rate:.0f} frames/s in {wall:.1f} s")
    print(f"CPU: server {server_cpu:.2f} s ({1e6 * server_cpu / frames:.0f} µs/frame), "
          f"MCP client {own_cpu:.2f} s ({1e6 * own_cpu / frames:.0f} µs/frame)")  # fmt: skip


def main() -> None:
    p = arg_parser(__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, default=20_000)
    p.add_argument("--seconds", type=float, default=6, help="py-spy sampling time")
    p.add_argument("--top", type=int, default=15)
    p.add_argument("--server-cmd", default=None)
    args = p.parse_args()
    server_cmd = shlex.split(args.server_cmd) if args.server_cmd else [str(NEMO_MCP)]
    with tempfile.TemporaryDirectory() as tmp, url_process([sys.executable, str(BENCH / "_backend.py")], env=bench_env()) as url:  # fmt: skip
        raw = Path(tmp) / "server.raw"
        anyio.run(profile, url, server_cmd, args.frames, args.seconds, raw)
        print(summarize(raw, args.top))


if __name__ == "__main__":
    os.chdir(Path(__file__).resolve().parents[1])
    main()
