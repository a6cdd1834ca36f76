"""What a local file or a URL must be before nemo-mcp uploads it.

The upload tool acts on paths chosen by a model that may have read hostile text, so
"upload ~/.ssh/id_rsa" must fail by construction, not by luck. :meth:`UploadPolicy.check`
refuses, in this order, and each refusal names its rule and how to allow the file:

1. control characters in the path (NUL, line breaks, ANSI escapes, bidi overrides);
2. a path that is not inside an allowed folder once ``~``, ``..`` and symlinks are resolved
   (checked before existence, so the refusal reveals nothing about files outside the roots);
3. an extension outside the accepted formats (subtitles only when ``allow_subtitles``);
4. anything but a regular file, judged by ``fstat`` on the descriptor we opened, and a file
   with more than one hard link (the same inode as a file that may lie outside the folders);
5. an empty file or one over the size limit;
6. content whose first bytes are not media of the extension's kind (a key renamed ``.mp4``).

The opened descriptor is kept: :meth:`CheckedFile.open` reads that inode, up to the size
that was checked, so swapping the file after the check changes nothing that is uploaded.
"""

from __future__ import annotations

import io
import os
import re
import stat
import sys
import threading
import unicodedata
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import unquote, urlsplit

import platformdirs

from nemo_mcp.api.addresses import ip_literal, is_public_address
from nemo_mcp.config import is_loopback_host, names_localhost
from nemo_mcp.errors import ACCEPTED_FORMATS, MAX_UPLOAD_BYTES, UploadRefused

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

MediaKind = Literal["video", "image", "audio", "subtitle"]

ROOTS_VARIABLE = "NEMO_UPLOAD_ROOTS"
SUBTITLE_MAX_BYTES = 10 * 1024 * 1024
#: Files (or links) one upload call may name: the backends take at most 20 per request.
MAX_UPLOADS_PER_CALL = 20
_HEAD_BYTES = 64

