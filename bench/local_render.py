"""Local engine render: one edit rendered by the embedded engine, by one hand-written ffmpeg command, and by MoviePy.

The clip is made with ffmpeg's lavfi sources (testsrc2 plus a 440 Hz tone that is silent
3 s of every 10 s; full: 5 minutes of 1080p, quick: 20 s of 640x360) and cached in
``bench/.cache/media``. The engine (``nemo_mcp.engine.http.create_app``, served in this
process) gets the clip and a music file uploaded and the instruction "trim the start, cut
out silences, add a title, add background music at 20 %, format for YouTube"; its
interpreter produces the draft. Then, alternating:

* ours: ``nemo_mcp.engine.render.render_draft`` on that draft (what an export runs);
* ours, per piece: the same with every kept piece read by its own input
  (``compose.SEEK_GAP_MS = -1``), the method before each source was decoded once;
* one hand-written ffmpeg command doing the same edit: one input, select/aselect for the
  kept stretches, scale/pad to 1920x1080, drawtext for the title, the music mixed at its
  volume, the same encoder settings;
* MoviePy 2.x doing the same (``bench/_moviepy_edit.py`` in ``bench/.cache/moviepy-venv``,
  installed on first use; reported as not measured if it cannot be installed). It is about
  15 times slower, so by default it runs in full mode only, on the first 30 s of the edit,
  and its time is scaled to the whole edit (its cost per output second is constant).

The engine and the hand-written command run in turns, three times each in full mode (quick: twice),
the one going first alternating. This machine's speed drifts by up to ±8 % over minutes (the
same command took 95–112 s), so one run each decides nothing at a 5 % bar: the time bar is held
against the median of the paired ratios (the engine's run over the command's run next to it),
which a drift slower than one pair cancels out. The per-piece method runs once, in the first turn.
The peak memory of each render is its ffmpeg child's VmHWM, sampled from /proc while it
runs. At the end the full render is held against its bars (issue 16: time ≤ 1.05× the
hand-written command, peak memory ≤ 400 MB), each answered yes or NO; ``--no-per-piece``
leaves out the per-piece method. The cut accuracy renders a clip whose frames show their own number as a bar code
(``tests/engine/test_render_cuts.py``), cut 20 times (quick: 6) off its keyframes, both ways,
and reads back the first and last frame of every kept piece.

All three use libx264 with the engine's preset and CRF for ``--quality`` (full: standard =
veryfast/23, quick: draft = ultrafast/28) and AAC 192k. The realtime factor is the edited
video's duration over the engine's render time on this machine's cores.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
from _common import CACHE, Row, arg_parser, banner, bench_env, emit, median, proc_status, secs

from nemo_mcp.api.adk import Text
from nemo_mcp.api.multipart import PathSource
from nemo_mcp.config import Settings
from nemo_mcp.engine import render as render_mod
from nemo_mcp.engine.ffmpeg import find_ffmpeg
from nemo_mcp.engine.http import ENGINE_KEY_HEADER, bind_socket, create_app, new_engine_key, running, url_of
from nemo_mcp.engine.media import probe
from nemo_mcp.service import SessionManager
from tests.engine.test_render_cuts import FPS, H, W, frame_numbers, numbered_video

# The module, not the package's function of the same name: SEEK_GAP_MS picks the method.
compose_mod = importlib.import_module("nemo_mcp.engine.render.compose")

MEDIA = CACHE / "media"
MOVIEPY_VENV = CACHE / "moviepy-venv"
BAR_FFMPEG = 1.05  # issue 16 (was 1.15 while every piece had its own input)
BAR_MOVIEPY = 5.0
BAR_PEAK_MB = 400
MB = 1_000_000


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


@contextlib.contextmanager
def per_piece(on: bool) -> Iterator[None]:
    """Render with one input per kept piece (the method before issue 16) while inside, if ``on``."""
    saved = compose_mod.SEEK_GAP_MS
    compose_mod.SEEK_GAP_MS = -1 if on else saved
    try:
        yield
    finally:
        compose_mod.SEEK_GAP_MS = saved


def _ffmpeg_children() -> list[int]:
    pids = []
    for children in Path("/proc/self/task").glob("*/children"):
        with contextlib.suppress(OSError):
            pids += [int(pid) for pid in children.read_text().split()]
    return [pid for pid in pids if "ffmpeg" in _comm(pid)]


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text()
    except OSError:
        return ""


class ChildPeak:
    """The highest peak RSS (VmHWM) of any ffmpeg child of this process while inside; sampled every 50 ms."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            for pid in _ffmpeg_children():
                with contextlib.suppress(OSError, KeyError):
                    self.peak = max(self.peak, proc_status(pid)["VmHWM"])

    def __enter__(self) -> ChildPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def accuracy_cuts(seconds: int) -> list[tuple[int, int]]:
    """(in-point ms, duration ms) of silence-like cuts every 2.9 s, on frames but off keyframes."""
    cuts = [(k * 2900 + 300 * (k % 4), 1700 + 100 * (k % 5)) for k in range(seconds // 3)]
    return [(a, d) for a, d in cuts if a + d <= seconds * 1000]


async def cut_accuracy(tmp: Path, seconds: int, *, old: bool) -> tuple[int, int]:
    """(pieces whose first and last frames are the source frames at their cut times, pieces)."""
    clip = MEDIA / f"numbered-{W}x{H}-{seconds}s.mp4"
    if not clip.exists():
        numbered_video(Path(str(clip) + ".part.mp4"), seconds)
        os.replace(str(clip) + ".part.mp4", clip)
    media = {"n": render_mod.SourceMedia(clip, await probe(clip))}
    cuts = accuracy_cuts(seconds)
    draft = {
        "t": [{"tt": 0, "sg": [{"d": d, "m": {"src": "n", "in": a}} for a, d in cuts]}],
        "m": {"canvas": {"w": W, "h": H}, "fps": FPS},
    }
    out = tmp / f"accuracy-{'old' if old else 'new'}.mp4"
    # A cut-only timeline takes the smart path (bench/smart_render.py measures it); this row is the graph's.
    smart = importlib.import_module("nemo_mcp.engine.render.smart")
    saved, smart.picture_reason = smart.picture_reason, lambda plan: "the full render is measured"
    try:
        with per_piece(old):
            await render_mod.render_draft(draft, media, out, quality="draft", work_dir=tmp / "work-accuracy")
    finally:
        smart.picture_reason = saved
    frames = frame_numbers(out)
    exact, at = 0, 0
    for a, d in cuts:
        first, count = a * FPS // 1000, d * FPS // 1000
        piece = frames[at : at + count]
        exact += piece[:1] == [first] and piece[-1:] == [first + count - 1]
        at += count
    return exact, len(cuts)


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


CONTENDERS = ("ours", "ffmpeg", "per-piece")


def _children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(who: str, draft: dict[str, Any], sources: dict[str, Any], edit: dict[str, Any], out: Path,
             *, quality: str, work: Path, font: Path) -> tuple[float, int, float]:  # fmt: skip
    """One render by ``who``: its wall time, its ffmpeg's peak RSS in bytes and its children's CPU seconds.

    The CPU seconds are what the render cost whatever else the machine was running; the wall time
    also holds how well it kept the cores busy, and what others took from them.
    """
    preset, crf = render_mod.QUALITY_PRESETS[quality]
    cpu = _children_cpu()
    start = time.perf_counter()
    with ChildPeak() as peak:
        if who == "ffmpeg":
            subprocess.run(handwritten_command(edit, out, preset=preset, crf=crf, font=font), check=True)
        else:
            with per_piece(who == "per-piece"):
                render = functools.partial(render_ours, draft, sources, out, quality=quality, work_dir=work)
                anyio.run(render)
    took, cpu = time.perf_counter() - start, _children_cpu() - cpu
    print(f"  {who:9s}: {secs(took)} (CPU {secs(cpu)}), ffmpeg peak {peak.peak / MB:.0f} MB -> "
          f"{anyio.run(duration_of, out):.2f} s of video", flush=True)  # fmt: skip
    return took, peak.peak, cpu


def _yes(met: bool) -> str:
    return "yes" if met else "NO"


def render_rows(what: str, quality: str, cuts: int, times: dict[str, list[float]], peaks: dict[str, list[int]],
                cpus: dict[str, list[float]], accuracy: dict[str, tuple[int, int]]) -> list[Row]:  # fmt: skip
    """The rows of the engine against the hand-written command (issue 16's bars) and its per-piece method."""
    t = {who: median(v) for who, v in times.items() if v}
    cpu = {who: median(v) for who, v in cpus.items() if v}
    peak = {who: max(v) / MB for who, v in peaks.items() if v}
    # Each engine run against the command's run of the same turn: the machine's drift cancels out.
    paired = [a / b for a, b in zip(times["ours"], times["ffmpeg"], strict=True)]
    ratio_ff, ratio_peak = median(paired), peak["ours"] / peak["ffmpeg"]
    time_ok, peak_ok = ratio_ff <= BAR_FFMPEG, peak["ours"] <= BAR_PEAK_MB
    ok_new, n = accuracy["ours"]
    print(f"\nfull render against its bars ({cuts} cuts, {what}, measured side by side in this run):")
    spread = ", ".join(f"{r:.2f}" for r in paired)
    print(
        f"  time: ours {secs(t['ours'])} / hand-written ffmpeg {secs(t['ffmpeg'])} (medians); "
        f"median of {len(paired)} paired ratios ({spread}) = {ratio_ff:.2f}x  (bar <= {BAR_FFMPEG}x): "
        f"{_yes(time_ok)}"
    )
    cpu_note = (
        f"median of {len(paired)} turns, paired ratios {spread}; "
        f"CPU (user+sys) {secs(cpu['ours'])} vs {secs(cpu['ffmpeg'])} = {cpu['ours'] / cpu['ffmpeg']:.2f}x"
    )
    print(f"  {cpu_note}")
    print(
        f"  peak memory (ffmpeg VmHWM): ours {peak['ours']:.0f} MB, hand-written ffmpeg {peak['ffmpeg']:.0f} MB"
        f" = {ratio_peak:.2f}x  (bar <= {BAR_PEAK_MB} MB): {_yes(peak_ok)}"
    )
    print(f"  cut accuracy: {ok_new}/{n} pieces exact at both ends: {_yes(ok_new == n)}")
    rows = [
        Row(f"Local render vs one ffmpeg command ({what}, {quality})", secs(t["ours"]),
            f"{secs(t['ffmpeg'])} (ffmpeg)", ratio_ff, f"≤ {BAR_FFMPEG}×", time_ok, cpu_note),
        Row(f"Local render peak memory, ffmpeg VmHWM ({cuts} cuts, {what})", f"{peak['ours']:.0f} MB",
            f"{peak['ffmpeg']:.0f} MB (ffmpeg)", ratio_peak, f"≤ {BAR_PEAK_MB} MB", peak_ok),
        Row(f"Cut accuracy: first and last frame of each kept piece ({n} cuts, bar-coded frames)",
            f"{ok_new}/{n} exact", "–", None, "all exact", ok_new == n),
    ]  # fmt: skip
    if "per-piece" in t:
        # The per-piece method runs once, in the first turn: against the engine's run of that turn.
        ratio_time, ratio_mem = times["ours"][0] / t["per-piece"], peak["ours"] / peak["per-piece"]
        ok_old, _ = accuracy["per-piece"]
        print(
            f"  against one input per piece: time {ratio_time:.2f}x, peak memory {peak['per-piece']:.0f} MB "
            f"({ratio_mem:.2f}x), cut accuracy {ok_old}/{n}"
        )
        rows.insert(
            1,
            Row(
                f"Local render, each source decoded once vs one input per piece ({cuts} cuts)",
                secs(times["ours"][0]),
                f"{secs(t['per-piece'])} (per piece)",
                ratio_time,
                "≤ 1×",
                ratio_time <= 1.0,
                f"peak {peak['ours']:.0f} MB vs {peak['per-piece']:.0f} MB; cut accuracy per piece {ok_old}/{n}",
            ),
        )
    return rows  # fmt: skip


def moviepy_rows(what: str, quality: str, m_ours: float, mp: list[float], mp_note: str, use_moviepy: bool) -> list[Row]:  # fmt: skip
    if not mp:
        note = "full mode only (--moviepy to force)" if not use_moviepy else "MoviePy could not run"
        return [
            Row("Local render vs MoviePy", secs(m_ours), "–", None, f"≥ {BAR_MOVIEPY}× faster", None, note)
        ]
    m_mp = median(mp)
    speedup = m_mp / m_ours
    print(f"moviepy {secs(m_mp)}: the engine is {speedup:.1f}x faster (bar >= {BAR_MOVIEPY}x)")
    note = "ratio = MoviePy time / ours" + (f"; {mp_note}" if mp_note else "")
    return [Row(f"Local render vs MoviePy ({what}, {quality})", secs(m_ours), f"{secs(m_mp)} (MoviePy 2)",
                speedup, f"≥ {BAR_MOVIEPY}× faster", speedup >= BAR_MOVIEPY, note)]  # fmt: skip


def run_moviepy_part(moviepy: Path, edit: dict[str, Any], tmp: Path, mp_seconds: float | None, *,
                     quality: str, font: Path) -> tuple[list[float], str]:  # fmt: skip
    """MoviePy's time for the whole edit (scaled up from a prefix if ``mp_seconds``) and a note saying so."""
    preset, crf = render_mod.QUALITY_PRESETS[quality]
    part = prefix(edit, mp_seconds) if mp_seconds and mp_seconds < edit["total"] else edit
    scale = edit["total"] / part["total"]
    mp_note = (
        f"MoviePy rendered the first {part['total']:.0f} s; its time is scaled ×{scale:.2f}"
        if scale > 1
        else ""
    )
    out = tmp / "moviepy.mp4"
    try:
        took = scale * run_moviepy(moviepy, part, out, preset=preset, crf=crf, font=font)
    except subprocess.CalledProcessError as exc:
        print("  moviepy failed:", (exc.stderr or "")[-2000:])
        return [], mp_note
    print(f"  moviepy: {secs(took / scale)} -> {anyio.run(duration_of, out):.2f} s of video"
          + (f" ({mp_note}: {secs(took)})" if mp_note else ""), flush=True)  # fmt: skip
    return [took], mp_note


def main() -> None:
    p = arg_parser(__doc__.split("\n\n")[0])
    p.add_argument("--quality", choices=sorted(render_mod.QUALITY_PRESETS), default=None)
    p.add_argument(
        "--repeats", type=int, default=None,
        help="turns of the engine and of ffmpeg (full: 3, quick: 2); the per-piece method runs in the first only",
    )  # fmt: skip
    p.add_argument("--moviepy", action=argparse.BooleanOptionalAction, default=None,
                   help="also render with MoviePy (default: in full mode only)")  # fmt: skip
    p.add_argument("--moviepy-seconds", type=float, default=None,
                   help="MoviePy renders only this much of the edit and its time is scaled up (full: 30)")  # fmt: skip
    p.add_argument("--per-piece", action=argparse.BooleanOptionalAction, default=True,
                   help="also render with one input per kept piece, the method before issue 16")  # fmt: skip
    args = p.parse_args()
    contenders = CONTENDERS if args.per_piece else CONTENDERS[:2]
    use_moviepy = args.moviepy if args.moviepy is not None else not args.quick
    mp_seconds = args.moviepy_seconds or (None if args.quick else 30.0)
    width, height, seconds, trim = (640, 360, 20, 2) if args.quick else (1920, 1080, 300, 10)
    quality = args.quality or ("draft" if args.quick else "standard")
    preset, crf = render_mod.QUALITY_PRESETS[quality]
    repeats = args.repeats or (2 if args.quick else 3)
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
    times: dict[str, list[float]] = {who: [] for who in contenders}
    peaks: dict[str, list[int]] = {who: [] for who in contenders}
    cpus: dict[str, list[float]] = {who: [] for who in contenders}
    with tempfile.TemporaryDirectory(prefix="nemo-bench-lr-") as tmp_name:
        tmp = Path(tmp_name)
        draft, sources = anyio.run(interpret, tmp / "engine", clip, music, instruction)
        edit = describe(draft, sources)
        print(f"  the edit keeps {len(edit['keep'])} stretches, {edit['total']:.1f} s in all")
        for i in range(repeats):
            # Alternate who goes first, so a machine getting busier does not favour one of them.
            pair = ["ours", "ffmpeg"] if i % 2 == 0 else ["ffmpeg", "ours"]
            for who in pair + [who for who in contenders if who not in pair and i == 0]:
                took, peak, cpu = run_once(who, draft, sources, edit, tmp / f"{who}-{i}.mp4",
                                           quality=quality, work=tmp / f"work-{who}-{i}", font=font)  # fmt: skip
                times[who].append(took)
                peaks[who].append(peak)
                cpus[who].append(cpu)
        accuracy = {
            who: anyio.run(
                functools.partial(cut_accuracy, tmp, 20 if args.quick else 60, old=who == "per-piece")
            )
            for who in contenders
            if who != "ffmpeg"
        }
        mp, mp_note = (
            run_moviepy_part(moviepy, edit, tmp, mp_seconds, quality=quality, font=font)
            if moviepy
            else ([], "")
        )
    what = f"{seconds // 60} min {height}p" if seconds >= 60 else f"{seconds} s {height}p source"
    m_ours = median(times["ours"])
    rt = edit["total"] / m_ours
    print(f"realtime factor of the engine on {cores} cores: {rt:.2f}x ({edit['total']:.1f} s of output)")
    rows = render_rows(what, quality, len(edit["keep"]), times, peaks, cpus, accuracy)
    rows += moviepy_rows(what, quality, m_ours, mp, mp_note, use_moviepy)
    rows.append(Row(f"Local render realtime factor ({cores} cores, 1080p output)", f"{rt:.2f}× realtime", "–",
                    None, "report", True, f"{edit['total']:.0f} s of video in {secs(m_ours)}"))  # fmt: skip
    emit(rows)


if __name__ == "__main__":
    os.chdir(Path(__file__).resolve().parents[1])
    main()
