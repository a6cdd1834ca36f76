"""The filter graph of a render plan: pieces joined, text burned in, sound mixed. Pure.

* every piece of the main video track becomes its own input (``-ss``/``-t`` before ``-i``,
  so a cut deep into a long file seeks instead of decoding up to it), scaled into the canvas
  with letterboxing, brought to the project frame rate, padded with its last frame if the
  clip is short, and cut to an exact number of frames; its sound (or silence, for a still,
  a card or a silent clip) is cut to the same length in samples;
* the pieces are joined with ``concat``; audio tracks (music, voice-over) are delayed to
  their start, looped if asked and mixed in with ``amix`` without normalisation (so a
  volume of 0.3 means 0.3); ``loudnorm`` and fades apply to the whole result.
"""

from __future__ import annotations

from dataclasses import dataclass

from nemo_mcp.engine.render.assets import Assets
from nemo_mcp.engine.render.graph import Input, Inputs, Stream, Value, join, number, serialise, source
from nemo_mcp.engine.render.plan import SAMPLE_RATE, Piece, Plan, Sound

# Up to this many pieces, each decoder may use all cores (a 4K source decodes faster).
_FEW_PIECES = 8
# Read a little past a segment's end so the exact cut happens in the filter, not the demuxer.
_INPUT_MARGIN_S = 0.1


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


def _fitted(stream: Stream, plan: Plan, piece: Piece) -> Stream:
    """A picture fitted inside the canvas keeping its shape, lasting exactly the piece's frames."""
    w, h = plan.width, plan.height
    # Square pixels first (DV and some phone clips store wide pictures in narrow pixels).
    fitted = (
        stream.filter("setpts", "PTS-STARTPTS")
        .filter("scale", w="trunc(iw*sar/2)*2", h="ih")
        .filter("setsar", 1)
        .filter("scale", w, h, force_original_aspect_ratio="decrease")
        .filter("pad", w, h, "(ow-iw)/2", "(oh-ih)/2", color="black")
        .filter("setsar", 1)
        .filter("fps", plan.fps)
    )
    # Pad with the last frame, then cut: a piece lasts exactly its frames even if its clip is short.
    seconds = float(piece.frames / plan.fps)
    return fitted.filter("tpad", stop_mode="clone", stop_duration=seconds).filter(
        "trim", end_frame=piece.frames
    )


def _piece(plan: Plan, piece: Piece, inputs: Inputs, threads: tuple[str, ...]) -> tuple[Stream, Stream]:
    """The picture and sound of one piece, each exactly as long as the piece."""
    seconds = float(piece.frames / plan.fps)
    read = ("-t", number(seconds + _INPUT_MARGIN_S))
    src = piece.source
    sound: Input | None = None
    if src is None or not src.info.has_video or src.info.kind == "audio":
        colour = piece.card_bg if src is None else "0x000000"
        size = f"{plan.width}x{plan.height}"
        picture = source("color", "v", c=colour, s=size, r=plan.fps, d=seconds)
        picture = picture.filter("setsar", 1).filter("trim", end_frame=piece.frames)
        if src is not None and src.info.has_audio:
            sound = inputs.add(str(src.path), *_seek(piece.in_ms), *read)
    elif src.info.kind == "image":
        # Decoded and scaled once; tpad repeats the one frame for the piece's length.
        picture = _fitted(inputs.add(str(src.path)).video(), plan, piece)
    else:
        clip = inputs.add(str(src.path), *threads, *_seek(piece.in_ms), *read)
        picture = _fitted(clip.video(), plan, piece)
        sound = clip if src.info.has_audio else None
    # Counted from the timeline's start, so rounding to samples cannot accumulate.
    samples = plan.samples(piece.start_frame + piece.frames) - plan.samples(piece.start_frame)
    if sound is None:
        audio = source("anullsrc", "a", r=SAMPLE_RATE, cl="stereo")
    else:
        audio = _audio_format(sound.audio().filter("asetpts", "PTS-STARTPTS"))
        audio = audio.filter("volume", round(piece.volume, 4)).filter("apad")
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
    """Text, then fades (so text fades with the picture), then the encoder's pixel format."""
    if assets.subtitles is not None:
        options: dict[str, Value] = {"filename": str(assets.subtitles)}
        if assets.fonts_dir is not None:
            options["fontsdir"] = str(assets.fonts_dir)
        joined = joined.filter("subtitles", **options)
    return _fades(joined, plan, "fade").filter("format", "yuv420p")


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


def compose(plan: Plan, assets: Assets) -> Composition:
    """The inputs and filter graph that render ``plan``, with text and chapters from ``assets``."""
    inputs = Inputs()
    # Every input starts decoding at once and holds a few decoded frames until concat gets to it;
    # one decoder thread each (instead of one per core) keeps that to ~10 MB a 1080p piece, and is
    # no slower, as only one piece is being played at a time.
    threads = ("-threads", "1") if len(plan.pieces) > _FEW_PIECES else ()
    pairs = [_piece(plan, piece, inputs, threads) for piece in plan.pieces]
    picture, sound = join("concat", [s for pair in pairs for s in pair], ("v", "a"), n=len(pairs), v=1, a=1)
    outputs = {"vout": _picture(picture, plan, assets), "aout": _mix(sound, plan, inputs)}
    metadata = -1
    if assets.chapters is not None:
        metadata = inputs.add(str(assets.chapters), "-f", "ffmetadata").index
    return Composition(inputs, serialise(outputs), metadata)
