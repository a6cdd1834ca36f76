"""Uploads given as URLs: ``file://`` paths used in place, and loopback ``http(s)`` URLs fetched.

A ``file://`` URL is not copied. With the engine's ``file_roots`` it must resolve, symlinks
included, to a file inside one of those folders, so a token holder cannot read other files.
"""

from __future__ import annotations

import hashlib
import os
import stat
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx

from nemo_mcp.config import is_loopback_host
from nemo_mcp.engine.http.envelopes import ApiFailure, coded
from nemo_mcp.engine.http.incoming import (
    FLUSH_BYTES,
    MAX_FILES_PER_REQUEST,
    Incoming,
    check_type,
    discard,
    display_name,
    new_copy,
    too_large,
)
from nemo_mcp.engine.pinning import FileChanged, Pin, open_nofollow
from nemo_mcp.engine.store import new_media_id

_URLS_EXPECTED = 'Send {"urls": ["file:///…" or "http://127.0.0.1/…"], "source_type": "url"}.'
_OFFLINE = (
    "The local engine works offline: it fetches URLs only from this computer (127.0.0.1 or "
    "localhost). Download the file and upload it, or pass a file:// URL."
)


def inside_roots(path: Path, roots: Sequence[Path]) -> bool:
    """Whether ``path`` (already resolved) lies in one of ``roots``, comparing whole path components."""
    # is_relative_to compares components: /media-evil is not inside /media.
    return any(path.is_relative_to(root) for root in roots)


def _regular_file(path: Path) -> Path | None:
    try:
        resolved = path.resolve(strict=True)
    except OSError:
        return None
    return resolved if resolved.is_file() else None


def _loose_resolve(path: Path) -> Path | None:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return None


def _outside_roots(filename: str) -> ApiFailure:
    return coded(
        4001,
        f"{filename}: file:// URLs may name only files inside the folders this engine was allowed to read "
        "(the MCP server's upload folders), and this one is outside them. Move or copy it into an allowed "
        "folder (NEMO_UPLOAD_ROOTS adds folders), or upload the file itself.",
    )


def _hash_pinned(path: Path, filename: str) -> tuple[str, int, Pin]:
    """The digest, size and identity of the regular file at ``path`` (no symlink followed).

    The identity is taken before reading and compared after, so a file being rewritten while
    it is hashed is refused rather than pinned half-way.
    """
    try:
        fd = open_nofollow(path)
    except OSError:
        raise coded(4001, f"{filename}: no such file, or not a regular file that can be read.") from None
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise coded(4001, f"{filename}: not a regular file.")
        os.set_blocking(fd, True)
        digest = hashlib.sha256()
        size = 0
        while chunk := handle.read(FLUSH_BYTES):
            digest.update(chunk)
            size += len(chunk)
        pin = Pin.of(st)
        if Pin.of(os.fstat(fd)) != pin or size != pin.size:
            raise coded(4001, str(FileChanged(filename)) + ".")
    return digest.hexdigest(), size, pin


async def _in_place(parts: urllib.parse.SplitResult, roots: tuple[Path, ...] | None) -> Incoming:
    """A ``file://`` URL's file, checked against ``roots`` and hashed, to be used where it is."""
    if parts.netloc not in ("", "localhost"):
        raise coded(400, "file:// URLs must name a file on this computer.", status=400)
    path = Path(urllib.request.url2pathname(parts.path))
    if not path.is_absolute():
        raise coded(400, "A file:// URL needs an absolute path.", status=400)
    filename = display_name(path.name)
    if roots is not None:
        # Containment first, on the loosely resolved path (symlinks followed as far as they
        # exist), so a refusal says nothing about whether a file outside the roots exists.
        loose = await anyio.to_thread.run_sync(_loose_resolve, path)
        if loose is None or not inside_roots(loose, roots):
            raise _outside_roots(filename)
    check_type(filename)
    resolved = await anyio.to_thread.run_sync(_regular_file, path)
    if resolved is None:
        raise coded(4001, f"{filename}: no such file, or not a regular file that can be read.")
    if roots is not None and not inside_roots(resolved, roots):
        raise _outside_roots(filename)  # a symlink that appeared since the first check
    # Referenced in place: a long lecture is not copied, only read when edited or rendered, and
    # then only if it is still this very file (see engine.pinning).
    digest, size, pin = await anyio.to_thread.run_sync(_hash_pinned, resolved, filename)
    return Incoming(filename, new_media_id(), resolved, False, size, digest, pin.encode())


async def _fetch_loopback(
    url: str, folder: Path, max_file_bytes: int, headers: Mapping[str, str]
) -> Incoming:
    """A loopback URL's body, copied into ``folder`` under the size limit."""
    item = new_copy(folder, display_name(urllib.parse.unquote(urllib.parse.urlsplit(url).path) or "download"))
    digest = hashlib.sha256()
    try:
        # No redirects and no proxies: a loopback URL must not become a fetch from elsewhere.
        async with (
            httpx.AsyncClient(follow_redirects=False, trust_env=False, timeout=60.0) as client,
            client.stream("GET", url, headers=dict(headers)) as response,
        ):
            if response.status_code != 200:
                raise coded(
                    400, f"Fetching {item.filename} failed with HTTP {response.status_code}.", status=400
                )
            with item.path.open("xb") as handle:
                async for chunk in response.aiter_bytes(FLUSH_BYTES):
                    item.size += len(chunk)
                    if item.size > max_file_bytes:
                        raise too_large(max_file_bytes, item.filename)
                    digest.update(chunk)
                    await anyio.to_thread.run_sync(handle.write, chunk)
    except httpx.HTTPError as exc:
        item.path.unlink(missing_ok=True)
        raise coded(400, f"Fetching {item.filename} failed ({type(exc).__name__}).", status=400) from None
    except BaseException:
        item.path.unlink(missing_ok=True)
        raise
    item.hash = digest.hexdigest()
    return item


async def receive_urls(
    body: Any,
    folder: Path,
    *,
    roots: tuple[Path, ...] | None,
    max_file_bytes: int,
    own: tuple[int | None, Mapping[str, str]] = (None, {}),
) -> list[Incoming]:
    """The files named by a ``{"urls": […]}`` body; all or none (copies are removed on a failure).

    ``own`` is the engine's port and gate headers: sent only with URLs that point at the engine itself.
    """
    urls = body.get("urls") if isinstance(body, dict) else None
    if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
        raise coded(400, _URLS_EXPECTED, status=400)
    if len(urls) > MAX_FILES_PER_REQUEST:
        raise coded(400, f"Send at most {MAX_FILES_PER_REQUEST} URLs per upload.", status=400)
    incoming: list[Incoming] = []
    try:
        for url in urls:
            parts = urllib.parse.urlsplit(url.strip())
            if parts.scheme == "file":
                incoming.append(await _in_place(parts, roots))
            elif parts.scheme in ("http", "https") and is_loopback_host(parts.hostname):
                headers = own[1] if own[0] is not None and parts.port == own[0] else {}
                incoming.append(await _fetch_loopback(url.strip(), folder, max_file_bytes, headers))
            else:
                raise coded(400, _OFFLINE, status=400)
    except BaseException:
        discard(incoming)
        raise
    return incoming
