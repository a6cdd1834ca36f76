"""Serving the MCP server over streamable HTTP, safely.

Loopback by default; DNS-rebinding protection (``Host``/``Origin`` checks) always on; a
non-loopback address only with a bearer token that clients must present. That inbound
token guards this endpoint alone: it is never forwarded to the video backend.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Receive, Scope, Send

from nemo_mcp.config import is_loopback_host
from nemo_mcp.errors import ConfigError

log = logging.getLogger(__name__)


class BearerGate:
    """ASGI middleware: HTTP requests must carry ``Authorization: Bearer <token>``."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(given, self._expected):
                body = b'{"error":"missing or wrong bearer token for this MCP endpoint"}'
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"www-authenticate", b"Bearer"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
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
    app: ASGIApp = mcp.streamable_http_app(
        transport_security=security_settings(host, port, allowed_origins), host=host
    )
    return BearerGate(app, auth_token) if auth_token else app


async def serve_http(mcp: MCPServer[Any], *, host: str, port: int, auth_token: str | None) -> None:
    import uvicorn

    app = http_app(mcp, host=host, port=port, auth_token=auth_token)
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="on")
    log.warning("serving MCP over streamable HTTP at http://%s:%d/mcp", host, port)
    await uvicorn.Server(config).serve()
