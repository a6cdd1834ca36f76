"""Exports through the render proxy: start, poll and cancel jobs that run ``render_draft`` in the background.

A cancelled export reports ``status: "cancelled"`` (the contract lists only pending,
processing, completed and failed; the client's model knows ``cancelled``, and calling a
cancelled job "failed" would be untrue). Two exports run at a time; more wait as ``pending``.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response

from nemo_mcp.api.models import new_render_id
from nemo_mcp.draft import timeline_ms
from nemo_mcp.engine import media as media_mod
from nemo_mcp.engine import render as render_mod
from nemo_mcp.engine.ffmpeg import scrub_paths
from nemo_mcp.engine.http.auth import session_for, user_for
from nemo_mcp.engine.http.engine import Engine, RenderJob, engine_of
from nemo_mcp.engine.http.envelopes import ApiFailure, coded, iso, json_body, render_ok
from nemo_mcp.engine.http.files import RENDER, base_url, file_url
from nemo_mcp.engine.http.sessions import draft_of, list_of
from nemo_mcp.engine.limits import too_long
from nemo_mcp.engine.pinning import FileChanged
from nemo_mcp.engine.store import RenderRecord
from nemo_mcp.redact import redact

logger = logging.getLogger(__name__)

QUALITY_ALIASES = {
    "high": "high", "best": "high", "1080p": "high", "standard": "standard", "medium": "standard",
    "normal": "standard", "draft": "draft", "low": "draft", "fast": "draft", "preview": "draft",
}  # fmt: skip
# The render's share of an export's progress (percent); the check of the MP4 takes the rest.
RENDER_SHARE = 90.0
_RENDER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def _refused(status: int, message: str) -> ApiFailure:
    return coded(status, message, status=status, render=True)


def _render_view(record: RenderRecord, base: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": record.render_id,
        "status": record.status,
        "progress": round(record.progress),
        "createdAt": iso(record.created),
        "completedAt": iso(record.completed),
    }
    if record.status == "completed" and record.output_path:
        url = file_url(base, RENDER, record.file_key, f"{record.render_id}.mp4")
        data["outputUrl"] = url
        data["output"] = {
            "url": url,
            "duration": round((record.duration_ms or 0) / 1000, 3),
            "size": record.size,
        }
        if record.checks:
            data["checks"] = json.loads(record.checks)
        route = json.loads(record.route) if record.route else {}
        if route:
            data["render"] = route
        if route.get("captions") == "track":
            # The sidecar .srt, served beside the MP4 under the same key.
            data["output"]["captionsUrl"] = file_url(base, RENDER, record.file_key, f"{record.render_id}.srt")
    if record.error:
        data["error"] = record.error
    return data


@dataclass(frozen=True)
class _Order:
    """A validated export request."""

    render_id: str
    quality: str
    draft: dict[str, Any] | None


def _session_id(body: Any) -> str:
    """The session an export request names (checked before the rest of the request)."""
    if not isinstance(body, dict):
        raise _refused(400, "Send a JSON object.")
    sid = body.get("sessionId") or body.get("session_id")
    if not isinstance(sid, str) or not sid:
        raise _refused(400, "sessionId is required.")
    return sid


def _order(body: dict[str, Any]) -> _Order:
    """The export's id, quality and optional draft, checked."""
    render_id = body.get("id")
    if render_id is None:
        render_id = new_render_id()
    if not isinstance(render_id, str) or not _RENDER_ID.match(render_id):
        raise _refused(400, "id must be 1-100 letters, digits, '.', '_' or '-'.")
    raw_output = body.get("output")
    output: dict[str, Any] = raw_output if isinstance(raw_output, dict) else {}
    fmt = str(output.get("format") or "mp4").lower()
    if fmt != "mp4":
        raise _refused(400, f"The local engine exports mp4 only, not {fmt[:20]}.")
    quality = QUALITY_ALIASES.get(str(output.get("quality") or "high").lower())
    if quality is None:
        raise _refused(400, f"quality must be one of {', '.join(render_mod.QUALITY_PRESETS)}.")
    given = body.get("draft")
    return _Order(render_id, quality, given if isinstance(given, dict) else None)


