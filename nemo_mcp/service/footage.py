"""Reading the footage: what is said, the scenes' on-screen text and the long silences, compactly.

On the local engine the readings come from its footage endpoint. The cloud offers none, so the
files uploaded from this computer are read here, with the same analysis library the engine
uses (``engine.media``, ``engine.analysis``, ``engine.footage``, imported inside the functions:
recognition and OCR load only when a reading is asked for). Either way a reading is a
:class:`FootageJob` the session manager owns: a long lecture outlasts a tool call, and asking
again (or by its pick-up id) finds it running or finished, never starting it twice.

A reading is in each file's own milliseconds; :func:`shape` lays it onto the timeline through
the draft's pieces and cuts one page of sentences, so an hour of lecture never floods the
model's context.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

import anyio

from nemo_mcp.draft import map_source_intervals, pieces
from nemo_mcp.errors import NemoError
from nemo_mcp.service.jobs import Transfer, find, submit
from nemo_mcp.service.store import UploadRecord

if TYPE_CHECKING:
    from pydantic import SecretStr

    from nemo_mcp.api.models import UploadedFile
    from nemo_mcp.engine.analysis import ProgressNotes
    from nemo_mcp.service.projects import SessionManager
    from nemo_mcp.service.uploads import CheckedFile

log = logging.getLogger(__name__)

#: Sentences per page when the caller gives no limit, and the most one page may hold.
DEFAULT_SENTENCES: Final = 60
MAX_SENTENCES: Final = 200
#: Words are long: a page holds at most this many.
MAX_WORDS: Final = 600
MAX_SCENES: Final = 60
MAX_SILENCES: Final = 100
_T = TypeVar("_T", bound=tuple[Any, ...])
LONG_SILENCE_MS: Final = 1500
#: How long one request to the local engine waits for the analysis before asking again.
ENGINE_POLL_S: Final = 2.0


class FootageUnreadable(NemoError):
    default_message = "The footage could not be read."


# -- remembering what was uploaded from here -------------------------------------------------------


def remember_uploads(
    mgr: SessionManager, project: str, checked: Sequence[CheckedFile], files: Sequence[UploadedFile]
) -> None:
    """Keep where each uploaded file lies, under the backend's address for it, to read it later."""
    if len(checked) != len(files):
        return  # cannot tell which record is which file: nothing is guessed
    for local, remote in zip(checked, files, strict=True):
        address = remote.cdn_url or remote.hash or remote.filename
        if not address:
            continue
        try:
            st = os.stat(local.path)
        except OSError:
            continue
        mgr.store.add_upload(
            UploadRecord(
                backend=mgr.backend,
                session_id=project,
                media_url=address,
                filename=remote.filename or local.name,
                path=str(local.path),
                size=st.st_size,
                mtime_ns=st.st_mtime_ns,
            )
        )


# -- the job ----------------------------------------------------------------------------------------


class FootageJob(Transfer[dict[str, Any]]):
    """Reading a project's footage (one file, or what the timeline plays), owned by the session manager.

    The result is ``{"media": [reading…], "draft": …}``: on the cloud each reading's ``media_id`` is
    the backend's address of the file, which the draft's pieces name.
    """

    prefix = "reading_"

    def __init__(self, mgr: SessionManager, project: str, file: str, *, cloud: bool) -> None:
        super().__init__(mgr, ("footage", mgr.backend, project, file), project)
        self.file = file
        self.cloud = cloud
        self.said = ""
        self._notes: ProgressNotes | None = None  # the analysis' progress while reading here

    def progress(self) -> str:
        """The latest progress sentence of the analysis (empty before the first)."""
        if self._notes is not None and (fresh := self._notes.fresh()) is not None:
            self.said = fresh
        return self.said

    async def work(self) -> dict[str, Any]:
        return await (self._read_here() if self.cloud else self._read_on_engine())

    async def _read_on_engine(self) -> dict[str, Any]:
        while True:

            async def op(token: SecretStr, sid: str) -> dict[str, Any]:
                return await self.mgr.client.read_footage(token, sid, media=self.file, wait_s=ENGINE_POLL_S)

            self.project, data = await self.mgr.call_in_project(self.project, op, notes=self.notes)
            if data.get("finished"):
                if data.get("error"):
                    raise FootageUnreadable(str(data["error"]))
                return {"media": data.get("media") or [], "draft": data.get("draft")}
            self.said = str(data.get("progress") or self.said)

    async def _read_here(self) -> dict[str, Any]:
        from nemo_mcp.engine.analysis import ProgressNotes

        notes = self._notes = ProgressNotes()
        records = _chosen(self.mgr.store.list_uploads(self.mgr.backend, self.project), self.file)
        draft: dict[str, Any] | None = None
        if not self.file:
            _, st = await self.mgr.state(self.project, notes=self.notes)
            draft = st.state.draft
        project = self.mgr.store.get_project(self.mgr.backend, self.project)
        language = project.language if project else None
        # Kept beside the state store: a file read again (another page, after a restart) is not recognised twice.
        cache = self.mgr.settings.home / "analysis"
        readings = [await _read_local(record, language, cache, notes) for record in records]
        return {"media": [r for r in readings if r is not None], "draft": draft}


