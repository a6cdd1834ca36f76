"""Saving an exported video from a URL onto the user's disk.

The URL comes from the backend, and a backend (or whoever controls a redirect) must not be
able to make us fetch the cloud metadata service, reach the user's LAN, receive our token on
a foreign host, fill the disk, or leave half-written files. So :func:`download_to_file`:

- follows redirects itself (at most ``max_redirects``), re-checking every hop: HTTPS only
  (plain HTTP only to loopback, for the local engine); for the cloud, never to a private,
  loopback, link-local, multicast, reserved or unspecified address, whether written as an IP
  or reached through DNS;
- sends ``Authorization`` only to the API origin (same scheme, host and port) and strips it,
  and cookies, from every other hop: signed CDN links need no credentials;
- caps the size from ``Content-Length`` up front and by counting bytes while streaming;
- writes ``.nemo-*.part`` in the destination folder, fsyncs it, then moves it into place,
  and deletes it on any failure, cancellation included; the file gets the user's usual mode
  (0666 less the umask), like any file they save;
- names the file from ``filename`` (sanitised), never from the URL, and refuses to replace an
  existing file unless ``overwrite=True`` (refusing rather than inventing "name (1).mp4", so the
  caller always knows which path holds the export).

Known limit: hostnames are resolved for the check and again by httpx on connect, so a DNS
server answering differently the second time (rebinding) is not caught here.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import socket
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import anyio
import httpx

from nemo_mcp.api.addresses import ip_literal, is_public_address
from nemo_mcp.config import is_loopback_host, names_localhost
from nemo_mcp.errors import DownloadFolderRefused, DownloadRefused, TransportError

GiB = 1024**3
#: Overall limit of one download, redirects included: 4 GiB at 5 MB/s fits, a drip does not.
DOWNLOAD_DEADLINE = 900.0
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
ProgressCallback = Callable[[int, int | None], Awaitable[None]]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CREDENTIAL_HEADERS = ("authorization", "proxy-authorization", "cookie", "x-nemo-engine-key")
_PROGRESS_STEP = 1024 * 1024
_WINDOWS_RESERVED = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    *(f"COM{i}" for i in range(1, 10)),
    *(f"LPT{i}" for i in range(1, 10)),
}


async def system_resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, through the system resolver."""
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def safe_filename(name: str, *, default: str = "export.mp4") -> str:
    """``name`` reduced to a plain file name: no folders, no leading dots, no control characters."""
    base = re.split(r"[/\\]", name)[-1]
    base = "".join("_" if c in '<>:"|?*' else c for c in base if unicodedata.category(c) not in ("Cc", "Cf"))
    # Leading dots would hide the file (or be "..");  Windows drops trailing dots and spaces.
    base = base.strip().lstrip(".").strip().rstrip(". ")
    if not base:
        return default
    stem, dot, suffix = base.rpartition(".") if "." in base else (base, "", "")
    if stem.split(".")[0].upper() in _WINDOWS_RESERVED:
        base = "_" + base
    if len(base.encode()) > 200:  # most filesystems stop at 255 bytes; leave room for " (1)" and friends
        keep = (dot + suffix)[:20]
        base = base.encode()[: 200 - len(keep.encode())].decode(errors="ignore") + keep
    return base


def _where(url: httpx.URL) -> str:
    """Scheme, host and port only: paths and query strings of signed links carry secrets."""
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{url.host}{port}"


def _origin(url: httpx.URL) -> tuple[str, str, int]:
    return url.scheme, url.host.lower().rstrip("."), url.port or {"https": 443, "http": 80}.get(url.scheme, 0)


def _parse(url: str | httpx.URL) -> httpx.URL:
    if isinstance(url, str) and any(unicodedata.category(c) == "Cc" for c in url):
        raise DownloadRefused("The download link contains control characters, so it was not followed.")
    try:
        return httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError):
        raise DownloadRefused("The download link is not a valid URL, so it was not followed.") from None


