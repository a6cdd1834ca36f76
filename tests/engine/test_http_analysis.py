"""The session analyzer runs each analysis once per media file and parameters, caching in the state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nemo_mcp.draft import TimedText
from nemo_mcp.engine import media as media_mod
from nemo_mcp.engine.analysis import SessionAnalyzer
from nemo_mcp.engine.edit import MediaRef
from nemo_mcp.engine.media import MediaInfo


def _ref(media_id: str, path: Path) -> MediaRef:
    info = MediaInfo(
        kind="video", duration_ms=6000, width=640, height=360, fps=30.0, has_audio=True, has_video=True
    )
    return MediaRef(media_id, path.name, path, info)


@pytest.mark.anyio
async def test_silences_and_scenes_are_cached_in_the_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A repeated question is answered from state["video_analyses"]; new parameters or media run again."""
    runs: list[tuple[str, str]] = []

    async def silences(path: Path, *, noise_db: float, min_silence_ms: int) -> list[tuple[int, int]]:
        runs.append(("silences", path.name))
        return [(2000, 4000)]

    async def scenes(path: Path) -> list[int]:
        runs.append(("scenes", path.name))
        return [2000]

    monkeypatch.setattr(media_mod, "detect_silences", silences)
    monkeypatch.setattr(media_mod, "detect_scenes", scenes)
    state: dict[str, Any] = {}
    a, b = _ref("m_a", tmp_path / "a.mp4"), _ref("m_b", tmp_path / "b.mp4")
    a.path.write_bytes(b"a")  # scene changes are also kept by content hash: the files must differ
    b.path.write_bytes(b"b")
    first = SessionAnalyzer(state, cache_dir=tmp_path / "cache")
    assert await first.silences(a, noise_db=-30, min_silence_ms=500) == [(2000, 4000)]
    assert await first.scenes(a) == [2000]
    again = SessionAnalyzer(state, cache_dir=tmp_path / "cache")  # the next instruction, on the saved state
    assert await again.silences(a, noise_db=-30, min_silence_ms=500) == [(2000, 4000)]
    assert await again.scenes(a) == [2000]
    await again.silences(a, noise_db=-40, min_silence_ms=500)
    await again.scenes(b)
    assert runs == [("silences", "a.mp4"), ("scenes", "a.mp4"), ("silences", "a.mp4"), ("scenes", "b.mp4")]
    assert state["video_analyses"][0] == {
        "media_id": "m_a",
        "type": "silences",
        "params": {"noise_db": -30, "min_silence_ms": 500},
        "result": [[2000, 4000]],
    }


@pytest.mark.anyio
async def test_subtitles_read_utf8_or_windows_1252(tmp_path: Path) -> None:
    """Subtitle files are decoded as UTF-8 (with or without BOM), else as Windows-1252."""
    utf8 = tmp_path / "a.srt"
    utf8.write_bytes("\ufeff1\n00:00:01,000 --> 00:00:02,500\nÉté\n".encode())
    legacy = tmp_path / "b.srt"
    legacy.write_bytes("1\n00:00:00,000 --> 00:00:01,000\ncafé\n".encode("cp1252"))
    analyzer = SessionAnalyzer({})
    [cue] = await analyzer.subtitles(_ref("m_s", utf8))
    assert cue == TimedText(1000, 2500, "Été")
    [cue] = await analyzer.subtitles(_ref("m_t", legacy))
    assert cue.text == "café"
