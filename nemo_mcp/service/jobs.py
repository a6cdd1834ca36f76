"""Work that outlives the tool call that asked for it: the :class:`Job` base, uploads and export downloads.

A :class:`Job` is owned by the session manager, not by the call: the call follows it for its wait
budget and returns, the work goes on, and its outcome waits for the call that picks it up (edits
in service/edits.py build on it too). A large upload, or the download of a finished render, is a
:class:`Transfer`: asking for the same transfer while it runs attaches to it, so nothing is sent or
written twice, and a call that is cancelled (the user pressed stop) stops it.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Hashable, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import anyio

from nemo_mcp.api.models import UploadedFile
from nemo_mcp.errors import NemoError
from nemo_mcp.service import exports
from nemo_mcp.service.projects import Notes

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager

    from nemo_mcp.service.projects import SessionManager
    from nemo_mcp.service.store import RenderRecord
    from nemo_mcp.service.uploads import CheckedFile

log = logging.getLogger(__name__)

T = TypeVar("T")

#: How long finished work nobody picked up is kept.
KEEP_FINISHED = 3600.0


class TransferStopped(NemoError):
    default_message = (
        "The transfer was stopped before it finished. Call get_timeline to see what the project holds now, "
        "then ask for it again if it is still wanted."
    )


class UnknownTransfer(NemoError):
    default_message = (
        "No upload or download with that pick-up id is running or waiting here (the server may have "
        "restarted). Call get_timeline to see which media the project holds, then ask again if needed."
    )


class Job(Generic[T]):
    """Work a tool call started that the session manager owns; its outcome waits for whoever picks it up."""

    prefix = "job_"
    #: The error a stopped job ends with.
    stopped_error: type[NemoError] = NemoError

    def __init__(self, mgr: SessionManager, project: str) -> None:
        self.id = self.prefix + secrets.token_hex(6)
        self.mgr = mgr
        self.project = project
        self.notes = Notes()
        self.started = time.monotonic()
        self.finished_at: float | None = None
        self.done = anyio.Event()
        #: Set once a caller has been given the outcome: a later identical request is new work.
        self.collected = False
        #: Set when a caller stopped it: asking for the same work again starts it afresh.
        self.stopped = False
        self._scope = anyio.CancelScope()
        self._result: T | None = None
        self._error: Exception | None = None

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def cancel(self) -> None:
        """Stop the work (the caller pressed stop)."""
        self.stopped = True
        self._scope.cancel()

    def outcome(self) -> T:
        """The finished work's result, or the error it ended with (call once ``done`` is set)."""
        assert self.done.is_set()
        self.collected = True
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result

    async def work(self) -> T:
        raise NotImplementedError

    def release(self) -> None:
        """Give back what the job holds (runs once, however it ended, before ``done`` is set)."""

    def ended(self) -> None:
        """Tell whoever waits on more than ``done`` that the job is over."""

    async def run(self) -> None:
        """Do the work; keep its result or error for the pick-up."""
        try:
            with self._scope:
                self._result = await self.work()
        except NemoError as exc:
            self._error = exc
        except Exception as exc:  # kept for the caller, so a background failure is never silent
            log.warning("%s failed: %s", self.id, type(exc).__name__, exc_info=True)
            self._error = exc
        finally:
            self.release()
            if self._result is None and self._error is None:
                self._error = self.stopped_error()  # cancelled, or the server is stopping
            self.finished_at = time.monotonic()
            self.done.set()
            self.ended()


AnyJob = TypeVar("AnyJob", bound=Job[Any])


def forget_finished(table: MutableMapping[str, AnyJob]) -> None:
    """Drop the finished jobs of ``table`` whose outcome was collected or kept for :data:`KEEP_FINISHED`."""
    now = time.monotonic()
    for job_id, job in list(table.items()):
        if job.finished_at is not None and (job.collected or now - job.finished_at > KEEP_FINISHED):
            del table[job_id]


class Transfer(Job[T]):
    """One transfer running in the background; its byte counts feed whoever is waiting."""

    prefix = "transfer_"
    stopped_error = TransferStopped

    def __init__(self, mgr: SessionManager, key: Hashable, project: str) -> None:
        super().__init__(mgr, project)
        #: What makes two requests the same transfer (an identical one attaches instead of repeating).
        self.key = key
        self.sent = 0
        self.total: int | None = None
        #: What it does after the bytes have moved (checking a downloaded MP4), for whoever shows it.
        self.stage: str | None = None
        self._moved = anyio.Event()

    async def on_bytes(self, sent: int, total: int | None) -> None:
        """The transfer's progress callback: keep the counts and wake whoever shows them."""
        self.sent, self.total = sent, total
        self._wake()

    async def on_stage(self, text: str) -> None:
        """Say what the transfer does now that is not moving bytes."""
        self.stage = text
        self._wake()

    def watch(self) -> anyio.Event:
        """An event set at the next change of the byte count, or when the transfer ends."""
        return self._moved

    def _wake(self) -> None:
        moved, self._moved = self._moved, anyio.Event()
        moved.set()

    def ended(self) -> None:
        self._wake()


