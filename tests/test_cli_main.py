"""The command line: each command's own --help, flags before or after the command, the terminal hint."""

from __future__ import annotations

import io
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nemo_mcp.cli.main import _COMMANDS, _parser, _settings, main, terminal_hint


def _help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("command", list(_COMMANDS))
def test_each_command_has_its_own_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`nemo-mcp <command> --help` shows that command's usage and description, not the global help."""
    text = _help([command, "--help"], capsys)
    assert text.startswith(f"usage: nemo-mcp {command} ")
    assert " ".join(_COMMANDS[command][1].split()[:6]) in " ".join(text.split())
    assert "commands (each has its own --help" not in text  # the global epilog


def test_command_help_lists_only_its_flags(capsys: pytest.CaptureFixture[str]) -> None:
    """demo offers --out and no transport flags; local-backend offers --port and no --backend."""
    demo = _help(["demo", "--help"], capsys)
    assert "--out" in demo and "--transport" not in demo
    engine = _help(["local-backend", "--help"], capsys)
    assert "--port" in engine and "--backend" not in engine


def test_global_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    """`nemo-mcp --help` names every command."""
    text = _help(["--help"], capsys)
    for command in _COMMANDS:
        assert f"nemo-mcp {command}" in text or f"    {command} " in text


@pytest.mark.parametrize(
    "argv",
    [
        ["--backend", "local", "doctor"],
        ["doctor", "--backend", "local"],
        ["--backend", "local"],
        ["serve", "--backend", "local"],
    ],
)
def test_flags_work_before_or_after_the_command(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A flag given before the command is not reset by the command's parser, and vice versa."""
    monkeypatch.delenv("NEMO_BACKEND", raising=False)
    assert _settings(_parser().parse_args(argv)).backend == "local"


def test_demo_out_is_read_after_the_command() -> None:
    """`nemo-mcp demo --out DIR` reaches the demo; other commands leave it unset."""
    assert _parser().parse_args(["demo", "--out", "x"]).out == "x"
    assert _parser().parse_args(["doctor"]).out is None


class _Stdin(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_terminal_hint_only_for_a_terminal() -> None:
    """A terminal on stdin gets the one-line hint naming doctor, demo and the Inspector; a host's pipe gets none."""
    hint = terminal_hint(_Stdin(tty=True))
    assert hint is not None and "\n" not in hint
    for way in ("nemo-mcp doctor", "nemo-mcp demo", "npx @modelcontextprotocol/inspector"):
        assert way in hint
    assert terminal_hint(_Stdin(tty=False)) is None
    assert terminal_hint(None) is None


@pytest.mark.skipif(os.name == "nt", reason="pseudo-terminals are POSIX")
def test_server_in_a_terminal_prints_the_hint_on_stderr(tmp_path: Path) -> None:
    """`nemo-mcp` started with a terminal on stdin writes the hint to stderr and nothing to stdout."""
    import pty

    leader, follower = pty.openpty()
    env = {
        **os.environ,
        "NEMO_MCP_HOME": str(tmp_path),
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "nemo_mcp"],
        stdin=follower,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    os.close(follower)
    try:
        assert proc.stderr is not None
        line = b""
        deadline = time.monotonic() + 30
        while not line.endswith(b"\n") and time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stderr], [], [], 1)
            if ready:
                chunk = os.read(proc.stderr.fileno(), 4096)
                if not chunk:
                    break
                line += chunk
        assert b"speaks MCP" in line and b"nemo-mcp doctor" in line, line
        assert proc.poll() is None  # still serving: the hint does not stop it
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
        os.close(leader)
    assert out == b""
