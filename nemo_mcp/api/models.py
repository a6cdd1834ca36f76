"""Wire models of the NemoVideo API.

Every model keeps unknown fields (``extra="allow"``) because the backend's schema is only
partly published. Where the contract documents several shapes for one response (the render
status comes bare or enveloped, camelCase or Remotion-native), a ``before`` validator folds
them into one set of field names so the rest of the code sees a single shape.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

RenderState = Literal["pending", "processing", "completed", "failed", "cancelled"]


def new_render_id(clock: Callable[[], float] = time.time) -> str:
    """A render id chosen by the caller, in the cloud's own form: ``render_<epoch ms>``."""
    return f"render_{int(clock() * 1000)}"


class WireModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)


def _as_str(value: Any) -> Any:
    # Session ids are 19-digit numbers; some gateways send them as JSON numbers.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class TokenGrant(WireModel):
    token: SecretStr
    user_id: str | None = None
    expires_at: datetime | None = None
    credits: float | None = None


class SessionInfo(WireModel):
    session_id: str
    task_id: str | None = None
    user_id: str | None = None

    _ids = field_validator("session_id", "task_id", "user_id", mode="before")(_as_str)


class UploadedFile(WireModel):
    filename: str | None = None
    file_type: str | None = None
    cdn_url: str | None = None
    duration: float | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    hash: str | None = None


class UploadResult(WireModel):
    files: list[UploadedFile] = Field(default_factory=list)
    session_state_applied: bool | None = None


class Credits(WireModel):
    available: float | None = None
    frozen: float | None = None
    total: float | None = None
    total_granted: float | None = None
    total_consumed: float | None = None

    @field_validator("available", "frozen", "total", "total_granted", "total_consumed", mode="after")
    @classmethod
    def _finite_or_none(cls, value: float | None) -> float | None:
        # NaN or infinity (JSON parsers accept both) is no balance at all, not "nan credits".
        return value if value is None or math.isfinite(value) else None


class StateBody(WireModel):
    draft: dict[str, Any] | None = None
    video_infos: list[Any] = Field(default_factory=list)
    generated_media: list[Any] = Field(default_factory=list)
    canvas_config: dict[str, Any] | None = None
    video_analyses: list[Any] = Field(default_factory=list)

    @field_validator("video_infos", "generated_media", "video_analyses", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value


class SessionState(WireModel):
    session_id: str | None = None
    task_id: str | None = None
    task_name: str | None = None
    state: StateBody = Field(default_factory=StateBody)

    _ids = field_validator("session_id", "task_id", mode="before")(_as_str)

    @field_validator("state", mode="before")
    @classmethod
    def _none_state(cls, value: Any) -> Any:
        return {} if value is None else value


_STATUS_WORDS: dict[str, RenderState] = {
    "pending": "pending",
    "queued": "pending",
    "waiting": "pending",
    "created": "pending",
    "processing": "processing",
    "rendering": "processing",
    "running": "processing",
    "in_progress": "processing",
    "completed": "completed",
    "complete": "completed",
    "done": "completed",
    "success": "completed",
    "succeeded": "completed",
    "finished": "completed",
    "failed": "failed",
    "error": "failed",
    "failure": "failed",
    "cancelled": "cancelled",
    "canceled": "cancelled",
}


class RenderStatus(WireModel):
    """A render job as any known variant reports it, normalised.

    Accepted: ``{"id","status","progress","outputUrl"}`` (inside ``data`` or bare),
    ``{"taskId","status","progress","output":{"url","duration","size"}}`` and Remotion's
    native ``{"overallProgress": 0-1, "done", "outputFile", "fatalErrorEncountered", "errors"}``.
    """

    id: str | None = None
    status: RenderState = "pending"
    progress: float = 0.0
    output_url: str | None = None
    duration: float | None = None
    size: int | None = None
    error: str | None = None
    # The local engine's account of how it rendered: "smart" (source pictures copied) or "full"
    # and why; captions "track" (subtitle track plus the .srt at captions_url) or "burned".
    render_path: str | None = None
    render_reason: str | None = None
    captions: str | None = None
    captions_url: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, raw: Any) -> Any:
        if not isinstance(raw, dict):
            return raw
        data = dict(raw)
        out: dict[str, Any] = {}
        rid = data.get("id") or data.get("taskId") or data.get("renderId") or data.get("render_id")
        if rid is not None:
            out["id"] = str(rid)
        raw_output = data.get("output")
        output: dict[str, Any] = raw_output if isinstance(raw_output, dict) else {}
        url = (
            data.get("outputUrl")
            or data.get("output_url")
            or output.get("url")
            or data.get("outputFile")
            or data.get("url")
        )
        if url:
            out["output_url"] = str(url)
        for key in ("duration", "size"):
            value = data.get(key, output.get(key))
            if value is not None:
                out[key] = value
        route = data.get("render")
        if isinstance(route, dict):
            for key, field in (
                ("path", "render_path"),
                ("reason", "render_reason"),
                ("captions", "captions"),
            ):
                if isinstance(route.get(key), str):
                    out[field] = route[key]
        if isinstance(output.get("captionsUrl"), str):
            out["captions_url"] = output["captionsUrl"]
        progress = data.get("progress")
        if progress is None and data.get("overallProgress") is not None:
            progress = float(data["overallProgress"]) * 100
        if progress is not None:
            with contextlib.suppress(TypeError, ValueError):
                out["progress"] = max(0.0, min(100.0, float(progress)))
        status = str(data.get("status") or "").strip().lower()
        state: RenderState | None = _STATUS_WORDS.get(status)
        if state is None:
            if data.get("fatalErrorEncountered"):
                state = "failed"
            elif data.get("done") is True or (url and not status):
                state = "completed"
            elif progress is not None and float(out.get("progress", 0)) > 0:
                state = "processing"
            else:
                state = "pending"
        out["status"] = state
        if state == "completed":
            out["progress"] = 100.0
        error = data.get("error") or data.get("errorMessage")
        if not error and isinstance(data.get("errors"), list) and data["errors"]:
            first = data["errors"][0]
            error = first.get("message") if isinstance(first, dict) else str(first)
        if error:
            out["error"] = error if isinstance(error, str) else str(error)
        # Keep every original field too (extra="allow"), without clobbering the normalised ones.
        for key, value in data.items():
            if key not in cls.model_fields and key not in out:
                out[key] = value
        return out

    @property
    def finished(self) -> bool:
        return self.status in ("completed", "failed", "cancelled")
