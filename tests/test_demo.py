"""``nemo-mcp demo`` as a user runs it: a subprocess, offline, writing real MP4s and a chapter list."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from nemo_mcp.cli.demo import mp4_chapters, slide_changes
from nemo_mcp.cli.sample import SLIDES
from nemo_mcp.engine.media import parse_subtitles, probe

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "nemo_mcp" / "assets"
SPEECH_S = 45.28  # the length of nemo_mcp/assets/lecture_speech.m4a, hence of the sample lecture
# The reel asked for; it is made of whole sentences, so it lands within a tenth of it.
REEL_S = 20.0


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEMO_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    env["TMPDIR"] = str(tmp / "tmp")
    (tmp / "tmp").mkdir(exist_ok=True)
    if os.environ.get("NEMO_FFMPEG"):
        env["NEMO_FFMPEG"] = os.environ["NEMO_FFMPEG"]
    env.update(extra)
    return env


def _demo(out: Path) -> list[str]:
    return [sys.executable, "-m", "nemo_mcp", "demo", "--out", str(out)]


def _youtube_rules(text: str, duration_s: float) -> list[tuple[int, str]]:
    chapters = []
    for line in text.splitlines():
        m = re.fullmatch(r"(\d+):(\d{2}) (\S.*)", line)
        assert m, f"not a YouTube chapter line: {line!r}"
        chapters.append((int(m.group(1)) * 60 + int(m.group(2)), m.group(3)))
    starts = [s for s, _ in chapters]
    assert len(starts) >= 3 and starts[0] == 0 and starts == sorted(set(starts)), chapters
    ends = [*starts[1:], duration_s]
    assert all(e - s >= 10 for s, e in zip(starts, ends, strict=True)), chapters
    return chapters


@pytest.mark.slow
def test_demo_writes_two_mp4s_and_a_youtube_chapter_list(tmp_path: Path) -> None:
    """The demo exits 0 within three minutes, leaving H.264/AAC MP4s of the right lengths, a JPEG contact sheet
    beside each, and a valid chapters.txt."""
    out = tmp_path / "demo out"
    started = time.monotonic()
    done = subprocess.run(
        _demo(out), cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=300, check=False
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # About a minute of CPU; the bar leaves room for a busy machine.
    assert elapsed < 180, f"the demo took {elapsed:.0f} s"

    reel, lecture, chapters = out / "highlight-reel.mp4", out / "lecture-segments.mp4", out / "chapters.txt"
    for path in (reel, lecture, chapters, out / "sample"):
        assert str(path) in done.stdout, f"{path} is not mentioned in the output"
    for path in (
        reel,
        lecture,
        chapters,
        *(out / "sample" / n for n in ("lecture.mp4", "lecture.srt", "music.m4a")),
    ):
        assert path.is_file(), path

    reel_info = asyncio.run(probe(reel))
    assert (reel_info.video_codec, reel_info.audio_codec) == ("h264", "aac")
    assert (reel_info.width, reel_info.height) == (1920, 1080)
    assert abs(reel_info.duration_ms / 1000 - REEL_S) <= 0.1 * REEL_S
    assert "whole sentences" in done.stdout
    lecture_info = asyncio.run(probe(lecture))
    assert (lecture_info.video_codec, lecture_info.audio_codec) == ("h264", "aac")
    assert abs(lecture_info.duration_ms / 1000 - SPEECH_S) < 0.2

    listed = _youtube_rules(chapters.read_text(encoding="utf-8").strip(), lecture_info.duration_ms / 1000)
    # The list is the MP4's own chapters, which start where the slides change (the topic breaks).
    embedded = asyncio.run(mp4_chapters(lecture))
    assert [int(s) for s, _ in embedded] == [s for s, _ in listed]
    cues = parse_subtitles((ASSETS / "lecture_speech.srt").read_text(encoding="utf-8"))
    assert [s for s, _ in listed][1:] == [int(t) for t in slide_changes(cues)]
    # The titles are the slide headings, read off the video.
    assert [title for _, title in listed] == [slide.heading for slide in SLIDES]
    # Every export was checked, and none has a black, frozen or silent stretch.
    assert done.stdout.count("no black, frozen or silent stretches") == 2
    # A contact sheet of each output beside it, named in the output: a JPEG within the preview's 1 MB.
    for video in (reel, lecture):
        sheet = video.with_suffix(".jpg")
        assert sheet.is_file() and str(sheet) in done.stdout, sheet
        assert 0 < sheet.stat().st_size <= 1_000_000
        with Image.open(sheet) as image:
            assert image.format == "JPEG" and image.width > image.height, image
    # The captions ship as a track plus an .srt, which keeps the MP4's name; no other .srt is left.
    assert sorted(p.name for p in out.glob("*.srt")) == ["highlight-reel.srt", "lecture-segments.srt"]
    assert "Traceback" not in done.stderr


def test_demo_fails_clearly_without_ffmpeg(tmp_path: Path) -> None:
    """With no usable ffmpeg the demo exits 1 and says on stderr that ffmpeg is the problem."""
    done = subprocess.run(
        _demo(tmp_path / "out"),
        cwd=tmp_path,
        env=_env(tmp_path, NEMO_FFMPEG=str(tmp_path / "no-such-ffmpeg")),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "nemo-mcp demo failed" in done.stderr
    assert "ffmpeg" in done.stderr.lower()
    assert "Traceback" not in done.stderr


def _servers_of(marker: str) -> list[int]:
    """Processes whose environment mentions ``marker`` (Linux: /proc/<pid>/environ)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if marker.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to find the server process")
def test_ctrl_c_stops_the_demo_and_its_server(tmp_path: Path) -> None:
    """Ctrl-C once the server works stops the demo with exit code 130, the server gone and its state removed."""
    env = _env(tmp_path)
    proc = subprocess.Popen(
        _demo(tmp_path / "out"),
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if "Uploading video + .srt + music" in line:
                break
        else:
            pytest.fail("the demo ended before uploading:\n" + "".join(seen))
        server_marker = f"NEMO_MCP_HOME={env['TMPDIR']}{os.sep}nemo-demo-"
        assert _servers_of(server_marker), "no server process found while the demo was running"
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, "".join(seen) + rest + err
    assert "stopped (Ctrl-C)" in err
    assert "Traceback" not in err
    assert _servers_of(server_marker) == []  # neither the server nor an ffmpeg it started
    assert list((tmp_path / "tmp").glob("nemo-demo-*")) == []
