"""The embedded engine's own SQLite store, under ``<home>/local/``.

It holds what the engine hands out and must recognise later: tokens (only their SHA-256,
so the file never holds a usable credential), sessions, each session's state JSON (the
draft and friends) plus a private part the API never returns (undo history, caches),
the uploaded or referenced media, and render jobs.

The database file is created with mode 0600 before SQLite opens it (``os.open`` with
``O_CREAT | O_EXCL``, which a umask can only narrow) inside a 0700 folder; SQLite gives
its ``-wal``/``-shm`` side files the same mode. Every call is one short transaction on a
shared connection guarded by a lock: the engine's calls are small, so they run inline.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nemo_mcp.dbfile import PrivateDB, private_dir

SCHEMA_VERSION = 1
TOKEN_PREFIX = "nmv_local_"  # noqa: S105 - a prefix, not a secret
TOKEN_LIFETIME_S = 7 * 24 * 3600.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    token_sha256 TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    issued REAL NOT NULL,
    expires REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS tokens_by_client ON tokens (client_id);
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    task_id TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL,
    title TEXT NOT NULL,
    language TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS session_state (
    session_id TEXT PRIMARY KEY REFERENCES sessions(session_id),
    state TEXT NOT NULL,
    private TEXT NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS media (
    media_id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(session_id),
    filename TEXT NOT NULL,
    path TEXT NOT NULL,
    copied INTEGER NOT NULL,
    kind TEXT NOT NULL,
    info TEXT NOT NULL,
    size INTEGER NOT NULL,
    hash TEXT NOT NULL,
    file_key TEXT NOT NULL UNIQUE,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS media_by_session ON media (session_id, created);
CREATE TABLE IF NOT EXISTS renders (
    render_id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    status TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0,
    output_path TEXT,
    file_key TEXT NOT NULL UNIQUE,
    duration_ms INTEGER,
    size INTEGER,
    error TEXT,
    created REAL NOT NULL,
    completed REAL
);
CREATE INDEX IF NOT EXISTS renders_by_session ON renders (session_id, created);
"""
# Columns added after version 1 shipped: (table, column, definition), added when missing.
_ADDED_COLUMNS = (
    ("renders", "owner", "TEXT NOT NULL DEFAULT ''"),
    ("renders", "route", "TEXT NOT NULL DEFAULT ''"),
    ("media", "pin", "TEXT NOT NULL DEFAULT ''"),
    ("renders", "checks", "TEXT"),
)


@dataclass(frozen=True)
class TokenRecord:
    client_id: str
    user_id: str
    issued: float
    expires: float


@dataclass(frozen=True)
class IssuedToken:
    """A freshly minted token: the only moment its clear text exists on the engine side."""

    token: str
    record: TokenRecord


@dataclass(frozen=True)
class SessionRecord:
    session_id: str
    task_id: str
    user_id: str
    title: str
    language: str
    created: float


@dataclass(frozen=True)
class MediaRecord:
    media_id: str
    session_id: str
    filename: str
    path: str
    copied: bool
    kind: str
    info: dict[str, Any]
    size: int
    hash: str
    file_key: str
    created: float
    #: For a file used in place: its identity when checked (see ``engine.pinning``); "" for copies.
    pin: str = ""


@dataclass(frozen=True)
class RenderRecord:
    render_id: str
    session_id: str
    user_id: str
    status: str
    progress: float
    output_path: str | None
    file_key: str
    duration_ms: int | None
    size: int | None
    error: str | None
    created: float
    completed: float | None
    #: The engine instance running it (see ``engine.owners``).
    owner: str = ""
    #: What the check of the finished MP4 found, as JSON text (see ``media.checks``).
    checks: str | None = None
    #: How a finished render was made, as JSON: {"path": "smart"|"full", "reason", "captions"}.
    route: str = ""


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def user_id_for(client_id: str) -> str:
    # Stable per installation, so a re-issued token still sees the same projects.
    return "anon_local_" + hashlib.sha256(client_id.encode("utf-8")).hexdigest()[:16]


def new_session_id() -> str:
    # The cloud's ids are 19-digit decimal numbers; clients may treat them as such.
    return str(10**18 + secrets.randbelow(9 * 10**18))


def new_key() -> str:
    """An unguessable path component for file URLs (the loopback analogue of a signed CDN URL)."""
    return secrets.token_urlsafe(18)


def new_media_id() -> str:
    """An id for one uploaded or referenced file, unique within the store."""
    return "m_" + secrets.token_hex(8)


