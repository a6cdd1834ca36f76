"""The durable state of one installation, in a small SQLite file.

It keeps the client id and the anonymous token (the backend grants one token per client id
per 7 days, so both must survive restarts), the projects (sessions) this server created,
which one is current, and every render job, so an export interrupted by a crash or a
timeout can be resumed by its id.

The file holds a token, so it is created with mode 0600 from the start (``os.open`` with
``O_CREAT`` and mode 0600, which a umask can only narrow), inside a 0700 folder. SQLite
gives its ``-wal``/``-shm`` side files the database file's mode.
"""

from __future__ import annotations

import os
import shlex
import sqlite3
import time
import uuid
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from nemo_mcp.dbfile import PrivateDB

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    backend TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    user_id TEXT,
    expires_at REAL,
    acquired_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT NOT NULL,
    backend TEXT NOT NULL,
    task_id TEXT,
    user_id TEXT,
    title TEXT,
    language TEXT,
    skill TEXT,
    created REAL NOT NULL,
    last_used REAL NOT NULL,
    gone INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (backend, session_id)
);
CREATE TABLE IF NOT EXISTS renders (
    render_id TEXT NOT NULL,
    backend TEXT NOT NULL,
    session_id TEXT NOT NULL,
    status TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0,
    output_url TEXT,
    local_file TEXT,
    error TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    draft_hash TEXT,
    expected TEXT,
    checks TEXT,
    PRIMARY KEY (backend, render_id)
);
CREATE INDEX IF NOT EXISTS renders_by_session ON renders (backend, session_id, created);
CREATE TABLE IF NOT EXISTS uploads (
    backend TEXT NOT NULL,
    session_id TEXT NOT NULL,
    media_url TEXT NOT NULL,
    filename TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (backend, session_id, media_url)
);
"""


@dataclass(frozen=True)
class StoredToken:
    token: SecretStr
    user_id: str | None
    expires_at: float | None
    acquired_at: float

    def expired(self, now: float, *, margin: float = 300.0) -> bool:
        return self.expires_at is not None and now >= self.expires_at - margin


@dataclass(frozen=True)
class ProjectRecord:
    session_id: str
    backend: str
    task_id: str | None = None
    user_id: str | None = None
    title: str | None = None
    language: str | None = None
    skill: str | None = None
    created: float = 0.0
    last_used: float = 0.0
    gone: bool = False


@dataclass(frozen=True)
class RenderRecord:
    render_id: str
    backend: str
    session_id: str
    status: str
    progress: float = 0.0
    output_url: str | None = None
    local_file: str | None = None
    error: str | None = None
    created: float = 0.0
    updated: float = 0.0
    #: What was rendered (draft + format + quality), so asking again for the same export finds this one.
    draft_hash: str | None = None
    #: What the timeline asked for (``media.Expected`` as JSON), for the check of the downloaded MP4.
    expected: str | None = None
    #: What the check of the MP4 found (``media.ExportCheck`` as JSON).
    checks: str | None = None


def _to_epoch(value: datetime | float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


def store_fix(path: Path, exc: BaseException) -> str:
    """How to repair a state store that failed with ``exc`` (``nemo-mcp doctor`` gives the same advice)."""

    def quote(value: Path | str) -> str:
        return f'"{value}"' if os.name == "nt" else shlex.quote(str(value))

    damaged = isinstance(exc, sqlite3.Error) and "readonly" not in str(exc).lower().replace("-", "")
    if damaged:
        return (
            "stop any running nemo-mcp; if this stays, move the file aside (it holds only tokens and project "
            f"and render ids): mv {quote(path)} {quote(str(path) + '.bak')}"
        )
    return f"make {quote(path.parent)} writable for your user, or set NEMO_MCP_HOME to a folder that is"


def store_problem(path: Path, exc: BaseException) -> str:
    """A tool's answer while the state store cannot be used: what is wrong and how to fix it."""
    what = " ".join(str(exc).split())[:160] or type(exc).__name__
    return (
        f"nemo-mcp cannot use its state store {path} ({type(exc).__name__}: {what}), so no tool can run. "
        f"To fix it: {store_fix(path, exc)}; then restart the MCP server. `nemo-mcp doctor` checks it."
    )


