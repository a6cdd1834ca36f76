"""Running a render: the only step that writes, with a ``.part`` file and nothing left on failure."""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from nemo_mcp.engine.ffmpeg import FFmpegError, run_ffmpeg
from nemo_mcp.engine.limits import render_time_limit_s, too_long
from nemo_mcp.engine.media import MediaError, probe
from nemo_mcp.engine.render.command import QUALITY_PRESETS, Progress, ProgressCallback, check_quality, prepare
from nemo_mcp.engine.render.plan import Plan, RenderError, SourceMedia, make_plan
from nemo_mcp.engine.render.smart import Route, SmartJob, smart_job
from nemo_mcp.engine.render.smart_mux import mux_command, sound_command, sound_to_copy, write_side_files

logger = logging.getLogger(__name__)
_T = TypeVar("_T")
_PROGRESS_EVERY_S = 0.5


@dataclass(frozen=True)
class RenderResult:
    """The finished file, as probed after rendering."""

    path: Path
    duration_ms: int
    size: int
    width: int
    height: int
    path_taken: str = "full"  # "smart": the source's pictures copied, only the cuts re-encoded
    reason: str = ""  # why the full render ran
    captions: str = ""  # "track": a subtitle track and a sidecar .srt; "burned": on the picture
    sidecar: Path | None = None  # the .srt next to the MP4, when captions are a track


def _part_path(out_path: Path) -> Path:
    return out_path.with_name(f"{out_path.name}.{secrets.token_hex(4)}.part")


async def render_draft(
    draft: dict[str, Any],
    media: Mapping[str, SourceMedia],
    out_path: Path,
    *,
    quality: str = "high",
    on_progress: ProgressCallback | None = None,
    work_dir: Path,
    time_limit_s: float | None = None,
) -> RenderResult:
    """Render ``draft`` to ``out_path``; on success ``on_progress`` has last been called with 1.0.

    ``out_path`` appears only when complete: ffmpeg writes a ``.part`` file beside it that
    is renamed on success and removed on any failure or cancellation (ffmpeg is killed first).
    A timeline over the engine's cap is refused, and ffmpeg is stopped after ``time_limit_s``
    (default: :func:`render_time_limit_s` of the timeline). Raises :class:`RenderError` with a
    message for the user.
    """
    out_path = Path(out_path)
    quality = check_quality(quality)
    plan = make_plan(draft, media)
    if problem := too_long(plan.duration_ms):
        raise RenderError(problem)
    limit = render_time_limit_s(plan.duration_s) if time_limit_s is None else time_limit_s
    await anyio.Path(work_dir).mkdir(parents=True, exist_ok=True)
    await anyio.Path(out_path.parent).mkdir(parents=True, exist_ok=True)
    part = _part_path(out_path)
    started = time.monotonic()
    progress = Progress(plan.duration_s, on_progress)
    sidecar_part = part.with_name(f"{part.stem}.srt.part")  # swept with the other .part files
    stop = threading.Event()
    try:
        try:
            with anyio.fail_after(limit):
                route, job = await _in_thread(lambda: _smart_job(plan), stop)
                if job is not None:
                    route = await _render_smart(job, plan, part, quality, work_dir, stop, progress)
                if route.path == "full":
                    argv = await anyio.to_thread.run_sync(
                        lambda: prepare(plan, part, quality=quality, work_dir=work_dir)
                    )
                    await run_ffmpeg(argv, on_stdout_line=progress.line)
        except FFmpegError as exc:
            raise RenderError(f"the export failed: {exc}") from exc
        except TimeoutError:
            raise RenderError(
                f"the export was stopped after {limit / 60:.0f} min, its time limit for a timeline of "
                f"{plan.duration_s / 60:.0f} min; export at a lower quality, or a shorter part"
            ) from None
        try:
            info = await probe(part)
        except MediaError as exc:
            raise RenderError(f"the export produced an unreadable file ({exc}); try again") from exc
        size = (await anyio.Path(part).stat()).st_size
        sidecar = _sidecar(plan, work_dir, sidecar_part)
        os.replace(part, out_path)
        if sidecar is not None:
            sidecar = out_path.with_suffix(".srt")
            os.replace(sidecar_part, sidecar)
    except BaseException:
        # Failure or cancellation: no half-written file may be left for anyone to mistake for an export.
        part.unlink(missing_ok=True)
        sidecar_part.unlink(missing_ok=True)
        raise
    logger.info(
        "rendered %s (%s%s): %.1f s of %dx%d in %.1f s", out_path.name, route.path,
        f": {route.reason}" if route.reason else "", info.duration_ms / 1000,
        plan.width, plan.height, time.monotonic() - started,
    )  # fmt: skip
    await progress.done()
    return RenderResult(
        path=out_path,
        duration_ms=info.duration_ms,
        size=size,
        width=info.width or plan.width,
        height=info.height or plan.height,
        path_taken=route.path,
        reason=route.reason,
        captions=_captions(plan),
        sidecar=sidecar,
    )