async def _check_hop(url: httpx.URL, *, allow_loopback_http: bool, resolve: Resolver) -> None:
    where = _where(url)
    host = url.raw_host.decode("ascii", errors="replace").rstrip(".")
    if url.userinfo:
        raise DownloadRefused(
            f"The download link to {where} embeds a user name or password; it was not followed."
        )
    if url.scheme == "http" and allow_loopback_http and is_loopback_host(host):
        return
    if url.scheme != "https" or not host:
        raise DownloadRefused(
            f"The download link {url.scheme}://{url.host} is not HTTPS; downloads use https:// only "
            "(plain http:// only from the local engine on 127.0.0.1). Ask the backend for a fresh export link."
        )
    if allow_loopback_http:  # the local engine: its links are its own business
        return
    refusal = (
        f"The download link to {where} leads to a private, loopback or link-local network address "
        "({}), which cloud downloads never reach, to protect this machine and its network. If the link is "
        "genuine, open it in a browser instead."
    )
    if is_loopback_host(host) or names_localhost(host):
        raise DownloadRefused(refusal.format(host))
    literal = ip_literal(host)
    if literal is not None:
        if not is_public_address(literal):
            raise DownloadRefused(refusal.format(literal))
        return
    try:
        addresses = list(await resolve(host, url.port or 443))
    except OSError as exc:
        raise TransportError(
            f"Could not resolve {where} ({type(exc).__name__}). Check the connection."
        ) from None
    if not addresses:
        raise TransportError(f"Could not resolve {where}. Check the connection.")
    for address in addresses:
        ip = ip_literal(address)
        if ip is None or not is_public_address(ip):
            raise DownloadRefused(refusal.format(address))


def _prepare_target(dest_dir: Path, filename: str, *, overwrite: bool) -> tuple[Path, Path]:
    folder = Path(dest_dir).expanduser()
    if not folder.is_dir():
        raise DownloadFolderRefused(
            f"The download folder {folder} does not exist or is not a folder. Create it or choose another folder."
        )
    folder = folder.resolve()
    target = folder / safe_filename(filename)
    if not overwrite and os.path.lexists(target):
        raise _exists_refusal(target)
    return folder, target


def _exists_refusal(target: Path) -> DownloadRefused:
    return DownloadRefused(
        f"{target} already exists, so the download was not saved over it. Pass overwrite=True to replace it, "
        "or choose another filename."
    )


def _publish(tmp: Path, target: Path, *, overwrite: bool) -> None:
    if overwrite:
        os.replace(tmp, target)
        return
    try:
        os.link(tmp, target)  # atomic no-clobber: fails if the name appeared while we downloaded
    except FileExistsError:
        raise _exists_refusal(target) from None
    except OSError:  # a filesystem without hard links
        if os.path.lexists(target):
            raise _exists_refusal(target) from None
        os.replace(tmp, target)
        return
    tmp.unlink()


def _create_part(folder: Path) -> tuple[int, Path]:
    """A new, exclusive ``.nemo-*.part`` file in ``folder``, open for writing.

    Created with mode 0666 so the kernel applies the user's umask, as for any file the user
    saves: an export must be readable from a shared folder or a bind mount, which mkstemp's
    0600 would prevent. O_EXCL keeps the name ours, exactly as mkstemp does.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
    for _ in range(100):
        path = folder / f".nemo-{secrets.token_hex(8)}.part"
        try:
            return os.open(path, flags, 0o666), path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {folder}")


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not possible on Windows; durability there is best effort
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class _Mp4Head:
    """Collects a body's first bytes and refuses it unless they open an MP4 (an ISO BMFF ``ftyp`` box).

    A render is always an MP4; an HTML error page or anything else a link serves must not be
    kept under the export's name.
    """

    SIZE = 12

    def __init__(self, where: str) -> None:
        self.head = b""
        self.where = where

    def feed(self, chunk: bytes) -> None:
        if len(self.head) < self.SIZE:
            self.head += chunk[: self.SIZE - len(self.head)]
            if len(self.head) == self.SIZE:
                self.check()

    def check(self) -> None:
        if len(self.head) < self.SIZE or self.head[4:8] not in (b"ftyp", b"styp"):
            raise DownloadRefused(
                f"The download from {self.where} is not an MP4 video (its first bytes are not an MP4 header), "
                "so nothing was saved. Export again to get a fresh link."
            )


async def _save(
    response: httpx.Response,
    folder: Path,
    target: Path,
    *,
    max_bytes: int,
    overwrite: bool,
    on_progress: ProgressCallback | None,
    require_mp4: bool = True,
) -> Path:
    where = _where(response.request.url)
    too_big = DownloadRefused(
        f"The download from {where} is larger than the {max_bytes / 1_048_576:.0f} MB limit, so it was stopped "
        "and nothing was saved. Raise max_bytes if the file is expected to be that large."
    )
    length = response.headers.get("content-length", "")
    total = int(length) if length.isdigit() else None
    if total is not None and total > max_bytes:
        raise too_big
    fd, tmp = _create_part(folder)
    received = reported = 0
    head = _Mp4Head(where) if require_mp4 else None
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in response.aiter_bytes():
                received += len(chunk)
                if received > max_bytes:
                    raise too_big
                if head is not None:
                    head.feed(chunk)
                out.write(chunk)  # page-cache writes are quick; the slow fsync goes to a thread below
                if on_progress is not None and received - reported >= _PROGRESS_STEP:
                    reported = received
                    await on_progress(received, total)
            identity = response.headers.get("content-encoding", "identity").lower() == "identity"
            if identity and total is not None and received != total:
                raise TransportError(
                    f"The connection to {where} ended after {received} of {total} bytes. Run the download again."
                )
            if head is not None:
                head.check()  # a body shorter than an MP4 header
            out.flush()
            await anyio.to_thread.run_sync(os.fsync, out.fileno())
        _publish(tmp, target, overwrite=overwrite)
        _fsync_dir(folder)
    except httpx.RequestError as exc:
        _discard(tmp)
        raise TransportError(
            f"The download from {where} broke off ({type(exc).__name__}); nothing was saved. Run it again."
        ) from None
    except OSError as exc:
        _discard(tmp)
        raise DownloadRefused(
            f"Could not save the download in {folder} ({exc.strerror or exc}). Free some space or choose "
            "another folder."
        ) from None
    except BaseException:  # refusals, cancellation, errors raised by on_progress
        _discard(tmp)
        raise
    if on_progress is not None and reported != received:
        await on_progress(received, total)
    return target


async def _send_hop(
    client: httpx.AsyncClient, url: httpx.URL, *, api: tuple[str, str, int] | None, auth_header: str | None
) -> httpx.Response:
    """GET one hop, credentials only to the API origin; a redirect is the caller's to follow."""
    request = client.build_request("GET", url)
    if api is None or _origin(url) != api:
        for name in _CREDENTIAL_HEADERS:  # client-wide defaults must not ride along to a foreign host
            request.headers.pop(name, None)
    elif auth_header:
        request.headers["Authorization"] = auth_header
    try:
        return await client.send(request, stream=True, follow_redirects=False, auth=None)
    except httpx.RequestError as exc:
        raise TransportError(
            f"Could not download from {_where(url)} ({type(exc).__name__}). Check the connection and "
            "run the download again."
        ) from None


