"""Helpers shared by the benchmark scripts: timing, statistics, memory, processes and the table.

Every script prints what it measured for people, then one machine-readable line
``BENCH-RESULT {json}`` holding its rows (see :class:`Row`), which ``run_all.py`` collects.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
CACHE = BENCH / ".cache"
VENV_BIN = Path(sys.executable).parent
NEMO_MCP = VENV_BIN / "nemo-mcp"
RESULT_TAG = "BENCH-RESULT "

# The scripts run as files from bench/; the repository root makes tests.fake_backend importable.
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))
# BENCH_PROTO=<name>: import the patched copy that `bench/proto.py prepare <name>` made (in-process
# benchmarks; this module is imported before nemo_mcp by every script).
if os.environ.get("BENCH_PROTO"):
    sys.path.insert(0, str(CACHE / "proto" / os.environ["BENCH_PROTO"]))


# -- statistics ----------------------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between closest ranks."""
    if not values:
        return math.nan
    data = sorted(values)
    pos = (len(data) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def secs(seconds: float) -> str:
    return f"{seconds:.2f} s"


# -- memory --------------------------------------------------------------------------------------


def proc_status(pid: int | str = "self") -> dict[str, int]:
    """VmRSS, VmHWM … of a process from /proc, in bytes."""
    out: dict[str, int] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key.startswith("Vm") and value.strip().endswith("kB"):
                out[key] = int(value.split()[0]) * 1024
    return out


def reset_peak_rss() -> None:
    """Reset VmHWM to the current RSS (Linux >= 4.0: write 5 to clear_refs)."""
    with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
        fh.write("5")


# -- processes -----------------------------------------------------------------------------------


def bench_env(**extra: str) -> dict[str, str]:
    """The environment for child processes: ours, minus anything that could reach a real backend."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEMO_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


@contextlib.contextmanager
def url_process(
    argv: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 30
) -> Iterator[str]:
    """Run a server that prints its base URL as its first stdout line; yield that URL, then stop it."""
    proc = subprocess.Popen(
        list(argv), stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env, cwd=ROOT, text=True
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + timeout
        line = ""
        while time.monotonic() < deadline and not line.startswith("http"):
            line = proc.stdout.readline().strip()
            if not line and proc.poll() is not None:
                raise RuntimeError(f"{argv[0]} exited with {proc.returncode} before printing its URL")
        if not line.startswith("http"):
            raise RuntimeError(f"{argv[0]} printed no URL within {timeout} s")
        yield line
    finally:
        stop(proc)


def server_log() -> IO[str]:
    """Where a spawned MCP server's stderr goes: ``$BENCH_SERVER_LOG``, else nowhere."""
    return open(os.environ.get("BENCH_SERVER_LOG", os.devnull), "w", encoding="utf-8")


def stop(proc: subprocess.Popen[Any], grace: float = 5) -> None:
    """End one process we started: SIGTERM, then SIGKILL after ``grace`` seconds."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def fake_backend_argv(*args: str) -> list[str]:
    """The team's loopback fake NemoVideo backend (tests/fake_backend.py) as a separate process."""
    return [sys.executable, "-m", "tests.fake_backend", "--port", "0", *args]


# -- results -------------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the table. ``met`` is None when the figure could not be measured."""

    figure: str
    ours: str
    reference: str
    ratio: float | None
    bar: str
    met: bool | None
    note: str = ""


def emit(rows: Sequence[Row]) -> None:
    print(RESULT_TAG + json.dumps([asdict(r) for r in rows]), flush=True)


def parse_rows(output: str) -> list[Row]:
    rows: list[Row] = []
    for line in output.splitlines():
        if line.startswith(RESULT_TAG):
            rows += [Row(**r) for r in json.loads(line[len(RESULT_TAG) :])]
    return rows


def verdict(row: Row) -> str:
    if row.bar in ("–", "report"):
        return "n/a"
    return {True: "yes", False: "**no**", None: "not measured"}[row.met]


def render_table(rows: Sequence[Row]) -> str:
    lines = ["| figure | ours | reference | ratio | bar | met? |", "|---|---|---|---|---|---|"]
    for r in rows:
        ratio = "–" if r.ratio is None or math.isnan(r.ratio) else f"{r.ratio:.3g}×"
        note = f" ({r.note})" if r.note else ""
        lines.append(f"| {r.figure} | {r.ours} | {r.reference} | {ratio} | {r.bar} | {verdict(r)}{note} |")
    return "\n".join(lines)


def arg_parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="small sizes and few repeats (CI)")
    return p


def banner(title: str, quick: bool) -> None:
    print(f"== {title} ({'quick' if quick else 'full'} mode) ==", flush=True)


# -- the machine ---------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "unknown"
    with contextlib.suppress(OSError, KeyError, ValueError):
        with open("/proc/meminfo", encoding="ascii") as fh:
            info = dict(line.split(":", 1) for line in fh)
        mem = f"{int(info['MemTotal'].split()[0]) / 2**20:.1f} GiB"
    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": cpu,
        "memory": mem,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }
