"""Serving the app with uvicorn: on a socket we bind, in the caller's event loop, stopped in order."""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import anyio
import anyio.abc
import uvicorn
from starlette.applications import Starlette

from nemo_mcp.config import is_loopback_host
from nemo_mcp.engine.http.app import create_app
from nemo_mcp.engine.http.engine import HEARTBEAT_S, Engine
from nemo_mcp.engine.http.gate import (
    ENGINE_KEY_HEADER,
    EngineEndpoint,
    EngineGate,
    allowed_hosts,
    new_engine_key,
)
from nemo_mcp.errors import MAX_UPLOAD_BYTES, ConfigError
from nemo_mcp.redact import SECRETS

logger = logging.getLogger(__name__)


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its host process."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind_socket(host: str, port: int, *, allow_remote: bool = False) -> socket.socket:
    """A listening-ready TCP socket; non-loopback hosts only with ``allow_remote``."""
    if not is_loopback_host(host) and not allow_remote:
        raise ConfigError(
            f"The local engine serves only this computer: refusing to listen on {host!r}. Use 127.0.0.1, "
            "or allow remote access explicitly (it has no protection beyond its tokens)."
        )
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        host = "127.0.0.1"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"The local engine cannot listen on {host}:{port} ({exc.strerror or exc})."
        ) from None
    return sock


def url_of(sock: socket.socket) -> str:
    """The base URL of a bound socket (IPv6 hosts in brackets)."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


async def _stop(server: uvicorn.Server, stopped: anyio.Event) -> None:
    """Ask uvicorn to stop in order; force it after 10 s, and give up waiting after 5 more."""
    server.should_exit = True
    with anyio.CancelScope(shield=True):
        with anyio.move_on_after(10):
            await stopped.wait()
        if not stopped.is_set():
            server.force_exit = True
            with anyio.move_on_after(5):
                await stopped.wait()


@contextlib.asynccontextmanager
async def running(
    app: Starlette, sock: socket.socket, *, embedded: bool, key: str
) -> AsyncIterator[anyio.Event]:
    """Run uvicorn on ``sock`` in the current event loop; yields an event set when it stops.

    Every request must pass the :class:`EngineGate` for ``key`` and the address ``sock`` is bound to.
    """
    host, port = sock.getsockname()[:2]
    engine: Engine = app.state.engine
    engine.own_port, engine.own_headers = port, {ENGINE_KEY_HEADER: key}
    config = uvicorn.Config(
        EngineGate(app, key, allowed_hosts(host, port)),
        log_config=None,
        access_log=False,
        lifespan="on",
        ws="none",
        timeout_graceful_shutdown=3,
    )
    server = (_EmbeddedServer if embedded else uvicorn.Server)(config)
    stopped = anyio.Event()
    failure: list[str] = []

    async def run() -> None:
        # Shielded: only should_exit stops it, so shutdown is always uvicorn's orderly one.
        with anyio.CancelScope(shield=True):
            try:
                await server.serve(sockets=[sock])
            except SystemExit:
                failure.append("the local engine failed to start (see the log)")
            finally:
                stopped.set()

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(run)
            while not server.started:
                if stopped.is_set():
                    raise RuntimeError(failure[0] if failure else "the local engine stopped while starting")
                await anyio.sleep(0.01)
            try:
                yield stopped
            finally:
                await _stop(server, stopped)
    finally:
        sock.close()


@contextlib.asynccontextmanager
async def running_backend(
    home: Path,
    *,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
    heartbeat_s: float = HEARTBEAT_S,
    max_renders: int = 2,
    file_roots: Sequence[Path] | None = None,
) -> AsyncIterator[EngineEndpoint]:
    """Serve the engine on a free 127.0.0.1 port for the duration of the block.

    Yields its base URL and the fresh random key every request must carry (held in memory only).
    ``file_roots`` limits ``file://`` uploads to those folders (see :func:`create_app`).
    """
    app = create_app(
        home,
        max_upload_bytes=max_upload_bytes,
        heartbeat_s=heartbeat_s,
        max_renders=max_renders,
        file_roots=file_roots,
    )
    sock = bind_socket("127.0.0.1", 0)
    key = new_engine_key()
    SECRETS.add(key)  # should it ever reach a log line, it is redacted there
    async with running(app, sock, embedded=True, key=key):
        url = url_of(sock)
        logger.info("local engine listening on %s", url)
        yield EngineEndpoint(url, key)


async def serve(
    home: Path,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    allow_remote: bool = False,
    file_roots: Sequence[Path] | None = None,
    key: str,
    task_status: anyio.abc.TaskStatus[str] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the engine until cancelled, for callers holding ``key``; reports the base URL through ``task_status``."""
    app = create_app(home, file_roots=file_roots)
    sock = bind_socket(host, port, allow_remote=allow_remote)
    async with running(app, sock, embedded=True, key=key) as stopped:
        url = url_of(sock)
        logger.info("local engine listening on %s", url)
        task_status.started(url)
        await stopped.wait()


def run_forever(
    home: Path,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    allow_remote: bool = False,
    file_roots: Sequence[Path] | None = None,
    key: str,
) -> None:
    """``nemo-mcp local-backend``: serve in the foreground, for callers holding ``key``, until Ctrl-C or SIGTERM."""

    async def main() -> None:
        app = create_app(home, file_roots=file_roots)
        sock = bind_socket(host, port, allow_remote=allow_remote)
        async with running(app, sock, embedded=False, key=key) as stopped:
            logger.warning("local engine listening on %s (Ctrl-C to stop)", url_of(sock))
            await stopped.wait()

    anyio.run(main)
