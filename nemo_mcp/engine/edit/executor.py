"""Runs operations on a session's draft, one at a time, each saying what it did."""

from __future__ import annotations

import copy
from typing import Any

from nemo_mcp.draft import ops
from nemo_mcp.engine.edit.operations import Operation
from nemo_mcp.engine.edit.registry import REGISTRY
from nemo_mcp.engine.edit.reply import label
from nemo_mcp.engine.edit.state import EditRefused, StepResult
from nemo_mcp.engine.edit.workspace import Workspace
from nemo_mcp.engine.limits import too_long
from nemo_mcp.engine.media import MediaError

__all__ = ["Executor"]


def _within_cap(before: dict[str, Any], after: dict[str, Any]) -> None:
    """Refuse a step that made the timeline longer than the engine's cap (shortening is always fine)."""
    length = ops.timeline_ms(after)
    if length > ops.timeline_ms(before) and (problem := too_long(length)):
        raise EditRefused(problem[0].upper() + problem[1:] + ".")


class Executor(Workspace):
    """Applies operations to ``state.draft``; nothing is a silent no-op, a refusal says why."""

    async def run(self, op: Operation) -> StepResult:
        """Run ``op`` through its registered handler; a refusal or a media failure is a failed step."""
        step = REGISTRY.get(type(op))
        if step is None:
            message = f"{op.name} is not something this engine can do."
            return StepResult(op, False, message, {"ok": False, "error": message})
        before = copy.deepcopy(self.draft) if op.changes_timeline else None
        try:
            message, extra = await step.handler(self, op)
            if before is not None:
                _within_cap(before, self.draft)
        except EditRefused as exc:
            if before is not None and self.draft != before:
                self.state.draft = before  # a refused step changes nothing
            return StepResult(op, False, str(exc), {"ok": False, "error": str(exc)})
        except MediaError as exc:
            message = f"{label(op)} failed: {exc}."
            return StepResult(op, False, message, {"ok": False, "error": str(exc)})
        response = {"ok": True, "duration_ms": ops.timeline_ms(self.draft), **extra}
        return StepResult(op, True, message, response)
