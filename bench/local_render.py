"""Local engine render: one edit rendered by the embedded engine, by one hand-written ffmpeg command, and by MoviePy.

The clip is made with ffmpeg's lavfi sources (testsrc2 plus a 440 Hz tone that is silent
3 s of every 10 s; full: 5 minutes of 1080p, quick: 20 s of 640x360) and cached in
``bench/.cache/media``. The engine (``nemo_mcp.engine.http.create_app``, served in this
process) gets the clip and a music file uploaded and the instruction "trim the start, cut
out silences, add a title, add background music at 20 %, format for YouTube"; its
interpreter produces the draft. Then, alternating:

* ours: ``nemo_mcp.engine.render.render_draft`` on that draft (what an export runs);
* one hand-written ffmpeg command doing the same edit: one input, select/aselect for the
  kept stretches, scale/pad to 1920x1080, drawtext for the title, the music mixed at its
  volume, the same encoder settings;
* MoviePy 2.x doing the same (``bench/_moviepy_edit.py`` in ``bench/.cache/moviepy-venv``,
  installed on first use; reported as not measured if it cannot be installed). It is about
  15 times slower, so by default it runs in full mode only, on the first 30 s of the edit,
  and its time is scaled to the whole edit (its cost per output second is constant).

All three use libx264 with the engine's preset and CRF for ``--quality`` (full: standard =
veryfast/23, quick: draft = ultrafast/28) and AAC 192k. The realtime factor is the edited
video's duration over the engine's render time on this machine's cores.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from _common import CACHE, Row, arg_parser, banner, bench_env, emit, median, secs

from nemo_mcp.api.adk import Text
from nemo_mcp.api.multipart import PathSource
from nemo_mcp.config import Settings
from nemo_mcp.engine import render as render_mod
from nemo_mcp.engine.ffmpeg import find_ffmpeg
from nemo_mcp.engine.http import ENGINE_KEY_HEADER, bind_socket, create_app, new_engine_key, running, url_of
from nemo_mcp.engine.media import probe
from nemo_mcp.service import SessionManager

MEDIA = CACHE / "media"
MOVIEPY_VENV = CACHE / "moviepy-venv"
BAR_FFMPEG = 1.15
BAR_MOVIEPY = 5.0


def make_media(width: int, height: int, seconds: int) -> tuple[Path, Path]:
    """The clip (a tone that is silent 3 s of every 10 s) and a music track, cached."""
    MEDIA.mkdir(parents=True, exist_ok=True)
    clip = MEDIA / f"clip-{width}x{height}-{seconds}s.mp4"
    music = MEDIA / f"music-{seconds}s.m4a"
    ffmpeg = find_ffmpeg()
    if not clip.exists():
        print(f"making {clip.name} …", flush=True)
        subprocess.run(
            [
                ffmpeg, "-hide_banner", "-loglevel", "error", "-y",
                "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate=30:duration={seconds}",
                "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
                "-af", "volume='if(lt(mod(t,10),7),1,0)':eval=frame",
                "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
                "-c:a", "aac", "-b:a", "128k", "-shortest", str(clip) + ".part.mp4",
            ],
            check=True,
        )  # fmt: skip
        os.replace(str(clip) + ".part.mp4", clip)
    if not music.exists():
        subprocess.run(
            [
                ffmpeg, "-hide_banner", "-loglevel", "error", "-y",
                "-f", "lavfi", "-i", f"sine=frequency=220:sample_rate=48000:duration={seconds}",
                "-f", "lavfi", "-i", f"sine=frequency=330:sample_rate=48000:duration={seconds}",
                "-filter_complex", "amix=inputs=2", "-c:a", "aac", "-b:a", "128k", str(music) + ".part.m4a",
            ],
            check=True,
        )  # fmt: skip
        os.replace(str(music) + ".part.m4a", music)
    return clip, music


async def interpret(
    home: Path, clip: Path, music: Path, instruction: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Upload to the engine and send the edit; return the draft and {media id: SourceMedia}."""
    app = create_app(home)
    sock = bind_socket("127.0.0.1", 0)
    key = new_engine_key()
    async with running(app, sock, embedded=True, key=key):
        url = url_of(sock)
        mgr = SessionManager(
            Settings(backend="local", api_base=url, home=home / "client"),
            api_base=url,
            engine_headers={ENGINE_KEY_HEADER: key},
        )
        sid, _ = await mgr.upload_files([PathSource(clip), PathSource(music)], None)
        started = time.perf_counter()
        async with mgr.stream_edit(instruction, sid) as (sid, events):
            async for event in events:
                if isinstance(event, Text) and not event.partial:
                    print("  engine:", " ".join(event.text.split())[:300])
        print(f"  interpretation (incl. silence detection) took {secs(time.perf_counter() - started)}")
        _, state = await mgr.state(sid)
        engine = app.state.engine
        sources = {
            ref.media_id: render_mod.SourceMedia(ref.path, ref.info)
            for ref in engine.media_refs(sid).values()
        }
        await mgr.aclose()
    assert state.state.draft
    return state.state.draft, sources


