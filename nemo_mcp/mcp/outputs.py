"""The typed answers of the tools and resources.

The field names are part of the published output schemas, so renaming one changes what clients
see: tests/fixtures/tools_list.json guards them. Titles are left out of the schemas (they only
repeat names, and tools/list is read on every turn).
"""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from nemo_mcp.api.models import UploadedFile
from nemo_mcp.service.footage import Page
from nemo_mcp.service.store import ProjectRecord

# Tracks were published as free-form objects; they keep that schema while the code types them.
_OPEN_OBJECTS = WithJsonSchema({"items": {"additionalProperties": True, "type": "object"}, "type": "array"})


def _untitled(schema: dict[str, Any]) -> None:
    """Drop the model's and each field's title: they only repeat names, and tools/list is read on every turn."""
    schema.pop("title", None)
    for field_schema in schema.get("properties", {}).values():
        field_schema.pop("title", None)


class Out(BaseModel):
    """Base of every tool result."""

    model_config = ConfigDict(json_schema_extra=_untitled)


class MediaOut(Out):
    name: str
    type: str | None = None
    duration_s: float | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None

    @classmethod
    def of(cls, f: UploadedFile) -> MediaOut:
        """What the caller learns about one uploaded file."""
        return cls(
            name=f.filename or "file",
            type=f.file_type,
            duration_s=f.duration,
            width=f.width,
            height=f.height,
            fps=f.fps,
        )


class UploadOut(Out):
    project: str
    files: list[MediaOut]
    notes: list[str] = Field(default_factory=list)
    # False when the wait budget ran out first: the upload goes on, and pick_up gets its files.
    finished: bool = True
    pick_up: str | None = None
    message: str | None = None


class EditOut(Out):
    project: str
    reply: str
    changes: list[str]
    timeline: str
    backend_steps: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    # False when the wait budget ran out first: the edit goes on, and pick_up gets its result.
    finished: bool = True
    pick_up: str | None = None


# Reading items are plain objects ({start_s, …}): typed sub-schemas would cost tools/list more
# than they tell, and tools/list is read on every turn.
_Items = list[Any]


class FootageOut(Out):
    # What the footage says and shows: one page of sentences, the scenes' headings, the long silences.
    project: str
    times: str  # "timeline" or "source" (each file's own clock)
    sentences: _Items  # {start_s, end_s, text}
    total: int  # sentences in all, over every page
    next_start: int | None = None  # the `start` of the next page; null on the last
    words: _Items = Field(default_factory=list)  # {start_s, text}, on request
    scenes: _Items = Field(default_factory=list)  # {start_s, heading, body}
    silences: _Items = Field(default_factory=list)  # {start_s, end_s}
    notes: list[str] = Field(default_factory=list)
    # False when the wait budget ran out first: the analysis goes on, and the same call picks it up.
    finished: bool = True

    @classmethod
    def of(cls, project: str, page: Page, notes: list[str]) -> FootageOut:
        """One page of a finished reading."""
        return cls(
            project=project,
            times=page.times,
            sentences=page.sentences,
            total=page.total,
            next_start=page.next_start,
            words=page.words or [],
            scenes=page.scenes,
            silences=page.silences,
            notes=[*notes, *page.notes],
        )


class PreviewOut(Out):
    # A contact sheet or one frame (the image content beside this); kind "none" when none can be made.
    project: str
    source: str  # "timeline", a file's name, or an export's file
    kind: str  # "sheet", "frame" or "none"
    width: int
    height: int
    bytes: int
    duration_s: float  # the length of the source
    frames: _Items  # {time_s, x, y, w, h}: each frame's cell inside the JPEG
    chapters: _Items  # {start_s, title}: the timeline's chapters (empty for a file)
    captions: _Items  # {start_s, end_s, text}: the timeline's captions in the range (empty for a file)
    notes: list[str] = Field(default_factory=list)
    message: str = ""


class TrackOut(Out):
    index: int
    type: str
    label: str
    name: str | None
    start_s: float
    end_s: float
    segments: int
    volume: float | None


class TimelineOut(Out):
    project: str
    summary: str
    duration_s: float
    tracks: Annotated[list[TrackOut], _OPEN_OBJECTS]
    # The backend's own media records, passed through with only the fields worth showing.
    media: list[dict[str, Any]]
    # The raw draft JSON, as the backend stores it.
    draft: dict[str, Any] | None = None


class CreditsOut(Out):
    available: float | None
    frozen: float | None
    total: float | None
    advice: str


class ExportOut(Out):
    render_id: str
    status: str
    progress: float
    finished: bool
    download_url: str | None = None
    file: str | None = None
    # The check of the MP4, empty when none ran: {duration_s, timeline_s, size_bytes, audio,
    # problems: [{kind: black|frozen|silent, start_s, end_s}]}. A bare object keeps tools/list small.
    check: Annotated[dict[str, Any], WithJsonSchema({"type": "object"})] = Field(default_factory=dict)
    # How the engine rendered it, empty when the backend does not say (the cloud): {path: smart|full,
    # reason (why full), captions: track|burned, srt (the saved sidecar file)}.
    render: Annotated[dict[str, Any], WithJsonSchema({"type": "object"})] = Field(default_factory=dict)
    message: str
    notes: list[str] = Field(default_factory=list)


class ProjectOut(Out):
    project: str
    title: str | None = None
    language: str | None = None
    current: bool = False
    last_used: float | None = None
    renders: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, record: ProjectRecord, *, current: bool, renders: list[str] | None = None) -> ProjectOut:
        """A stored project as the caller sees it."""
        return cls(
            project=record.session_id,
            title=record.title,
            language=record.language,
            current=current,
            last_used=record.last_used,
            renders=renders or [],
        )


class ProjectsOut(Out):
    current: str | None
    projects: list[ProjectOut]


_MEDIA_KEYS = ("id", "filename", "name", "file_type", "type", "duration", "width", "height", "fps")


def media_entry(info: Any) -> dict[str, Any]:
    """The fields of one backend media record worth showing; a non-record is wrapped as its value."""
    if not isinstance(info, dict):
        return {"value": info}
    return {k: info[k] for k in _MEDIA_KEYS if k in info}


# -- resources (served as JSON text, so plain typed dicts keep the bytes as they were) ----------


class TimelineResource(TypedDict):
    project: str
    summary: str
    draft: dict[str, Any] | None


class ExportFormat(TypedDict):
    format: str
    video: str
    audio: str
    max_resolution: str


class FormatsResource(TypedDict):
    upload_types: list[str]
    subtitles_local_engine: list[str]
    max_upload_mb: int
    export: ExportFormat
