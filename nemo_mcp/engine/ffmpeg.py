"""Finding and running the ffmpeg binary.

The binary is looked up once: ``NEMO_FFMPEG`` (a path), then ``ffmpeg`` on ``PATH``, then the
copy inside the ``imageio-ffmpeg`` wheel, so a plain ``pip install`` is enough. That wheel has
no ffprobe; facts about a file are read with PyAV instead (see ``engine.media.probe``), and
the binary is run for the work that is ffmpeg's own: filters, encoding and rendering.

:func:`run_ffmpeg` runs one process with anyio. Its output is read line by line as it comes
and handed to callbacks; only a short tail of stderr is kept, so a run of hours cannot grow
memory. Whatever ends the run early (cancellation, a failing callback, a timeout) kills the
process and waits for it before the exception goes on, so no ffmpeg outlives its caller.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import shutil
import subprocess
import sys
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import anyio
import anyio.abc

logger = logging.getLogger(__name__)

LineHandler = Callable[[str], Awaitable[None]]
DataHandler = Callable[[bytes], Awaitable[None]]

# A single stderr "line" longer than this is cut: ffmpeg never needs more, a hostile file's
# metadata might try to send more.
MAX_LINE_CHARS = 8192
_READ_SIZE = 65536
_TAIL_LINES = 40
_MESSAGE_CHARS = 240
# How long a killed ffmpeg may take to go away before we stop waiting for it.
_KILL_WAIT_S = 10.0


class FFmpegError(Exception):
    """ffmpeg could not be found, or a run of it failed.

    ``str(exc)`` is short and fit for a user: ffmpeg's last meaningful line, with every
    path reduced to its file name. ``returncode`` is None when the process never ran or
    was stopped by us; ``stderr_tail`` keeps the last lines (paths included) for logs.
    """

    def __init__(
        self, message: str, *, returncode: int | None = None, stderr_tail: Sequence[str] = ()
    ) -> None:
        super().__init__(message)
        self.message = message
        self.returncode = returncode
        self.stderr_tail = tuple(stderr_tail)


class FFmpegNotFound(FFmpegError):
    """No ffmpeg binary is available."""


@dataclass(frozen=True)
class FFmpegResult:
    """How a finished run ended; ``stderr_tail`` holds its last non-progress lines."""

    returncode: int
    stderr_tail: tuple[str, ...]


def find_ffmpeg() -> str:
    """The ffmpeg binary to run: ``NEMO_FFMPEG``, else PATH, else the imageio-ffmpeg copy."""
    override = os.environ.get("NEMO_FFMPEG", "").strip()
    if override:
        # An explicit setting that points nowhere is a mistake to report, not to paper over.
        resolved = shutil.which(override)
        if resolved is None:
            raise FFmpegNotFound(
                f"NEMO_FFMPEG is set to {Path(override).name!r}, which is not an executable ffmpeg: "
                "fix the path or unset NEMO_FFMPEG."
            )
        return resolved
    return _default_ffmpeg()


# Options the engine relies on (amix normalize=, -stats_period) arrived in ffmpeg 4.4.
MIN_VERSION = (4, 4)


@functools.cache
def _default_ffmpeg() -> str:
    on_path = shutil.which("ffmpeg")
    bundled = _bundled_ffmpeg()
    if on_path:
        version = _version_of(on_path)
        if bundled is None or version is None or version >= MIN_VERSION:
            return on_path
        logger.info("ffmpeg on PATH is version %d.%d, too old; using the bundled one", *version)
    if bundled:
        return bundled
    raise FFmpegNotFound(
        "ffmpeg was not found: reinstall nemo-mcp (its imageio-ffmpeg dependency ships one), "
        "install ffmpeg on the PATH, or point NEMO_FFMPEG at a binary."
    )


def _bundled_ffmpeg() -> str | None:
    try:
        import imageio_ffmpeg

        exe = imageio_ffmpeg.get_ffmpeg_exe()
    except Exception as exc:  # it raises RuntimeError, but a broken install may raise anything
        logger.debug("imageio-ffmpeg has no usable binary: %s", exc)
        return None
    return exe if isinstance(exe, str) and exe else None


def ffmpeg_command(*args: str) -> list[str]:
    """A full argv: the binary, flags every run wants, then ``args``."""
    # -nostdin: ffmpeg must never wait for a keypress or eat a terminal's input.
    return [find_ffmpeg(), "-hide_banner", "-nostdin", *args]


async def run_ffmpeg(
    argv: Sequence[str],
    *,
    on_stderr_line: LineHandler | None = None,
    on_stdout_line: LineHandler | None = None,
    on_stdout_data: DataHandler | None = None,
    check: bool = True,
    cwd: Path | None = None,
) -> FFmpegResult:
    """Run ``argv`` (binary first) to completion, streaming its output to the callbacks.

    stdout is read only when a stdout callback is given (lines or raw chunks, not both);
    stderr is always read, split on ``\\n`` and ``\\r`` (ffmpeg's stats use the latter).
    A callback is awaited before more output is read, which throttles ffmpeg instead of
    buffering. With ``check`` a non-zero exit raises :class:`FFmpegError`. For a time limit,
    wrap the call in ``anyio.fail_after``: the process is killed on the way out.
    """
    if on_stdout_line is not None and on_stdout_data is not None:
        raise ValueError("give on_stdout_line or on_stdout_data, not both")
    argv = list(argv)
    tail: deque[str] = deque(maxlen=_TAIL_LINES)
    wants_stdout = on_stdout_line is not None or on_stdout_data is not None
    logger.debug("running %s", _loggable(argv))
    process = await _start(argv, wants_stdout=wants_stdout, cwd=cwd)

    async def pump_stderr(stream: anyio.abc.ByteReceiveStream) -> None:
        async def keep(line: str) -> None:
            if not _is_noise(line):
                tail.append(line)
            if on_stderr_line is not None:
                await on_stderr_line(line)

        await _read_lines(stream, keep)

    try:
        async with anyio.create_task_group() as tg:
            assert process.stderr is not None
            tg.start_soon(pump_stderr, process.stderr)
            if process.stdout is not None:
                if on_stdout_data is not None:
                    tg.start_soon(_read_chunks, process.stdout, on_stdout_data)
                elif on_stdout_line is not None:
                    tg.start_soon(_read_lines, process.stdout, on_stdout_line)
        returncode = await process.wait()
    except BaseExceptionGroup as group:
        # A failing callback: stop ffmpeg, then raise what the callback raised, not a wrapper.
        await _kill(process)
        raise _sole(group) from None
    except BaseException:
        # Cancellation (a caller's fail_after included): the process must not outlive us.
        await _kill(process)
        raise
    finally:
        with anyio.CancelScope(shield=True):
            await process.aclose()

    result = FFmpegResult(returncode=returncode, stderr_tail=tuple(tail))
    if check and returncode != 0:
        raise FFmpegError(
            error_message(result.stderr_tail, argv), returncode=returncode, stderr_tail=result.stderr_tail
        )
    return result


# Linux: ffmpeg is started through this few-line shim, which asks the kernel to SIGKILL it
# when the thread that started it dies (PR_SET_PDEATHSIG survives exec), then becomes
# ffmpeg. So a server killed with SIGKILL, which can run no clean-up of its own, still
# takes its ffmpeg with it. If the parent is already gone by then, it exits at once.
_PDEATHSIG_SHIM = (
    "import ctypes,os,signal,sys\n"
    "ctypes.CDLL(None,use_errno=True).prctl(1,signal.SIGKILL,0,0,0)\n"
    "if os.getppid()!=int(sys.argv[1]):os._exit(137)\n"
    "try:os.execv(sys.argv[2],sys.argv[2:])\n"
    "except OSError as e:sys.stderr.write(f'cannot start ffmpeg: {e.strerror}\\n');os._exit(127)\n"
)


def tied_to_parent(argv: Sequence[str]) -> list[str]:
    """``argv`` made to die with this process where the OS allows it (Linux); unchanged elsewhere."""
    if sys.platform != "linux" or not sys.executable:
        return list(argv)
    return [sys.executable, "-I", "-S", "-c", _PDEATHSIG_SHIM, str(os.getpid()), *argv]


async def _start(argv: list[str], *, wants_stdout: bool, cwd: Path | None) -> anyio.abc.Process:
    try:
        return await anyio.open_process(
            tied_to_parent(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if wants_stdout else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=cwd,
        )
    except OSError as exc:
        raise FFmpegNotFound(f"ffmpeg could not be started ({exc.strerror or exc}).") from exc


def _sole(group: BaseExceptionGroup[BaseException]) -> BaseException:
    exc: BaseException = group
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


async def _kill(process: anyio.abc.Process) -> None:
    with anyio.CancelScope(shield=True):
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            with anyio.move_on_after(_KILL_WAIT_S):
                await process.wait()
            if process.returncode is None:
                logger.warning("ffmpeg (pid %s) did not exit after being killed", process.pid)


async def _read_chunks(stream: anyio.abc.ByteReceiveStream, handler: DataHandler) -> None:
    async for chunk in stream:
        await handler(chunk)


async def _read_lines(stream: anyio.abc.ByteReceiveStream, handler: LineHandler) -> None:
    """Hand each line to ``handler``; over-long lines are cut, never accumulated."""
    pending = bytearray()
    overflow = False
    async for chunk in stream:
        start = 0
        for match in _LINE_END.finditer(chunk):
            piece = chunk[start : match.start()]
            start = match.end()
            if not overflow:
                pending += piece[: MAX_LINE_CHARS - len(pending)]
            line = pending.decode("utf-8", errors="replace")
            pending.clear()
            overflow = False
            await handler(line)
        rest = chunk[start:]
        if not overflow:
            room = MAX_LINE_CHARS - len(pending)
            pending += rest[:room]
            overflow = len(rest) > room
    if pending:
        await handler(pending.decode("utf-8", errors="replace"))


_LINE_END = re.compile(rb"\r\n|\r|\n")

# Lines that say nothing about why a run failed: stats, banners, generic epilogues.
_NOISE = re.compile(
    r"^\s*$|^\s*(frame|size|video|Lsize)\s*=|^\s*\[out#\d+/\w+ @ [^\]]*\] video:|"
    r"^Press \[q\]|^Conversion failed!?$|^Exiting normally|^\s*(Metadata|Stream mapping|Duration):",
)
# Words that mark the line that says why.
_ERROR_WORDS = re.compile(
    r"error|invalid|no such|not found|denied|unable|cannot|can't|could not|failed|does not|"
    r"unsupported|unknown|no space|moov atom|corrupt|truncat|partial file|not supported|too many",
    re.IGNORECASE,
)
_CONTEXT_PREFIX = re.compile(r"^(\s*\[[^\]]*@ ?(0x)?[0-9a-fA-F]*\]\s*)+")
_POSIX_PATH = re.compile(r"(?<![\w.~-])/(?:[^/\s'\"`,;:]+/)+([^/\s'\"`,;:]*)")
_WINDOWS_PATH = re.compile(r"\b[A-Za-z]:\\(?:[^\\\s'\"`,;:]+\\)+([^\\\s'\"`,;:]*)")


def _is_noise(line: str) -> bool:
    return bool(_NOISE.search(line))


def scrub_paths(text: str, argv: Sequence[str] = ()) -> str:
    """Reduce every file path in ``text`` to its file name.

    Paths that appear in ``argv`` are replaced exactly first (they may contain spaces),
    then anything else that looks like an absolute path.
    """
    known = sorted({a for a in argv if (os.sep in a or "/" in a) and len(a) > 1}, key=len, reverse=True)
    for path in known:
        if path in text:
            text = text.replace(path, Path(path).name or path)
    text = _POSIX_PATH.sub(lambda m: m.group(1), text)
    return _WINDOWS_PATH.sub(lambda m: m.group(1), text)


def error_message(tail: Sequence[str], argv: Sequence[str] = (), *, name_input: bool = True) -> str:
    """The most telling line of a failed run, short and without directory names.

    With ``name_input`` the name of the input file it failed on is added when the line lacks it.
    """
    candidates = [line for line in tail if not _is_noise(line)]
    chosen = next((line for line in reversed(candidates) if _ERROR_WORDS.search(line)), None)
    if chosen is None:
        chosen = candidates[-1] if candidates else "ffmpeg failed without saying why"
    chosen = _CONTEXT_PREFIX.sub("", chosen).strip()
    # ffmpeg's summary lines repeat the reason after a generic lead-in.
    for lead in ("Error opening input files: ", "Error opening output files: "):
        if chosen.startswith(lead):
            chosen = chosen[len(lead) :]
    chosen = scrub_paths(chosen, argv)
    subject = _failed_input(tail, argv) if name_input else None
    if subject and subject not in chosen:
        chosen = f"{chosen} ({subject})"
    if len(chosen) > _MESSAGE_CHARS:
        chosen = chosen[: _MESSAGE_CHARS - 1] + "…"
    return chosen


_OPENING_INPUT = re.compile(r"Error opening input file (.+?)\.?$")


def _failed_input(tail: Sequence[str], argv: Sequence[str]) -> str | None:
    """The file name of the input a run failed on, when ffmpeg says so or there is only one."""
    for line in reversed(tail):
        if m := _OPENING_INPUT.search(line):
            return Path(m.group(1)).name
    inputs = [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg == "-i"]
    real = [name for name in inputs if not name.startswith(("pipe:", "-"))]
    return Path(real[0]).name if len(real) == 1 else None


def _loggable(argv: Sequence[str]) -> str:
    # A filter graph can be tens of kilobytes; the log needs its shape, not all of it.
    return " ".join(a if len(a) <= 300 else a[:300] + "…" for a in argv)


@functools.cache
def _version_of(exe: str) -> tuple[int, int] | None:
    try:
        done = subprocess.run(
            [exe, "-hide_banner", "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    first = done.stdout.splitlines()[0] if done.stdout else ""
    if m := re.search(r"version n?(\d+)\.(\d+)", first):
        return int(m.group(1)), int(m.group(2))
    # Builds from git master say "version N-123456-g…": newer than any release.
    if re.search(r"version N-\d+", first):
        return (99, 0)
    return None


def ffmpeg_version() -> tuple[int, int] | None:
    """(major, minor) of the binary :func:`find_ffmpeg` picks, or None if it does not say.

    Runs ``ffmpeg -version`` synchronously the first time per binary (tens of ms).
    """
    return _version_of(find_ffmpeg())