# Extension -> (kind, MIME type). Kept equal to ACCEPTED_FORMATS by a test.
_MEDIA: dict[str, tuple[MediaKind, str]] = {
    "mp4": ("video", "video/mp4"),
    "mov": ("video", "video/quicktime"),
    "avi": ("video", "video/x-msvideo"),
    "webm": ("video", "video/webm"),
    "mkv": ("video", "video/x-matroska"),
    "jpg": ("image", "image/jpeg"),
    "png": ("image", "image/png"),
    "gif": ("image", "image/gif"),
    "webp": ("image", "image/webp"),
    "mp3": ("audio", "audio/mpeg"),
    "wav": ("audio", "audio/wav"),
    "m4a": ("audio", "audio/mp4"),
    "aac": ("audio", "audio/aac"),
}
_SUBTITLES: dict[str, tuple[MediaKind, str]] = {
    "srt": ("subtitle", "application/x-subrip"),
    "vtt": ("subtitle", "text/vtt"),
}
# Old QuickTime files may start with one of these atoms instead of "ftyp".
_QT_ATOMS = (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip")
_AV: frozenset[MediaKind] = frozenset({"video", "audio"})
# Bidi embeddings, overrides and isolates make "gpj.mp4" display as something else.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
_SRT = re.compile(
    r"\A\s*\d+[ \t]*\r?\n\d{1,2}:\d{2}:\d{2}[,.]\d{3}[ \t]*-->[ \t]*\d{1,2}:\d{2}:\d{2}[,.]\d{3}"
)
_VTT = re.compile(r"\AWEBVTT(?:[ \t\r\n]|\Z)")


def has_control_chars(text: str) -> bool:
    """True if ``text`` holds a C0/C1 control character or a bidi override."""
    return any(unicodedata.category(c) == "Cc" or c in _BIDI for c in text)


def sniff_kinds(head: bytes) -> frozenset[MediaKind]:
    """The media kinds that a file starting with ``head`` can be (empty: not media we accept)."""
    if head[4:8] in _QT_ATOMS or head.startswith(b"\x1a\x45\xdf\xa3"):  # ISO-BMFF/QuickTime, EBML
        return _AV
    if head.startswith(b"RIFF"):
        kind: dict[bytes, MediaKind] = {b"AVI ": "video", b"WEBP": "image", b"WAVE": "audio"}
        return frozenset({kind[head[8:12]]}) if head[8:12] in kind else frozenset()
    if head.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")):
        return frozenset({"image"})
    # ID3 tag, or an MPEG audio / ADTS frame sync (11 set bits).
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return frozenset({"audio"})
    return frozenset()


def looks_like_subtitles(data: bytes, extension: str) -> bool:
    """True if ``data`` is UTF-8 text without control characters shaped like SRT or WebVTT."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    if any(unicodedata.category(c) == "Cc" and c not in "\t\r\n" for c in text):
        return False
    return bool((_VTT if extension == "vtt" else _SRT).match(text))


def check_url(url: str, *, engine_origin: str | None = None) -> str:
    """Validate a link for the URL form of upload and return it stripped.

    The backend fetches the link itself, so for the cloud it must be HTTPS to a public host:
    no IP literal in a private, loopback or link-local range, no ``localhost``, no single-label
    intranet name, no credentials.

    With ``engine_origin`` (the local engine's base URL) only links to that origin pass: the
    engine works offline and fetches loopback links only, and any other loopback port or path
    would let a prompt scan this machine's services and read their answers into a project.
    """
    text = url.strip()
    fix = "Pass a public https:// link to the media file."
    if not text or has_control_chars(text) or any(c.isspace() for c in text):
        raise UploadRefused(f"The link contains spaces or control characters, so it was refused. {fix}")
    parts = urlsplit(text)
    try:
        parts.port  # noqa: B018  (a malformed port raises here)
    except ValueError:
        raise UploadRefused(f"The link has an invalid port number. {fix}") from None
    host = (parts.hostname or "").rstrip(".")
    if "@" in parts.netloc:
        raise UploadRefused(f"The link embeds a user name or password, which is never sent on. {fix}")
    if parts.scheme not in ("http", "https") or not host:
        raise UploadRefused(
            f"Only https:// links can be uploaded (got {parts.scheme or 'no scheme'}://). {fix}"
        )
    if engine_origin is not None:
        if _origin(text) != _origin(engine_origin):
            raise UploadRefused(
                "The local engine works offline and takes links only to itself, so this link was refused. "
                "Pass the file's path in `paths` instead (it must be inside the upload folders)."
            )
        return text
    if parts.scheme != "https":
        raise UploadRefused(f"Only https:// links can be uploaded; plain http:// is not accepted. {fix}")
    ip = ip_literal(host)
    if (
        is_loopback_host(host)
        or names_localhost(host)
        or (ip is None and "." not in host)
        or (ip is not None and not is_public_address(ip))
    ):
        raise UploadRefused(
            f"The link points to a local or private network address ({host}), which the video service "
            f"must not be sent to. {fix}"
        )
    return text


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").rstrip(".").lower(), parts.port or default


class _PinnedReader(io.RawIOBase):
    """Reads one verified inode through its own descriptor and offset, never past the checked size."""

    def __init__(self, fd: int, size: int) -> None:
        super().__init__()
        self._fd, self._size, self._pos = os.dup(fd), size, 0
        self._lock = threading.Lock()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        want = min(len(view), self._size - self._pos)
        if want <= 0:
            return 0
        data = _pread(self._fd, want, self._pos, self._lock)
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()


def _pread(fd: int, size: int, offset: int, lock: threading.Lock) -> bytes:
    if hasattr(os, "pread"):
        return os.pread(fd, size, offset)
    with lock:  # Windows has no pread; seek and read under a lock instead
        os.lseek(fd, offset, os.SEEK_SET)
        return os.read(fd, size)


@dataclass(frozen=True, eq=False)
class CheckedFile:
    """A file that passed :meth:`UploadPolicy.check`, holding the descriptor it was checked through.

    Use it as a context manager (or call :meth:`close`) to release the descriptor.
    """

    path: Path  # the resolved path that was opened
    name: str  # display name: the resolved file's basename
    size: int  # bytes, from fstat on the opened descriptor
    kind: MediaKind
    mime_type: str
    extension: str  # lower case, without the dot
    _fd: int = field(repr=False)
    _finalizer: weakref.finalize = field(init=False, repr=False)  # type: ignore[type-arg]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_finalizer", weakref.finalize(self, os.close, self._fd))

    def open(self) -> io.BufferedReader:
        """A fresh reader at offset 0 over the same inode, independent of other readers.

        It reports ``size`` as its length (seek/tell) and stops there even if the file grew,
        so a retried upload sends the same bytes that were checked.
        """
        if not self._finalizer.alive:
            raise ValueError("CheckedFile is closed")
        return io.BufferedReader(_PinnedReader(self._fd, self.size))

    def close(self) -> None:
        self._finalizer()

    def __enter__(self) -> CheckedFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _too_broad(folder: Path, home: Path) -> bool:
    """A default root must not be the filesystem root, the home folder or one of its parents."""
    return folder == Path(folder.anchor) or home.is_relative_to(folder)


def _describe(path_str: str) -> str:
    shown = path_str if len(path_str) <= 200 else "…" + path_str[-199:]
    return f"'{shown}'"


def _root_paths(roots: Iterable[str | Path]) -> list[Path]:
    """The local folders among roots an MCP client offered (``file://`` URIs or paths)."""
    paths: list[Path] = []
    for root in roots:
        if isinstance(root, Path):
            paths.append(root)
            continue
        parts = urlsplit(root)
        if parts.scheme == "file" and parts.netloc in ("", "localhost"):
            path = unquote(parts.path)
            if sys.platform == "win32" and re.match(r"/[A-Za-z]:", path):
                path = path[1:]
            if path and not has_control_chars(path):
                paths.append(Path(path))
    return paths


class UploadPolicy:
    """The folders uploads may read from, the size limit, and the checks of :meth:`check`."""

    def __init__(
        self,
        roots: Sequence[Path],
        *,
        max_bytes: int = MAX_UPLOAD_BYTES,
        allow_subtitles: bool = False,
        cwd: Path | None = None,
    ) -> None:
        resolved: list[Path] = []
        for root in roots:
            real = Path(root).expanduser().resolve()
            if real not in resolved:
                resolved.append(real)
        self.roots: tuple[Path, ...] = tuple(resolved)
        self.max_bytes = max_bytes
        self.allow_subtitles = allow_subtitles
        self.cwd = (cwd or Path.cwd()).resolve()

    @classmethod
    def default(
        cls,
        extra_roots: Iterable[Path] = (),
        *,
        cwd: Path | None = None,
        max_bytes: int = MAX_UPLOAD_BYTES,
        allow_subtitles: bool = False,
    ) -> UploadPolicy:
        """The working directory, the user's existing media folders, and ``extra_roots``.

        Media folders are ~/Movies, ~/Videos, ~/Music, ~/Pictures, ~/Desktop, ~/Downloads and
        whatever platformdirs reports for videos, music, pictures, downloads and desktop.
        The working directory and those folders are skipped when they are the filesystem root,
        the home folder or a parent of it: MCP clients often start servers in ``/`` or ``~``,
        and XDG maps a disabled desktop folder to ``$HOME``; either would open ~/.ssh.
        ``extra_roots`` (NEMO_UPLOAD_ROOTS) are the user's explicit choice and kept as given.
        """
        home = Path.home().resolve()
        here = (cwd or Path.cwd()).resolve()
        candidates = [
            here,
            *(home / n for n in ("Movies", "Videos", "Music", "Pictures", "Desktop", "Downloads")),
        ]
        for finder in (
            platformdirs.user_videos_dir,
            platformdirs.user_music_dir,
            platformdirs.user_pictures_dir,
            platformdirs.user_downloads_dir,
            platformdirs.user_desktop_dir,
        ):
            candidates.append(Path(finder()))
        roots = [p.resolve() for p in candidates if p.is_dir() and not _too_broad(p.resolve(), home)]
        return cls([*roots, *extra_roots], max_bytes=max_bytes, allow_subtitles=allow_subtitles, cwd=here)

    def with_roots(self, roots: Iterable[str | Path]) -> UploadPolicy:
        """A copy narrowed to the roots an MCP client offered (``file://`` URIs or paths).

        A client may only narrow what the user configured, never widen it: an offered folder
        inside a configured one is kept; a configured folder inside an offered one stays as
        configured (so ``file:///`` or the home folder changes nothing); an offered folder that
        shares nothing with the configured ones adds nothing. URIs with another scheme or a
        remote host are ignored; when no local folder remains, the policy is returned unchanged.
        """
        offered = [p.expanduser().resolve() for p in _root_paths(roots)]
        if not offered:  # no local folder among them: the client said nothing about files
            return self
        narrowed: list[Path] = []
        for root in self.roots:
            for path in offered:
                if path.is_relative_to(root):
                    narrowed.append(path)
                elif root.is_relative_to(path):
                    narrowed.append(root)
        return UploadPolicy(
            narrowed, max_bytes=self.max_bytes, allow_subtitles=self.allow_subtitles, cwd=self.cwd
        )

    def check_url(self, url: str, *, engine_origin: str | None = None) -> str:
        """See :func:`check_url`."""
        return check_url(url, engine_origin=engine_origin)

    def check(self, path_str: str) -> CheckedFile:
        """Open ``path_str`` if every rule allows it, else raise :class:`UploadRefused`."""
        shown = _describe(path_str)
        if not path_str.strip() or has_control_chars(path_str):
            # Before any filesystem call: a NUL truncates C paths, escapes spoof what the user sees.
            raise UploadRefused(
                f"The path {shown.encode('unicode_escape').decode()} is empty or contains control characters "
                "(NUL, line breaks, escape or bidi codes), so it was refused. Pass the plain path of the file."
            )
        try:
            path = Path(path_str).expanduser()
            path = path if path.is_absolute() else self.cwd / path
            # Containment first, on the loosely resolved path, so nothing is said about outside files.
            self._require_inside(path.resolve(), shown)
            real = path.resolve(strict=True)
        except (OSError, RuntimeError):  # missing, unreadable, symlink loop, unknown ~user
            raise UploadRefused(
                f"{shown} does not exist or cannot be read. Check the path; relative paths are resolved "
                f"against {self.cwd}."
            ) from None
        self._require_inside(real, shown)
        extension = real.suffix.lower().lstrip(".")
        kind, mime = self._format(extension, shown)
        fd = self._open_regular(real, shown)
        try:
            size = os.fstat(fd).st_size
            self._check_size(size, kind, shown)
            head = _pread(fd, size if kind == "subtitle" else _HEAD_BYTES, 0, threading.Lock())
            if kind == "subtitle":
                if not looks_like_subtitles(head, extension):
                    raise UploadRefused(
                        f"{shown} is not a UTF-8 {extension.upper()} subtitle file (the content does not look "
                        "like one). Only real subtitle files can be uploaded; export them again as UTF-8 text."
                    )
            elif kind not in sniff_kinds(head):
                raise UploadRefused(
                    f"{shown} does not contain {kind} data: its first bytes are not a {extension} (or other "
                    f"{kind}) header, so it was refused; renaming a file does not make it media. Upload the "
                    f"real media file, or convert it to one of: {', '.join(ACCEPTED_FORMATS)}."
                )
        except BaseException:
            os.close(fd)
            raise
        return CheckedFile(real, real.name, size, kind, mime, extension, fd)

    def _require_inside(self, path: Path, shown: str) -> None:
        # is_relative_to compares whole components: /media-evil is not inside /media.
        if not any(path.is_relative_to(root) for root in self.roots):
            allowed = ", ".join(str(r) for r in self.roots) or "none configured"
            raise UploadRefused(
                f"{shown} is outside the folders uploads may read from ({allowed}). Move the file into one "
                f"of them or add its folder to {ROOTS_VARIABLE}."
            )

    def _format(self, extension: str, shown: str) -> tuple[MediaKind, str]:
        if extension in _MEDIA:
            return _MEDIA[extension]
        if extension in _SUBTITLES:
            if self.allow_subtitles:
                return _SUBTITLES[extension]
            raise UploadRefused(
                f"{shown} is a subtitle file; .srt and .vtt files can be uploaded only to the local engine "
                "(NEMO_BACKEND=local). The cloud service accepts: " + ", ".join(ACCEPTED_FORMATS) + "."
            )
        accepted = [*_MEDIA, *(_SUBTITLES if self.allow_subtitles else ())]
        raise UploadRefused(
            f"{shown} has the extension '.{extension}', which cannot be uploaded. Accepted formats: "
            f"{', '.join(accepted)}. Convert the file to one of them (renaming is not enough: the content is "
            "checked too)."
        )

    def _open_regular(self, real: Path, shown: str) -> int:
        fix = "Pass the path of the media file itself."
        try:
            # Refuse FIFOs, devices and sockets before opening them at all (opening can have effects).
            if not stat.S_ISREG(os.lstat(real).st_mode):
                raise UploadRefused(
                    f"{shown} is not a regular file (a folder, pipe, device or socket). {fix}"
                )
            # NOFOLLOW: the resolved path has no symlink left, so one appearing now is a swap.
            # NONBLOCK: a FIFO swapped in after the lstat cannot hang the open.
            flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
            fd = os.open(real, flags | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0))
        except OSError as exc:
            raise UploadRefused(f"{shown} cannot be opened ({exc.strerror or exc}). {fix}") from None
        try:
            # The descriptor is the truth: what we checked by path may have been swapped meanwhile.
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise UploadRefused(
                    f"{shown} is not a regular file (a folder, pipe, device or socket). {fix}"
                )
            if info.st_nlink > 1:
                # A hard link looks like a plain file inside the folder but is the same inode as a
                # file elsewhere (a key, another user's data): no path check can tell them apart.
                raise UploadRefused(
                    f"{shown} is a hard link ({info.st_nlink} names for one file), which could expose a file "
                    "from outside the upload folders, so it was refused. Copy the file into the folder "
                    "instead of linking it."
                )
            opened = _descriptor_path(fd)
            if opened is not None:
                self._require_inside(opened, shown)
            os.set_blocking(fd, True)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _check_size(self, size: int, kind: MediaKind, shown: str) -> None:
        limit = min(self.max_bytes, SUBTITLE_MAX_BYTES) if kind == "subtitle" else self.max_bytes
        if size == 0:
            raise UploadRefused(
                f"{shown} is empty (0 bytes), so there is nothing to upload. Pass the real file."
            )
        if size > limit:
            raise UploadRefused(
                f"{shown} is {size / 1_048_576:.1f} MB, over the {limit / 1_048_576:.0f} MB upload limit. "
                "Compress it or trim it into shorter parts, then upload those."
            )


def _descriptor_path(fd: int) -> Path | None:
    """Where the kernel says ``fd`` lives (Linux, macOS), to catch a parent folder swapped for a symlink."""
    try:
        if sys.platform == "darwin":
            import fcntl

            raw = fcntl.fcntl(fd, fcntl.F_GETPATH, b"\0" * 1024)
            return Path(os.fsdecode(raw.rstrip(b"\0")))
        if os.path.isdir("/proc/self/fd"):
            return Path(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        return None
    return None