def find(mgr: SessionManager, key: Hashable) -> Transfer[Any] | None:
    """The transfer for ``key`` still running, or finished and not yet collected (a stopped one is not)."""
    forget_finished(mgr.transfers)
    for job in mgr.transfers.values():
        if not job.collected and not job.stopped and job.key == key:
            return job
    return None


J = TypeVar("J", bound="Transfer[Any]")


def submit(mgr: SessionManager, job: J) -> tuple[J, bool]:
    """Start ``job`` in the background, or attach to the same one already there; returns (job, attached).

    An attached request's own ``job`` never runs: it is released at once.
    """
    earlier = find(mgr, job.key)
    if isinstance(earlier, type(job)):
        job.release()
        return earlier, True
    mgr.transfers[job.id] = job
    try:
        mgr.spawn(job.run)
    except BaseException:
        del mgr.transfers[job.id]
        job.release()
        raise
    return job, False


def pick_up(mgr: SessionManager, job_id: str, kind: type[J]) -> J:
    """The transfer of ``kind`` a previous call left running, by the id it returned."""
    job = mgr.transfers.get(job_id)
    if not isinstance(job, kind):
        raise UnknownTransfer()
    return job


# -- uploads --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Uploaded:
    """What an upload call added: the project it went into and the backend's file records."""

    project: str
    files: list[UploadedFile] = field(default_factory=list)


class Upload(Transfer[Uploaded]):
    """Local files and links added to a project; it owns (and finally closes) the checked files."""

    prefix = "upload_"

    def __init__(
        self,
        mgr: SessionManager,
        files: Sequence[CheckedFile],
        urls: Sequence[str],
        project: str,
        slots: AbstractAsyncContextManager[Any],
        *,
        notes: Notes | None = None,
    ) -> None:
        key = ("upload", project, tuple((str(f.path), f.size) for f in files), tuple(urls))
        super().__init__(mgr, key, project)
        if notes is not None:
            self.notes = notes
        self.files = list(files)
        self.urls = list(urls)
        self.total = sum(f.size for f in files)
        self._slots = slots

    async def work(self) -> Uploaded:
        found: list[UploadedFile] = []
        sid = self.project
        async with self._slots:
            if self.files:
                sid, result = await self.mgr.upload_files(
                    self.files, sid, on_progress=self.on_bytes, notes=self.notes
                )
                self.project = sid
                found += result.files
                if self.mgr.settings.backend == "cloud":
                    # The cloud reads no footage for us: remember where each file lies to read it here.
                    from nemo_mcp.service.footage import remember_uploads

                    remember_uploads(self.mgr, sid, self.files, result.files)
            if self.urls:
                sid, result = await self.mgr.upload_urls(self.urls, sid, notes=self.notes)
                self.project = sid
                found += result.files
        return Uploaded(project=sid, files=found)

    def release(self) -> None:
        for f in self.files:
            f.close()


# -- export downloads -----------------------------------------------------------------------------


class RenderDownload(Transfer[Path]):
    """A finished render being saved into a folder: one per render and folder at a time."""

    prefix = "download_"

    def __init__(
        self,
        mgr: SessionManager,
        record: RenderRecord,
        dest: Path,
        *,
        overwrite: bool,
        captions_url: str | None = None,
    ) -> None:
        super().__init__(mgr, download_key(mgr, record.render_id, dest), record.session_id)
        self.record = record
        self.dest = dest
        self.overwrite = overwrite
        self.captions_url = captions_url

    async def work(self) -> Path:
        path = await exports.download(
            self.mgr,
            self.record,
            self.dest,
            overwrite=self.overwrite,
            on_progress=self.on_bytes,
            captions_url=self.captions_url,
        )

        async def checking(fraction: float) -> None:
            await self.on_stage(f"Checking the MP4 ({fraction:.0%})")

        # The cloud does not check its renders: the file is checked here, as part of its download.
        await exports.check_download(self.mgr, self.record, path, on_progress=checking)
        return path


def download_key(mgr: SessionManager, render_id: str, dest: Path) -> Hashable:
    """What identifies one download: the render and the folder it is saved in."""
    return ("download", mgr.backend, render_id, str(dest))
