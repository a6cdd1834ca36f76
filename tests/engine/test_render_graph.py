"""The filter-graph builder: chains, label allocation and escaping, checked as text."""

from __future__ import annotations

from fractions import Fraction

import pytest

from nemo_mcp.engine.render import filter_value
from nemo_mcp.engine.render.graph import Inputs, join, number, serialise, source


def test_single_use_links_become_one_chain() -> None:
    """Filters feeding exactly one filter are joined with commas, with no label between them."""
    inputs = Inputs()
    clip = inputs.add("a.mp4", "-ss", "1")
    out = clip.video().filter("setpts", "PTS-STARTPTS").filter("scale", 320, -2).filter("format", "yuv420p")
    assert serialise({"vout": out}) == "[0:v:0]setpts=PTS-STARTPTS,scale=320:-2,format=yuv420p[vout]"
    assert inputs.argv() == ["-ss", "1", "-i", "a.mp4"]


def test_labels_are_allocated_per_kind_in_writing_order() -> None:
    """Links into a multi-input filter get labels v0, a0, v1, a1... in the order the chains are written."""
    inputs = Inputs()
    pairs = []
    for name in ("a.mp4", "b.mp4"):
        clip = inputs.add(name)
        pairs += [clip.video().filter("null"), clip.audio().filter("anull")]
    video, audio = join("concat", pairs, ("v", "a"), n=2, v=1, a=1)
    text = serialise({"vout": video.filter("format", "yuv420p"), "aout": audio}, separator=";")
    assert text == (
        "[0:v:0]null[v0];[0:a:0]anull[a0];[1:v:0]null[v1];[1:a:0]anull[a1];"
        "[v0][a0][v1][a1]concat=n=2:v=1:a=1[v2][aout];[v2]format=yuv420p[vout]"
    )


def test_a_stream_used_twice_is_labelled() -> None:
    """A stream read by two filters cannot be chained; each reader names it by its label."""
    tone = source("sine", "a", frequency=440)
    (mixed,) = join("amix", [tone.filter("volume", 0.5), tone.filter("volume", 2)], ("a",), inputs=2)
    assert serialise({"aout": mixed}) == (
        "sine=frequency=440[a0];\n[a0]volume=0.5[a1];\n[a0]volume=2[a2];\n[a1][a2]amix=inputs=2[aout]"
    )


def test_building_writes_no_labels_until_serialised() -> None:
    """The same graph serialised twice gives the same text: labels live only in the serialisation."""
    out = source("color", "v", c="black", s="16x16").filter("trim", end_frame=1)
    assert serialise({"x": out}) == serialise({"x": out}) == "color=c=black:s=16x16,trim=end_frame=1[x]"


def test_values_are_escaped_in_one_place() -> None:
    """A path with quote, colon, brackets and comma survives both parsers; numbers print plainly."""
    path = "C:\\work it's: [odd], dir\\text.ass"
    out = source("color", "v").filter("subtitles", filename=path, fontsdir="fonts")
    assert serialise({"v": out}) == f"color,subtitles=filename={filter_value(path)}:fontsdir=fonts[v]"
    # Option level: \ ' : get a backslash; graph level: those backslashes and ' [ ] , get another.
    assert filter_value(path) == r"C\\:\\\\work it\\\'s\\: \[odd\]\, dir\\\\text.ass"
    assert number(Fraction(30000, 1001)) == "30000/1001"
    assert (number(Fraction(25)), number(2.5), number(1 / 3), number(0.0)) == ("25", "2.5", "0.333333", "0")


def test_an_output_going_nowhere_is_refused() -> None:
    """A filter output that is neither read nor named would make ffmpeg guess; the builder refuses it."""
    video, _audio = join("concat", [source("color", "v"), source("anullsrc", "a")], ("v", "a"), v=1, a=1)
    with pytest.raises(ValueError, match="output of concat goes nowhere"):
        serialise({"vout": video.filter("null")})


def test_a_bool_argument_is_refused() -> None:
    """True is not a filter value (ffmpeg wants 1 or 0), so it cannot slip through as 'True'."""
    with pytest.raises(TypeError):
        serialise({"v": source("color", "v", enabled=True)})