def _chosen(records: list[UploadRecord], file: str) -> list[UploadRecord]:
    if not records:
        raise FootageUnreadable(
            "No file of this project was uploaded from this computer, and the cloud offers no reading of its "
            "own: upload the footage with upload_media (paths, not links), then read it."
        )
    if not file:
        return records
    found = [r for r in records if file in (r.filename, r.media_url)]
    if not found:
        names = ", ".join(dict.fromkeys(r.filename for r in records))
        raise FootageUnreadable(
            f"No file {file!r} was uploaded from here into this project. Its files: {names}."
        )
    return found[-1:]


async def _read_local(
    record: UploadRecord, language: str | None, cache: Path, notes: ProgressNotes
) -> dict[str, Any] | None:
    """One uploaded file read here, or None for a file with nothing to read (a picture, subtitles)."""
    from nemo_mcp.engine import media
    from nemo_mcp.engine.analysis import SessionAnalyzer
    from nemo_mcp.engine.edit import MediaRef
    from nemo_mcp.engine.footage import read_media

    path = Path(record.path)
    if not await anyio.to_thread.run_sync(record.unchanged):
        raise FootageUnreadable(
            f"{record.filename} was moved or changed on this computer since it was uploaded ({path}), so it "
            "cannot be read as uploaded: put it back, or upload it again and read the new upload."
        )
    try:
        info = await media.probe(path)
        if info.kind not in ("video", "audio"):
            return None
        ref = MediaRef(record.media_url, record.filename, path, info)
        return await read_media(
            SessionAnalyzer({}, language=language, cache_dir=cache, on_progress=notes.report), ref
        )
    except media.MediaError as exc:
        raise FootageUnreadable(f"{record.filename}: {exc}") from None


def start(mgr: SessionManager, project: str, file: str, *, cloud: bool) -> tuple[FootageJob, bool]:
    """The reading of ``file`` (empty: the timeline) started, or the same one running; (job, attached)."""
    return submit(mgr, FootageJob(mgr, project, file, cloud=cloud))


def running(mgr: SessionManager, project: str, file: str) -> FootageJob | None:
    """The same reading already running or finished and not yet collected."""
    job = find(mgr, ("footage", mgr.backend, project, file))
    return job if isinstance(job, FootageJob) else None


# -- shaping a page ---------------------------------------------------------------------------------


@dataclass
class Page:
    """One page of a reading, in seconds, ready to show."""

    times: str  # "timeline" or "source"
    duration_s: float
    sentences: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0
    next_start: int | None = None
    words: list[dict[str, Any]] | None = None
    scenes: list[dict[str, Any]] = field(default_factory=list)
    silences: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Window:
    """Which sentences a page shows: ``start``… (at most ``limit``), with their words or not."""

    start: int = 0
    limit: int = DEFAULT_SENTENCES
    words: bool = False


def _s(ms: int) -> float:
    return round(ms / 1000, 2)


@dataclass
class _Laid:
    """A reading's items on one clock, in milliseconds."""

    sentences: list[tuple[int, int, str]] = field(default_factory=list)
    words: list[tuple[int, int, str]] = field(default_factory=list)
    scenes: list[tuple[int, str, list[str]]] = field(default_factory=list)
    silences: list[tuple[int, int]] = field(default_factory=list)
    duration: int = 0


def _source(reading: dict[str, Any]) -> _Laid:
    return _Laid(
        [(int(a), int(b), str(t)) for a, b, t in reading.get("sentences") or []],
        [(int(a), int(b), str(t)) for a, b, t in reading.get("words") or []],
        [(int(s), str(h), [str(x) for x in body]) for s, h, body in reading.get("scenes") or []],
        [(int(a), int(b)) for a, b in reading.get("silences") or []],
        int(reading.get("duration_ms") or 0),
    )