def describe(draft: dict[str, Any], sources: dict[str, Any]) -> dict[str, Any]:
    """The draft as plain facts the two contenders need (cuts, title, music, canvas)."""
    tracks = draft["t"]
    main = next(t for t in tracks if t["tt"] == 0)
    keep: list[tuple[float, float]] = []
    video_src = None
    for seg in main["sg"]:
        video_src = sources[seg["m"]["src"]].path
        start = seg["m"].get("in", 0) / 1000
        keep.append((start, start + seg["d"] / 1000))
    texts = [
        {
            "text": s["m"]["text"],
            "start": s.get("s", 0) / 1000,
            "duration": s["d"] / 1000,
            "size": s["m"].get("size", 72),
        }
        for t in tracks
        if t["tt"] == 7
        for s in t["sg"]
    ]
    music = [
        {
            "source": str(sources[s["m"]["src"]].path),
            "start": s.get("s", 0) / 1000,
            "duration": s["d"] / 1000,
            "volume": s["m"].get("volume", 1.0),
            "in": s["m"].get("in", 0) / 1000,
            "loop": bool(s["m"].get("loop")),
        }
        for t in tracks
        if t["tt"] == 1
        for s in t["sg"]
    ]
    canvas = draft.get("m", {}).get("canvas", {"w": 1920, "h": 1080})
    total = sum(b - a for a, b in keep)
    return {"source": str(video_src), "keep": keep, "texts": texts, "music": music, "size": [canvas["w"], canvas["h"]], "total": total}  # fmt: skip


def prefix(edit: dict[str, Any], seconds: float) -> dict[str, Any]:
    """The first ``seconds`` of the edit's output (for a contender too slow to render all of it)."""
    keep: list[tuple[float, float]] = []
    left = seconds
    for a, b in edit["keep"]:
        if left <= 0:
            break
        keep.append((a, min(b, a + left)))
        left -= keep[-1][1] - a
    total = sum(b - a for a, b in keep)
    texts = [
        {**t, "duration": min(t["duration"], total - t["start"])} for t in edit["texts"] if t["start"] < total
    ]
    music = [
        {**m, "duration": min(m["duration"], total - m["start"])} for m in edit["music"] if m["start"] < total
    ]
    return {**edit, "keep": keep, "texts": texts, "music": music, "total": total}


def _escape_text(text: str) -> str:
    return re.sub(r"([\\':,;\[\]])", r"\\\1", text)


def handwritten_command(edit: dict[str, Any], out: Path, *, preset: str, crf: int, font: Path) -> list[str]:
    """What a person fluent in ffmpeg would write for this edit: one command, one pass."""
    w, h = edit["size"]
    between = "+".join(f"between(t,{a:.3f},{b:.3f})" for a, b in edit["keep"])
    video = (
        f"[0:v]select='{between}',setpts=N/FRAME_RATE/TB,"
        f"scale={w}:{h}:force_original_aspect_ratio=decrease,pad={w}:{h}:(ow-iw)/2:(oh-ih)/2,setsar=1"
    )
    for t in edit["texts"]:
        video += (
            f",drawtext=fontfile={font}:text='{_escape_text(t['text'])}':fontsize={t['size']}:fontcolor=white"
            f":x=(w-tw)/2:y=(h-th)/2:enable='between(t,{t['start']:.3f},{t['start'] + t['duration']:.3f})'"
        )
    graph = [video + ",format=yuv420p[v]", f"[0:a]aselect='{between}',asetpts=N/SR/TB,aresample=48000[a0]"]
    inputs = ["-i", edit["source"]]
    mix = ["[a0]"]
    for i, m in enumerate(edit["music"], start=1):
        inputs += (["-stream_loop", "-1"] if m["loop"] else []) + ["-ss", f"{m['in']:.3f}", "-i", m["source"]]
        delay = f",adelay={round(m['start'] * 1000)}:all=1" if m["start"] > 0 else ""
        graph.append(f"[{i}:a]atrim=0:{m['duration']:.3f},asetpts=N/SR/TB,volume={m['volume']}{delay}[m{i}]")
        mix.append(f"[m{i}]")
    graph.append(f"{''.join(mix)}amix=inputs={len(mix)}:duration=first:normalize=0[a]")
    return [
        find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", *inputs,
        "-filter_complex", ";".join(graph), "-map", "[v]", "-map", "[a]",
        "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "192k", "-ar", "48000", "-ac", "2", "-movflags", "+faststart", str(out),
    ]  # fmt: skip


