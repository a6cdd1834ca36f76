"""The check of every export: length, size, sound, and black / frozen / silent stretches nobody asked for.

The planted file has a black picture from 2 s to 5 s and silence from 6 s to 9 s; the clean one
has neither. They go through the checker itself, through the local engine (the MCP server in
this process, the engine on loopback) and through a stand-in cloud whose download is checked here.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from mcp import Client

from nemo_mcp.engine import media
from nemo_mcp.mcp import build_server
from nemo_mcp.service.uploads import UploadPolicy
from tests.engine.helpers import ffmpeg

from .helpers import API, ProgressRecorder, make_settings
from .test_server import STATE, connected, state

pytestmark = pytest.mark.anyio

LENGTH_S = 10
BLACK_S = (2.0, 5.0)
SILENT_S = (6.0, 9.0)
SPARSE_BLACK_S = (2.6, 5.4)


def _make(
    path: Path, *, video_filter: str = "null", audio_filter: str = "anull", keyframe_s: int | None = None
) -> Path:
    """A 10 s test clip; with ``keyframe_s``, keyed exactly that often (as a smart render's copied GOPs are)."""
    keys = [] if keyframe_s is None else ["-g", str(15 * keyframe_s), "-keyint_min", str(15 * keyframe_s)]
    ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=s=320x180:r=15:d={LENGTH_S}",
        "-f", "lavfi", "-i", f"sine=f=440:sample_rate=48000:d={LENGTH_S}",
        "-filter_complex", f"[0:v]{video_filter}[v];[1:a]{audio_filter}[a]", "-map", "[v]", "-map", "[a]",
        "-c:v", "libx264", "-preset", "ultrafast", "-sc_threshold", "0", *keys, "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-shortest", "-movflags", "+faststart", str(path),
    )  # fmt: skip
    return path


_HOLD = "split[x][y];[x][y]freezeframes=first=45:last=105:replace=45"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("checks")
    (b0, b1), (s0, s1) = BLACK_S, SILENT_S
    return {
        "gaps": _make(
            d / "gaps.mp4",
            video_filter=f"drawbox=c=black:t=fill:enable='between(t,{b0},{b1})'",
            audio_filter=f"volume=enable='between(t,{s0},{s1})':volume=0",
        ),
        "clean": _make(d / "clean.mp4"),
        # A picture that stops moving from 3 s to 7 s (the pattern's frame at 3 s, held), with sound throughout
        # (a slide talked over), and with the sound gone for the same 4 s (a stall).
        "held": _make(d / "held.mp4", video_filter=_HOLD),
        "stalled": _make(
            d / "stalled.mp4", video_filter=_HOLD, audio_filter="volume=enable='between(t,3,7)':volume=0"
        ),
        # Keyed every 2 s: read sparsely. The black stretch lies between keyframes (only the one at
        # 4 s shows it), so the keyframes alone would see 2 s of black, not its 3 s.
        "sparse-gaps": _make(
            d / "sparse-gaps.mp4",
            video_filter=f"drawbox=c=black:t=fill:enable='between(t,{SPARSE_BLACK_S[0]},{SPARSE_BLACK_S[1]})'",
            audio_filter=f"volume=enable='between(t,{s0},{s1})':volume=0",
            keyframe_s=2,
        ),
        "sparse-stalled": _make(
            d / "sparse-stalled.mp4",
            video_filter=_HOLD,
            audio_filter="volume=enable='between(t,3,7)':volume=0",
            keyframe_s=2,
        ),
        "sparse-held": _make(d / "sparse-held.mp4", video_filter=_HOLD, keyframe_s=2),
    }


def _problems(checks: dict[str, Any]) -> list[tuple[str, float, float]]:
    return [(p["kind"], p["start_s"], p["end_s"]) for p in checks["problems"]]


def _near(got: list[tuple[str, float, float]], want: list[tuple[str, float, float]]) -> bool:
    return len(got) == len(want) and all(
        g[0] == w[0] and abs(g[1] - w[1]) < 0.3 and abs(g[2] - w[2]) < 0.3
        for g, w in zip(got, want, strict=True)
    )


PLANTED = [("black", *BLACK_S), ("silent", *SILENT_S)]


