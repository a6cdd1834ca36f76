"""Running a render: the only step that writes, with a ``.part`` file and nothing left on failure."""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from nemo_mcp.engine.ffmpeg import FFmpegError, run_ffmpeg
from nemo_mcp.engine.limits import render_time_limit_s, too_long
from nemo_mcp.engine.media import MediaError, probe
from nemo_mcp.engine.render.command import Progress, ProgressCallback, check_quality, prepare
from nemo_mcp.engine.render.plan import RenderError, SourceMedia, make_plan

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderResult:
    """The finished file, as probed after rendering."""

    path: Path
    duration_ms: int
    size: int
    width: int
    height: int


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
    argv = await anyio.to_thread.run_sync(lambda: prepare(plan, part, quality=quality, work_dir=work_dir))
    progress = Progress(plan.duration_s, on_progress)
    started = time.monotonic()
    try:
        try:
            with anyio.fail_after(limit):
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
        os.replace(part, out_path)
    except BaseException:
        # Failure or cancellation: no half-written file may be left for anyone to mistake for an export.
        part.unlink(missing_ok=True)
        raise
    logger.info(
        "rendered %s: %.1f s of %dx%d in %.1f s", out_path.name, info.duration_ms / 1000,
        plan.width, plan.height, time.monotonic() - started,
    )  # fmt: skip
    await progress.done()
    return RenderResult(
        path=out_path,
        duration_ms=info.duration_ms,
        size=size,
        width=info.width or plan.width,
        height=info.height or plan.height,
    )
