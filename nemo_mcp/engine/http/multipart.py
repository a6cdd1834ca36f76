"""A ``multipart/form-data`` upload streamed to disk, its limits enforced while it arrives.

python-multipart's push parser calls back synchronously as each chunk is parsed; the
callbacks only record headers and buffer file bytes, and the file writes happen between
chunks in a worker thread, so a slow disk never stalls the event loop and at most about
:data:`FLUSH_BYTES` plus one chunk is held in memory per file.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterable
from pathlib import Path
from typing import IO, TYPE_CHECKING

import anyio.to_thread
from python_multipart.multipart import MultipartParser, parse_options_header

from nemo_mcp.engine.http.envelopes import coded
from nemo_mcp.engine.http.incoming import (
    FLUSH_BYTES,
    MAX_FILES_PER_REQUEST,
    Incoming,
    display_name,
    new_copy,
    too_large,
)

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

MAX_FORM_FIELD_BYTES = 64 * 1024
FILE_FIELDS = (b"files", b"file")


class _FilePart:
    """A file part being written: bytes not yet on disk, and whether the part has ended."""

    def __init__(self, item: Incoming) -> None:
        self.item = item
        self.digest = hashlib.sha256()
        self.buffer = bytearray()
        self.handle: IO[bytes] | None = None
        self.ended = False
        self.closed = False


class _Parts:
    """The parser's callbacks: headers are collected per part, file bytes are counted and buffered."""

    def __init__(self, folder: Path, max_file_bytes: int) -> None:
        self.folder = folder
        self.max_file_bytes = max_file_bytes
        self.files: list[_FilePart] = []
        self._current: _FilePart | None = None
        self._headers: dict[str, str] = {}
        self._field = bytearray()
        self._value = bytearray()
        self._skipped = 0

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": lambda data, start, end: self._field.extend(data[start:end]),
            "on_header_value": lambda data, start, end: self._value.extend(data[start:end]),
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
        }

    def on_part_begin(self) -> None:
        self._headers, self._skipped, self._current = {}, 0, None

    def on_header_end(self) -> None:
        self._headers[self._field.decode("latin-1").lower()] = self._value.decode("utf-8", "replace")
        self._field.clear()
        self._value.clear()

    def on_headers_finished(self) -> None:
        _, disposition = parse_options_header(self._headers.get("content-disposition", ""))
        raw_name = disposition.get(b"filename")
        if disposition.get(b"name") not in FILE_FIELDS or raw_name is None:
            return  # another form field: its bytes are counted, not kept
        if len(self.files) >= MAX_FILES_PER_REQUEST:
            raise coded(400, f"Send at most {MAX_FILES_PER_REQUEST} files per upload.", status=400)
        self._current = _FilePart(new_copy(self.folder, display_name(raw_name.decode("utf-8", "replace"))))
        self.files.append(self._current)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        part = self._current
        if part is None:
            self._skipped += end - start
            if self._skipped > MAX_FORM_FIELD_BYTES:
                raise coded(400, "A form field other than 'files' is too large.", status=400)
            return
        part.item.size += end - start
        if part.item.size > self.max_file_bytes:
            raise too_large(self.max_file_bytes, part.item.filename)
        part.digest.update(data[start:end])
        part.buffer += data[start:end]

    def on_part_end(self) -> None:
        if self._current is not None:
            self._current.ended = True
            self._current = None

    async def write(self) -> None:
        """Create, fill and close files as far as the bytes parsed so far allow."""
        for part in self.files:
            if part.closed:
                continue
            if part.handle is None:
                part.handle = await anyio.to_thread.run_sync(part.item.path.open, "xb")
            if part.buffer and (part.ended or len(part.buffer) >= FLUSH_BYTES):
                data = bytes(part.buffer)
                part.buffer.clear()
                await anyio.to_thread.run_sync(part.handle.write, data)
            if part.ended:
                await anyio.to_thread.run_sync(part.handle.close)
                part.item.hash = part.digest.hexdigest()
                part.closed = True

    def abandon(self) -> None:
        """Close and remove every file of the upload."""
        for part in self.files:
            if part.handle is not None:
                part.handle.close()
            part.item.path.unlink(missing_ok=True)


async def receive_multipart(
    body: AsyncIterable[bytes], content_type: str, folder: Path, *, max_file_bytes: int
) -> list[Incoming]:
    """Stream every ``files`` part of a multipart body into ``folder``; limits are checked as bytes come."""
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise coded(400, "The multipart body has no boundary.", status=400)
    parts = _Parts(folder, max_file_bytes)
    parser = MultipartParser(boundary, parts.callbacks())
    try:
        async for chunk in body:
            parser.write(chunk)
            await parts.write()
        parser.finalize()
    except BaseException:
        parts.abandon()
        raise
    cut = next((part for part in parts.files if not part.ended), None)
    if cut is not None:
        parts.abandon()
        raise coded(400, f"The upload of {cut.item.filename} was cut short; send it again.", status=400)
    return [part.item for part in parts.files]