async def test_planted_black_and_silent_gaps_are_flagged_with_their_times(files: dict[str, Path]) -> None:
    """A 3 s black picture and a 3 s silence are reported as such, with their times; the rest is measured."""
    seen: list[float] = []

    async def progress(fraction: float) -> None:
        seen.append(fraction)

    found = (
        await media.check_export(files["gaps"], media.Expected(LENGTH_S * 1000), on_progress=progress)
    ).as_dict()
    assert _near(_problems(found), PLANTED), found
    assert abs(found["duration_s"] - LENGTH_S) < 0.2 and found["timeline_s"] == LENGTH_S
    assert found["audio"] is True and found["size_bytes"] == files["gaps"].stat().st_size
    assert seen and seen == sorted(seen) and 0 < seen[-1] <= 1


async def test_a_clean_file_has_no_problems(files: dict[str, Path]) -> None:
    """Moving picture and steady sound throughout: nothing reported."""
    found = await media.check_export(files["clean"], media.Expected(LENGTH_S * 1000))
    assert found.problems == () and found.audio


async def test_a_held_picture_is_frozen_only_over_dead_air_and_where_no_still_is_meant(
    files: dict[str, Path],
) -> None:
    """A held frame over silence is "frozen" (and "silent"); talked over, or where a still is meant, it is fine."""
    found = await media.check_export(files["stalled"], media.Expected(LENGTH_S * 1000))
    assert _near(_problems(found.as_dict()), [("frozen", 3.0, 7.0), ("silent", 3.0, 7.0)]), found
    assert (await media.check_export(files["held"], media.Expected(LENGTH_S * 1000))).problems == ()
    meant = media.Expected(LENGTH_S * 1000, still=((2500, 7500),), quiet=((2500, 7500),))
    assert (await media.check_export(files["stalled"], meant)).problems == ()


async def test_files_keyed_every_two_seconds_are_read_sparsely_with_the_same_findings(
    files: dict[str, Path],
) -> None:
    """Keyframes 2 s apart: the sparse reading runs and finds a 2.8 s black stretch between keyframes,
    a silence and a stall with their times (to a fifth of a second), and nothing in a slide talked over."""
    checks = importlib.import_module("nemo_mcp.engine.media.checks")
    assert checks.keyframe_gap_s(files["sparse-gaps"]) == pytest.approx(2.0)
    assert checks.keyframe_gap_s(files["gaps"]) > checks.MIN_PROBLEM_S  # the others: the dense pass
    seen: list[float] = []

    async def progress(fraction: float) -> None:
        seen.append(fraction)

    found = await media.check_export(
        files["sparse-gaps"], media.Expected(LENGTH_S * 1000), on_progress=progress
    )
    assert _near(_problems(found.as_dict()), [("black", *SPARSE_BLACK_S), ("silent", *SILENT_S)]), found
    assert seen and seen == sorted(seen) and seen[-1] == 1
    stalled = await media.check_export(files["sparse-stalled"], media.Expected(LENGTH_S * 1000))
    assert _near(_problems(stalled.as_dict()), [("frozen", 3.0, 7.0), ("silent", 3.0, 7.0)]), stalled
    assert (await media.check_export(files["sparse-held"], media.Expected(LENGTH_S * 1000))).problems == ()


def test_the_dense_pass_reads_only_where_a_problem_can_be() -> None:
    """Around each black keyframe (one keyframe gap either side) and over silences not on a still."""
    checks = importlib.import_module("nemo_mcp.engine.media.checks")
    windows = checks.sparse_windows(
        black=[(4000, 6000), (9000, 9000)], silent=[(20000, 26000)], still=[(21000, 24000)],
        gap_ms=2000, end_ms=30000,
    )  # fmt: skip
    # The silence beside the still leaves 1 s and 2 s: neither can hold a stretch longer than 2 s.
    assert windows == [(2000, 11000)]
    assert checks.sparse_windows([], [(20000, 26000)], [(21000, 22000)], gap_ms=2000, end_ms=30000) == [
        (22000, 26000)
    ]
    assert checks.sparse_windows([(29000, 29000)], [], [], gap_ms=2000, end_ms=30000) == [(27000, 30000)]