def _discard(tmp: Path) -> None:
    with contextlib.suppress(OSError):
        tmp.unlink()


async def download_to_file(
    client: httpx.AsyncClient,
    url: str,
    dest_dir: Path,
    *,
    filename: str,
    auth_header: str | None,
    api_origin: str | None,
    allow_loopback_http: bool,
    max_bytes: int = 4 * GiB,
    overwrite: bool = False,
    on_progress: ProgressCallback | None = None,
    max_redirects: int = 5,
    resolve: Resolver = system_resolve,
    deadline: float = DOWNLOAD_DEADLINE,
    require_mp4: bool = True,
) -> Path:
    """Download ``url`` into ``dest_dir / safe_filename(filename)`` and return that path.

    Raises :class:`DownloadRefused` when a rule forbids the download (or the file cannot be
    written, or ``require_mp4`` and the body is not an MP4) and :class:`TransportError` when
    the network fails or the whole download takes longer than ``deadline`` seconds (a link
    that drips bytes never trips a read timeout). Nothing is left in ``dest_dir`` unless the
    whole body arrived.
    """
    folder, target = _prepare_target(dest_dir, filename, overwrite=overwrite)
    api = _origin(_parse(api_origin)) if api_origin else None
    current = _parse(url)
    redirects = 0
    with anyio.move_on_after(deadline):
        while True:
            await _check_hop(current, allow_loopback_http=allow_loopback_http, resolve=resolve)
            response = await _send_hop(client, current, api=api, auth_header=auth_header)
            try:
                if response.status_code in _REDIRECTS:
                    redirects += 1
                    if redirects > max_redirects:
                        raise DownloadRefused(
                            f"The download link redirected more than {max_redirects} times, so it was abandoned. "
                            "Ask the backend for a fresh export link."
                        )
                    location = response.headers.get("location")
                    if not location:
                        raise TransportError(
                            f"{_where(current)} sent a redirect without a Location. Try again later."
                        )
                    current = _parse(current.join(_parse(location)))
                    continue
                if response.status_code != 200:
                    raise TransportError(
                        f"{_where(current)} answered HTTP {response.status_code} to the download; the link may have "
                        "expired. Export again to get a fresh link."
                    )
                return await _save(
                    response,
                    folder,
                    target,
                    max_bytes=max_bytes,
                    overwrite=overwrite,
                    on_progress=on_progress,
                    require_mp4=require_mp4,
                )
            finally:
                with anyio.CancelScope(shield=True):
                    await response.aclose()
    raise TransportError(
        f"The download did not finish within {deadline:g} s, so it was stopped and nothing was saved. "
        "Run the export again with render_id to retry the download."
    )
