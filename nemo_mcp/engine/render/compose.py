"""The filter graph of a render plan: pieces joined, text burned in, sound mixed. Pure.

* each source is read by one input and decoded once (``-ss`` before ``-i`` to its first
  kept frame, so a trimmed intro is sought over, not decoded), scaled into the canvas with
  letterboxing and its sound resampled, then ``split``/``asplit`` into a branch per piece,
  cut with ``trim``/``atrim`` at the piece's source times. The pieces of a source follow
  each other forward in time, so a branch only receives its frames once the branch before
  it has finished, and nothing piles up between branches. A piece that goes back in the
  source (a clip shown twice, a section moved earlier) or jumps far ahead starts a fresh
  input instead;
* a piece's picture keeps the frames that fall on its frames at the project rate; a piece
  its clip may not fill (and a still) is brought to that rate, padded with its last frame
  and cut to an exact number of frames. Its sound (or silence, for a still, a card or a
  silent clip) is cut to the same length in samples, which fixes where the next piece starts;
* the pieces are joined with ``concat`` and brought to the project frame rate once, which
  also holds a frame over any gap a piece leaves; audio tracks (music, voice-over) are delayed to
  their start, looped if asked and mixed in with ``amix`` without normalisation (so a
  volume of 0.3 means 0.3); ``loudnorm`` and fades apply to the whole result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from nemo_mcp.engine.render.assets import Assets
from nemo_mcp.engine.render.graph import Inputs, Stream, Value, join, number, serialise, source
from nemo_mcp.engine.render.plan import SAMPLE_RATE, Piece, Plan, Sound

# Up to this many decoding inputs, each decoder may use all cores (a 4K source decodes faster).
_FEW_INPUTS = 8
# Read a little past a segment's end so the exact cut happens in the filter, not the demuxer.
_INPUT_MARGIN_S = 0.1
# A jump forward in a source longer than this is sought with a fresh input rather than decoded
# through (decoding 30 s of 1080p costs about what a seek and one more decoder's buffers do).
# -1 gives every piece its own input: the per-piece method, which bench/local_render.py measures.
SEEK_GAP_MS = 30_000
# See _picture: how far frames are moved later before the one frame-rate conversion.
_NUDGE_S = 0.0001
# See _text: text this close together (or to either end) is burned in as one stretch; with more
# stretches than this (captions all through a talk) libass simply sees every frame.
_TEXT_GAP_S = 2.0
_MAX_TEXT_STRETCHES = 9


@dataclass(frozen=True)
class Composition:
    """A render's inputs and the graph text that turns them into ``[vout]`` and ``[aout]``."""

    inputs: Inputs
    graph: str
    metadata_input: int  # the ffmetadata input carrying chapters, or -1


def _audio_format(stream: Stream) -> Stream:
    return stream.filter("aresample", SAMPLE_RATE).filter(
        "aformat", sample_fmts="fltp", sample_rates=SAMPLE_RATE, channel_layouts="stereo"
    )


def _seek(ms: int) -> tuple[str, ...]:
    return ("-ss", number(ms / 1000)) if ms > 0 else ()


def _decodes(piece: Piece) -> tuple[bool, bool]:
    """Whether the piece takes its picture, and its sound, from its clip."""
    src = piece.source
    if src is None or src.info.kind == "image":
        return False, False
    return src.info.has_video and src.info.kind != "audio", src.info.has_audio


@dataclass
class _Read:
    """One input of a source, shared by consecutive pieces that move forward through it."""

    start_ms: int  # where the input seeks to: the first piece's in-point
    end_s: float  # source time where its last piece ends
    pieces: int = 0
    windows: list[tuple[float, float]] = field(default_factory=list)  # each piece's, from the seek

    def window(self, piece: Piece, fps: Fraction) -> tuple[float, float]:
        """Where ``piece`` starts and (with a margin) ends, in seconds from the seek point."""
        start = (piece.in_ms - self.start_ms) / 1000
        return start, start + float(piece.frames / fps) + _INPUT_MARGIN_S


def _reads(plan: Plan) -> list[_Read | None]:
    """For each piece, the read its clip comes from (None for cards, stills and gaps)."""
    current: dict[object, _Read] = {}
    found: list[_Read | None] = []
    gap_s = (SEEK_GAP_MS if plan.seek_gap_ms is None else plan.seek_gap_ms) / 1000
    for piece in plan.pieces:
        if piece.source is None or not any(_decodes(piece)):
            found.append(None)
            continue
        start_s, seconds = piece.in_ms / 1000, float(piece.frames / plan.fps)
        read = current.get(piece.source.path)
        # Going back (more than the read-ahead margin), or far ahead, needs a fresh input.
        if read is None or start_s < read.end_s - _INPUT_MARGIN_S or start_s - read.end_s > gap_s:
            read = current[piece.source.path] = _Read(piece.in_ms, start_s + seconds)
        read.end_s = max(read.end_s, start_s + seconds)
        read.pieces += 1
        read.windows.append(read.window(piece, plan.fps))
        found.append(read)
    return found