async def render_ours(
    draft: dict[str, Any], sources: dict[str, Any], out: Path, *, quality: str, work_dir: Path
) -> None:
    await render_mod.render_draft(draft, sources, out, quality=quality, work_dir=work_dir)


def ensure_moviepy() -> Path | None:
    python = MOVIEPY_VENV / "bin" / "python"
    if not python.exists():
        print("installing moviepy into", MOVIEPY_VENV, flush=True)
        try:
            subprocess.run([sys.executable, "-m", "venv", str(MOVIEPY_VENV)], check=True)
            subprocess.run([str(MOVIEPY_VENV / "bin" / "pip"), "install", "-q", "moviepy"], check=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            print(f"moviepy cannot be installed: {exc}")
            return None
    return python


def run_moviepy(python: Path, edit: dict[str, Any], out: Path, *, preset: str, crf: int, font: Path) -> float:
    spec = {**edit, "output": str(out), "preset": preset, "crf": crf, "font": str(font), "fps": 30}
    spec["threads"] = len(os.sched_getaffinity(0))
    spec_path = out.with_suffix(".json")
    spec_path.write_text(json.dumps(spec))
    env = bench_env(IMAGEIO_FFMPEG_EXE=find_ffmpeg())
    done = subprocess.run([str(python), str(Path(__file__).with_name("_moviepy_edit.py")), str(spec_path)],
                          capture_output=True, text=True, check=True, env=env)  # fmt: skip
    return float(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])


async def duration_of(path: Path) -> float:
    return (await probe(path)).duration_ms / 1000


