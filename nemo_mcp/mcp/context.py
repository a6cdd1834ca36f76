"""What every tool shares: the per-server state, the request context type and the error boundary."""

from __future__ import annotations

import functools
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, ParamSpec, TypeVar

import anyio
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field, WithJsonSchema

from nemo_mcp.config import Settings
from nemo_mcp.errors import ConfigError, DiskFull, NemoError, is_disk_full
from nemo_mcp.service import SessionManager
from nemo_mcp.service.uploads import UploadPolicy

log = logging.getLogger(__name__)


@dataclass
class AppState:
    settings: Settings
    policy: UploadPolicy
    #: None only while :attr:`problem` says why the server cannot serve tools.
    maybe_manager: SessionManager | None
    #: What keeps every tool from running (a damaged state store …) and how to fix it.
    problem: str | None = None
    # Bounded per process: a model that fires many calls at once queues instead of flooding.
    upload_slots: anyio.CapacityLimiter = field(default_factory=lambda: anyio.CapacityLimiter(2))
    export_slots: anyio.CapacityLimiter = field(default_factory=lambda: anyio.CapacityLimiter(4))

    @property
    def manager(self) -> SessionManager:
        if self.maybe_manager is None:
            raise ConfigError(self.problem or "nemo-mcp could not start its session manager.")
        return self.maybe_manager

    @property
    def cloud(self) -> bool:
        """Whether the tools talk to the NemoVideo cloud (not the embedded engine)."""
        return self.settings.backend == "cloud"


Ctx = Context[AppState, Any]

ID_PATTERN = r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$"
#: An id argument is checked against ID_PATTERN here, but published as a plain string: a model
#: gains nothing from the regex, and tools/list (read on every turn) carried it ten times.
AN_ID = WithJsonSchema({"type": "string"})
Session = Annotated[
    str | None, Field(pattern=ID_PATTERN, description="Project id; default the current one."), AN_ID
]


def app_state(ctx: Ctx) -> AppState:
    """The server's state for this request, after noting which client is calling."""
    state = ctx.request_context.lifespan_context
    if state.problem is not None:
        raise ConfigError(state.problem)
    try:
        params = ctx.session.client_params
        info = params.client_info if params else None
        state.manager.note_client(info.name if info else None)
    except Exception:  # client info is optional and varies by era; never fail a call over it
        log.debug("no client info on this request")
    return state


P = ParamSpec("P")
R = TypeVar("R")


def tool_errors(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Turn a NemoError raised by a tool into a tool error that carries only its user message."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except NemoError as exc:
            raise ToolError(exc.user_message) from None
        except (OSError, sqlite3.OperationalError) as exc:
            # A full disk is the user's to fix, not a crash or a "temporary backend problem".
            if not is_disk_full(exc):
                raise
            raise ToolError(DiskFull().user_message) from None

    return wrapper
