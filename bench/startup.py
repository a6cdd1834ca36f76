"""Start-up: spawn a server on stdio and time the answer to its first ``tools/list``.

The handshake is raw JSON-RPC over pipes (initialize → notifications/initialized →
tools/list), the same bytes for both servers. The reference is the ``mcp-server-time``
package, installed in its own virtual environment under ``bench/.cache/ref-venv`` (created
on first use) because it may pin another ``mcp``. Runs alternate ours/reference, and the
figure is the median of the paired ratios (each start of ours over the reference's start next to
it), so the machine's drift cancels; the first run of each is a discarded warm-up (bytecode
compilation, page cache).

``--server-cmd`` measures another command as ours (a proposal: ``bench/proto.py``).
``--profile`` also prints the slowest imports of ``nemo-mcp`` (``python -X importtime``).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from _common import CACHE, NEMO_MCP, Row, arg_parser, banner, bench_env, emit, median, ms, percentile, stop

REF_VENV = CACHE / "ref-venv"
REF_SERVER = REF_VENV / "bin" / "mcp-server-time"
BAR = 1.2

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "bench", "version": "1"},
    },
}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}
TOOLS_LIST = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}


def ensure_reference() -> Path:
    if not REF_SERVER.exists():
        print("installing mcp-server-time into", REF_VENV, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(REF_VENV)], check=True)
        subprocess.run([str(REF_VENV / "bin" / "pip"), "install", "-q", "mcp-server-time"], check=True)
    return REF_SERVER


def _send(proc: subprocess.Popen[bytes], message: Mapping[str, object]) -> None:
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(message).encode() + b"\n")
    proc.stdin.flush()


def _answer(proc: subprocess.Popen[bytes], want_id: int) -> dict[str, object]:
    assert proc.stdout is not None
    while True:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"server exited (code {proc.poll()}) before answering request {want_id}")
        msg = json.loads(line)
        if msg.get("id") == want_id:
            return dict(msg)


def time_to_tools(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Seconds from spawn to the tools/list answer, and how many tools it listed."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    )
    try:
        _send(proc, INITIALIZE)
        _answer(proc, 1)
        _send(proc, INITIALIZED)
        _send(proc, TOOLS_LIST)
        answer = _answer(proc, 2)
        elapsed = time.perf_counter() - start
        result = answer.get("result")
        tools = result.get("tools", []) if isinstance(result, dict) else []
        return elapsed, len(tools)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()  # stdio servers exit at end of input
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            stop(proc)


def import_profile(top: int = 15) -> str:
    """The heaviest imports of the stdio server path, by cumulative time (-X importtime)."""
    code = "import nemo_mcp.cli.main, nemo_mcp.mcp.server"
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True
    )
    rows: list[tuple[int, int, str]] = []
    for line in run.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, cum_us, name = line.split(":", 1)[1].split("|")
        rows.append((int(cum_us), int(self_us), name.rstrip()))
    # The name is indented by two spaces per nesting level; keep the top three levels.
    total = sum(c for c, _, n in rows if len(n) - len(n.lstrip()) == 1)
    tops = sorted((r for r in rows if len(r[2]) - len(r[2].lstrip()) <= 5), reverse=True)
    lines = [f"{'cumulative':>12} {'self':>9}  module   (total {total / 1000:.0f} ms)"]
    lines += [f"{c / 1000:10.1f}ms {s / 1000:7.1f}ms  {n}" for c, s, n in tops[:top]]
    return "\n".join(lines)


def main() -> None:
    p = arg_parser(__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--profile", action="store_true", help="print the import-time profile too")
    p.add_argument("--server-cmd", default=None, help="our server command line (default: nemo-mcp)")
    p.add_argument("--label", default="", help="suffix for the figure name")
    args = p.parse_args()
    repeats = args.repeats or (5 if args.quick else 21)
    banner("start-up to first tools/list", args.quick)
    ref = ensure_reference()
    with tempfile.TemporaryDirectory(prefix="nemo-bench-") as home:
        env = bench_env(NEMO_MCP_HOME=home, NEMO_TOKEN="bench-token")  # noqa: S106 (a dummy; no request is made)
        ours_argv = shlex.split(args.server_cmd) if args.server_cmd else [str(NEMO_MCP)]
        ref_argv = [str(ref)]
        ours: list[float] = []
        theirs: list[float] = []
        n_ours = n_ref = 0
        for i in range(repeats + 1):
            # Alternate which goes first, so neither always runs on a warmer machine.
            order = [("ours", ours_argv), ("ref", ref_argv)]
            if i % 2:
                order.reverse()
            for name, argv in order:
                elapsed, n = time_to_tools(argv, env)
                if i == 0:
                    continue  # warm-up
                if name == "ours":
                    ours.append(elapsed)
                    n_ours = n
                else:
                    theirs.append(elapsed)
                    n_ref = n
    m_ours, m_ref = median(ours), median(theirs)
    # Each start of ours against the reference's start next to it: drift slower than a pair cancels.
    ratio = median([a / b for a, b in zip(ours, theirs, strict=True)])
    print(
        f"nemo-mcp       ({n_ours} tools): median {ms(m_ours)}  p90 {ms(percentile(ours, 90))}  n={len(ours)}"
    )
    print(
        f"mcp-server-time ({n_ref} tools): median {ms(m_ref)}  p90 {ms(percentile(theirs, 90))}  n={len(theirs)}"
    )
    print(
        f"median of {len(ours)} paired ratios {ratio:.2f}x (bar <= {BAR}x); ratio of medians {m_ours / m_ref:.2f}x"
    )
    if args.profile or ratio > BAR:
        print("\nimport profile of the stdio path (python -X importtime):")
        print(import_profile())
    emit(
        [
            Row(
                "Start-up to first tools/list (stdio)" + (f" {args.label}" if args.label else ""),
                ms(m_ours),
                f"{ms(m_ref)} (mcp-server-time)",
                ratio,
                f"≤ {BAR}×",
                ratio <= BAR,
            )
        ]
    )


if __name__ == "__main__":
    os.chdir(Path(__file__).resolve().parents[1])
    main()