class Store:
    """Synchronous, thread-safe access to the state file. Every call is a short transaction."""

    def __init__(self, path: Path, *, clock: Any = time.time) -> None:
        self.path = path
        self._clock = clock
        self._file = PrivateDB(path, what="the state store")
        self._db = self._file.db
        self._lock = self._file.lock
        self._tx = self._file.tx
        with self._lock:
            self._db.executescript(_SCHEMA)  # manages its own transaction, so outside _tx
            columns = {row["name"] for row in self._db.execute("PRAGMA table_info(renders)")}
            # Columns added since the first stores were written: a hash of what was rendered, what
            # its timeline asked for, and what the check of the MP4 found.
            for column in ("draft_hash", "expected", "checks"):
                if column not in columns:
                    self._db.execute(f"ALTER TABLE renders ADD COLUMN {column} TEXT")
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )

    def close(self) -> None:
        self._file.close()

    # -- meta -------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row["value"])

    def set_meta(self, key: str, value: str | None) -> None:
        with self._tx() as db:
            if value is None:
                db.execute("DELETE FROM meta WHERE key = ?", (key,))
            else:
                db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def client_id(self) -> str:
        """This installation's client id, created once and kept."""
        with self._tx() as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'client_id'").fetchone()
            if row is not None:
                return str(row["value"])
            value = str(uuid.uuid4())
            db.execute("INSERT INTO meta(key, value) VALUES ('client_id', ?)", (value,))
            return value

    def replace_client_id(self) -> str:
        value = str(uuid.uuid4())
        self.set_meta("client_id", value)
        return value

    # -- tokens -----------------------------------------------------------------------------

    def get_token(self, backend: str) -> StoredToken | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM tokens WHERE backend = ?", (backend,)).fetchone()
        if row is None:
            return None
        return StoredToken(
            token=SecretStr(row["token"]),
            user_id=row["user_id"],
            expires_at=row["expires_at"],
            acquired_at=row["acquired_at"],
        )

    def save_token(
        self, backend: str, token: SecretStr, *, user_id: str | None, expires_at: datetime | float | None
    ) -> StoredToken:
        now = self._clock()
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO tokens(backend, token, user_id, expires_at, acquired_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (backend, token.get_secret_value(), user_id, _to_epoch(expires_at), now),
            )
        return StoredToken(token=token, user_id=user_id, expires_at=_to_epoch(expires_at), acquired_at=now)

    def drop_token(self, backend: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM tokens WHERE backend = ?", (backend,))

    # -- projects ---------------------------------------------------------------------------

    def add_project(self, record: ProjectRecord) -> ProjectRecord:
        now = self._clock()
        rec = ProjectRecord(**{**_asdict(record), "created": record.created or now, "last_used": now})
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO sessions(session_id, backend, task_id, user_id, title, language, skill, "
                "created, last_used, gone) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    rec.session_id,
                    rec.backend,
                    rec.task_id,
                    rec.user_id,
                    rec.title,
                    rec.language,
                    rec.skill,
                    rec.created,
                    rec.last_used,
                    int(rec.gone),
                ),
            )
        return rec

    def get_project(self, backend: str, session_id: str) -> ProjectRecord | None:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM sessions WHERE backend = ? AND session_id = ?", (backend, session_id)
            ).fetchone()
        return None if row is None else _project(row)

    def list_projects(self, backend: str, *, include_gone: bool = False) -> list[ProjectRecord]:
        query = "SELECT * FROM sessions WHERE backend = ?" + ("" if include_gone else " AND gone = 0")
        with self._lock:
            rows = self._db.execute(query + " ORDER BY last_used DESC", (backend,)).fetchall()
        return [_project(r) for r in rows]

    def touch_project(self, backend: str, session_id: str) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE sessions SET last_used = ? WHERE backend = ? AND session_id = ?",
                (self._clock(), backend, session_id),
            )

    def mark_project_gone(self, backend: str, session_id: str) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE sessions SET gone = 1 WHERE backend = ? AND session_id = ?", (backend, session_id)
            )

    def current_project(self, backend: str) -> str | None:
        return self.get_meta(f"current:{backend}")

    def set_current_project(self, backend: str, session_id: str | None) -> None:
        self.set_meta(f"current:{backend}", session_id)

    # -- renders ----------------------------------------------------------------------------

    def save_render(self, record: RenderRecord) -> RenderRecord:
        now = self._clock()
        existing = self.get_render(record.backend, record.render_id)
        created = existing.created if existing else (record.created or now)
        rec = RenderRecord(**{**_asdict(record), "created": created, "updated": now})
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO renders(render_id, backend, session_id, status, progress, output_url, "
                "local_file, error, created, updated, draft_hash, expected, checks) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    rec.render_id,
                    rec.backend,
                    rec.session_id,
                    rec.status,
                    rec.progress,
                    rec.output_url,
                    rec.local_file,
                    rec.error,
                    rec.created,
                    rec.updated,
                    rec.draft_hash,
                    rec.expected,
                    rec.checks,
                ),
            )
        return rec

    def delete_render(self, backend: str, render_id: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM renders WHERE backend = ? AND render_id = ?", (backend, render_id))

    def get_render(self, backend: str, render_id: str) -> RenderRecord | None:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM renders WHERE backend = ? AND render_id = ?", (backend, render_id)
            ).fetchone()
        return None if row is None else _render(row)

    def render_of(self, backend: str, session_id: str, draft_hash: str) -> RenderRecord | None:
        """The newest render of this exact timeline that is still running or completed (not failed)."""
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM renders WHERE backend = ? AND session_id = ? AND draft_hash = ? "
                "AND status NOT IN ('failed', 'cancelled') ORDER BY created DESC LIMIT 1",
                (backend, session_id, draft_hash),
            ).fetchone()
        return None if row is None else _render(row)

    # -- uploads ----------------------------------------------------------------------------

    def add_upload(self, record: UploadRecord) -> None:
        rec = UploadRecord(**{**_asdict(record), "created": self._clock()})
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO uploads(backend, session_id, media_url, filename, path, size, mtime_ns, "
                "created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                tuple(_asdict(rec).values()),
            )

    def list_uploads(self, backend: str, session_id: str) -> list[UploadRecord]:
        """The files uploaded from here into one project, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM uploads WHERE backend = ? AND session_id = ? ORDER BY created",
                (backend, session_id),
            ).fetchall()
        return [UploadRecord(**dict(row)) for row in rows]

    def list_renders(self, backend: str, session_id: str | None = None) -> list[RenderRecord]:
        with self._lock:
            if session_id is None:
                rows = self._db.execute(
                    "SELECT * FROM renders WHERE backend = ? ORDER BY created DESC", (backend,)
                ).fetchall()
            else:
                rows = self._db.execute(
                    "SELECT * FROM renders WHERE backend = ? AND session_id = ? ORDER BY created DESC",
                    (backend, session_id),
                ).fetchall()
        return [_render(r) for r in rows]


@dataclass(frozen=True)
class UploadRecord:
    """A file uploaded from this computer: where it lies, and the backend's address for it.

    Kept so the server can read (analyse) the footage itself where the backend offers no reading.
    ``size`` and ``mtime_ns`` tell whether the file is still the one uploaded.
    """

    backend: str
    session_id: str
    media_url: str
    filename: str
    path: str
    size: int
    mtime_ns: int
    created: float = 0.0

    def unchanged(self) -> bool:
        """Whether the file is still where it was, with the size and time it had when uploaded. Blocking."""
        try:
            st = os.stat(self.path)
        except OSError:
            return False
        return (st.st_size, st.st_mtime_ns) == (self.size, self.mtime_ns)


def _asdict(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


def _project(row: sqlite3.Row) -> ProjectRecord:
    data = {k: row[k] for k in row.keys()}  # noqa: SIM118 - sqlite3.Row is not a mapping
    data["gone"] = bool(data["gone"])
    return ProjectRecord(**data)


def _render(row: sqlite3.Row) -> RenderRecord:
    return RenderRecord(**{k: row[k] for k in row.keys()})  # noqa: SIM118
