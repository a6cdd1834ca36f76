"""The draft (timeline) model: tolerant pydantic nodes, lenient readers and shared constants.

The backend's draft uses short keys (see ``docs/draft-format.md``): ``t`` tracks, ``tt``
track type (0 video, 1 audio, 7 text), ``sg`` segments, ``d`` duration in ms, ``s`` start
in ms, ``m`` metadata. The full schema is unpublished, so the models here keep **every**
key they do not know, and ``Draft.model_validate(x).to_json_dict() == x`` for any JSON
object ``x``: same keys, same values, same key order, no defaults added.

Junk never raises. A declared field whose value has the wrong shape (``"d": "5000"``,
``"sg": null``) is kept verbatim beside the model and read leniently through the
properties (``Segment.duration_ms`` parses ``"5000"`` and ``5000.0``); a list item that
is not an object (``"t": [7]``) becomes an *opaque* node that dumps back as itself and
is skipped by the views.

Every lenient read of a number in the draft, here and in the operations on plain dicts,
goes through :func:`lenient_number`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    ValidationError,
    ValidatorFunctionWrapHandler,
    model_serializer,
    model_validator,
)

__all__ = [
    "AUDIO",
    "DEFAULT_CANVAS",
    "DEFAULT_PLATFORM",
    "PLATFORMS",
    "PLATFORM_CANVAS",
    "TEXT",
    "VIDEO",
    "Draft",
    "DraftLike",
    "Platform",
    "Segment",
    "Track",
    "as_int",
    "lenient_int",
    "lenient_number",
    "parse_draft",
]

# Track types (``tt``).
VIDEO: Final = 0
AUDIO: Final = 1
TEXT: Final = 7


# --------------------------------------------------------------------------- platforms


@dataclass(frozen=True, slots=True)
class Platform:
    """An output format: its canvas and how a reply names it."""

    key: str
    title: str
    ratio: str
    width: int
    height: int

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height

    @property
    def label(self) -> str:
        """``YouTube (16:9, 1920x1080)``."""
        return f"{self.title} ({self.ratio}, {self.width}x{self.height})"


PLATFORMS: Final[Mapping[str, Platform]] = {
    p.key: p
    for p in (
        Platform("youtube", "YouTube", "16:9", 1920, 1080),
        Platform("shorts", "Shorts/TikTok/Reels", "9:16", 1080, 1920),
        Platform("square", "square", "1:1", 1080, 1080),
    )
}
DEFAULT_PLATFORM: Final = "youtube"
# The canvas of each platform as (width, height), and the one used when a draft names none.
PLATFORM_CANVAS: Final[Mapping[str, tuple[int, int]]] = {k: p.size for k, p in PLATFORMS.items()}
DEFAULT_CANVAS: Final = PLATFORMS[DEFAULT_PLATFORM].size


# --------------------------------------------------------------------------- lenient scalars


def lenient_number(value: Any) -> float | None:
    """A finite number from a draft field (numbers or numeric strings); booleans and junk are None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def lenient_int(value: Any) -> int | None:
    """:func:`lenient_number` rounded to an int; None when unusable."""
    number = lenient_number(value)
    return None if number is None else round(number)


def as_int(value: Any, default: int = 0) -> int:
    """:func:`lenient_int`, with ``default`` for junk."""
    number = lenient_int(value)
    return default if number is None else number


def _to_ms(value: Any) -> int | None:
    number = lenient_int(value)
    return None if number is None else max(0, number)


def _whole(value: Any) -> int | None:
    """A whole number only (``"7"`` and ``7.0`` count, ``7.5`` does not)."""
    number = lenient_number(value)
    return None if number is None or not number.is_integer() else int(number)


# --------------------------------------------------------------------------- models