def _on_timeline(draft: dict[str, Any], by_src: dict[str, _Laid]) -> _Laid:
    """Each file's items laid onto the timeline through the pieces that play it (cut parts drop out)."""
    out = _Laid()
    spine = pieces(draft)
    out.duration = max((p.end for p in spine), default=0)
    for piece in spine:
        laid = by_src.get(piece.src or "")
        if laid is None:
            continue
        lo, hi, shift = piece.in_ms, piece.in_ms + piece.duration, piece.start - piece.in_ms
        out.sentences += [(a + shift, min(b, hi) + shift, t) for a, b, t in laid.sentences if lo <= a < hi]
        out.words += [(a + shift, min(b, hi) + shift, t) for a, b, t in laid.words if lo <= a < hi]
        showing = [sc for sc in laid.scenes if sc[0] <= lo][-1:]  # the scene on screen as the piece begins
        out.scenes += [(piece.start, h, body) for _, h, body in showing]
        out.scenes += [(s + shift, h, body) for s, h, body in laid.scenes if lo < s < hi]
    silences = {src: laid.silences for src, laid in by_src.items()}
    out.silences = map_source_intervals(draft, silences, min_ms=LONG_SILENCE_MS)
    for items in (out.sentences, out.words, out.scenes):
        items.sort(key=lambda item: item[0])
    return out


def _lay(raw: dict[str, Any], page: Page) -> _Laid:
    readings = [r for r in raw.get("media") or [] if isinstance(r, dict)]
    if not readings:
        page.notes.append("Nothing to read: no video or audio with sound is there yet. Upload some first.")
    for reading in readings:
        page.notes += [f"{reading.get('filename')}: no {m}." for m in reading.get("missing") or []]
    draft = raw.get("draft")
    by_src = {str(r.get("media_id")): _source(r) for r in readings}
    if isinstance(draft, dict) and pieces(draft):
        spine_srcs = {p.src for p in pieces(draft)}
        if spine_srcs & set(by_src):
            page.times = "timeline"
            return _on_timeline(draft, by_src)
        page.notes.append(
            "The timeline does not name which uploaded file each piece plays, so the times are each file's own."
        )
    if len(readings) > 1:
        page.notes.append("Several files are read one after another; name one with `file` to read it alone.")
    page.times = "source"
    merged = _Laid()
    for laid in by_src.values():
        merged.sentences += laid.sentences
        merged.words += laid.words
        merged.scenes += laid.scenes
        merged.silences += laid.silences
        merged.duration = max(merged.duration, laid.duration)
    return merged


def shape(raw: dict[str, Any], window: Window) -> Page:
    """One page of the reading ``raw`` (a :class:`FootageJob` result): at most ``window.limit`` sentences."""
    page = Page(times="source", duration_s=0.0)
    laid = _lay(raw, page)
    page.duration_s = _s(laid.duration)
    chosen = laid.sentences
    page.total = len(chosen)
    limit = max(1, min(window.limit, MAX_SENTENCES))
    shown = chosen[window.start : window.start + limit]
    if window.start + limit < len(chosen):
        page.next_start = window.start + limit
    page.sentences = [{"start_s": _s(a), "end_s": _s(b), "text": t} for a, b, t in shown]
    if window.words and shown:
        lo, hi = shown[0][0], shown[-1][1]
        words = [w for w in laid.words if lo <= w[0] < hi]
        if len(words) > MAX_WORDS:
            page.notes.append(f"Words are shown for the first {MAX_WORDS} only: ask for fewer sentences.")
        page.words = [{"start_s": _s(a), "text": t} for a, _, t in words[:MAX_WORDS]]
    # Every page carries all scenes and silences while they fit; a long lecture's many slides and
    # pauses are paged with the sentences (the span from this page's first sentence to the next's).
    lo = shown[0][0] if shown and window.start > 0 else 0
    hi = chosen[page.next_start][0] if page.next_start is not None else laid.duration + 1
    scenes = _paged(laid.scenes, lo, hi, MAX_SCENES, "scenes", page)
    silences = _paged(laid.silences, lo, hi, MAX_SILENCES, "silences", page)
    page.scenes = [{"start_s": _s(s), "heading": h, "body": " / ".join(b)[:200]} for s, h, b in scenes]
    page.silences = [{"start_s": _s(a), "end_s": _s(b)} for a, b in silences]
    return page


def _paged(items: list[_T], lo: int, hi: int, cap: int, what: str, page: Page) -> list[_T]:
    """``items`` (each starting with its time in ms) whole when they fit, else those in ``lo``..``hi``."""
    if len(items) <= cap:
        return items
    inside = [item for item in items if lo <= item[0] < hi]
    if len(inside) > cap:
        page.notes.append(
            f"{len(inside)} {what} in this page's span; the first {cap} are shown: ask for fewer sentences."
        )
    else:
        page.notes.append(
            f"{len(items)} {what} in all; those in this page's span are shown, the rest with their sentences."
        )
    return inside[:cap]
