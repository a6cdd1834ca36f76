"""The sound of a smart render, and the join of its picture, sound, chapters and captions.

The picture is written by :mod:`smart` while ffmpeg renders the sound with the usual filter
graph (without a picture); a sound nothing changes is not rendered at all but copied from the
source by the join (:func:`sound_to_copy`).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from nemo_mcp.engine.ffmpeg import ffmpeg_command, ffmpeg_version
from nemo_mcp.engine.render.assets import plan_assets, write_assets
from nemo_mcp.engine.render.command import AUDIO_BITRATE, caption_track, graph_args
from nemo_mcp.engine.render.compose import compose
from nemo_mcp.engine.render.graph import Inputs, number
from nemo_mcp.engine.render.plan import SAMPLE_RATE, Plan

_AAC_FRAME = 1024  # samples in one AAC (LC) frame


def sound_to_copy(plan: Plan) -> Path | None:
    """The source whose own AAC sound the export can carry as it is, or ``None`` to render the sound.

    Only for one kept piece at full volume with nothing mixed in, normalised or faded: one cut
    at each end, no join inside. ffmpeg's copy from an in-point keeps the AAC frame before it
    as a decoder pre-roll and an edit list that starts playback on the in-point's sample, so
    the start is sample-exact and clean, and no seam lies inside to click; the end runs less
    than one AAC frame (21 ms at 48 kHz) past the picture, so only where that is under a frame. Joining several pieces' packets would
    click at each join, so more pieces always render their sound.
    """
    if len(plan.pieces) != 1 or plan.sounds or plan.loudnorm or plan.fade_in_ms or plan.fade_out_ms:
        return None
    (piece,) = plan.pieces
    source = piece.source
    if source is None or piece.volume != 1.0 or not source.info.has_audio or source.info.audio_codec != "aac":
        return None
    import av

    with av.open(str(source.path)) as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        rate, profile = stream.codec_context.sample_rate, stream.codec_context.profile
        if stream.duration is None or stream.time_base is None or not rate:
            return None
        ends = Fraction((stream.start_time or 0) + stream.duration) * stream.time_base
    # One AAC frame of pre-roll is enough for plain AAC (LC), not for HE-AAC's extra stages; and
    # the last frame may run past the picture, so it must be shorter than a picture frame.
    if profile != "LC" or Fraction(_AAC_FRAME, rate) > 1 / plan.fps:
        return None
    # The usual render pads a sound that ends early with silence; a copy cannot, so it must last.
    if ends < Fraction(piece.in_ms, 1000) + Fraction(piece.frames) / plan.fps:
        return None
    return source.path


def write_side_files(plan: Plan, work_dir: Path) -> None:
    """The chapter and caption files the mux reads, when no sound pass has written them."""
    write_assets(plan_assets(plan, work_dir, None).files)


def sound_command(plan: Plan, out_path: Path, *, work_dir: Path) -> list[str]:
    """The ffmpeg argv rendering only the plan's sound (run while the picture is written)."""
    assets = plan_assets(plan, work_dir, None)
    composition = compose(plan, assets, picture=False)
    graph_opts, graph_files = graph_args(composition.graph, work_dir, ffmpeg_version)
    write_assets(assets.files + graph_files)
    return ffmpeg_command(
        "-y", "-progress", "pipe:1", "-nostats", "-stats_period", "0.25",
        *composition.inputs.argv(),
        *graph_opts,
        "-map", "[aout]", "-map_metadata", "-1", "-map_chapters", "-1",
        "-c:a", "aac", "-b:a", AUDIO_BITRATE, "-ar", str(SAMPLE_RATE), "-ac", "2",
        "-t", number(plan.duration_s), "-f", "mp4", str(out_path),
    )  # fmt: skip


def mux_command(
    plan: Plan, picture: Path, sound: Path, out_path: Path, *, work_dir: Path, copied: bool = False
) -> list[str]:
    """The ffmpeg argv joining the smart picture, the sound, chapters and caption track.

    ``sound`` is the rendered sound, or with ``copied`` the source whose sound is carried as it is
    (:func:`sound_to_copy`), read from the piece's in-point for the timeline's length.
    """
    assets = plan_assets(plan, work_dir, None)  # the files sound_command or write_side_files wrote
    inputs = Inputs()
    video = inputs.add(str(picture)).index
    if copied:
        start = number(plan.pieces[0].in_ms / 1000)
        audio = inputs.add(str(sound), "-ss", start, "-t", number(plan.duration_s)).index
    else:
        audio = inputs.add(str(sound)).index
    metadata = -1 if assets.chapters is None else inputs.add(str(assets.chapters), "-f", "ffmetadata").index
    subtitles = caption_track(inputs, assets)
    return ffmpeg_command(
        "-y", *inputs.argv(),
        "-map", f"{video}:v", "-map", f"{audio}:a:0", *subtitles,
        "-map_metadata", str(metadata), "-map_chapters", str(metadata),
        "-c:v", "copy", "-c:a", "copy",
        "-t", number(plan.duration_s),
        "-movflags", "+faststart", "-f", "mp4", str(out_path),
    )  # fmt: skip
