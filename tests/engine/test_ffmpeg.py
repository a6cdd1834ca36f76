"""Finding and running ffmpeg (and, for the plumbing, any program)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from nemo_mcp.engine import ffmpeg
from nemo_mcp.engine.ffmpeg import FFmpegError, FFmpegNotFound, error_message, run_ffmpeg, scrub_paths


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_find_ffmpeg_default() -> None:
    """Without an override some ffmpeg is found and it is a file."""
    assert Path(ffmpeg.find_ffmpeg()).is_file()


def test_find_ffmpeg_override(monkeypatch: pytest.MonkeyPatch) -> None:
    """NEMO_FFMPEG wins over every other place."""
    real = ffmpeg.find_ffmpeg()
    monkeypatch.setenv("NEMO_FFMPEG", real)
    assert ffmpeg.find_ffmpeg() == real


def test_find_ffmpeg_bad_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An override that points nowhere is reported by file name only."""
    monkeypatch.setenv("NEMO_FFMPEG", str(tmp_path / "secret-dir" / "myffmpeg"))
    with pytest.raises(FFmpegNotFound) as caught:
        ffmpeg.find_ffmpeg()
    assert "myffmpeg" in str(caught.value)
    assert "secret-dir" not in str(caught.value)


@pytest.fixture
def fresh_lookup() -> Iterator[None]:
    """Forget the cached binary and versions before and after the test."""
    ffmpeg._default_ffmpeg.cache_clear()
    ffmpeg._version_of.cache_clear()
    yield
    ffmpeg._default_ffmpeg.cache_clear()
    ffmpeg._version_of.cache_clear()


def _fake_ffmpeg(folder: Path, version: str) -> Path:
    folder.mkdir()
    exe = folder / "ffmpeg"
    exe.write_text(f"#!/bin/sh\necho 'ffmpeg version {version} Copyright (c) the FFmpeg developers'\n")
    exe.chmod(0o755)
    return exe


@pytest.mark.skipif(sys.platform == "win32", reason="uses a shell script as a fake ffmpeg")
@pytest.mark.usefixtures("fresh_lookup")
def test_old_ffmpeg_on_path_is_passed_over(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An ffmpeg on PATH older than 4.4 loses to the bundled one; a recent one wins."""
    monkeypatch.delenv("NEMO_FFMPEG", raising=False)
    old = _fake_ffmpeg(tmp_path / "old", "4.2.7-0ubuntu0.1")
    monkeypatch.setenv("PATH", f"{old.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    assert ffmpeg.find_ffmpeg() != str(old)
    ffmpeg._default_ffmpeg.cache_clear()
    new = _fake_ffmpeg(tmp_path / "new", "n7.1")
    monkeypatch.setenv("PATH", f"{new.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    assert ffmpeg.find_ffmpeg() == str(new)


def test_ffmpeg_version() -> None:
    """The bundled ffmpeg reports a version."""
    version = ffmpeg.ffmpeg_version()
    assert version is not None
    assert version >= (4, 0)


@pytest.mark.anyio
async def test_failure_message_is_short_and_scrubbed(tmp_path: Path) -> None:
    """A failed run raises with ffmpeg's reason and the file's name, not its folder."""
    missing = tmp_path / "private folder" / "holiday.mp4"
    with pytest.raises(FFmpegError) as caught:
        await run_ffmpeg(ffmpeg.ffmpeg_command("-i", str(missing), "-f", "null", "-"))
    message = str(caught.value)
    assert "holiday.mp4" in message
    assert "No such file" in message
    assert "private folder" not in message
    assert caught.value.returncode not in (None, 0)


def test_error_message_prefers_the_reason() -> None:
    """The line that says why wins over later generic lines and stats."""
    tail = [
        "[in#0 @ 0x55d] moov atom not found",
        "frame=   10 fps=0.0 q=0.0 size=0kB time=00:00:00.00",
        "Conversion failed!",
    ]
    assert error_message(tail) == "moov atom not found"
    assert error_message([]) == "ffmpeg failed without saying why"


def test_scrub_paths() -> None:
    """Known paths (even with spaces) and other absolute paths shrink to their file names."""
    argv = ["-i", "/home/ann/My Videos/clip one.mp4"]
    text = "Error opening /home/ann/My Videos/clip one.mp4 and /var/tmp/x/other.mov, C:\\Users\\bob\\a.mp4"
    assert scrub_paths(text, argv) == "Error opening clip one.mp4 and other.mov, a.mp4"


@pytest.mark.anyio
async def test_lines_are_split_and_capped() -> None:
    """Output is split on \\n and \\r, and an endless line is cut instead of accumulated."""
    lines: list[str] = []

    async def keep(line: str) -> None:
        lines.append(line)

    code = "import sys; sys.stdout.write('a\\rb\\n' + 'x' * 100000 + '\\nend')"
    await run_ffmpeg(_python(code), on_stdout_line=keep)
    assert lines[:2] == ["a", "b"]
    assert lines[2] == "x" * ffmpeg.MAX_LINE_CHARS
    assert lines[3] == "end"


@pytest.mark.anyio
async def test_cancellation_kills_the_process() -> None:
    """Cancelling a run kills the child and waits for it before returning."""
    pids: list[int] = []

    async def keep(line: str) -> None:
        pids.append(int(line))

    code = "import os, sys, time; print(os.getpid(), flush=True); time.sleep(60)"
    with anyio.move_on_after(30) as scope:
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: run_ffmpeg(_python(code), on_stdout_line=keep))
            while not pids:
                await anyio.sleep(0.01)
            tg.cancel_scope.cancel()
    assert not scope.cancelled_caught
    with pytest.raises(ProcessLookupError):
        os.kill(pids[0], 0)


@pytest.mark.anyio
async def test_failing_callback_stops_the_process() -> None:
    """A callback's own exception comes out unwrapped, and the child is gone."""
    pids: list[int] = []

    async def fail(line: str) -> None:
        pids.append(int(line))
        raise RuntimeError("enough")

    code = "import os, time; print(os.getpid(), flush=True); time.sleep(60)"
    with anyio.fail_after(30), pytest.raises(RuntimeError, match="enough"):
        await run_ffmpeg(_python(code), on_stdout_line=fail)
    with pytest.raises(ProcessLookupError):
        os.kill(pids[0], 0)


@pytest.mark.anyio
async def test_unchecked_run_returns_status() -> None:
    """With check=False a non-zero exit is returned, with the tail of stderr."""
    result = await run_ffmpeg(
        _python("import sys; sys.stderr.write('bad thing\\n'); sys.exit(3)"), check=False
    )
    assert result.returncode == 3
    assert result.stderr_tail == ("bad thing",)
