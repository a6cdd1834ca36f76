"""Which engine instance owns what, when several servers share one home.

Two MCP hosts (say Claude Desktop and an editor) may each start ``nemo-mcp --backend local``
on the same home. Locking the home would refuse the second one outright; instead each engine
instance holds an exclusive ``flock`` on its own file under ``<home>/local/owners/`` for as long
as it lives. The kernel drops the lock when the process dies, however it dies (kill -9
included), so "is that owner alive?" is "is its file still locked?" — no pid to be reused, no
clock to trust. Renders record their owner; a starting engine sweeps only the renders, partial
files and work folders whose owner is gone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import sys
from collections.abc import Collection
from pathlib import Path

from nemo_mcp.dbfile import private_dir

logger = logging.getLogger(__name__)

if sys.platform == "win32":

    def _try_lock(fd: int) -> bool:
        return True  # no flock: every other owner is taken to be gone, as before owners existed

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        """Take ``fd``'s exclusive lock without waiting; False when another process holds it."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


_SUFFIX = ".owner"


class OwnerLock:
    """This instance's claim: a locked file named after a random instance id, held until :meth:`release`."""

    def __init__(self, folder: Path) -> None:
        self.folder = private_dir(folder)
        self.instance = secrets.token_hex(8)
        self.path = self.folder / f"{self.instance}{_SUFFIX}"
        self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        _try_lock(self._fd)  # a fresh file (O_EXCL): nobody else can hold it
        os.write(self._fd, f"{os.getpid()}\n".encode())

    def release(self) -> None:
        """Give the claim up (the file goes; the lock with it)."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self._fd)
        self._fd = None


def _is_held(path: Path) -> bool:
    """Whether another live process holds ``path``'s lock; a file nobody holds is removed."""
    try:
        fd = os.open(path, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        if not _try_lock(fd):
            return True
        with contextlib.suppress(OSError):
            path.unlink()  # its owner is gone: nobody needs the file any more
        return False
    finally:
        os.close(fd)


def live_owners(folder: Path, me: OwnerLock) -> set[str]:
    """The instance ids of engines on this home that are still running (this one included)."""
    live = {me.instance}
    for entry in folder.glob(f"*{_SUFFIX}"):
        instance = entry.name[: -len(_SUFFIX)]
        if instance != me.instance and _is_held(entry):
            live.add(instance)
    return live


def render_id_of(name: str) -> str:
    """The render a partial file (``<id>.mp4.<random>.part``) or work folder (``<id>``) belongs to."""
    return name.split(".mp4.", 1)[0] if name.endswith(".part") else name


def sweep_leftovers(render_dir: Path, work_dir: Path, active: Collection[str]) -> int:
    """Remove partial exports and work folders of renders not in ``active``; returns how many."""
    removed = 0
    for entry in [*render_dir.glob("*.part"), *work_dir.iterdir()]:
        if render_id_of(entry.name) in active:
            continue
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed += 1
        except OSError as exc:
            logger.warning("local engine: could not remove %s left by an earlier run: %s", entry.name, exc)
    return removed