def _checked_draft(
    engine: Engine, session_id: str, posted: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[str, render_mod.SourceMedia]]:
    """The draft to export (the posted one, else the session's) and its media, or a refusal.

    ffmpeg sees only a draft that plans: every clip, sound and image names media of this session,
    the canvas and times are in range, and the timeline is within the engine's cap. A posted
    draft is a client's word, so it goes through exactly the checks the engine's own draft does.
    """
    state, _ = engine.store.load_state(session_id)
    draft = posted if posted is not None else draft_of(state)
    if timeline_ms(draft) <= 0:
        raise _refused(400, "There is nothing to export yet: the timeline is empty. Upload a video first.")
    refuse_changed(engine, session_id, draft)
    sources = {
        ref.media_id: render_mod.SourceMedia(ref.path, ref.info)
        for ref in engine.media_refs(session_id).values()
    }
    try:
        plan = render_mod.make_plan(draft, sources)
    except render_mod.RenderError as exc:
        raise _refused(400, f"This draft cannot be exported: {scrub_paths(str(exc))}.") from None
    if problem := too_long(plan.duration_ms):
        raise _refused(400, f"This draft cannot be exported: {problem}.")
    return draft, sources


def refuse_changed(engine: Engine, session_id: str, draft: dict[str, Any]) -> None:
    """Refuse, naming the file and the fix, when the draft uses a file changed since its upload."""
    used = json.dumps(draft)  # media ids are random tokens: finding one in the text means it is used
    for record in engine.changed_media(session_id):
        if record.media_id in used:
            raise _refused(409, f"This draft cannot be exported: {FileChanged(record.filename)}.")


async def start_render(request: Request) -> Response:
    """``POST /api/render/proxy/lambda``: start an export (or report the one already under that id)."""
    engine = engine_of(request)
    user_id = user_for(engine, request, render=True)
    body = await json_body(request)
    session = session_for(engine, user_id, _session_id(body), render=True)
    order = _order(body)
    existing = engine.store.get_render(order.render_id)
    if existing is not None:
        if existing.user_id != user_id or existing.session_id != session.session_id:
            raise _refused(409, "That render id is already used by another export.")
        return render_ok(_render_view(existing, base_url(request)))
    draft, sources = _checked_draft(engine, session.session_id, order.draft)
    record = engine.store.create_render(
        order.render_id, session.session_id, user_id, owner=engine.owner.instance
    )
    if engine.task_group is None:
        raise _refused(503, "The local engine is shutting down.")
    job = RenderJob(anyio.CancelScope())
    engine.jobs[order.render_id] = job
    export = _Export(engine, record, draft, sources, order.quality, base_url(request))
    engine.task_group.start_soon(export.run, job)
    return render_ok({"id": order.render_id, "status": "pending", "progress": 0})


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


