"""The only MCP-aware code: server (registration), tools, outputs, progress, prompts, transports.

``transport`` (streamable HTTP) and ``stdio`` are imported from their modules when serving starts.
"""

from nemo_mcp.mcp.context import AppState
from nemo_mcp.mcp.server import build_server
from nemo_mcp.mcp.tools import TOOL_NAMES

__all__ = ["TOOL_NAMES", "AppState", "build_server"]
