"""Scene detection of the 45-minute lecture: keyframes first against scdet over every frame, side by side.

The lecture is ``bench/lecture45.py``'s (cached in ``bench/.cache/media``; full: 45 minutes of
1080p at 30 fps, x264 with a keyframe every 2 s and B-frames; quick: its 120 s version). The engine's
``detect_scenes`` (keyframe pass, then only the intervals that change) and the full pass it replaced
(``find_scene_changes(method="full")``: every frame decoded and scored) run in turn, ``--repeat``
times each, alternating, so both see the same load. Printed: wall seconds and CPU seconds (user +
system of this process and its ffmpeg children: contention on a shared machine disturbs it far
less than the wall clock), and whether both report the same change times.
"""

from __future__ import annotations

import resource
import time
from pathlib import Path

import anyio
from _common import Row, arg_parser, banner, emit, median, secs
from lecture45 import make_lecture

from nemo_mcp.engine.media import SceneSearch, find_scene_changes

BAR_S = 25.0
BAR_MINUTES = 45


def _cpu_s() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _timed(path: Path, method: str) -> tuple[float, float, SceneSearch]:
    """Wall and CPU seconds of one search, and what it found."""
    wall, cpu = time.perf_counter(), _cpu_s()
    found = anyio.run(lambda: find_scene_changes(path, method="full" if method == "full" else "auto"))
    return time.perf_counter() - wall, _cpu_s() - cpu, found


def main() -> None:
    p = arg_parser(__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=1, help="runs of each, alternating (default 1)")
    args = p.parse_args()
    seconds = 120 if args.quick else BAR_MINUTES * 60
    banner(
        f"scene detection of the {seconds / 60:g}-minute 1080p lecture: keyframes first vs every frame",
        args.quick,
    )
    lecture = make_lecture(seconds)
    runs: dict[str, list[tuple[float, float, SceneSearch]]] = {"keyframes": [], "full": []}
    for n in range(args.repeat):
        for method in ("keyframes", "full"):
            wall, cpu, found = _timed(lecture, method)
            runs[method].append((wall, cpu, found))
            print(f"  {n + 1}. {method:<9} {secs(wall):>9} wall {secs(cpu):>9} CPU  "
                  f"{len(found.changes)} changes (path {found.method}, {found.keyframes} keyframes, "
                  f"{found.spans} spans refined)", flush=True)  # fmt: skip
    ours, full = runs["keyframes"], runs["full"]
    wall, cpu = median([r[0] for r in ours]), median([r[1] for r in ours])
    full_wall, full_cpu = median([r[0] for r in full]), median([r[1] for r in full])
    same = all(r[2].changes == full[0][2].changes for r in ours + full)
    took = ours[0][2]
    print(f"keyframes first {secs(wall)} wall / {secs(cpu)} CPU; every frame {secs(full_wall)} wall / "
          f"{secs(full_cpu)} CPU; {full_wall / wall:.1f}x (wall), {full_cpu / cpu:.1f}x (CPU); "
          f"same changes: {same} ({len(took.changes)}: {[t / 1000 for t in took.changes]})")  # fmt: skip
    at_bar = seconds == BAR_MINUTES * 60
    what = f"{seconds / 60:g}-min 1080p lecture"
    note = f"path {took.method}, {took.keyframes} keyframes, {took.spans} spans refined; machine shared"
    emit([
        Row(f"Scene detection, keyframes first vs every frame ({what}), wall", secs(wall),
            f"{secs(full_wall)} (every frame)", full_wall / wall,
            f"≤ {BAR_S:.0f} s" if at_bar else "report", wall <= BAR_S if at_bar else None, note),
        Row(f"Scene detection, keyframes first vs every frame ({what}), CPU", secs(cpu),
            f"{secs(full_cpu)} (every frame)", full_cpu / cpu, "report", None, "user + system, ffmpeg included"),
        Row(f"Scene detection finds the same changes as every frame ({what})",
            "identical" if same else "differ", f"{len(full[0][2].changes)} changes", None, "identical", same),
    ])  # fmt: skip


if __name__ == "__main__":
    main()
