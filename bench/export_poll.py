"""Export completion: time from a render finishing to the waiting call returning; ours vs a fixed 30 s poll.

Renders finish at random times between 30 and 90 s (seeded RNG) and report progress
linearly from 0 to 100 until then. Ours is ``service.exports.wait`` (its
``next_poll_delay`` aims the next poll at the finish the progress predicts); the reference
polls every 30 s, as the vendor documents. Both start polling right after the render starts.

* simulated: 100 renders each, on a virtual clock (the manager's injectable ``sleep`` and
  ``clock``), against a real ``NemoClient`` whose HTTP transport answers from the model;
  a second progress model (progress stalls around 90 % until the render is done, as the
  team's fake backend and Remotion's stitching do) is reported for information;
* real time (full mode): a few renders on the wall clock against ``bench/_backend.py``
  served in this process, ours and the fixed poll side by side on renders of equal length.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import httpx
from _common import Row, arg_parser, banner, emit, median
from pydantic import SecretStr

from nemo_mcp.api.client import NemoClient
from nemo_mcp.api.models import RenderStatus
from nemo_mcp.config import Settings
from nemo_mcp.service import SessionManager, exports
from nemo_mcp.service.store import RenderRecord, Store

SEED = 20261121
FIXED_POLL = 30.0
BAR_LATENCY = 0.25
BAR_REQUESTS = 2.0
Progress = Callable[[float], float]  # fraction of the render time elapsed -> reported progress


def linear(fraction: float) -> float:
    return 100 * fraction


def stalls_at_90(fraction: float) -> float:
    return 5 + 85 * fraction


class VirtualTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await anyio.lowlevel.checkpoint()


class ModelRender:
    """An HTTP transport answering render polls from a render model on the virtual clock."""

    def __init__(self, vt: VirtualTime, duration: float, progress: Progress) -> None:
        self.vt, self.duration, self.progress = vt, duration, progress
        self.started = vt.now
        self.requests = 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        fraction = (self.vt.now - self.started) / self.duration
        data: dict[str, Any] = {"id": "render_bench", "status": "processing", "progress": 0.0}
        if fraction >= 1:
            data |= {"status": "completed", "progress": 100, "outputUrl": "https://cdn.example/r.mp4"}
        else:
            data["progress"] = round(min(99.0, self.progress(fraction)), 2)
        return httpx.Response(200, json={"success": True, "data": data})


async def simulate(duration: float, progress: Progress, *, ours: bool, store: Store) -> tuple[float, int]:
    """One render on a virtual clock: (seconds from completion to return, requests made)."""
    vt = VirtualTime()
    model = ModelRender(vt, duration, progress)
    transport = httpx.MockTransport(model.handler)
    settings = Settings(token=SecretStr("bench"), api_base="https://render.bench.example")
    token = SecretStr("bench")
    if ours:
        mgr = SessionManager(settings, store=store, transport=transport, sleep=vt.sleep, clock=vt.clock)
        record = RenderRecord(render_id="render_bench", backend=mgr.backend, session_id="s", status="pending")
        _, status, finished = await exports.wait(mgr, record, wait_seconds=900)
        await mgr.client.aclose()
    else:
        client = NemoClient(
            base_url=settings.api_base, profile=settings.profile, client_id="bench", transport=transport
        )
        status = RenderStatus(status="pending")
        while True:
            status = await client.get_render(token, "render_bench")
            if status.finished:
                break
            await vt.sleep(FIXED_POLL)
        finished = True
        await client.aclose()
    assert finished
    assert status.status == "completed"
    return vt.now - duration, model.requests


async def simulated(renders: int, progress: Progress) -> dict[str, list[float]]:
    rng = random.Random(SEED)  # noqa: S311 (a benchmark's reproducible workload)
    durations = [rng.uniform(30, 90) for _ in range(renders)]
    out: dict[str, list[float]] = {"ours": [], "fixed": [], "ours_req": [], "fixed_req": []}
    with tempfile.TemporaryDirectory(prefix="nemo-bench-ex-") as tmp:
        store = Store(Path(tmp) / "state.sqlite3")
        for d in durations:
            for who in ("ours", "fixed"):
                latency, requests = await simulate(d, progress, ours=who == "ours", store=store)
                out[who].append(latency)
                out[f"{who}_req"].append(requests)
        store.close()
    return out


# -- real time -----------------------------------------------------------------------------------


async def real_pair(duration: float) -> dict[str, float]:
    """Ours and the fixed poll on two renders of ``duration`` s each, on the wall clock."""
    from _backend import BenchBackend

    from tests.fake_backend import serve

    fake = BenchBackend()
    fake.configure(render_seconds=duration)
    result: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="nemo-bench-ex-") as tmp:
        clip = Path(tmp) / "clip.mp4"
        clip.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(1024))
        async with serve(fake) as url:
            settings = Settings(api_base=url, home=Path(tmp) / "home")
            mgr = SessionManager(settings)
            from nemo_mcp.api.multipart import PathSource

            await mgr.upload_files([PathSource(clip)], None)
            sid = mgr.current_project_id()
            _, state = await mgr.state(sid)
            record = await exports.start(mgr, sid, fmt="mp4", quality="high")
            token = await mgr.token()
            fixed = await mgr.client.start_render(
                token, str(sid), state.state.draft or {}, render_id=f"render_fixed_{int(duration)}"
            )
            assert fixed.id is not None
            fixed_id = fixed.id

            async def run_ours() -> None:
                _, status, finished = await exports.wait(mgr, record, wait_seconds=300)
                done = time.monotonic()
                assert finished
                assert status.status == "completed"
                result["ours"] = done - (fake.renders[record.render_id].started + duration)
                result["ours_req"] = fake.renders[record.render_id].polls

            async def run_fixed() -> None:
                while True:
                    status = await mgr.client.get_render(token, fixed_id)
                    if status.finished:
                        break
                    await anyio.sleep(FIXED_POLL)
                result["fixed"] = time.monotonic() - (fake.renders[fixed_id].started + duration)
                result["fixed_req"] = fake.renders[fixed_id].polls

            async with anyio.create_task_group() as tg:
                tg.start_soon(run_ours)
                tg.start_soon(run_fixed)
            await mgr.aclose()
    return result


async def real_time(renders: int) -> list[dict[str, float]]:
    rng = random.Random(SEED + 1)  # noqa: S311
    durations = [rng.uniform(30, 90) for _ in range(renders)]
    results: list[dict[str, float]] = []

    async def one(d: float) -> None:
        r = await real_pair(d)
        r["duration"] = d
        results.append(r)

    async with anyio.create_task_group() as tg:
        for d in durations:
            tg.start_soon(one, d)
    return results


def main() -> None:
    p = arg_parser(__doc__.split("\n\n")[0])
    p.add_argument("--renders", type=int, default=100, help="simulated renders")
    p.add_argument("--real", type=int, default=None, help="real-time renders (default: 0 quick, 4 full)")
    p.add_argument("--label", default="", help="suffix for the figure names")
    args = p.parse_args()
    label = f" {args.label}" if args.label else ""
    real_n = args.real if args.real is not None else (0 if args.quick else 4)
    banner(f"export completion, {args.renders} simulated renders + {real_n} real-time", args.quick)
    rows: list[Row] = []
    for name, model in (("linear progress", linear), ("progress stalls near 90 %", stalls_at_90)):
        r = anyio.run(simulated, args.renders, model)
        ours, fixed = median(r["ours"]), median(r["fixed"])
        ours_req, fixed_req = sum(r["ours_req"]), sum(r["fixed_req"])
        lat_ratio, req_ratio = ours / fixed, ours_req / fixed_req
        print(f"[{name}] completion -> return: ours median {ours:.2f} s (max {max(r['ours']):.2f} s), "
              f"fixed 30 s poll median {fixed:.2f} s (max {max(r['fixed']):.2f} s); ratio {lat_ratio:.3f}")  # fmt: skip
        print(f"[{name}] requests: ours {ours_req} ({median(r['ours_req']):g}/render), "
              f"fixed {fixed_req} ({median(r['fixed_req']):g}/render); ratio {req_ratio:.2f}")  # fmt: skip
        bar = name == "linear progress"
        rows.append(
            Row(
                f"Export completion→return, {args.renders} simulated renders ({name}){label}",
                f"{ours:.2f} s median",
                f"{fixed:.2f} s (fixed 30 s poll)",
                lat_ratio,
                f"≤ {BAR_LATENCY}×" if bar else "–",
                lat_ratio <= BAR_LATENCY if bar else None,
                "" if bar else "informational",
            )
        )
        rows.append(
            Row(
                f"Export poll requests, simulated ({name}){label}",
                f"{ours_req} ({median(r['ours_req']):g}/render)",
                f"{fixed_req} ({median(r['fixed_req']):g}/render)",
                req_ratio,
                f"≤ {BAR_REQUESTS}×" if bar else "–",
                req_ratio <= BAR_REQUESTS if bar else None,
                "" if bar else "informational",
            )
        )
    if real_n:
        results = anyio.run(real_time, real_n)
        for res in sorted(results, key=lambda x: x["duration"]):
            print(f"[real time] render of {res['duration']:.1f} s: ours returned {res['ours']:.2f} s after "
                  f"completion ({res['ours_req']:g} polls), fixed poll {res['fixed']:.2f} s ({res['fixed_req']:g} polls)")  # fmt: skip
        ours = median([x["ours"] for x in results])
        fixed = median([x["fixed"] for x in results])
        ours_req = sum(x["ours_req"] for x in results)
        fixed_req = sum(x["fixed_req"] for x in results)
        rows.append(
            Row(
                f"Export completion→return, {real_n} real-time renders{label}",
                f"{ours:.2f} s median, {ours_req:g} polls",
                f"{fixed:.2f} s, {fixed_req:g} polls (fixed 30 s)",
                ours / fixed,
                f"≤ {BAR_LATENCY}×, polls ≤ {BAR_REQUESTS}×",
                ours / fixed <= BAR_LATENCY and ours_req <= BAR_REQUESTS * fixed_req,
                f"poll ratio {ours_req / fixed_req:.2f}×",
            )
        )
    emit(rows)


if __name__ == "__main__":
    os.chdir(Path(__file__).resolve().parents[1])
    main()