class EngineStore:
    """Synchronous, thread-safe access to ``<root>/engine.sqlite3``."""

    def __init__(self, root: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.root = root
        self.path = root / "engine.sqlite3"
        self._clock = clock
        private_dir(root)  # the engine's own folder: always 0700
        self._file = PrivateDB(self.path, what="the local engine's store", pragmas=("foreign_keys=ON",))
        self._db = self._file.db
        self._lock = self._file.lock
        self._tx = self._file.tx
        with self._tx() as db:
            # executescript() would commit our transaction first, so run the statements one by one.
            for statement in filter(str.strip, _SCHEMA.split(";")):
                db.execute(statement)
            for table, column, definition in _ADDED_COLUMNS:
                present = {row["name"] for row in db.execute(f"PRAGMA table_info({table})")}
                if column not in present:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
            db.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )

    def close(self) -> None:
        self._file.close()

    def now(self) -> float:
        return self._clock()

    def _one(self, query: str, params: tuple[Any, ...]) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self._db.execute(query, params).fetchone()
        return row

    # -- tokens -----------------------------------------------------------------------------

    def issue_token(self, client_id: str) -> IssuedToken:
        """Mint a token for ``client_id``. Earlier tokens stay valid until they expire."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self._clock()
        record = TokenRecord(client_id, user_id_for(client_id), now, now + TOKEN_LIFETIME_S)
        with self._tx() as db:
            db.execute("DELETE FROM tokens WHERE expires < ?", (now,))
            db.execute(
                "INSERT INTO tokens(token_sha256, client_id, user_id, issued, expires) VALUES (?, ?, ?, ?, ?)",
                (token_digest(token), record.client_id, record.user_id, record.issued, record.expires),
            )
        return IssuedToken(token, record)

    def check_token(self, token: str) -> TokenRecord | None:
        """The record of a valid, unexpired token; None for unknown or expired ones."""
        row = self._one("SELECT * FROM tokens WHERE token_sha256 = ?", (token_digest(token),))
        if row is None or row["expires"] <= self._clock():
            return None
        return TokenRecord(row["client_id"], row["user_id"], row["issued"], row["expires"])

    # -- sessions ---------------------------------------------------------------------------

    def create_session(
        self, user_id: str, *, title: str, language: str, state: dict[str, Any], private: dict[str, Any]
    ) -> SessionRecord:
        now = self._clock()
        with self._tx() as db:
            while True:
                sid = new_session_id()
                if db.execute("SELECT 1 FROM sessions WHERE session_id = ?", (sid,)).fetchone() is None:
                    break
            record = SessionRecord(sid, "task_" + secrets.token_hex(12), user_id, title, language, now)
            db.execute(
                "INSERT INTO sessions(session_id, task_id, user_id, title, language, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (record.session_id, record.task_id, user_id, title, language, now),
            )
            db.execute(
                "INSERT INTO session_state(session_id, state, private, updated) VALUES (?, ?, ?, ?)",
                (sid, json.dumps(state), json.dumps(private), now),
            )
        return record

    def get_session(self, session_id: str) -> SessionRecord | None:
        row = self._one("SELECT * FROM sessions WHERE session_id = ?", (session_id,))
        if row is None:
            return None
        return SessionRecord(
            row["session_id"], row["task_id"], row["user_id"], row["title"], row["language"], row["created"]
        )

    def load_state(self, session_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The session's public state and its private part (both empty for an unknown session)."""
        row = self._one("SELECT state, private FROM session_state WHERE session_id = ?", (session_id,))
        if row is None:
            return {}, {}
        state = json.loads(row["state"])
        private = json.loads(row["private"])
        return (state if isinstance(state, dict) else {}), (private if isinstance(private, dict) else {})

    def save_state(
        self, session_id: str, state: dict[str, Any], private: dict[str, Any] | None = None
    ) -> None:
        now = self._clock()
        with self._tx() as db:
            if private is None:
                db.execute(
                    "UPDATE session_state SET state = ?, updated = ? WHERE session_id = ?",
                    (json.dumps(state), now, session_id),
                )
            else:
                db.execute(
                    "UPDATE session_state SET state = ?, private = ?, updated = ? WHERE session_id = ?",
                    (json.dumps(state), json.dumps(private), now, session_id),
                )

    # -- media ------------------------------------------------------------------------------

    def add_media(self, records: list[MediaRecord]) -> None:
        with self._tx() as db:
            for r in records:
                db.execute(
                    "INSERT INTO media(media_id, session_id, filename, path, copied, kind, info, size, hash, "
                    "file_key, created, pin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        r.media_id,
                        r.session_id,
                        r.filename,
                        r.path,
                        int(r.copied),
                        r.kind,
                        json.dumps(r.info),
                        r.size,
                        r.hash,
                        r.file_key,
                        r.created,
                        r.pin,
                    ),
                )

    def list_media(self, session_id: str) -> list[MediaRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM media WHERE session_id = ? ORDER BY created, rowid", (session_id,)
            ).fetchall()
        return [_media(r) for r in rows]

    def media_by_key(self, file_key: str) -> MediaRecord | None:
        row = self._one("SELECT * FROM media WHERE file_key = ?", (file_key,))
        return None if row is None else _media(row)

    # -- renders ----------------------------------------------------------------------------

    def create_render(
        self, render_id: str, session_id: str, user_id: str, *, owner: str = ""
    ) -> RenderRecord:
        now = self._clock()
        record = RenderRecord(
            render_id,
            session_id,
            user_id,
            "pending",
            0.0,
            None,
            new_key(),
            None,
            None,
            None,
            now,
            None,
            owner,
        )
        with self._tx() as db:
            db.execute(
                "INSERT INTO renders(render_id, session_id, user_id, status, progress, file_key, created, owner) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (render_id, session_id, user_id, record.status, 0.0, record.file_key, now, owner),
            )
        return record

    def update_render(
        self,
        render_id: str,
        *,
        status: str | None = None,
        progress: float | None = None,
        output_path: str | None = None,
        duration_ms: int | None = None,
        size: int | None = None,
        error: str | None = None,
        checks: str | None = None,
        route: str | None = None,
    ) -> None:
        sets: list[str] = []
        params: list[Any] = []
        for column, value in (
            ("status", status),
            ("progress", progress),
            ("output_path", output_path),
            ("duration_ms", duration_ms),
            ("size", size),
            ("error", error),
            ("checks", checks),
            ("route", route),
        ):
            if value is not None:
                sets.append(f"{column} = ?")
                params.append(value)
        if status in ("completed", "failed", "cancelled"):
            sets.append("completed = ?")
            params.append(self._clock())
        if not sets:
            return
        with self._tx() as db:
            db.execute(f"UPDATE renders SET {', '.join(sets)} WHERE render_id = ?", (*params, render_id))

    def get_render(self, render_id: str) -> RenderRecord | None:
        row = self._one("SELECT * FROM renders WHERE render_id = ?", (render_id,))
        return None if row is None else _render(row)

    def render_by_key(self, file_key: str) -> RenderRecord | None:
        row = self._one("SELECT * FROM renders WHERE file_key = ?", (file_key,))
        return None if row is None else _render(row)

    def fail_unfinished_renders(self, reason: str, *, live_owners: Collection[str] = ()) -> int:
        """Mark renders left pending or processing by engines no longer running as failed.

        Renders owned by an instance in ``live_owners`` are left alone: another server on this
        home is still running them.
        """
        owners = sorted(live_owners)
        marks = ", ".join("?" for _ in owners)
        keep = f" AND owner NOT IN ({marks})" if owners else ""
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE renders SET status = 'failed', error = ?, completed = ? "
                f"WHERE status IN ('pending', 'processing'){keep}",
                (reason, self._clock(), *owners),
            )
            return cursor.rowcount

    def unfinished_render_ids(self) -> set[str]:
        """Renders still pending or processing (after a sweep: those some live engine is running)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT render_id FROM renders WHERE status IN ('pending', 'processing')"
            ).fetchall()
        return {row["render_id"] for row in rows}


def _media(row: sqlite3.Row) -> MediaRecord:
    info = json.loads(row["info"])
    return MediaRecord(
        media_id=row["media_id"],
        session_id=row["session_id"],
        filename=row["filename"],
        path=row["path"],
        copied=bool(row["copied"]),
        kind=row["kind"],
        info=info if isinstance(info, dict) else {},
        size=row["size"],
        hash=row["hash"],
        file_key=row["file_key"],
        created=row["created"],
        pin=row["pin"],
    )


def _render(row: sqlite3.Row) -> RenderRecord:
    return RenderRecord(
        render_id=row["render_id"],
        session_id=row["session_id"],
        user_id=row["user_id"],
        status=row["status"],
        progress=row["progress"],
        output_path=row["output_path"],
        file_key=row["file_key"],
        duration_ms=row["duration_ms"],
        size=row["size"],
        error=row["error"],
        created=row["created"],
        completed=row["completed"],
        owner=row["owner"],
        checks=row["checks"],
        route=row["route"],
    )
