"""A smart-rendered MP4 plays in a browser exactly as ffmpeg decodes it: the right frame at every join.

Course platforms often serve the exported MP4 as it is, so the joins smart rendering makes (x264's
re-encoded edges beside the source's copied GOPs, two sets of parameter sets in one stream) must
show no seam in Chromium's own decoder either. The source is the bar-coded clip of
``test_render_cuts`` with B-frames, as ``test_render_smart`` makes it; ``tests/apps/playback.mjs`` serves the render over loopback
HTTP, seeks to every frame and plays across every join, reading each frame's bar code in the page.
"""

from __future__ import annotations

import importlib
import itertools
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from nemo_mcp.engine.media import probe
from nemo_mcp.engine.render import SourceMedia, render_draft
from tests.engine.test_render_cuts import BITS, FPS, H, W, frame_numbers, numbered_video

# The cuts of the smart render's own tests: partial GOPs at both ends of a piece, a piece inside one GOP,
# one going back in the source, one starting on a keyframe; the joins fall at 2.7, 3.0, 4.5 and 6.5 s.
from tests.engine.test_render_smart import CUTS, _draft, _expected, with_bframes

APPS_DIR = Path(__file__).resolve().parents[1] / "apps"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _joins(cuts: list[tuple[int, int]]) -> list[int]:
    """The output frame index where each piece after the first starts."""
    starts, at = [], 0
    for _, d in cuts[:-1]:
        at += d * FPS // 1000
        starts.append(at)
    return starts


def _skip_without_chromium() -> None:
    """A missing browser skips, except where .ci/run (which installs it) asks for the test to run."""
    if not os.environ.get("NEMO_REQUIRE_BROWSER") and not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (apt-get install chromium); .ci/run always runs this test")


def play_in_chromium(
    video: Path, seeks: list[int], plays: list[tuple[int, int]], wait_ms: int = 10_000
) -> dict[str, Any]:
    """Run playback.mjs on ``video``: the frame shown after each seek and during each play (first to last
    output frame); a load, seek or play waits at most ``wait_ms`` before it is reported as stalled."""
    node = shutil.which("node")
    assert node is not None, "Node.js is needed to drive Chromium (CI installs it)"
    assert (APPS_DIR / "node_modules" / "playwright-core").is_dir(), "run `npm ci --prefix tests/apps` first"
    plan = {"video": str(video), "chromium": CHROMIUM, "fps": FPS, "bits": BITS, "row": H // 2,
            "wait_ms": wait_ms, "seeks": seeks, "plays": [(a / FPS, b / FPS) for a, b in plays]}  # fmt: skip
    done = subprocess.run(
        [node, str(APPS_DIR / "playback.mjs")],
        input=json.dumps(plan) + "\n",
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])["report"]
    return report


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The numbered clip with B-frames and a keyframe every second."""
    folder = tmp_path_factory.mktemp("browser")
    return with_bframes(numbered_video(folder / "plain.mp4", 9), folder / "bframes.mp4")


def _smart_render(source: Path, out: Path) -> Path:
    import anyio

    draft = _draft(CUTS)

    async def render() -> Any:
        media = {"n": SourceMedia(source, await probe(source))}
        return await render_draft(draft, media, out, quality="draft", work_dir=out.with_suffix(".work"))

    result = anyio.run(render)
    assert (result.path_taken, result.reason) == ("smart", "")
    return Path(result.path)


def _problems(
    report: dict[str, Any], expected: list[int], seeks: list[int], plays: list[tuple[int, int]]
) -> list[str]:
    """What the browser showed wrong: errors, stalls, a frame other than the expected source frame (after a
    seek or while playing), a play that skipped too much; empty when the video played as it should."""
    problems = [f"page: {e}" for e in report["errors"]] + [f"media: {e}" for e in report["media_errors"]]
    if not report["loaded"]:
        return [*problems, "the video did not load"]
    if abs(report["duration"] - len(expected) / FPS) > 1 / FPS:
        problems.append(f"duration {report['duration']} s for {len(expected)} frames")
    for index, seek in itertools.zip_longest(seeks, report["seeks"]):
        if seek is None or seek.get("stalled"):
            problems.append(f"seek to output frame {index}: stalled")
            break
        at = round(seek["media_time"] * FPS)
        if (at, seek["shown"]) != (index, expected[index]):
            problems.append(f"seek to output frame {index}: frame {at} showing source frame {seek['shown']}, "
                            f"expected {expected[index]}")  # fmt: skip
    for (first, last), play in itertools.zip_longest(plays, report["plays"]):
        name = f"play of output frames {first}-{last}"
        if play is None or play["stalled"]:
            problems.append(f"{name}: stalled")
            continue
        seen = [(round(f["media_time"] * FPS), f["shown"]) for f in play["frames"]]
        problems += [f"{name}: frame {k} showed source frame {n}, expected {expected[k]}"
                     for k, n in seen if n != expected[k]]  # fmt: skip
        # The compositor may skip a frame on a busy machine, but three in four reach the screen, from the
        # start of the play to its last frame (so across its joins).
        if not (len(seen) >= 0.75 * (last - first) and seen[0][0] <= first + 1 and seen[-1][0] == last):
            problems.append(f"{name}: only frames {[k for k, _ in seen]} reached the screen")
        # Asked for, though Chromium pins corruptedVideoFrames at 0: the bar codes are the real check.
        if play["quality"]["corrupted"]:
            problems.append(f"{name}: {play['quality']['corrupted']} corrupted frames")
    return problems


@pytest.mark.slow
def test_chromium_shows_the_source_frame_at_every_frame_and_join_of_a_smart_render(
    tmp_path: Path, source: Path
) -> None:
    """Seeking to each frame, and playing across each join at the normal rate (and the whole render), shows
    the expected source frame, with no media error and the duration of the pieces."""
    _skip_without_chromium()
    path, expected = _smart_render(source, tmp_path / "out.mp4"), _expected(CUTS)
    assert frame_numbers(path) == expected  # ffmpeg's view, which the browser must match
    # Across each join from a seek just before it, then the whole render from the start, which also
    # crosses every seam inside a piece (a re-encoded edge meeting copied GOPs).
    seeks = list(range(len(expected)))
    plays = [(j - 8, j + 8) for j in _joins(CUTS)] + [(0, len(expected) - 1)]
    report = play_in_chromium(path, seeks, plays)
    assert report["support"] == "probably"  # this Chromium decodes H.264
    assert report["size"] == [W, H]
    assert _problems(report, expected, seeks, plays) == []


@pytest.mark.slow
def test_the_browser_check_catches_a_join_whose_parameter_sets_clash(
    tmp_path: Path, source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check can fail: x264's sets written under the source's own id, without in-band copies (what smart
    rendering is built to avoid), make Chromium fail where the first re-encoded edge meets copied GOPs."""
    _skip_without_chromium()
    smart = importlib.import_module("nemo_mcp.engine.render.smart")
    encoder = smart._encoder
    monkeypatch.setattr(smart, "_encoder", lambda *args: encoder(*args[:-1], 0))
    monkeypatch.setattr(smart, "_with_sets", lambda data, sets: data)
    path, expected = _smart_render(source, tmp_path / "clash.mp4"), _expected(CUTS)
    seeks, plays = list(range(40)), [(0, 40)]
    problems = _problems(play_in_chromium(path, seeks, plays, wait_ms=3000), expected, seeks, plays)
    assert problems and all(p.startswith(("media:", "seek", "play")) for p in problems), problems