def _branches(stream: Stream, name: str, n: int) -> list[Stream]:
    return [stream] if n == 1 else list(join(name, [stream], (stream.kind,) * n, n))


class _Clips:
    """The inputs that decode the plan's clips, and for each piece its branch of one of them."""

    def __init__(self, plan: Plan, inputs: Inputs) -> None:
        self._plan, self._inputs = plan, inputs
        self._reads = _reads(plan)
        decoders = len({id(r) for r in self._reads if r is not None})
        # Every input starts decoding at once and holds a few decoded frames until concat gets
        # to it; with many, one decoder thread each (instead of one per core) keeps that small.
        self._threads = ("-threads", "1") if decoders > _FEW_INPUTS else ()
        self._branches: dict[int, tuple[list[Stream], list[Stream]]] = {}

    def branch(self, index: int) -> tuple[Stream | None, Stream | None]:
        """The picture and sound of piece ``index`` from its clip, cut at the piece's source times."""
        read, piece = self._reads[index], self._plan.pieces[index]
        assert read is not None
        assert piece.source is not None
        video, audio = _decodes(piece)
        if id(read) not in self._branches:
            options = self._threads if video else ()
            length = number(read.end_s - read.start_ms / 1000 + _INPUT_MARGIN_S)
            clip = self._inputs.add(str(piece.source.path), *options, *_seek(read.start_ms), "-t", length)
            self._branches[id(read)] = (
                # Fitted to the canvas before the split: once per source, and no per-piece scalers
                # and frame pools, which ffmpeg keeps until the end of the render (~12 MB a piece).
                _branches(_canvas(_kept(clip.video(), read), self._plan), "split", read.pieces)
                if video
                else [],
                _branches(_audio_format(clip.audio()), "asplit", read.pieces) if audio else [],
            )
        videos, audios = self._branches[id(read)]
        picture = videos.pop(0) if video else None
        sound = audios.pop(0) if audio else None
        if read.pieces == 1:
            return picture, sound
        # The cut itself: the same timestamps an input -ss/-t would keep, counted from the seek point.
        start, end = read.window(piece, self._plan.fps)
        cut: dict[str, Value] = {"start": start, "end": end} if start > 0 else {"end": end}
        return (
            None if picture is None else picture.filter("trim", **cut),
            None if sound is None else sound.filter("atrim", **cut),
        )


def _kept(stream: Stream, read: _Read) -> Stream:
    """Only the frames some piece of ``read`` keeps (a little more), so cut frames are never scaled."""
    if read.pieces == 1:
        return stream  # the input's -ss/-t already read no more
    # A millisecond wider than each trim, which makes the exact cut.
    spans = (f"between(t,{number(a - 0.001)},{number(b + 0.001)})" for a, b in read.windows)
    return stream.filter("select", "+".join(spans))


def _canvas(stream: Stream, plan: Plan) -> Stream:
    """A picture fitted inside the canvas keeping its shape; its timing untouched."""
    w, h = plan.width, plan.height
    # Square pixels first (DV and some phone clips store wide pictures in narrow pixels).
    return (
        stream.filter("scale", w="trunc(iw*sar/2)*2", h="ih")
        .filter("setsar", 1)
        .filter("scale", w, h, force_original_aspect_ratio="decrease")
        .filter("pad", w, h, "(ow-iw)/2", "(oh-ih)/2", color="black")
        .filter("setsar", 1)
    )


def _timed(stream: Stream, plan: Plan, piece: Piece) -> Stream:
    """A picture from time 0 at the project frame rate, lasting exactly the piece's frames."""
    timed = stream.filter("setpts", "PTS-STARTPTS").filter("fps", plan.fps)
    # Pad with the last frame, then cut: a piece lasts exactly its frames even if its clip is short.
    seconds = float(piece.frames / plan.fps)
    return timed.filter("tpad", stop_mode="clone", stop_duration=seconds).filter(
        "trim", end_frame=piece.frames
    )


def _runs_short(piece: Piece, plan: Plan) -> bool:
    """Whether the clip may end before the piece does (within a frame of its end)."""
    assert piece.source is not None
    end_ms = piece.in_ms + float(piece.frames / plan.fps) * 1000
    return end_ms > piece.source.info.duration_ms - 1000 / float(plan.fps)


