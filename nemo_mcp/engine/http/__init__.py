"""The embedded engine's HTTP server: the NemoVideo API, on 127.0.0.1, editing with ffmpeg.

Every endpoint of the API contract answers in the contract's own envelopes: ``{"code": 0,
"message": "ok", "data": …}`` for most, ``{"success": true, "data": …}`` for the render proxy,
ADK-style ``{"detail": …}`` before a ``/run_sse`` stream starts, and ADK event frames inside
it. The client therefore cannot tell this engine from the cloud except by what it says about
itself (no credits are used).

Error choices where the contract leaves room: application codes travel in the envelope with
HTTP 200 (1002 unknown session, 4001 unsupported or unreadable file, 4002 too large), except
1001 (bad or expired token), which is sent with HTTP 401 so that a client reading only the
status and one reading only the code reach the same conclusion.

Modules: ``app`` (routes), ``engine`` (what one app owns), ``envelopes``, ``auth``,
``sessions``, ``uploads`` (with ``incoming``, ``multipart``, ``sources``), ``files``,
``edits`` (with ``adk`` and ``stream``), ``renders``, ``gate`` (who may call) and ``serve`` (uvicorn).
"""

from nemo_mcp.engine.http.adk import engine_frames
from nemo_mcp.engine.http.app import create_app
from nemo_mcp.engine.http.gate import ENGINE_KEY_HEADER, EngineEndpoint, key_problem, new_engine_key
from nemo_mcp.engine.http.serve import bind_socket, run_forever, running, running_backend, serve, url_of

__all__ = [
    "ENGINE_KEY_HEADER",
    "EngineEndpoint",
    "bind_socket",
    "create_app",
    "engine_frames",
    "key_problem",
    "new_engine_key",
    "run_forever",
    "running",
    "running_backend",
    "serve",
    "url_of",
]
