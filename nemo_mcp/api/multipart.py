"""Uploads on the wire: what can be uploaded, and the multipart body streamed from disk with an exact length."""

from __future__ import annotations

import mimetypes
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

import httpx

from nemo_mcp.errors import TransportError

UPLOAD_CHUNK = 1024 * 1024
#: Told the bytes sent so far and the total, as an upload streams.
ProgressFn = Callable[[int, int], Awaitable[None]]


class UploadSource(Protocol):
    """A local file that passed the upload policy (see :mod:`nemo_mcp.service.uploads`)."""

    @property
    def name(self) -> str: ...

    @property
    def size(self) -> int: ...

    @property
    def mime_type(self) -> str: ...

    def open(self) -> IO[bytes]: ...


@dataclass(frozen=True)
class PathSource:
    """An :class:`UploadSource` over a plain path, for callers that did their own checks."""

    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def size(self) -> int:
        return self.path.stat().st_size

    @property
    def mime_type(self) -> str:
        return mimetypes.guess_type(self.path.name)[0] or "application/octet-stream"

    def open(self) -> IO[bytes]:
        return self.path.open("rb")


def _quote_filename(name: str) -> str:
    # RFC 7578: quote and escape; drop characters that would break the header line.
    safe = "".join(ch for ch in name if ch >= " " and ch != "\x7f")
    return safe.replace("\\", "\\\\").replace('"', "%22") or "upload"


class MultipartUpload(httpx.AsyncByteStream):
    """A multipart/form-data body streamed from disk in fixed-size chunks.

    The total length is known up front (so the request carries Content-Length and the
    server can refuse an oversize body at once) and memory stays at one chunk whatever
    the file size. Each iteration re-opens the sources, so a retried request starts
    every file from its first byte.
    """

    def __init__(
        self, sources: Sequence[UploadSource], *, field: str = "files", on_progress: ProgressFn | None = None
    ) -> None:
        self.boundary = uuid.uuid4().hex
        self._sources = list(sources)
        self._on_progress = on_progress
        self._heads = [
            (
                f"--{self.boundary}\r\n"
                f'Content-Disposition: form-data; name="{field}"; filename="{_quote_filename(s.name)}"\r\n'
                f"Content-Type: {s.mime_type}\r\n\r\n"
            ).encode()
            for s in self._sources
        ]
        self._sizes = [s.size for s in self._sources]
        self._tail = f"--{self.boundary}--\r\n".encode()
        self.total_file_bytes = sum(self._sizes)
        self.content_length = sum(
            len(h) + n + 2 for h, n in zip(self._heads, self._sizes, strict=True)
        ) + len(self._tail)

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    async def __aiter__(self) -> AsyncIterator[bytes]:
        sent = 0
        for head, source, size in zip(self._heads, self._sources, self._sizes, strict=True):
            yield head
            remaining = size
            with source.open() as fh:
                while remaining > 0:
                    chunk = fh.read(min(UPLOAD_CHUNK, remaining))
                    if not chunk:
                        # The file shrank after it was checked: never send a short body
                        # under a Content-Length that promised more.
                        raise TransportError(
                            f"{source.name} changed while it was being uploaded; upload it again."
                        )
                    remaining -= len(chunk)
                    sent += len(chunk)
                    yield chunk
                    if self._on_progress is not None:
                        await self._on_progress(sent, self.total_file_bytes)
            yield b"\r\n"
        yield self._tail
