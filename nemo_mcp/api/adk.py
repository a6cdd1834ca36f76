"""ADK events of the ``/run_sse`` stream: the typed events and their decoding.

:func:`decode_data` turns the data of one Server-Sent Event into zero or more :data:`Event`
values; it understands ADK 1.x and 2.x events, ADK error frames (including the invalid JSON
that ADK 1.x produces), the vendor's simplified frames and heartbeats, and never raises.
:class:`ReplyBuilder` folds the events of one reply into the text, tool calls, state and
error the caller reports.

Nothing here logs frame contents: they can carry user text, URLs and tokens.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from nemo_mcp.errors import ReplyTooLarge

__all__ = [
    "Event",
    "Heartbeat",
    "ReplyBuilder",
    "StateDelta",
    "StreamError",
    "Text",
    "ToolCall",
    "ToolResult",
    "decode_data",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Text:
    """Text for the user; ``partial`` fragments are repeated whole by a later non-partial event."""

    text: str
    partial: bool
    author: str | None = None


@dataclass(frozen=True, slots=True)
class ToolCall:
    """The backend called one of its own tools (worth a progress line, nothing more)."""

    name: str
    args: dict[str, Any]
    id: str | None = None


@dataclass(frozen=True, slots=True)
class ToolResult:
    """The result of a backend tool call (internal)."""

    name: str
    response: Any
    id: str | None = None


@dataclass(frozen=True, slots=True)
class StateDelta:
    """Changes to the session state, e.g. ``{"draft": {...}}``."""

    delta: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Something arrived that says only "still working".

    ``reason`` is ``"comment"``, ``"empty"``, ``"non-json"``, ``"heartbeat-frame"`` or
    ``"unknown"`` (JSON we do not recognise).
    """

    reason: str = ""


@dataclass(frozen=True, slots=True)
class StreamError:
    """The backend reported an error; the stream is over."""

    message: str
    code: str | None = None
    details: dict[str, Any] | None = None


Event = Text | ToolCall | ToolResult | StateDelta | Heartbeat | StreamError

# ADK 1.x pastes the error message into the JSON unescaped: `{"error": "429 … {"error": {…}}"}`.
_ERROR_PREFIX = re.compile(r'\s*\{\s*"error"')
_RAW_ERROR = re.compile(r'\s*\{\s*"error"\s*:\s*"?(.*?)"?\s*\}?\s*', re.DOTALL)


def decode_data(data: str) -> list[Event]:
    """Decode ONE SSE event's data payload into zero or more events (never raises).

    Adjacent text parts of one ADK event become one :class:`Text` (the model API defines a
    message's text as its parts concatenated); the other parts follow in order, then the
    event's state delta, then its error if it carries one. Thought parts, empty text and
    text with role ``user`` produce nothing, and a partial event yields its text only.
    """
    if not data or data.isspace():
        return [Heartbeat("empty")]
    try:
        obj = _loads(data)
    except (ValueError, RecursionError):
        if _ERROR_PREFIX.match(data):
            return [StreamError(_raw_error_message(data))]
        return [Heartbeat("non-json")]
    if not isinstance(obj, dict):
        return [Heartbeat("unknown")]
    try:
        return _decode_object(obj)
    except Exception as exc:  # one frame of an unforeseen shape must not end the stream
        log.warning("ignored an SSE frame of unexpected shape (%s)", type(exc).__name__)
        return [Heartbeat("unknown")]


_JSON = json.JSONDecoder()


def _loads(data: str) -> Any:
    # raw_decode skips the two whitespace scans of json.loads, a third of the cost of a small frame.
    try:
        obj, end = _JSON.raw_decode(data)
    except ValueError:
        return json.loads(data)  # leading whitespace, or invalid: json.loads has the last word
    if end != len(data) and not data[end:].isspace():
        raise ValueError("extra data after the JSON value")
    return obj


def _raw_error_message(data: str) -> str:
    match = _RAW_ERROR.fullmatch(data)
    message = match.group(1) if match else ""
    return message or data.strip()


def _decode_object(obj: dict[str, Any]) -> list[Event]:
    if obj.get("errorCode") is not None or obj.get("errorMessage") is not None:
        # ADK 2.x error event; an LlmResponse error may still carry content, so keep that first.
        events = _decode_adk(obj)
        code, message = obj.get("errorCode"), obj.get("errorMessage")
        text = str(message) if message else str(code)
        events.append(StreamError(text, code=None if code is None else str(code)))
        return events
    if obj.get("error"):
        return [_error_frame(obj)]
    kind = obj.get("type")
    if isinstance(kind, str):
        return _decode_simplified(kind, obj)
    return _decode_adk(obj)


def _error_frame(obj: dict[str, Any]) -> StreamError:
    error = obj["error"]
    details = obj.get("error_details")
    details = details if isinstance(details, dict) else None
    code = obj.get("code")
    if isinstance(error, dict):
        message = error.get("message") or error.get("error") or json.dumps(error)
        code = error.get("code", error.get("status", code))
        details = details or error
    else:
        message = error
    return StreamError(str(message), code=None if code is None else str(code), details=details)


