"""Runs operations on a session's draft, one at a time, each saying what it did."""

from __future__ import annotations

from nemo_mcp.draft import ops
from nemo_mcp.engine.edit.operations import Operation
from nemo_mcp.engine.edit.registry import REGISTRY
from nemo_mcp.engine.edit.reply import label
from nemo_mcp.engine.edit.state import EditRefused, StepResult
from nemo_mcp.engine.edit.workspace import Workspace
from nemo_mcp.engine.media import MediaError

__all__ = ["Executor"]


class Executor(Workspace):
    """Applies operations to ``state.draft``; nothing is a silent no-op, a refusal says why."""

    async def run(self, op: Operation) -> StepResult:
        """Run ``op`` through its registered handler; a refusal or a media failure is a failed step."""
        step = REGISTRY.get(type(op))
        if step is None:
            message = f"{op.name} is not something this engine can do."
            return StepResult(op, False, message, {"ok": False, "error": message})
        try:
            message, extra = await step.handler(self, op)
        except EditRefused as exc:
            return StepResult(op, False, str(exc), {"ok": False, "error": str(exc)})
        except MediaError as exc:
            message = f"{label(op)} failed: {exc}."
            return StepResult(op, False, message, {"ok": False, "error": str(exc)})
        response = {"ok": True, "duration_ms": ops.timeline_ms(self.draft), **extra}
        return StepResult(op, True, message, response)
