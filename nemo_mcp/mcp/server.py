"""The MCP server: its lifespan (the session manager, and the embedded engine when local) and
the registration of the tools, prompts and resources defined in the sibling modules."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from mcp.server.mcpserver import MCPServer

from nemo_mcp import __version__
from nemo_mcp.config import Settings
from nemo_mcp.errors import NemoError
from nemo_mcp.mcp.apps import review_extension, ui_meta
from nemo_mcp.mcp.completions import add_completions
from nemo_mcp.mcp.context import AppState
from nemo_mcp.mcp.progress import Progress
from nemo_mcp.mcp.prompts import INSTRUCTIONS, add_prompts, add_resources
from nemo_mcp.mcp.tools import TOOLS
from nemo_mcp.service import SessionManager
from nemo_mcp.service.store import store_problem
from nemo_mcp.service.uploads import UploadPolicy

log = logging.getLogger(__name__)

__all__ = ["AppState", "Progress", "build_server"]


def build_server(
    settings: Settings,
    *,
    manager_factory: Callable[[str], SessionManager] | None = None,
    policy: UploadPolicy | None = None,
) -> MCPServer[AppState]:
    """Build the MCP server. ``manager_factory(api_base)`` lets tests inject a manager."""

    running: list[AppState] = []

    @asynccontextmanager
    async def lifespan(_: MCPServer[AppState]) -> AsyncIterator[AppState]:
        async with AsyncExitStack() as stack:
            upload_policy = policy or UploadPolicy.default(
                settings.upload_roots, allow_subtitles=settings.backend == "local"
            )
            api_base = settings.api_base
            engine_headers: dict[str, str] = {}
            if settings.backend == "local":
                from nemo_mcp.engine.http import running_backend

                # The engine reads file:// uploads only inside the same folders this server may.
                endpoint = await stack.enter_async_context(
                    running_backend(settings.home, file_roots=upload_policy.roots)
                )
                api_base, engine_headers = endpoint.url, endpoint.headers
            try:
                manager = (
                    manager_factory(api_base)
                    if manager_factory
                    else SessionManager(settings, api_base=api_base, engine_headers=engine_headers)
                )
            except (NemoError, sqlite3.Error, OSError) as exc:
                # A damaged or read-only state store must not kill the server before it answers
                # `initialize`: the host would show only "server disconnected". Serve, and let every
                # tool say what is wrong and how to fix it.
                problem = store_problem(settings.store_path, exc)
                log.error("%s", problem)
                yield AppState(maybe_manager=None, settings=settings, policy=upload_policy, problem=problem)
                return
            stack.push_async_callback(manager.aclose)
            await stack.enter_async_context(manager.running())
            state = AppState(maybe_manager=manager, settings=settings, policy=upload_policy)
            running.append(state)  # completions have no request context to find it in
            stack.callback(running.remove, state)
            yield state

    mcp: MCPServer[AppState] = MCPServer(
        "nemo-mcp",
        title="NemoVideo editor",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        log_level="DEBUG" if settings.debug else "WARNING",
        extensions=[review_extension()],  # the review view, for hosts that render MCP Apps
    )
    cloud = settings.backend == "cloud"
    for spec in TOOLS:
        mcp.add_tool(
            spec.fn,
            name=spec.name,
            title=spec.title,
            annotations=spec.annotations(cloud=cloud),
            meta=ui_meta(spec.name),
        )
        _drop_titles(mcp._tool_manager.get_tool(spec.name))
    add_resources(mcp)
    add_prompts(mcp)
    add_completions(mcp, lambda: running[-1] if running else None)
    return mcp


def _drop_titles(tool: Any) -> None:
    """Take the titles out of a tool's input schema: they only repeat the names, and tools/list is read
    on every turn (the output schemas drop theirs in ``outputs.Out``). Validation does not use them."""
    schema = getattr(tool, "parameters", None)
    if isinstance(schema, dict):
        schema.pop("title", None)
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)
