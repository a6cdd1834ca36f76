"""Private SQLite files: created 0600 in a 0700 folder, WAL mode, short locked transactions.

Both the server's state store and the local engine's store hold tokens, so their files
must never be readable by other users, not even for a moment: the file is created with
``os.open(O_CREAT | O_EXCL, 0o600)`` — a umask can only narrow that — before SQLite opens
it, and SQLite gives its ``-wal``/``-shm`` side files the database file's mode.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from nemo_mcp.errors import ConfigError


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) as a 0700 folder; tighten it if it already exists."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        os.chmod(path, 0o700)
    return path


def create_private_file(path: Path) -> None:
    """Create ``path`` with mode 0600 if it does not exist; tighten it if it does."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            os.chmod(path, 0o600)
        return
    os.close(fd)


class PrivateDB:
    """One SQLite connection over a private file, shared by threads under one lock."""

    def __init__(self, path: Path, *, what: str, pragmas: tuple[str, ...] = ()) -> None:
        self.path = path
        self.lock = threading.RLock()
        try:
            # A new folder is made 0700; an existing one (perhaps the user's own, named by
            # NEMO_MCP_HOME) keeps its mode, since the file itself is private either way.
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            create_private_file(path)
            self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10.0)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(
                f"Cannot open {what} at {path} ({type(exc).__name__}: {exc}). Check the folder's "
                "permissions or point NEMO_MCP_HOME at a writable folder."
            ) from None
        self.db.row_factory = sqlite3.Row
        with self.lock:
            # These manage their own transactions, so they run outside tx().
            self.db.execute("PRAGMA journal_mode=WAL")
            for pragma in pragmas:
                self.db.execute(f"PRAGMA {pragma}")

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """An immediate transaction: committed on success, rolled back on any exception."""
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def close(self) -> None:
        with self.lock:
            self.db.close()