def _cut(stream: Stream, plan: Plan, index: int) -> Stream:
    """A clip's picture from time 0, holding the frames that fall on the piece's frames.

    ``fps``, ``tpad`` and their buffers (two frames, ~6 MB at 1080p) stay alive until the render
    ends, so a branch per cut does without them: the frame rate is made once after ``concat``,
    whose ``fps`` also repeats the last frame over any gap a piece leaves. The cut keeps what
    that ``fps`` would round onto the piece's frames: everything before the last frame's middle.
    Only a piece its clip may not fill keeps its own padding, and so does the last piece:
    ``fps`` fills a gap up to the next frame, but not from the last frame to the end.
    """
    piece = plan.pieces[index]
    if index == len(plan.pieces) - 1 or _runs_short(piece, plan):
        return _timed(stream, plan, piece)
    end = float((piece.frames - Fraction(1, 2)) / plan.fps)
    return stream.filter("setpts", "PTS-STARTPTS").filter("trim", end=end)


def _piece(plan: Plan, index: int, inputs: Inputs, clips: _Clips) -> tuple[Stream, Stream]:
    """The picture and sound of one piece, each exactly as long as the piece."""
    piece = plan.pieces[index]
    seconds = float(piece.frames / plan.fps)
    src = piece.source
    clip_video, clip_audio = clips.branch(index) if any(_decodes(piece)) else (None, None)
    if src is not None and src.info.kind == "image":
        # Decoded and scaled once; tpad repeats the one frame for the piece's length.
        picture = _timed(_canvas(inputs.add(str(src.path)).video(), plan), plan, piece)
    elif clip_video is not None:
        picture = _cut(clip_video, plan, index)
    else:
        colour = piece.card_bg if src is None else "0x000000"
        size = f"{plan.width}x{plan.height}"
        picture = source("color", "v", c=colour, s=size, r=plan.fps, d=seconds)
        picture = picture.filter("setsar", 1).filter("trim", end_frame=piece.frames)
    # Counted from the timeline's start, so rounding to samples cannot accumulate.
    samples = plan.samples(piece.start_frame + piece.frames) - plan.samples(piece.start_frame)
    if clip_audio is None:
        audio = source("anullsrc", "a", r=SAMPLE_RATE, cl="stereo")
    else:
        audio = clip_audio.filter("asetpts", "PTS-STARTPTS").filter("volume", round(piece.volume, 4))
        audio = audio.filter("apad")
    return picture, audio.filter("atrim", end_sample=samples)


def _sound(sound: Sound, inputs: Inputs) -> Stream:
    """An audio-track segment at its volume, cut to its length and delayed to its start."""
    loop = ("-stream_loop", "-1") if sound.loop else ()
    read = ("-t", number(sound.duration_ms / 1000 + _INPUT_MARGIN_S))
    clip = inputs.add(str(sound.source.path), *loop, *_seek(sound.in_ms), *read)
    audio = _audio_format(clip.audio().filter("asetpts", "PTS-STARTPTS"))
    samples = round(sound.duration_ms * SAMPLE_RATE / 1000)
    audio = audio.filter("volume", round(sound.volume, 4)).filter("atrim", end_sample=samples)
    return audio.filter("adelay", delays=sound.start_ms, all=1) if sound.start_ms > 0 else audio


def _fades(stream: Stream, plan: Plan, name: str) -> Stream:
    if plan.fade_in_ms:
        stream = stream.filter(name, t="in", st=0, d=plan.fade_in_ms / 1000)
    if plan.fade_out_ms:
        start = max(0.0, plan.duration_s - plan.fade_out_ms / 1000)
        stream = stream.filter(name, t="out", st=start, d=plan.fade_out_ms / 1000)
    return stream


def _picture(joined: Stream, plan: Plan, assets: Assets) -> Stream:
    """The frame rate, then text, then fades (so text fades with the picture), then the pixel format."""
    # concat counts time in microseconds, so a 60 fps frame meant to fall halfway between two
    # 30 fps frames lands a rounding either side of it; nudged later by far more than that
    # rounding (and far less than a frame), it goes to the later frame, as ``fps`` rounds halves.
    joined = joined.filter("setpts", f"PTS+{number(_NUDGE_S)}/TB").filter("fps", plan.fps)
    if assets.subtitles is not None:
        joined = _text(joined, plan, assets.subtitles, assets.fonts_dir)
    return _fades(joined, plan, "fade").filter("format", "yuv420p")


