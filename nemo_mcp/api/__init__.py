"""The wire contract shared by the client and the embedded engine.

Other layers import these names from the package: the client, its recovery policy, the
decoded ``/run_sse`` events and the wire models.
"""

from nemo_mcp.api.adk import (
    Event,
    Heartbeat,
    ReplyBuilder,
    StateDelta,
    StreamError,
    Text,
    ToolCall,
    ToolResult,
    decode_data,
)
from nemo_mcp.api.client import NemoClient, PathSource, StreamLimits, UploadSource, unwrap
from nemo_mcp.api.events import iter_events
from nemo_mcp.api.models import (
    Credits,
    RenderStatus,
    SessionInfo,
    SessionState,
    TokenGrant,
    UploadedFile,
    UploadResult,
)
from nemo_mcp.api.recovery import Recoveries, RecoveryPolicy

__all__ = [
    "Credits",
    "Event",
    "Heartbeat",
    "NemoClient",
    "PathSource",
    "Recoveries",
    "RecoveryPolicy",
    "RenderStatus",
    "ReplyBuilder",
    "SessionInfo",
    "SessionState",
    "StateDelta",
    "StreamError",
    "StreamLimits",
    "Text",
    "TokenGrant",
    "ToolCall",
    "ToolResult",
    "UploadResult",
    "UploadSource",
    "UploadedFile",
    "decode_data",
    "iter_events",
    "unwrap",
]
