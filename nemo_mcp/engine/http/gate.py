"""Who may talk to the engine: callers that hold its key, through a loopback name, from no web page.

The engine listens on 127.0.0.1, which every local user and process can reach, and a web page
can reach too by DNS rebinding. Tokens do not help there: anyone may mint one. So every
request, every route included (tokens, uploads, ``/files``, ``/run_sse``), must carry the
engine key in :data:`ENGINE_KEY_HEADER`: a random secret the process that started the engine
generated and shares only with its own client. The ``Host`` must be a loopback name or the
bound address with the engine's port, and a request with a foreign ``Origin`` is refused
(browsers send ``Origin`` on cross-site requests; the engine serves no pages of its own).
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

ENGINE_KEY_HEADER = "X-Nemo-Engine-Key"
ENGINE_KEY_ENV = "NEMO_ENGINE_KEY"
_HEADER = ENGINE_KEY_HEADER.lower().encode()
_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
#: Shorter keys are refused: a guessable key would undo the point of having one.
MIN_KEY_CHARS = 16


def new_engine_key() -> str:
    """A fresh random engine key (never stored, never logged)."""
    return secrets.token_urlsafe(32)


def key_problem(key: str) -> str | None:
    """Why ``key`` cannot serve as an engine key, or None when it can."""
    if len(key) < MIN_KEY_CHARS or not key.isascii() or not key.isprintable() or " " in key:
        return f"the engine key must be at least {MIN_KEY_CHARS} printable ASCII characters without spaces"
    return None


@dataclass(frozen=True)
class EngineEndpoint:
    """Where a running engine listens and the key its clients must send; ``repr`` hides the key."""

    url: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        """The headers that let a client in."""
        return {ENGINE_KEY_HEADER: self.key}

    def __repr__(self) -> str:
        return f"EngineEndpoint(url={self.url!r}, key=<hidden>)"


def allowed_hosts(host: str, port: int) -> frozenset[str] | None:
    """The ``Host`` values a request may carry for an engine bound to ``host:port``; None: any."""
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - recognised, not bound, here
        return None  # every interface: clients' names are unknown, the key alone decides
    bound = f"[{host}]" if ":" in host else host
    return frozenset({f"{name}:{port}" for name in (*_LOOPBACK_NAMES, bound)})


class EngineGate:
    """ASGI middleware in front of the engine: Host, Origin, then the key; lifespan passes through."""

    def __init__(self, app: ASGIApp, key: str, hosts: Iterable[str] | None) -> None:
        self.app = app
        self._key = key.encode()
        self._hosts = None if hosts is None else frozenset(h.lower() for h in hosts)
        self._origins = None if self._hosts is None else frozenset(f"http://{h}" for h in self._hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            problem = self._problem(dict(scope.get("headers") or []))
            if problem is not None:
                await _refuse(send, *problem)
                return
        await self.app(scope, receive, send)

    def _problem(self, headers: dict[bytes, bytes]) -> tuple[int, str] | None:
        host = headers.get(b"host", b"").decode("latin-1").lower()
        if self._hosts is not None and host not in self._hosts:
            return 421, "This local engine answers only requests addressed to 127.0.0.1 or localhost."
        origin = headers.get(b"origin")
        if origin is not None and (
            self._origins is None or origin.decode("latin-1").lower() not in self._origins
        ):
            return 403, "Web pages may not use the local engine."
        if not hmac.compare_digest(headers.get(_HEADER, b""), self._key):
            return 403, (
                f"Missing or wrong {ENGINE_KEY_HEADER} header: the local engine serves only the process "
                "that started it. Pass the key `nemo-mcp local-backend` printed (or set with --engine-key)."
            )
        return None


async def _refuse(send: Send, status: int, message: str) -> None:
    body = json.dumps({"detail": message, "message": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