def test_the_timeline_says_where_stills_and_silence_are_meant() -> None:
    """Cards and images are meant to stand still; where no clip is audible, silence is meant."""
    draft = {
        "t": [
            {"tt": 0, "sg": [
                {"d": 3000, "m": {"card": {"text": "Part 1"}}},
                {"d": 4000, "m": {"src": "vid", "volume": 0}},
                {"d": 3000, "m": {"src": "pic"}},
                {"d": 2000, "m": {"src": "slide.PNG"}},
            ]},
            {"tt": 1, "sg": [{"s": 5000, "d": 1000, "m": {"src": "music", "volume": 0.2}}]},
        ],
        "m": {"fade_out_ms": 500},
    }  # fmt: skip
    expected = media.expected_of(draft, stills={"pic"})
    assert expected.timeline_ms == 12000
    assert expected.still == ((0, 3000), (7000, 12000))
    # Nothing is audible but the music from 5 s to 6 s (the cards and pictures have no sound).
    assert expected.quiet == ((0, 5000), (6000, 12000))
    assert media.expected_of(draft, stills={"pic"}, mute={"music"}).quiet == ((0, 12000),)
    assert media.Expected.from_dict(json.loads(json.dumps(expected.as_dict()))) == expected
    assert media.Expected.from_dict("junk") == media.Expected(0)


# -- through the tools ----------------------------------------------------------------------------


@asynccontextmanager
async def local_server(tmp_path: Path, folder: Path) -> AsyncIterator[Client]:
    cfg = make_settings(tmp_path / "home", backend="local", download_dir=folder)
    server = build_server(cfg, policy=UploadPolicy([folder]))
    async with Client(server) as client:
        yield client


async def _export(client: Client, folder: Path) -> tuple[dict[str, Any], ProgressRecorder]:
    rec = ProgressRecorder()
    result = await client.call_tool(
        "export_video", {"download_to": str(folder), "quality": "draft"}, progress_callback=rec
    )
    assert not result.is_error, result.content
    out = result.structured_content
    assert out is not None and out["finished"], out
    return out, rec


@pytest.mark.slow
@pytest.mark.parametrize("name", ["gaps", "clean"])
async def test_local_export_reports_its_check(tmp_path: Path, files: dict[str, Path], name: str) -> None:
    """On the engine the check runs in the render job: the planted gaps are in the result and its message."""
    folder = tmp_path / "work"
    folder.mkdir()
    source = folder / files[name].name
    source.write_bytes(files[name].read_bytes())
    async with local_server(tmp_path, folder) as client:
        upload = await client.call_tool("upload_media", {"paths": [str(source)]})
        assert not upload.is_error, upload.content
        out, _ = await _export(client, folder)
    checks = out["check"]
    assert abs(checks["duration_s"] - checks["timeline_s"]) < 0.2 and checks["audio"] is True
    assert checks["size_bytes"] == Path(out["file"]).stat().st_size
    if name == "clean":
        assert checks["problems"] == [] and "check" not in out["message"]
    else:
        assert _near(_problems(checks), PLANTED), checks
        assert "black picture from 2.0 s" in out["message"] and "silence from 6.0 s" in out["message"]


DRAFT = {"t": [{"tt": 0, "sg": [{"d": LENGTH_S * 1000, "m": {"src": "lecture", "name": "lecture"}}]}]}


async def test_cloud_download_is_checked_here(tmp_path: Path, files: dict[str, Path]) -> None:
    """The cloud does not check: the downloaded MP4 is checked on this computer, as part of its download."""
    out_dir = tmp_path / "exports"
    out_dir.mkdir()
    video = files["gaps"].read_bytes()
    async with respx.mock(base_url=API, assert_all_called=False) as router:
        router.get(STATE).mock(return_value=state(DRAFT))
        router.post("/api/render/proxy/lambda").mock(
            return_value=httpx.Response(
                200, json={"success": True, "data": {"id": "render_1", "status": "pending"}}
            )
        )
        router.get("/api/render/proxy/lambda/render_1").mock(
            return_value=httpx.Response(
                200,
                json={
                    "taskId": "render_1",
                    "status": "completed",
                    "output": {"url": "https://cdn.test/r.mp4"},
                },
            )
        )
        router.get("https://cdn.test/r.mp4").mock(return_value=httpx.Response(200, content=video))
        async with connected(tmp_path, router, download_dir=out_dir) as client:
            out, rec = await _export(client, out_dir)
            again, _ = await _export(client, out_dir)
    checks = out["check"]
    assert checks["timeline_s"] == LENGTH_S and checks["size_bytes"] == len(video)
    assert _near(_problems(checks), PLANTED), checks
    assert "silence from 6.0 s to 9.0 s" in out["message"]
    assert any(m and m.startswith("Checking the MP4") for m in rec.messages)
    # Asking again for the same export reuses the saved file and its check.
    assert again is not None and again["check"] == checks
