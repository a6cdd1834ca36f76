"""Previews: the timeline as it will export, an uploaded file or an export, as one JPEG.

On the local engine the preview comes from its preview endpoint, which renders the timeline
through the export's own graph. The cloud offers none, so here, with the engine's preview
library (``engine.previews``, imported inside the functions): a file uploaded from this
computer, an export downloaded to it, and the timeline when every clip it plays maps back to
such a file. When it does not, the answer says so (``kind`` "none") instead of guessing.
An export downloaded here is previewed from its file on either backend.
"""

from __future__ import annotations

import base64
import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import anyio

from nemo_mcp.draft import AUDIO, lenient_int, peek_meta, segments, tracks
from nemo_mcp.errors import NemoError
from nemo_mcp.service.store import UploadRecord

if TYPE_CHECKING:
    from pydantic import SecretStr

    from nemo_mcp.engine.media.preview import Ask
    from nemo_mcp.engine.previews import Preview
    from nemo_mcp.service.projects import SessionManager

TIMELINE = ("", "timeline")


class PreviewFailed(NemoError):
    default_message = "The preview could not be made."


@dataclass
class PreviewResult:
    """A preview for the tool: the JPEG (None when there is none) and its layout."""

    project: str
    source: str
    kind: Literal["sheet", "frame", "none"]
    jpeg: bytes | None
    layout: dict[str, Any] = field(default_factory=dict)
    message: str = ""


@dataclass(frozen=True)
class Request:
    """What the caller asked: the source (empty: the timeline) and what to show of it."""

    source: str = ""
    times: tuple[float, ...] | None = None
    start_s: float | None = None
    end_s: float | None = None
    count: int = 12
    single: bool = False

    def wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {"source": self.source, "count": self.count, "single": self.single}
        if self.times is not None:
            body["times"] = list(self.times)
        body.update({k: v for k, v in (("start_s", self.start_s), ("end_s", self.end_s)) if v is not None})
        return body

    def ask(self) -> Ask:
        from nemo_mcp.engine.media.preview import Ask

        return Ask(self.times, self.start_s, self.end_s, self.count, self.single)


def _result(project: str, preview: Preview) -> PreviewResult:
    layout = preview.layout()
    return PreviewResult(project, preview.source, preview.kind, preview.sheet.jpeg, layout)


async def preview(
    mgr: SessionManager, session: str | None, request: Request, *, cloud: bool
) -> PreviewResult:
    """The preview ``request`` asks for, in the named (else current) project."""
    project = (await mgr.project(session)).session_id
    downloaded = _downloaded(mgr, project, request.source)
    if downloaded is not None:
        return await _here(project, lambda: _file_preview(downloaded, request, downloaded.name))
    if not cloud:
        return await _on_engine(mgr, project, request)
    if request.source.strip().lower() in TIMELINE:
        return await _cloud_timeline(mgr, project, request)
    record = _upload(mgr, project, request.source)
    return await _here(project, lambda: _file_preview(_still_there(record), request, record.filename))


async def _on_engine(mgr: SessionManager, project: str, request: Request) -> PreviewResult:
    async def op(token: SecretStr, sid: str) -> dict[str, Any]:
        return await mgr.client.preview(token, sid, request.wire())

    project, data = await mgr.call_in_project(project, op)
    jpeg = base64.b64decode(str(data.pop("jpeg")))
    kind: Literal["sheet", "frame"] = "frame" if data.get("kind") == "frame" else "sheet"
    return PreviewResult(project, str(data.get("source") or "timeline"), kind, jpeg, data)


async def _here(project: str, make: Any) -> PreviewResult:
    """A preview made on this computer; the engine library's errors become a :class:`PreviewFailed`."""
    from nemo_mcp.engine.media import MediaError

    try:
        return _result(project, await make())
    except MediaError as exc:
        raise PreviewFailed(f"No preview: {exc}.") from None


async def _file_preview(path: Path, request: Request, name: str) -> Preview:
    from nemo_mcp.engine.previews import preview_file

    return await preview_file(path, request.ask(), name=name)


def _downloaded(mgr: SessionManager, project: str, source: str) -> Path | None:
    """The file an export of this project was downloaded to, when ``source`` names it (id, path or name)."""
    wanted = source.strip()
    if wanted.lower() in TIMELINE:
        return None
    for record in mgr.store.list_renders(mgr.backend, project):
        if not record.local_file:
            continue
        path = Path(record.local_file)
        if wanted in (record.render_id, record.local_file, path.name) and path.is_file():
            return path
    return None


def _uploads(mgr: SessionManager, project: str) -> list[UploadRecord]:
    return mgr.store.list_uploads(mgr.backend, project)


def _upload(mgr: SessionManager, project: str, source: str) -> UploadRecord:
    records = _uploads(mgr, project)
    found = [r for r in records if source.strip() in (r.filename, r.media_url)]
    if found:
        return found[-1]
    names = ", ".join(dict.fromkeys(r.filename for r in records)) or "none"
    renders = [r.render_id for r in mgr.store.list_renders(mgr.backend, project)]
    hint = (
        f" Exports not downloaded yet ({', '.join(renders)}): download them with export_video first."
        if renders
        else ""
    )
    raise PreviewFailed(
        f"No file or downloaded export {source[:80]!r} in this project. Files uploaded from this computer: "
        f"{names}.{hint} Leave `source` empty for the timeline."
    )


def _still_there(record: UploadRecord) -> Path:
    path = Path(record.path)
    if not record.unchanged():
        raise PreviewFailed(
            f"{record.filename} was moved or changed on this computer since it was uploaded ({path}): put it "
            "back, or upload it again and preview the new upload."
        )
    return path


def _sources(draft: dict[str, Any]) -> set[str]:
    """The media every picture-bearing segment names (sound tracks do not show in a frame)."""
    return {
        str(peek_meta(segment).get("src"))
        for track in tracks(draft)
        if lenient_int(track.get("tt")) != AUDIO
        for segment in segments(track)
        if peek_meta(segment).get("src")
    }


def _without_sound(draft: dict[str, Any]) -> dict[str, Any]:
    quiet = copy.deepcopy(draft)
    quiet["t"] = [t for t in tracks(quiet) if lenient_int(t.get("tt")) != AUDIO]
    return quiet


async def _cloud_timeline(mgr: SessionManager, project: str, request: Request) -> PreviewResult:
    """The cloud timeline rendered here, when every clip it shows was uploaded from this computer."""
    from nemo_mcp.engine import media
    from nemo_mcp.engine.previews import preview_timeline
    from nemo_mcp.engine.render import SourceMedia

    project, st = await mgr.state(project)
    draft = st.state.draft if isinstance(st.state.draft, dict) else {}
    by_url = {r.media_url: r for r in _uploads(mgr, project)}
    needed = _sources(draft)
    missing = sorted(needed - set(by_url))
    if missing or not needed:
        what = f"{len(missing)} of its {len(needed)} clips were not" if needed else "it plays no file"
        return PreviewResult(
            project, "timeline", "none", None,
            message=(
                f"The cloud timeline cannot be previewed here: {what} uploaded from this computer, and the "
                "cloud renders no previews. Preview an uploaded file by name (source), or export and "
                "preview the export by its render_id."
            ),
        )  # fmt: skip

    async def make() -> Preview:
        found: dict[str, SourceMedia] = {}
        for url in needed:
            path = await anyio.to_thread.run_sync(_still_there, by_url[url])
            found[url] = SourceMedia(path, await media.probe(path))
        return await preview_timeline(
            _without_sound(draft), found, request.ask(), work_dir=mgr.settings.home / "previews"
        )

    return await _here(project, make)
