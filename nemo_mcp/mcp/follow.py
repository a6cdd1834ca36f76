"""Following a job the session manager owns, within a tool call's wait budget, with progress."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from nemo_mcp.mcp.progress import EditProgress, Progress, with_keepalive
from nemo_mcp.service import (
    edits,
    footage,
    jobs,
)


def mb(n: int) -> str:
    return f"{n / 2**20:.1f}"


async def follow_transfer(
    progress: Progress, job: jobs.Transfer[Any], deadline: float, *, verb: str, bar: bool
) -> bool:
    """Show the transfer's bytes until it ends or ``deadline`` passes; whether it finished.

    The transfer belongs to the session manager, so the deadline leaves it going; a cancelled
    call (the user pressed stop) stops it. ``bar`` reports bytes as the progress value itself.
    """

    async def show() -> None:
        shown, stage = -1, None
        while True:
            # Taken before reporting: a change while a report is being sent is not missed.
            moved, ended = job.watch(), job.done.is_set()
            if job.stage != stage:
                stage = job.stage
                if stage:
                    await progress.say(stage)
            elif job.sent != shown:
                shown = job.sent
                if job.total:
                    line = f"{verb} {mb(shown)} of {mb(job.total)} MB"
                    await progress.say(line, value=shown if bar else None, total=job.total if bar else None)
                elif shown:
                    await progress.say(f"{verb} {mb(shown)} MB")
            if ended:
                return
            await moved.wait()

    completed = False
    try:
        with anyio.move_on_after(max(0.0, deadline - anyio.current_time())):
            await show()
        completed = True
    finally:
        if not completed:
            job.cancel()
    return job.done.is_set()


async def follow_edit(progress: Progress, job: edits.EditJob, budget: float) -> bool:
    """Show the edit's progress for at most ``budget`` seconds; whether it finished.

    The edit belongs to the session manager, so running out of budget leaves it going; a
    cancelled call (the user pressed stop) stops it.
    """
    relay = EditProgress(progress)

    async def follow() -> None:
        with anyio.move_on_after(budget), job.listen() as events:
            async for event in events:
                await relay.on_event(event)
            await job.done.wait()

    return await follow_job(progress, job, follow)


async def follow_job(progress: Progress, job: jobs.Job[Any], follow: Callable[[], Awaitable[None]]) -> bool:
    """Run ``follow`` (which watches ``job`` within its budget) with keepalives; whether the job finished.

    Only a cancelled call (the user pressed stop) stops the job: a spent budget leaves it going.
    """
    completed = False
    try:
        await with_keepalive(progress, follow)
        completed = True
    finally:
        if not completed:
            job.cancel()
    return job.done.is_set()


async def follow_reading(progress: Progress, job: footage.FootageJob, budget: float) -> bool:
    """Relay the analysis' progress for at most ``budget`` seconds; whether it finished.

    The reading belongs to the session manager: running out of budget leaves it going; a
    cancelled call (the user pressed stop) stops it.
    """

    async def follow() -> None:
        with anyio.move_on_after(budget):
            said = ""
            while not job.done.is_set():
                if (now := job.progress()) and now != said:
                    said = now
                    await progress.say(now)
                with anyio.move_on_after(1.0):
                    await job.done.wait()

    return await follow_job(progress, job, follow)
