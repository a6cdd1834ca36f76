"""Run every benchmark and print one markdown table: figure | ours | reference | ratio | bar | met?

    .venv/bin/python bench/run_all.py [--quick] [--write BENCHMARKS.md] [--only NAME ...]

Each script runs in its own process, one after the other (so they do not compete for the
two cores); its output is shown as it runs and its ``BENCH-RESULT`` line is collected.
``--write`` replaces the part of BENCHMARKS.md between the ``bench-table`` markers with the
table, the machine and the commands. ``--proposals`` adds rows for the proposed patches in
``bench/proposals/`` (measured on scratch copies, see ``bench/proto.py``). Exit status: 0
when every script ran (missed bars are findings, not failures), 1 when a script failed.
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from _common import BENCH, ROOT, Row, machine, parse_rows, render_table


@dataclass(frozen=True)
class Bench:
    name: str
    script: str
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    timeout: int = 600  # seconds, full mode (a third in quick mode)
    proposal: str | None = None  # a diff in bench/proposals/ to apply to a scratch copy first


SUITE = [
    Bench("startup", "startup.py", timeout=300),
    Bench("upload", "upload.py", timeout=300),
    Bench("edit_stream", "edit_stream.py"),
    Bench("concurrency", "concurrency.py"),
    Bench("export", "export_poll.py"),
    Bench("local_render", "local_render.py", timeout=2700),
    Bench("smart_render", "smart_render.py", timeout=2400),
    Bench("client_limits", "client_limits.py", timeout=120),
    Bench("asr", "asr.py", timeout=900),
    Bench("asr_long", "asr_long.py", timeout=2400),
    Bench("preview", "preview.py", timeout=1800),
    Bench("lecture45", "lecture45.py", timeout=2400),
    Bench("scenes", "scenes.py", timeout=1200),
]
# Patches under measurement, each a diff in bench/proposals/ applied to a scratch copy.
# The first four (lazy-startup, coalesce-progress, pool-limit, poll-aim-90) were measured
# here and then applied to the package; add new candidates the same way.
PROPOSALS: list[Bench] = []
START = "<!-- bench-table:start -->"
END = "<!-- bench-table:end -->"


def run(bench: Bench, quick: bool) -> list[Row]:
    if bench.proposal:
        subprocess.run(
            [sys.executable, str(BENCH / "proto.py"), "prepare", bench.proposal], check=True, cwd=ROOT
        )
    argv = [sys.executable, str(BENCH / bench.script), *(["--quick"] if quick else []), *bench.args]
    timeout = bench.timeout // 3 if quick else bench.timeout
    name = bench.name
    print(f"\n$ {' '.join(argv[1:])}    (load average {load_average()})", flush=True)
    started = time.monotonic()
    lines: list[str] = []
    proc = subprocess.Popen(
        argv,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **dict(bench.env)},
    )
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            lines.append(line)
            if not line.startswith("BENCH-RESULT"):
                print("  " + line, end="", flush=True)
        code = proc.wait(timeout=max(1, timeout - (time.monotonic() - started)))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        code = -1
    rows = parse_rows("".join(lines))
    print(f"  [{name}: {time.monotonic() - started:.0f} s, exit {code}]", flush=True)
    if code != 0 or not rows:
        rows.append(
            Row(f"{name} (script failed, exit {code})", "–", "–", None, "–", None, "see the log above")
        )
    return rows


def load_average() -> str:
    """The 1-minute load average: other work on the machine shows up in the tails (p99)."""
    return Path("/proc/loadavg").read_text().split()[0]


def machine_section(quick: bool, took: float, load: float) -> str:
    m = machine()
    mode = "--quick" if quick else "full"
    return "\n".join(
        [
            f"Measured {datetime.date.today().isoformat()}, {mode} mode, in {took / 60:.1f} minutes, on:",
            "",
            f"- CPU: {m['cpu']}, `nproc` = {m['nproc']}",
            f"- memory: {m['memory']}",
            f"- Python {m['python']}, Linux {m['kernel']}",
            f"- highest 1-minute load average seen before a script started: {load:.1f}"
            " (other work on the machine inflates the tails)",
            "",
            "Reproduce (from the repository root, after `pip install -e '.[test]'` and `pip install py-spy`):",
            "",
            "```sh",
            f".venv/bin/python bench/run_all.py{' --quick' if quick else ''} --proposals --write BENCHMARKS.md",
            "```",
        ]
    )


def write(path: Path, table: str, quick: bool, took: float, load: float) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else f"# Benchmarks\n\n{START}\n{END}\n"
    if START not in text or END not in text:
        text += f"\n{START}\n{END}\n"
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    block = f"{START}\n{table}\n\n{machine_section(quick, took, load)}\n{END}"
    path.write_text(head + block + tail, encoding="utf-8")
    print(f"updated {path}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes and few repeats (CI)")
    p.add_argument("--write", type=Path, default=None, help="update the table section of this file")
    p.add_argument("--proposals", action="store_true", help="also measure the proposed patches")
    p.add_argument("--only", nargs="*", default=None, help="run only these (names as in the log)")
    args = p.parse_args()
    suite = SUITE + (PROPOSALS if args.proposals else [])
    if args.only:
        suite = [b for b in suite if b.name in args.only]
    started = time.monotonic()
    rows: list[Row] = []
    loads: list[float] = []
    for bench in suite:
        loads.append(float(load_average()))
        rows += run(bench, args.quick)
    took = time.monotonic() - started
    table = render_table(rows)
    print(f"\n{table}\n\n({took / 60:.1f} minutes)")
    if args.write:
        write(args.write, table, args.quick, took, max(loads))
    return 1 if any("script failed" in r.figure for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