def _decode_adk(obj: dict[str, Any]) -> list[Event]:
    # ADK never commits a partial event: its function calls are previews that the final event
    # repeats and then executes (google/adk-python#3974), and its state delta is never applied.
    # So a partial event contributes its text only.
    events: list[Event] = []
    partial = obj.get("partial") is True
    content = obj.get("content")
    if isinstance(content, dict) and isinstance(parts := content.get("parts"), list):
        for_user = content.get("role") != "user"
        author = obj.get("author")
        author = author if isinstance(author, str) else None
        texts: list[str] = []
        for part in parts:
            if not isinstance(part, dict) or part.get("thought") is True:
                continue
            text = part.get("text")
            if for_user and text and isinstance(text, str):
                texts.append(text)
            if partial:
                continue
            call, result = part.get("functionCall"), part.get("functionResponse")
            if not isinstance(call, dict) and not isinstance(result, dict):
                continue
            if texts:
                events.append(Text("".join(texts), partial, author))
                texts = []
            if isinstance(call, dict):
                events.append(ToolCall(_name(call), _args(call.get("args")), _opt_str(call.get("id"))))
            if isinstance(result, dict):
                events.append(ToolResult(_name(result), result.get("response"), _opt_str(result.get("id"))))
        if texts:
            events.append(Text("".join(texts), partial, author))
    actions = obj.get("actions")
    if not partial and isinstance(actions, dict):
        delta = actions.get("stateDelta")
        if isinstance(delta, dict) and delta:
            events.append(StateDelta(delta))
    return events


def _decode_simplified(kind: str, obj: dict[str, Any]) -> list[Event]:
    # Shapes from one revision of the vendor docs (inferred): accept the likely spellings.
    if kind == "text":
        text = obj.get("content", obj.get("text"))
        if not isinstance(text, str):
            return [Heartbeat("unknown")]
        return [Text(text, obj.get("partial") is True, _opt_str(obj.get("author")))] if text else []
    if kind in ("tool_call", "function_call"):
        args = obj.get("args", obj.get("arguments", obj.get("input")))
        return [ToolCall(_name(obj), _args(args), _opt_str(obj.get("id")))]
    if kind in ("tool_result", "function_response"):
        response = next((obj[k] for k in ("response", "result", "output", "content") if k in obj), None)
        return [ToolResult(_name(obj), response, _opt_str(obj.get("id")))]
    if kind in ("state", "state_delta"):
        delta = next((obj[k] for k in ("delta", "state", "stateDelta", "data") if k in obj), None)
        return [StateDelta(delta)] if isinstance(delta, dict) and delta else []
    if kind == "error":
        message = obj.get("message") or obj.get("error") or obj.get("content") or "unknown error"
        code = obj.get("code")
        details = obj.get("details")
        return [
            StreamError(
                str(message),
                code=None if code is None else str(code),
                details=details if isinstance(details, dict) else None,
            )
        ]
    if kind in ("heartbeat", "ping", "keepalive"):
        return [Heartbeat("heartbeat-frame")]
    return [Heartbeat("unknown")]


def _name(obj: dict[str, Any]) -> str:
    name = obj.get("name", obj.get("tool"))
    return "" if name is None else str(name)


def _args(args: Any) -> dict[str, Any]:
    if isinstance(args, str):  # OpenAI-style gateways send the arguments as a JSON string
        try:
            args = json.loads(args)
        except (ValueError, RecursionError):
            return {"value": args}
    if isinstance(args, dict):
        return args
    return {} if args is None else {"value": args}


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


#: Characters of reply text one edit may collect (about a novel's length; real replies are a few KB).
MAX_REPLY_CHARS = 1_000_000
#: Tool-call names kept per reply; a backend that sends more is not remembered past this.
MAX_TOOL_CALLS = 200


class ReplyBuilder:
    """Accumulates the events of one reply into its text, tool calls, state and error.

    ``final_text`` joins the texts of the non-partial events (each stripped, empty ones
    dropped) with a blank line between them, because each is a separate model turn,
    usually either side of a tool call. Partial fragments are concatenated as they come;
    they are used only where no non-partial text followed them, which covers a stream
    with only partial text and one cut off after the last complete turn.
    """

    def __init__(self, *, max_text_chars: int = MAX_REPLY_CHARS) -> None:
        self.tool_calls: list[str] = []
        self.state: dict[str, Any] = {}
        self.error: StreamError | None = None
        self.max_text_chars = max_text_chars
        self._finals: list[str] = []
        self._pending: list[str] = []
        self._held = 0  # characters in _finals and _pending

    def _hold(self, text: str) -> None:
        # Each event is capped by the SSE reader; this caps their sum, so a backend flooding
        # text frames ends the stream instead of filling memory.
        self._held += len(text)
        if self._held > self.max_text_chars:
            raise ReplyTooLarge()

    def feed(self, event: Event) -> None:
        match event:
            case Text(partial=True):
                self._hold(event.text)
                self._pending.append(event.text)
            case Text():
                self._held -= sum(map(len, self._pending))
                self._pending.clear()
                self._hold(event.text)
                self._finals.append(event.text)
            case ToolCall():
                if len(self.tool_calls) < MAX_TOOL_CALLS:
                    self.tool_calls.append(event.name)
            case StateDelta():
                self.state.update(event.delta)
            case StreamError():
                if self.error is None:  # the first error is the cause; later ones repeat it
                    self.error = event
            case _:
                pass

    @property
    def final_text(self) -> str:
        pieces = [*self._finals, "".join(self._pending)]
        return "\n\n".join(s for p in pieces if (s := p.strip()))
