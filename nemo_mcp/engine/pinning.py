"""Files used in place stay the files that were checked: identity pinned at upload, checked at every read.

A ``file://`` upload inside the upload folders is not copied (a 500 MB lecture would cost
seconds and as much disk again). Instead the engine records the file's identity when it checks
it — device, inode, size and modification time — and every later read (serving ``/files``,
analysis, export) opens the recorded path with ``O_NOFOLLOW`` and compares that identity on
the open file. A symlink swapped in, a file replaced or edited since, all fail the comparison,
and the engine refuses with the fix: upload the file again. (Hard links would pin the inode
for free but work only on one device, and still see edits in place; copies cost the most.)
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import asdict, dataclass
from pathlib import Path

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO swapped in must not hang the open


class FileChanged(Exception):
    """A pinned file is no longer the one that was checked; ``str`` names it and the fix."""

    def __init__(self, filename: str) -> None:
        super().__init__(
            f"{filename} was changed, moved or replaced after it was uploaded, so the local engine will not "
            "read it: upload it again (and use the new copy in place of the old one)"
        )


@dataclass(frozen=True)
class Pin:
    """What identifies one version of one file."""

    dev: int
    ino: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> Pin:
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    def encode(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def decode(cls, text: str) -> Pin | None:
        """The pin stored as ``text``; None for records made before pinning (or unreadable ones)."""
        try:
            raw = json.loads(text) if text else None
            if not isinstance(raw, dict):
                return None
            return cls(int(raw["dev"]), int(raw["ino"]), int(raw["size"]), int(raw["mtime_ns"]))
        except (ValueError, TypeError, KeyError):
            return None


def open_nofollow(path: Path) -> int:
    """A read-only descriptor of ``path`` itself, never of what a symlink there points to."""
    return os.open(path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC | _NONBLOCK)


def open_pinned(path: Path, pin: Pin, filename: str) -> int:
    """An open descriptor (the caller closes it) of ``path``, provably the pinned file; else :class:`FileChanged`."""
    try:
        fd = open_nofollow(path)
    except OSError:
        raise FileChanged(filename) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or Pin.of(st) != pin:
            raise FileChanged(filename)
    except BaseException:
        os.close(fd)
        raise
    return fd


def check_pinned(path: Path, pin: Pin, filename: str) -> None:
    """Raise :class:`FileChanged` unless ``path`` is still the pinned file."""
    os.close(open_pinned(path, pin, filename))