@dataclass
class _Export:
    """One export job: renders the draft, then records the outcome on the render and in the state."""

    engine: Engine
    record: RenderRecord
    draft: dict[str, Any]
    sources: dict[str, render_mod.SourceMedia]
    quality: str
    base: str

    @property
    def render_id(self) -> str:
        return self.record.render_id

    @property
    def out_path(self) -> Path:
        return self.engine.render_dir / f"{self.render_id}.mp4"

    def _remove_outputs(self) -> None:
        self.out_path.unlink(missing_ok=True)
        self.out_path.with_suffix(".srt").unlink(missing_ok=True)

    def _update(self, **changes: Any) -> None:
        self.engine.store.update_render(self.render_id, **changes)

    async def run(self, job: RenderJob) -> None:
        """Render under the engine's limiter; whatever happens, leave the render in a final state."""
        work = self.engine.work_dir / self.render_id
        try:
            with job.scope:
                async with self.engine.render_limiter:
                    await self._render(work)
            if job.scope.cancelled_caught:
                self._remove_outputs()
                self._update(status="cancelled", error="The export was cancelled.")
        finally:
            with anyio.CancelScope(shield=True):
                self._fail_if_unfinished()
                await anyio.to_thread.run_sync(_remove_tree, work)
                self.engine.jobs.pop(self.render_id, None)
                job.done.set()

    async def _render(self, work: Path) -> None:
        self._update(status="processing", progress=1)
        # It may have waited for a free slot: the files it reads in place must still be the checked ones.
        for record in self.engine.changed_media(self.record.session_id):
            if record.media_id in self.sources:
                self._update(status="failed", error=f"{FileChanged(record.filename)}.")
                return

        async def progress(fraction: float) -> None:
            self._update(progress=max(1.0, min(99.0, fraction * RENDER_SHARE)))

        try:
            result = await render_mod.render_draft(
                self.draft,
                self.sources,
                self.out_path,
                quality=self.quality,
                on_progress=progress,
                work_dir=work,
            )
        except media_mod.MediaError as exc:
            self._update(status="failed", error=redact(str(exc))[:500])
            return
        except Exception as exc:
            # A background job must never take the engine down; report it on the job instead.
            logger.warning("local engine: render %s failed: %s", self.render_id, exc, exc_info=True)
            self._update(status="failed", error=redact(scrub_paths(str(exc)))[:500] or "failed")
            return
        checks = await self._check(result.path)
        self._update(
            status="completed",
            progress=100,
            output_path=str(result.path),
            duration_ms=result.duration_ms,
            size=result.size,
            checks=json.dumps(checks) if checks is not None else None,
            route=json.dumps(_route(result)),
        )
        self._note_generated(result)

    async def _check(self, path: Path) -> dict[str, Any] | None:
        """The export check of the finished MP4 (the last share of the progress); None if it could not run."""
        infos = {mid: src.info for mid, src in self.sources.items()}
        expected = media_mod.expected_of(
            self.draft,
            stills={mid for mid, info in infos.items() if info.kind == "image"},
            mute={mid for mid, info in infos.items() if not info.has_audio},
        )

        async def progress(fraction: float) -> None:
            self._update(progress=min(99.0, RENDER_SHARE + fraction * (99 - RENDER_SHARE)))

        try:
            found = await media_mod.check_export(path, expected, on_progress=progress)
        except media_mod.MediaError as exc:
            # The MP4 is made; a check that cannot read it is logged, not a failed export.
            logger.warning("local engine: the check of render %s failed: %s", self.render_id, exc)
            return None
        return found.as_dict()

    def _fail_if_unfinished(self) -> None:
        current = self.engine.store.get_render(self.render_id)
        if current is not None and current.status in ("pending", "processing"):
            # Cancelled from outside (the engine is stopping): no file, and say so.
            self._remove_outputs()
            self._update(status="failed", error="The local engine stopped; export again.")

    def _note_generated(self, result: render_mod.RenderResult) -> None:
        """List the finished export in the session's ``generated_media``, as the cloud does."""
        store = self.engine.store
        state, private = store.load_state(self.record.session_id)
        generated = list_of(state, "generated_media")
        fresh = store.get_render(self.render_id)
        key = fresh.file_key if fresh else self.record.file_key
        generated.append(
            {
                "id": self.render_id,
                "type": "video",
                "url": file_url(self.base, RENDER, key, f"{self.render_id}.mp4"),
                "duration": round(result.duration_ms / 1000, 3),
                "size": result.size,
                "width": result.width,
                "height": result.height,
                "created_at": iso(time.time()),
            }
        )
        state["generated_media"] = generated
        store.save_state(self.record.session_id, state, private)


def _route(result: render_mod.RenderResult) -> dict[str, str]:
    """Which render ran (smart or full, and why full) and how the captions ship, for the status."""
    route = {"path": result.path_taken}
    if result.reason:
        route["reason"] = result.reason
    if result.captions and (result.captions != "track" or result.sidecar is not None):
        route["captions"] = result.captions
    return route


def _owned_render(engine: Engine, request: Request, user_id: str) -> RenderRecord:
    record = engine.store.get_render(request.path_params["rid"])
    if record is None or record.user_id != user_id:
        raise _refused(404, "No export with that id.")
    return record


async def render_status(request: Request) -> Response:
    """``GET /api/render/proxy/lambda/<rid>``: the export's status, and its URL once finished."""
    engine = engine_of(request)
    user_id = user_for(engine, request, render=True)
    return render_ok(_render_view(_owned_render(engine, request, user_id), base_url(request)))


async def cancel_render(request: Request) -> Response:
    """``POST …/<rid>/cancel``: stop the export and report it once its partial file is gone."""
    engine = engine_of(request)
    user_id = user_for(engine, request, render=True)
    record = _owned_render(engine, request, user_id)
    if record.status == "completed":
        raise _refused(409, "That export has already finished; there is nothing to cancel.")
    job = engine.jobs.get(record.render_id)
    if job is not None:
        job.scope.cancel()
        # Wait for ffmpeg to be gone and the partial file removed before saying it is cancelled.
        with anyio.move_on_after(15):
            await job.done.wait()
    record = engine.store.get_render(record.render_id) or record
    return render_ok(_render_view(record, base_url(request)))
