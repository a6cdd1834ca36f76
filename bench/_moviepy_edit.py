"""The local-render benchmark's MoviePy contender (runs in bench/.cache/moviepy-venv).

Reads a JSON spec on argv[1] — the same edit the engine rendered: the kept stretches of the
source, the title, the music and the encoder settings — renders it with MoviePy 2.x and
prints the seconds it took (from opening the clip to the written file) as JSON.
"""

from __future__ import annotations

import json
import sys
import time

from moviepy import (  # type: ignore[import-not-found]
    AudioFileClip,
    CompositeAudioClip,
    CompositeVideoClip,
    TextClip,
    VideoFileClip,
    afx,
    concatenate_videoclips,
)


def main() -> None:
    spec = json.loads(open(sys.argv[1], encoding="utf-8").read())  # noqa: SIM115
    start = time.perf_counter()
    source = VideoFileClip(spec["source"])
    video = concatenate_videoclips([source.subclipped(a, b) for a, b in spec["keep"]])
    width, height = spec["size"]
    if tuple(video.size) != (width, height):
        video = video.resized(new_size=(width, height))
    layers = [video]
    for text in spec["texts"]:
        layers.append(
            TextClip(font=spec["font"], text=text["text"], font_size=text["size"], color="white")
            .with_start(text["start"])
            .with_duration(text["duration"])
            .with_position(("center", "center"))
        )
    sounds = [video.audio]
    for music in spec["music"]:
        clip = AudioFileClip(music["source"])
        effects = [afx.MultiplyVolume(music["volume"])]
        if clip.duration < music["duration"]:
            effects.insert(0, afx.AudioLoop(duration=music["duration"]))
        sounds.append(
            clip.subclipped(0, min(clip.duration, music["duration"]))
            .with_effects(effects)
            .with_start(music["start"])
        )
    final = CompositeVideoClip(layers, size=(width, height)).with_audio(CompositeAudioClip(sounds))
    final.write_videofile(
        spec["output"],
        fps=spec["fps"],
        codec="libx264",
        preset=spec["preset"],
        audio_codec="aac",
        audio_bitrate="192k",
        audio_fps=48000,
        threads=spec["threads"],
        ffmpeg_params=["-crf", str(spec["crf"]), "-pix_fmt", "yuv420p", "-movflags", "+faststart"],
        logger=None,
    )
    print(json.dumps({"seconds": time.perf_counter() - start}))


if __name__ == "__main__":
    main()