def _text_spans(plan: Plan) -> list[tuple[int, int]]:
    """The output frames [first, end) during which burned-in text may show, merged and in order.

    Widened by a frame either side (ASS times are in centiseconds); gaps and ends shorter than
    :data:`_TEXT_GAP_S` are joined to the text around them, so no stretch is only a frame or two.
    """
    total, fps = plan.total_frames, plan.fps
    gap = max(2, math.ceil(_TEXT_GAP_S * fps))
    spans: list[tuple[int, int]] = []
    for text in sorted((t for t in plan.texts if not t.soft), key=lambda t: t.start_ms):
        first = max(0, math.floor(text.start_ms * fps / 1000) - 1)
        end = min(total, math.ceil(text.end_ms * fps / 1000) + 1)
        if first >= end:
            continue
        if spans and first - spans[-1][1] < gap:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((first, end))
    if spans and spans[0][0] < gap:
        spans[0] = (0, spans[0][1])
    if spans and total - spans[-1][1] < gap:
        spans[-1] = (spans[-1][0], total)
    return spans


def _text(stream: Stream, plan: Plan, subtitles: Path, fonts_dir: Path | None) -> Stream:
    """The picture with the ASS text burned in, libass running only on the frames it may show on.

    ``subtitles`` has no timeline support and copies every frame it is given that another filter
    still holds (after ``split``, most of them) before blending nothing into it; a short title over
    a long video would cost a 1080p copy per frame. So the picture is cut into stretches with and
    without text (the stretches follow each other, so nothing piles up between branches), and only
    the stretches with text pass through libass, at their own timestamps, before being joined again.
    """
    options: dict[str, Value] = {"filename": str(subtitles)}
    if fonts_dir is not None:
        options["fontsdir"] = str(fonts_dir)
    total = plan.total_frames
    bounds: list[tuple[int, int, bool]] = []
    at = 0
    for first, end in _text_spans(plan):
        if first > at:
            bounds.append((at, first, False))
        bounds.append((first, end, True))
        at = end
    if at < total:
        bounds.append((at, total, False))
    if len(bounds) <= 1 or len(bounds) > _MAX_TEXT_STRETCHES:
        return stream.filter("subtitles", **options)  # text all through (or nearly): one pass
    stretches = []
    for (first, end, text), branch in zip(bounds, _branches(stream, "split", len(bounds)), strict=True):
        cut: dict[str, Value] = {"start_frame": first} if first > 0 else {}
        if end < total:
            cut["end_frame"] = end
        stretch = branch.filter("trim", **cut)
        if text:
            stretch = stretch.filter("subtitles", **options)
        # concat counts each stretch from 0 and places it after the one before.
        stretches.append(stretch.filter("setpts", "PTS-STARTPTS"))
    (joined,) = join("concat", stretches, ("v",), n=len(stretches), v=1, a=0)
    return joined


def _mix(joined: Stream, plan: Plan, inputs: Inputs) -> Stream:
    """The clips' own sound plus every audio-track segment at its place and volume."""
    sounds = [_sound(sound, inputs) for sound in plan.sounds]
    if sounds:
        # normalize=0: amix would otherwise divide every input by the number of inputs.
        (mixed,) = join(
            "amix", [joined, *sounds], ("a",),
            inputs=len(sounds) + 1, duration="first", dropout_transition=0, normalize=0,
        )  # fmt: skip
    else:
        mixed = joined.filter("anull")
    if plan.loudnorm:
        # -16 LUFS integrated: the usual target for spoken content online (single pass, so no 2nd analysis run).
        mixed = mixed.filter("loudnorm", I=-16, TP=-1.5, LRA=11).filter("aresample", SAMPLE_RATE)
    return _audio_format(_fades(mixed, plan, "afade"))


def compose(plan: Plan, assets: Assets, *, picture: bool = True) -> Composition:
    """The inputs and filter graph that render ``plan``, with text and chapters from ``assets``.

    Without ``picture`` the graph has only ``[aout]`` (smart rendering brings its own picture);
    the pictures built for the pieces are then never reached, so never written into the graph.
    """
    inputs = Inputs()
    clips = _Clips(plan, inputs)
    pairs = [_piece(plan, index, inputs, clips) for index in range(len(plan.pieces))]
    if not picture:
        (sound,) = join("concat", [a for _, a in pairs], ("a",), n=len(pairs), v=0, a=1)
        return Composition(inputs, serialise({"aout": _mix(sound, plan, inputs)}), _chapters(assets, inputs))
    joined, sound = join("concat", [s for pair in pairs for s in pair], ("v", "a"), n=len(pairs), v=1, a=1)
    outputs = {"vout": _picture(joined, plan, assets), "aout": _mix(sound, plan, inputs)}
    return Composition(inputs, serialise(outputs), _chapters(assets, inputs))


def _chapters(assets: Assets, inputs: Inputs) -> int:
    """The ffmetadata input carrying the chapters, or -1."""
    return -1 if assets.chapters is None else inputs.add(str(assets.chapters), "-f", "ffmetadata").index