class _Node(BaseModel):
    """A draft object: declared fields typed strictly, everything else kept verbatim."""

    model_config = ConfigDict(extra="allow", strict=True, defer_build=True)

    # Declared fields whose input had the wrong shape, kept as sent.
    _misfits: dict[str, Any] = PrivateAttr(default_factory=dict)
    # The input's key order, restored on output.
    _order: tuple[str, ...] = PrivateAttr(default=())
    # A list item that was not an object at all; dumped back unchanged.
    _opaque: Any = PrivateAttr(default=None)
    _is_opaque: bool = PrivateAttr(default=False)

    @model_validator(mode="wrap")
    @classmethod
    def _tolerate(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if isinstance(data, cls):
            return data
        if not isinstance(data, dict):
            return cls._wrap_opaque(data, handler)
        clean = dict(data)
        misfits: dict[str, Any] = {}
        while True:  # at most once per declared field: each round sets one or more aside
            try:
                node = handler(clean)
                break
            except ValidationError as exc:
                bad = cls._misfit_keys(exc, clean)
                if not bad:  # not a field shape problem (cannot happen with JSON input)
                    return cls._wrap_opaque(data, handler)
                misfits.update({key: clean.pop(key) for key in bad})
        node._misfits = misfits
        node._order = tuple(data)
        return node

    @classmethod
    def _misfit_keys(cls, exc: ValidationError, clean: dict[str, Any]) -> set[str]:
        """The declared fields the errors are about (nested nodes never fail on their own)."""
        heads = {str(err["loc"][0]) for err in exc.errors() if err["loc"]}
        return {key for key in heads if key in cls.model_fields and key in clean}

    @classmethod
    def _wrap_opaque(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        node = handler({})
        node._opaque = data
        node._is_opaque = True
        return node

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> Any:
        if self.is_opaque:
            return self._opaque
        out: dict[str, Any] = handler(self)
        for key, value in self._misfits.items():
            if key not in self.model_fields_set:  # an assignment since parsing wins
                out[key] = value
        if not self._order:
            return out
        ordered = {key: out[key] for key in self._order if key in out}
        ordered.update((key, value) for key, value in out.items() if key not in ordered)
        return ordered

    @property
    def is_opaque(self) -> bool:
        """True when the draft had something other than an object in this place."""
        return self._is_opaque

    def raw(self, key: str) -> Any:
        """The value of ``key`` as the draft has it (declared, misfit or unknown), else None."""
        if key in self._misfits and key not in self.model_fields_set:
            return self._misfits[key]
        if key in type(self).model_fields:
            return getattr(self, key)
        return (self.model_extra or {}).get(key)

    @property
    def meta(self) -> dict[str, Any]:
        """The ``m`` object, or an empty dict when it is missing or not an object."""
        value = self.raw("m")
        return value if isinstance(value, dict) else {}

    def to_json_dict(self) -> Any:
        """The object as JSON-ready data, exactly as parsed plus any assignments made since."""
        return copy.deepcopy(self.model_dump(exclude_unset=True))


class Segment(_Node):
    """One segment: ``d`` duration ms, ``s`` timeline start ms, ``m`` metadata."""

    d: int | None = None
    s: int | None = None
    m: dict[str, Any] = Field(default_factory=dict)

    @property
    def duration_ms(self) -> int | None:
        """``d`` read leniently (ints, floats, numeric strings); None when unusable."""
        return _to_ms(self.raw("d"))

    @property
    def start_ms(self) -> int | None:
        """``s`` read leniently; None when absent or unusable."""
        return _to_ms(self.raw("s"))


class Track(_Node):
    """One track: ``tt`` type (0 video, 1 audio, 7 text), ``sg`` segments, ``m`` metadata."""

    tt: int | None = None
    sg: list[Segment] = Field(default_factory=list)
    m: dict[str, Any] = Field(default_factory=dict)

    @property
    def type_code(self) -> int | None:
        """``tt`` read leniently (``"7"`` and ``7.0`` count as 7)."""
        return _whole(self.raw("tt"))

    @property
    def segments(self) -> list[Segment]:
        """The segments that are objects, in order."""
        return [seg for seg in self.sg if not seg.is_opaque]


class Draft(_Node):
    """The whole draft: ``t`` tracks, ``d`` total duration ms, ``m`` project metadata."""

    t: list[Track] = Field(default_factory=list)
    d: int | None = None
    m: dict[str, Any] = Field(default_factory=dict)

    def to_json_dict(self) -> dict[str, Any]:
        """The draft as a JSON object, exactly as parsed plus any assignments made since."""
        data = super().to_json_dict()
        return data if isinstance(data, dict) else {}

    @property
    def tracks(self) -> list[Track]:
        """The tracks that are objects, in display order."""
        return [track for track in self.t if not track.is_opaque]

    @property
    def duration_ms(self) -> int | None:
        """``d`` read leniently; None when absent (see :func:`draft_duration_ms`)."""
        return _to_ms(self.raw("d"))


DraftLike = Draft | Mapping[str, Any] | None


def parse_draft(obj: Any) -> Draft | None:
    """A :class:`Draft` for any JSON object (never raises); None for anything else."""
    if isinstance(obj, Draft):
        return obj
    if not isinstance(obj, Mapping):
        return None
    return Draft.model_validate(dict(obj))
