"""Projects, edits, exports, uploads and the local store: no MCP, no HTTP server.

Other layers import these names from the package. ``translate`` loads on first use: its rule
table compiles regular expressions that server start-up need not pay for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nemo_mcp.service import edits, exports, jobs, previews
from nemo_mcp.service.edits import Edit, EditResult
from nemo_mcp.service.exports import download_folder
from nemo_mcp.service.projects import Notes, SessionManager, backend_key
from nemo_mcp.service.store import ProjectRecord, RenderRecord, Store
from nemo_mcp.service.uploads import MAX_UPLOADS_PER_CALL, CheckedFile, UploadPolicy

if TYPE_CHECKING:
    from nemo_mcp.service.translate import translate

__all__ = [
    "MAX_UPLOADS_PER_CALL",
    "CheckedFile",
    "Edit",
    "EditResult",
    "Notes",
    "ProjectRecord",
    "RenderRecord",
    "SessionManager",
    "Store",
    "UploadPolicy",
    "backend_key",
    "download_folder",
    "edits",
    "exports",
    "jobs",
    "previews",
    "translate",
]


def __getattr__(name: str) -> Any:
    if name == "translate":
        from nemo_mcp.service.translate import translate

        return translate
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
