"""A small typed builder for ffmpeg filter graphs, serialised to text in one pass.

A :class:`Node` is one filter applied to input streams; a :class:`Stream` is one output
pad of a node or one stream of an input file. Building a graph only creates immutable
values: nothing is written and no label exists until :func:`serialise` walks the graph,
joins single-use links into ``,`` chains and allocates a label for every other link.
Every filter argument passes through :func:`filter_value`, the one place that escapes.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

StreamKind = Literal["v", "a"]
Value = str | int | float | Fraction

# Creation order of nodes is a topological order (a node's inputs exist before it does).
_sequence = itertools.count()


def filter_value(value: str) -> str:
    """``value`` escaped for use as a filter option inside a filter graph.

    Two parsers read it: the filter's option parser (``\\ ' :`` are special) and then the
    graph parser (``\\ ' [ ] , ;``). A Windows path or a folder named ``it's: [1]`` survives both.
    """
    value = "".join("\\" + c if c in "\\':" else c for c in value)
    return "".join("\\" + c if c in "\\'[],;" else c for c in value)


def number(value: float | Fraction) -> str:
    """A number as ffmpeg reads it: ``30000/1001`` for a fraction, at most six decimals otherwise."""
    if isinstance(value, Fraction):
        return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    return f"{value:.6f}".rstrip("0").rstrip(".") or "0"


def _text(value: Value) -> str:
    if isinstance(value, bool):
        raise TypeError("a filter argument cannot be a bool: say 1 or 0")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Fraction):
        return number(value)
    return filter_value(value)


@dataclass(frozen=True, eq=False)
class Input:
    """An input file of the command: its ``-i`` options, and its position once numbered."""

    path: str
    options: tuple[str, ...]
    index: int

    def video(self) -> Stream:
        return Stream(self, 0, "v")

    def audio(self) -> Stream:
        return Stream(self, 0, "a")

    def argv(self) -> list[str]:
        return [*self.options, "-i", self.path]


@dataclass(frozen=True, eq=False)
class Node:
    """One filter: its name, arguments and input streams; it has ``len(kinds)`` outputs."""

    name: str
    args: tuple[Value, ...]
    kwargs: tuple[tuple[str, Value], ...]
    inputs: tuple[Stream, ...]
    kinds: tuple[StreamKind, ...]
    order: int = field(default_factory=lambda: next(_sequence))

    def text(self) -> str:
        """The filter as it appears in a chain: ``name=a:b:key=value``."""
        parts = [_text(a) for a in self.args] + [f"{k}={_text(v)}" for k, v in self.kwargs]
        return f"{self.name}={':'.join(parts)}" if parts else self.name

    @property
    def outputs(self) -> tuple[Stream, ...]:
        return tuple(Stream(self, i, kind) for i, kind in enumerate(self.kinds))


@dataclass(frozen=True)
class Stream:
    """One output pad of a node, or one stream of an input file."""

    source: Node | Input
    index: int
    kind: StreamKind

    def filter(self, name: str, /, *args: Value, **kwargs: Value) -> Stream:
        """This stream through filter ``name``, which has one output of the same kind."""
        return Node(name, args, tuple(kwargs.items()), (self,), (self.kind,)).outputs[0]


def source(name: str, kind: StreamKind, /, *args: Value, **kwargs: Value) -> Stream:
    """A filter that makes a stream from nothing (``color``, ``anullsrc``)."""
    return Node(name, args, tuple(kwargs.items()), (), (kind,)).outputs[0]


def join(
    name: str, streams: Sequence[Stream], kinds: Sequence[StreamKind], /, *args: Value, **kwargs: Value
) -> tuple[Stream, ...]:
    """A filter with several inputs or outputs (``concat``, ``amix``)."""
    return Node(name, args, tuple(kwargs.items()), tuple(streams), tuple(kinds)).outputs


class Inputs:
    """The command's input files, numbered in the order they are added."""

    def __init__(self) -> None:
        self._inputs: list[Input] = []

    def add(self, path: str, *options: str) -> Input:
        item = Input(path, options, len(self._inputs))
        self._inputs.append(item)
        return item

    def argv(self) -> list[str]:
        return [arg for item in self._inputs for arg in item.argv()]

    def __len__(self) -> int:
        return len(self._inputs)


def _nodes(outputs: Sequence[Stream]) -> list[Node]:
    """Every node the outputs depend on, in creation order."""
    seen: dict[int, Node] = {}
    todo = [s.source for s in outputs]
    while todo:
        item = todo.pop()
        if isinstance(item, Node) and id(item) not in seen:
            seen[id(item)] = item
            todo.extend(s.source for s in item.inputs)
    return sorted(seen.values(), key=lambda n: n.order)


class _Labels:
    """Labels for the links between chains, allocated in the order they are first written."""

    def __init__(self, named: Mapping[str, Stream]) -> None:
        self._labels: dict[Stream, str] = {stream: name for name, stream in named.items()}
        self._counts: dict[str, int] = {}

    def __getitem__(self, stream: Stream) -> str:
        if isinstance(stream.source, Input):
            return f"[{stream.source.index}:{stream.kind}:{stream.index}]"
        if stream not in self._labels:
            count = self._counts.get(stream.kind, 0)
            self._counts[stream.kind] = count + 1
            self._labels[stream] = f"{stream.kind}{count}"
        return f"[{self._labels[stream]}]"


def serialise(outputs: Mapping[str, Stream], separator: str = ";\n") -> str:
    """The graph that produces ``outputs`` as filtergraph text; each output gets its key as label.

    A link used once, from a node with one output to a node with one input, is written as
    ``,`` inside a chain; every other link gets a label. Chains are separated by ``separator``.
    """
    nodes = _nodes(list(outputs.values()))
    uses: dict[Stream, int] = {}
    for node in nodes:
        for stream in node.inputs:
            uses[stream] = uses.get(stream, 0) + 1
    named = set(outputs.values())

    def chained(node: Node) -> bool:
        """Whether ``node`` continues the chain of the node feeding it."""
        if len(node.inputs) != 1:
            return False
        link = node.inputs[0]
        return (
            isinstance(link.source, Node)
            and len(link.source.kinds) == 1
            and uses[link] == 1
            and link not in named
        )

    following = {id(n.inputs[0].source): n for n in nodes if chained(n)}
    labels = _Labels(outputs)
    chains: list[str] = []
    for head in (n for n in nodes if not chained(n)):
        filters, last = [head.text()], head
        while id(last) in following:
            last = following[id(last)]
            filters.append(last.text())
        unused = [s for s in last.outputs if s not in uses and s not in named]
        if unused:
            raise ValueError(f"the output of {last.name} goes nowhere")
        ins = "".join(labels[s] for s in head.inputs)
        outs = "".join(labels[s] for s in last.outputs)
        chains.append(f"{ins}{','.join(filters)}{outs}")
    return separator.join(chains)
