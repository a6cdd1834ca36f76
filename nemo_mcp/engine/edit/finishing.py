"""Handlers for sound and output: music, original volume, format, fades, loudness; and describe."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from nemo_mcp.draft import DEFAULT_PLATFORM, PLATFORMS, format_length, format_percent, ops, summarize
from nemo_mcp.engine.edit.operations import (
    AddBackgroundMusic,
    AddFades,
    DescribeTimeline,
    NormalizeAudio,
    RemoveBackgroundMusic,
    SetOriginalVolume,
    SetPlatform,
)
from nemo_mcp.engine.edit.state import EditRefused
from nemo_mcp.engine.edit.workspace import Outcome, Workspace

DEFAULT_BGM_VOLUME: Final = 0.3


async def add_background_music(ws: Workspace, op: AddBackgroundMusic) -> Outcome:
    volume, file, volume_only = op.volume, op.file, op.volume_only
    total = ws.require_timeline("add background music to")
    existing = ops.find_track(ws.draft, ops.AUDIO, "bgm")
    if volume_only and existing is not None and file is None:
        v = DEFAULT_BGM_VOLUME if volume is None else volume
        for seg in ops.segments(existing):
            ops.meta(seg)["volume"] = v
        return f"Set the background music to {format_percent(v)} volume.", {}
    audio = [r for r in ws.state.media.values() if r.kind == "audio"]
    if file:
        wanted = Path(file).name.lower()
        chosen = next((r for r in audio if r.filename.lower() == wanted), None)
        if chosen is None:
            raise EditRefused(
                f"There is no uploaded audio file called {Path(file).name}"
                + (f"; uploaded: {', '.join(r.filename for r in audio)}." if audio else ".")
            )
    elif audio:
        chosen = audio[-1]
    else:
        raise EditRefused(
            "Background music needs an audio file: upload one (mp3, wav, m4a or aac), then say "
            '"add background music at 20%". The offline engine has no music library of its own.'
        )
    v = DEFAULT_BGM_VOLUME if volume is None else volume
    ops.remove_track(ws.draft, ops.AUDIO, "bgm")
    track = ops.ensure_track(ws.draft, ops.AUDIO, "bgm", "BGM")
    loop = chosen.info.duration_ms < total
    track["sg"] = [
        {
            "s": 0,
            "d": total,
            "m": {"src": chosen.media_id, "in": 0, "volume": v, "loop": loop, "name": chosen.filename},
        }
    ]
    ws.refresh()
    how = "looped to fill" if loop else "under"
    return (
        f"Added background music: {chosen.filename} at {format_percent(v)} volume, {how} the whole "
        f"{format_length(total)}.",
        {},
    )


async def remove_background_music(ws: Workspace, op: RemoveBackgroundMusic) -> Outcome:
    if not ops.remove_track(ws.draft, ops.AUDIO, "bgm"):
        raise EditRefused("There is no background music to remove.")
    ws.refresh()
    return "Removed the background music.", {}


async def set_original_volume(ws: Workspace, op: SetOriginalVolume) -> Outcome:
    volume = op.volume
    ws.require_videos("change the original sound")
    track = ops.main_track(ws.draft)
    assert track is not None
    for seg in ops.segments(track):
        if ops.peek_meta(seg).get("src"):
            ops.meta(seg)["volume"] = volume
    if volume == 0:
        return "Muted the video's original sound.", {}
    return f"Set the video's original sound to {format_percent(volume)}.", {}


async def set_platform(ws: Workspace, op: SetPlatform) -> Outcome:
    platform = op.platform
    preset = PLATFORMS.get(platform) or PLATFORMS[DEFAULT_PLATFORM]
    w, h, label = preset.width, preset.height, preset.label
    m = ops.project_meta(ws.draft)
    m["canvas"] = {"w": w, "h": h}
    m["platform"] = platform
    ws.state.outputs["canvas_config"] = {"width": w, "height": h, "platform": platform}
    return f"Set the format to {label}; the export will be an H.264 MP4 of that size.", {}


async def add_fades(ws: Workspace, op: AddFades) -> Outcome:
    fade_in_ms, fade_out_ms = op.fade_in_ms, op.fade_out_ms
    total = ws.require_timeline("add fades")
    half = total // 2
    m = ops.project_meta(ws.draft)
    done = []
    if fade_in_ms:
        m["fade_in_ms"] = min(fade_in_ms, half)
        done.append(f"a {format_length(m['fade_in_ms'])} fade in")
    if fade_out_ms:
        m["fade_out_ms"] = min(fade_out_ms, half)
        done.append(f"a {format_length(m['fade_out_ms'])} fade out")
    return "Added " + " and ".join(done) + " (picture and sound).", {}


async def normalize_audio(ws: Workspace, op: NormalizeAudio) -> Outcome:
    ws.require_timeline("normalize")
    ops.project_meta(ws.draft)["loudnorm"] = True
    return "The export will normalise loudness to the EBU R128 standard (about -16 LUFS for the web).", {}


async def describe_timeline(ws: Workspace, op: DescribeTimeline) -> Outcome:
    return summarize(ws.draft), {}
