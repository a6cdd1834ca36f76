"""Serving the MCP server over streamable HTTP, safely.

Loopback by default; DNS-rebinding protection (``Host``/``Origin`` checks) always on; a
non-loopback address only with a bearer token that clients must present. That inbound
token guards this endpoint alone: it is never forwarded to the video backend.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Sequence
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Receive, Scope, Send

from nemo_mcp.config import is_loopback_host
from nemo_mcp.errors import ConfigError

log = logging.getLogger(__name__)

WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})  # noqa: S104 - recognised, not bound, here


async def _refuse(send: Send, status: int, message: str, extra: Sequence[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BearerGate:
    """ASGI middleware: HTTP requests must carry ``Authorization: Bearer <token>``.

    With ``origins`` set it also refuses any request whose ``Origin`` is not listed; that is
    the browser-side protection left when a wildcard bind cannot check ``Host``.
    """

    def __init__(self, app: ASGIApp, token: str, *, origins: set[str] | None = None) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()
        self._origins = origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            origin = headers.get(b"origin")
            if self._origins is not None and origin and origin.decode("latin-1") not in self._origins:
                await _refuse(send, 403, "this Origin may not use this MCP endpoint")
                return
            if not hmac.compare_digest(headers.get(b"authorization", b""), self._expected):
                await _refuse(
                    send,
                    401,
                    "missing or wrong bearer token for this MCP endpoint",
                    [(b"www-authenticate", b"Bearer")],
                )
                return
        await self.app(scope, receive, send)


def security_settings(
    host: str, port: int, extra_origins: list[str] | None = None
) -> TransportSecuritySettings:
    """Allowed Host and Origin values for the address we bind (DNS-rebinding protection)."""
    hosts = {f"{host}:{port}", host}
    if is_loopback_host(host):
        hosts |= {f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "127.0.0.1", "localhost"}
    origins = {f"http://{h}" for h in hosts} | set(extra_origins or [])
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=sorted(hosts), allowed_origins=sorted(origins)
    )


def http_app(
    mcp: MCPServer[Any],
    *,
    host: str,
    port: int,
    auth_token: str | None,
    allowed_origins: list[str] | None = None,
) -> ASGIApp:
    """The streamable-HTTP ASGI app, refusing a non-loopback bind without a token."""
    if not is_loopback_host(host) and not auth_token:
        raise ConfigError(
            f"Refusing to serve MCP on {host}, which other machines can reach, without a bearer token. "
            "Set NEMO_MCP_AUTH_TOKEN (or --auth-token), or bind 127.0.0.1."
        )
    if host in WILDCARD_HOSTS:
        # Bound to every interface, the server cannot know the names clients will use in Host,
        # so the SDK's Host check is off; the required bearer token stands in for it, and the
        # gate still refuses browser Origins that were not allowed.
        assert auth_token is not None
        app: ASGIApp = mcp.streamable_http_app(
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False), host=host
        )
        return BearerGate(app, auth_token, origins=set(allowed_origins or []))
    app = mcp.streamable_http_app(
        transport_security=security_settings(host, port, allowed_origins), host=host
    )
    return BearerGate(app, auth_token) if auth_token else app


async def serve_http(mcp: MCPServer[Any], *, host: str, port: int, auth_token: str | None) -> None:
    import uvicorn

    app = http_app(mcp, host=host, port=port, auth_token=auth_token)
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="on")
    log.warning("serving MCP over streamable HTTP at http://%s:%d/mcp", host, port)
    await uvicorn.Server(config).serve()
