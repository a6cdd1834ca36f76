"""Argument completion (``completion/complete``) for the prompts and the timeline resource.

A host asks while the user types an argument: for a prompt argument with a closed set the
answer is the set's values that match what is typed so far (``PROMPT_CHOICES``); for the
project id of ``nemo://projects/{session_id}/timeline`` it is the ids this installation knows,
newest first, read from the state store through the session manager (no backend call, so the
answer is immediate). Anything else gets an empty list, which the protocol allows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.types import (
    Completion,
    CompletionArgument,
    CompletionContext,
    PromptReference,
    ResourceTemplateReference,
)

from nemo_mcp.mcp.context import AppState
from nemo_mcp.mcp.prompts import PROMPT_CHOICES, TIMELINE_TEMPLATE

#: The protocol's cap on values in one answer.
MAX_VALUES = 100


def matching(values: Iterable[str], typed: str) -> Completion:
    """The values that start with ``typed`` (ignoring case), then those containing it, in order."""
    needle = typed.strip().lower()
    pool = list(dict.fromkeys(values))
    starts = [v for v in pool if v.lower().startswith(needle)]
    inside = [v for v in pool if needle and needle in v.lower() and v not in starts]
    found = starts + inside
    return Completion(values=found[:MAX_VALUES], total=len(found), has_more=len(found) > MAX_VALUES)


def complete(
    ref: PromptReference | ResourceTemplateReference,
    argument: CompletionArgument,
    state: AppState | None,
) -> Completion | None:
    """The completion for one argument of a prompt or resource template; None when there is none."""
    if isinstance(ref, PromptReference):
        choices = PROMPT_CHOICES.get(ref.name, {}).get(argument.name)
        return matching(choices, argument.value) if choices else None
    if ref.uri == TIMELINE_TEMPLATE and argument.name == "session_id" and state is not None:
        return matching((p.session_id for p in state.manager.list_projects()), argument.value)
    return None


def add_completions(mcp: MCPServer[Any], state: Callable[[], AppState | None]) -> None:
    """Register the completion handler; ``state`` gives the running server's state, if any."""

    async def handle(
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion | None:
        return complete(ref, argument, state())

    # The SDK's decorator factory is unannotated; calling it plainly keeps ``handle`` typed.
    register: Callable[[Any], Any] = mcp.completion()  # type: ignore[no-untyped-call]
    register(handle)
