"""The streaming multipart receiver: files land on disk with their hashes, and every limit holds."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from nemo_mcp.engine.http.envelopes import ApiFailure
from nemo_mcp.engine.http.multipart import MAX_FORM_FIELD_BYTES, receive_multipart

BOUNDARY = "b0undary"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def _part(name: str, data: bytes, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
    return f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"


def _body(*parts: bytes, end: bool = True) -> bytes:
    return b"".join(parts) + (f"--{BOUNDARY}--\r\n".encode() if end else b"")


async def _chunks(data: bytes, size: int = 7000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def _receive(folder: Path, data: bytes, *, limit: int = 10**9, size: int = 7000) -> list[object]:
    return list(await receive_multipart(_chunks(data, size), CONTENT_TYPE, folder, max_file_bytes=limit))


def _failure(exc: ApiFailure) -> tuple[int, int, str]:
    body = json.loads(bytes(exc.response.body))
    return exc.response.status_code, body["code"], body["message"]


@pytest.mark.anyio
async def test_files_are_written_with_size_and_hash(tmp_path: Path) -> None:
    """Each file part becomes a copy named by its media id; other fields are skipped; sizes and hashes match."""
    video = bytes(range(256)) * 10_000  # 2.5 MB: more than one flush
    body = _body(
        _part("note", b"ignored"),
        _part("files", video, "C:\\clips\\Holiday.MP4"),
        _part("file", b"1\n00:00:00,000 --> 00:00:01,000\nhi\n", "subs.srt"),
    )
    items = await receive_multipart(_chunks(body), CONTENT_TYPE, tmp_path, max_file_bytes=10**9)
    assert [(i.filename, i.copied, i.size) for i in items] == [
        ("Holiday.MP4", True, len(video)),
        ("subs.srt", True, 35),
    ]
    first = items[0]
    assert first.path == tmp_path / f"{first.media_id}.mp4" and first.media_id.startswith("m_")
    assert first.path.read_bytes() == video
    assert first.hash == hashlib.sha256(video).hexdigest()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(i.path.name for i in items)


@pytest.mark.anyio
async def test_file_over_the_limit_is_4002_and_nothing_stays(tmp_path: Path) -> None:
    """A file growing past the limit stops the upload with 4002, and no file of it is left behind."""
    body = _body(_part("files", b"a" * 100, "ok.mp4"), _part("files", b"b" * 5000, "big.mp4"))
    with pytest.raises(ApiFailure) as caught:
        await _receive(tmp_path, body, limit=4096, size=64)
    status, code, message = _failure(caught.value)
    assert (status, code) == (200, 4002)
    assert message.startswith("big.mp4 is larger than the 0.00390625 MB limit")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.anyio
async def test_too_many_files(tmp_path: Path) -> None:
    """The 21st file part is refused with HTTP 400."""
    body = _body(*(_part("files", b"x", f"{n}.mp4") for n in range(21)))
    with pytest.raises(ApiFailure) as caught:
        await _receive(tmp_path, body)
    assert _failure(caught.value) == (400, 400, "Send at most 20 files per upload.")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.anyio
async def test_large_form_field_is_refused(tmp_path: Path) -> None:
    """A field other than files may not exceed its small limit, so it cannot fill memory."""
    body = _body(_part("note", b"n" * (MAX_FORM_FIELD_BYTES + 1)))
    with pytest.raises(ApiFailure) as caught:
        await _receive(tmp_path, body)
    assert _failure(caught.value) == (400, 400, "A form field other than 'files' is too large.")


@pytest.mark.anyio
async def test_unsupported_type_is_4001(tmp_path: Path) -> None:
    """A file whose suffix the engine does not accept is refused before any byte is kept."""
    with pytest.raises(ApiFailure) as caught:
        await _receive(tmp_path, _body(_part("files", b"MZ", "setup.exe")))
    status, code, message = _failure(caught.value)
    assert (status, code) == (200, 4001)
    assert message.startswith("setup.exe: unsupported file type. Accepted: ")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.anyio
async def test_body_cut_short_inside_a_file(tmp_path: Path) -> None:
    """A body that ends inside a file part is refused, and the partial files are removed."""
    whole = _part("files", b"a" * 10, "one.mp4") + _part("files", b"b" * 10, "two.mp4")
    with pytest.raises(ApiFailure) as caught:
        await _receive(tmp_path, whole[:-6], size=16)
    assert _failure(caught.value) == (400, 400, "The upload of two.mp4 was cut short; send it again.")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.anyio
async def test_missing_boundary(tmp_path: Path) -> None:
    """A multipart content type without a boundary cannot be parsed and says so."""
    with pytest.raises(ApiFailure) as caught:
        await receive_multipart(_chunks(b""), "multipart/form-data", tmp_path, max_file_bytes=1)
    assert _failure(caught.value) == (400, 400, "The multipart body has no boundary.")