async def _in_thread(work: Callable[[], _T], stop: threading.Event) -> _T:
    """``work()`` in a worker thread; on cancellation ``stop`` is set and the thread waited for."""
    finished = threading.Event()

    def run() -> _T:
        try:
            return work()
        finally:
            finished.set()

    try:
        return await anyio.to_thread.run_sync(run, abandon_on_cancel=True)
    except BaseException:
        stop.set()
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(finished.wait)
        raise


def _smart_job(plan: Plan) -> tuple[Route, SmartJob | None]:
    try:
        return smart_job(plan)
    except Exception as exc:  # a source PyAV cannot index is still rendered, the usual way
        logger.warning("smart render not possible, rendering in full: %s", exc)
        return Route("full", "the source's packets could not be read"), None


async def _render_smart(
    job: SmartJob,
    plan: Plan,
    part: Path,
    quality: str,
    work_dir: Path,
    stop: threading.Event,
    progress: Progress,
) -> Route:
    """Write the picture (a thread) while ffmpeg renders the sound, then join them into ``part``.

    A sound that only needs its source's own (:func:`sound_to_copy`) is not rendered: the join
    copies it. The thread is told to stop on cancellation and waited for, so nothing writes into
    the work folder afterwards. A picture that cannot be written (a damaged packet) leaves the
    full render to run.
    """
    folder = work_dir / "smart"
    await anyio.Path(folder).mkdir(parents=True, exist_ok=True)
    picture, sound = folder / "picture.mp4", folder / "sound.m4a"
    copied = await anyio.to_thread.run_sync(lambda: sound_to_copy(plan))
    sound_argv = None
    if copied is not None:
        await anyio.to_thread.run_sync(lambda: write_side_files(plan, work_dir))
    else:
        sound_argv = await anyio.to_thread.run_sync(lambda: sound_command(plan, sound, work_dir=work_dir))
    crf, size = QUALITY_PRESETS[quality][1], (plan.width, plan.height)
    failed: list[Exception] = []
    frames = [0]  # written so far, told by the picture thread

    async def write_picture() -> None:
        started = time.monotonic()
        try:
            summary = await _in_thread(
                lambda: job.write(picture, size=size, crf=crf, stop=stop.is_set, written=frames.append), stop
            )
            logger.info("smart render: picture in %.1f s, %s", time.monotonic() - started, summary)
        except RenderError:
            raise  # told to stop: the render is being cancelled anyway
        except Exception as exc:
            logger.warning("smart render failed, rendering in full: %s", exc)
            failed.append(exc)

    async def frames_done() -> None:
        await progress.line(f"out_time_us={int(frames[-1] / plan.fps * 1_000_000)}")

    if problem := await _beside_picture(write_picture, sound_argv, progress, frames_done):
        raise problem
    if failed:
        return Route("full", "the source's pictures could not be copied")
    sound_in = sound if copied is None else copied
    await run_ffmpeg(mux_command(plan, picture, sound_in, part, work_dir=work_dir, copied=copied is not None))
    return Route("smart")


async def _beside_picture(
    write_picture: Callable[[], Coroutine[Any, Any, None]],
    sound_argv: list[str] | None,
    progress: Progress,
    frames_done: Callable[[], Awaitable[None]],
) -> FFmpegError | None:
    """Write the picture while ffmpeg renders the sound; with no sound to render, while its frames are
    reported as the progress. A failed sound pass stops the picture and is returned, to be raised
    plainly rather than inside the task group's exception group."""
    async with anyio.create_task_group() as group:
        if sound_argv is None:
            group.start_soon(_every, _PROGRESS_EVERY_S, frames_done)
            try:
                await write_picture()
            finally:
                group.cancel_scope.cancel()
            return None
        group.start_soon(write_picture)
        started = time.monotonic()
        try:
            await run_ffmpeg(sound_argv, on_stdout_line=progress.line)
        except FFmpegError as exc:
            group.cancel_scope.cancel()
            return exc
        logger.info("smart render: sound in %.1f s", time.monotonic() - started)
    return None


async def _every(seconds: float, call: Callable[[], Awaitable[None]]) -> None:
    while True:
        await call()
        await anyio.sleep(seconds)


def _captions(plan: Plan) -> str:
    if any(text.soft for text in plan.texts):
        return "track"
    return "burned" if plan.texts else ""


def _sidecar(plan: Plan, work_dir: Path, part: Path) -> Path | None:
    """The soft captions' ``.srt`` copied beside the MP4's part file, to be renamed along with it."""
    source = work_dir / "captions.srt"
    if not any(text.soft for text in plan.texts) or not source.is_file():
        return None
    shutil.copyfile(source, part)
    return part