def main() -> None:
    p = arg_parser(__doc__.split("\n\n")[0])
    p.add_argument("--quality", choices=sorted(render_mod.QUALITY_PRESETS), default=None)
    p.add_argument("--repeats", type=int, default=None, help="runs of the engine and of ffmpeg")
    p.add_argument("--moviepy", action=argparse.BooleanOptionalAction, default=None,
                   help="also render with MoviePy (default: in full mode only)")  # fmt: skip
    p.add_argument("--moviepy-seconds", type=float, default=None,
                   help="MoviePy renders only this much of the edit and its time is scaled up (full: 30)")  # fmt: skip
    args = p.parse_args()
    use_moviepy = args.moviepy if args.moviepy is not None else not args.quick
    mp_seconds = args.moviepy_seconds or (None if args.quick else 30.0)
    width, height, seconds, trim = (640, 360, 20, 2) if args.quick else (1920, 1080, 300, 10)
    quality = args.quality or ("draft" if args.quick else "standard")
    preset, crf = render_mod.QUALITY_PRESETS[quality]
    repeats = args.repeats or (2 if args.quick else 1)
    cores = len(os.sched_getaffinity(0))
    banner(
        f"local render of a {seconds} s {width}x{height} clip, quality {quality} ({preset}/{crf})", args.quick
    )
    clip, music = make_media(width, height, seconds)
    instruction = (
        f'Trim the first {trim} seconds, cut out silences, add a title "Benchmark", '
        f"add background music {music.name} at 20%, and format it for YouTube."
    )
    font_found = render_mod.find_font()
    assert font_found is not None, "no font for the title"
    font = font_found[0]
    moviepy = ensure_moviepy() if use_moviepy else None
    with tempfile.TemporaryDirectory(prefix="nemo-bench-lr-") as tmp_name:
        tmp = Path(tmp_name)
        draft, sources = anyio.run(interpret, tmp / "engine", clip, music, instruction)
        edit = describe(draft, sources)
        print(f"  the edit keeps {len(edit['keep'])} stretches, {edit['total']:.1f} s in all")
        ours: list[float] = []
        hand: list[float] = []
        mp: list[float] = []
        for i in range(repeats):
            for who in ("ours", "ffmpeg") if i % 2 == 0 else ("ffmpeg", "ours"):
                out = tmp / f"{who}-{i}.mp4"
                start = time.perf_counter()
                if who == "ours":
                    work = tmp / f"work-{i}"
                    anyio.run(
                        functools.partial(render_ours, draft, sources, out, quality=quality, work_dir=work)
                    )
                    ours.append(time.perf_counter() - start)
                else:
                    subprocess.run(
                        handwritten_command(edit, out, preset=preset, crf=crf, font=font), check=True
                    )
                    hand.append(time.perf_counter() - start)
                print(f"  {who:7s} run {i + 1}: {secs(time.perf_counter() - start)} -> "
                      f"{anyio.run(duration_of, out):.2f} s of video", flush=True)  # fmt: skip
        mp_note = ""
        if moviepy is not None:
            part = prefix(edit, mp_seconds) if mp_seconds and mp_seconds < edit["total"] else edit
            scale = edit["total"] / part["total"]
            if scale > 1:
                mp_note = f"MoviePy rendered the first {part['total']:.0f} s; its time is scaled ×{scale:.2f}"
            out = tmp / "moviepy.mp4"
            try:
                mp.append(scale * run_moviepy(moviepy, part, out, preset=preset, crf=crf, font=font))
                print(f"  moviepy: {secs(mp[-1] / scale)} -> {anyio.run(duration_of, out):.2f} s of video"
                      + (f" ({mp_note}: {secs(mp[-1])})" if mp_note else ""), flush=True)  # fmt: skip
            except subprocess.CalledProcessError as exc:
                print("  moviepy failed:", (exc.stderr or "")[-2000:])
    m_ours, m_hand = median(ours), median(hand)
    rt = edit["total"] / m_ours
    ratio_ff = m_ours / m_hand
    print(
        f"ours {secs(m_ours)}, hand-written ffmpeg {secs(m_hand)}: ratio {ratio_ff:.2f}x (bar <= {BAR_FFMPEG}x)"
    )
    print(f"realtime factor of the engine on {cores} cores: {rt:.2f}x ({edit['total']:.1f} s of output)")
    what = f"{seconds // 60} min {height}p" if seconds >= 60 else f"{seconds} s {height}p source"
    rows = [
        Row(
            f"Local render vs one ffmpeg command ({what}, {quality})",
            secs(m_ours),
            f"{secs(m_hand)} (ffmpeg)",
            ratio_ff,
            f"≤ {BAR_FFMPEG}×",
            ratio_ff <= BAR_FFMPEG,
        ),
    ]
    if mp:
        m_mp = median(mp)
        speedup = m_mp / m_ours
        print(f"moviepy {secs(m_mp)}: the engine is {speedup:.1f}x faster (bar >= {BAR_MOVIEPY}x)")
        rows.append(
            Row(
                f"Local render vs MoviePy ({what}, {quality})",
                secs(m_ours),
                f"{secs(m_mp)} (MoviePy 2)",
                speedup,
                f"≥ {BAR_MOVIEPY}× faster",
                speedup >= BAR_MOVIEPY,
                "ratio = MoviePy time / ours" + (f"; {mp_note}" if mp_note else ""),
            )
        )
    else:
        rows.append(
            Row(
                "Local render vs MoviePy",
                secs(m_ours),
                "–",
                None,
                f"≥ {BAR_MOVIEPY}× faster",
                None,
                "full mode only (--moviepy to force)" if not use_moviepy else "MoviePy could not run",
            )
        )
    rows.append(
        Row(
            f"Local render realtime factor ({cores} cores, 1080p output)",
            f"{rt:.2f}× realtime",
            "–",
            None,
            "report",
            True,
            f"{edit['total']:.0f} s of video in {secs(m_ours)}",
        )
    )
    emit(rows)


if __name__ == "__main__":
    os.chdir(Path(__file__).resolve().parents[1])
    main()
