"""``nemo-mcp doctor``: the lines it prints, its exit code, and that it never shows a token.

The local backend is the real embedded engine on 127.0.0.1; the cloud backend is a plain HTTP
server on loopback (``NEMO_API_BASE`` may be ``http://`` to a loopback host), so nothing here
needs the internet.
"""

from __future__ import annotations

import io
import os
import socket
import stat
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pydantic import SecretStr

from nemo_mcp import __version__
from nemo_mcp.cli.doctor import REQUIRED_ENCODERS, REQUIRED_FILTERS, run_doctor
from nemo_mcp.config import Settings

SECRET = "nmv_usr_doctorSECRETzq81"
posix_only = pytest.mark.skipif(os.name == "nt", reason="POSIX file modes and shell scripts")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No NEMO_* variable of the developer's shell leaks in; the working folder is a tmp one."""
    for name in list(os.environ):
        if name.startswith("NEMO_"):
            monkeypatch.delenv(name)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)


class _Quiet(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"detail":"Not Found"}'
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def cloud_base() -> Iterator[str]:
    """A loopback HTTP server standing in for the cloud base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def _doctor(settings: Settings, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = run_doctor(settings)
    out = capsys.readouterr().out
    return code, out.splitlines()


def _line(lines: list[str], start: str | tuple[str, ...]) -> str:
    found = [line for line in lines if line.startswith(start)]
    assert len(found) == 1, f"expected one line starting {start!r} in:\n" + "\n".join(lines)
    return found[0]


def test_local_backend_ready(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With the bundled ffmpeg and the embedded engine, every check passes and the exit code is 0."""
    home = tmp_path / "home"
    code, lines = _doctor(Settings(home=home, backend="local"), capsys)
    text = "\n".join(lines)
    assert code == 0, text
    assert lines[0] == f"nemo-mcp doctor: local backend, state folder {home}"
    assert _line(lines, "✓ Python: ").endswith(".".join(map(str, sys.version_info[:3])))
    assert _line(lines, "✓ packages: ").startswith(f"✓ packages: nemo-mcp {__version__}, mcp 2.")
    store = _line(lines, "✓ state store: ")
    assert str(home / "state.sqlite3") in store and "created" in store
    if os.name != "nt":
        assert "file 0600, folder 0700" in store
    assert _line(lines, "✓ ffmpeg: ")
    assert _line(lines, "✓ ffmpeg features: ") == "✓ ffmpeg features: " + ", ".join(
        [*REQUIRED_ENCODERS, *REQUIRED_FILTERS]
    )
    assert _line(lines, "✓ local engine: ").startswith("✓ local engine: started on 127.0.0.1 and answered")
    assert _line(lines, "✓ client id: ") == "✓ client id: kept in the state store"
    assert _line(lines, "✓ token: ").startswith("✓ token: one from the local engine is kept, valid until ")
    assert str(Path.cwd().resolve()) in _line(lines, "✓ upload folders: ")
    assert lines[-1] == "Ready: everything the local backend needs is in place."
    assert not [line for line in lines if line.startswith(("✗", "!"))]
    assert len(lines) <= 25


def test_local_backend_never_prints_the_token(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """NEMO_TOKEN is described as set with its length; no part of its value is ever printed."""
    settings = Settings(home=tmp_path / "home", backend="local", token=SecretStr(SECRET))
    _, lines = _doctor(settings, capsys)
    text = "\n".join(lines)
    assert SECRET not in text
    assert SECRET[-4:] not in text and SECRET[:12] not in text
    assert (
        _line(lines, "✓ token: ")
        == f"✓ token: set in NEMO_TOKEN ({len(SECRET)} characters); no anonymous token is used"
    )
    # Whether the local engine accepts a cloud token is the session manager's call; if it
    # refuses it, doctor must say that NEMO_TOKEN is the reason.
    engine = _line(lines, ("✓ local engine: ", "✗ local engine: "))
    if engine.startswith("✗"):
        assert "NEMO_TOKEN" in engine and "fix: unset NEMO_TOKEN" in text


def test_cloud_reachable_with_token(
    tmp_path: Path, cloud_base: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A backend that answers any HTTP status is reachable; the token stays hidden; exit code 0."""
    settings = Settings(home=tmp_path / "home", api_base=cloud_base, token=SecretStr(SECRET))
    code, lines = _doctor(settings, capsys)
    text = "\n".join(lines)
    assert code == 0, text
    assert SECRET not in text and SECRET[-4:] not in text
    assert _line(lines, "✓ backend: ").startswith(f"✓ backend: {cloud_base} answered (HTTP 404) in ")
    assert _line(lines, "✓ client id: ") == "✓ client id: none yet; one is made on first start and kept"
    assert lines[-1] == "Ready: everything the cloud backend needs is in place."


def test_empty_token_fails(tmp_path: Path, cloud_base: str, capsys: pytest.CaptureFixture[str]) -> None:
    """An empty NEMO_TOKEN (a config with "NEMO_TOKEN": "") is caught before any request fails on it."""
    settings = Settings(home=tmp_path / "home", api_base=cloud_base, token=SecretStr(""))
    code, lines = _doctor(settings, capsys)
    assert code == 1
    line = _line(lines, "✗ token: ")
    assert "empty" in line
    assert "remove NEMO_TOKEN" in lines[lines.index(line) + 1]


def test_http_transport_off_loopback_needs_a_token(
    tmp_path: Path, cloud_base: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Serving HTTP beyond loopback without NEMO_MCP_AUTH_TOKEN fails; with one it passes, unprinted."""
    common = {"home": tmp_path / "home", "api_base": cloud_base, "transport": "http", "host": "0.0.0.0"}
    code, lines = _doctor(Settings(**common), capsys)  # type: ignore[arg-type]
    assert code == 1
    line = _line(lines, "✗ HTTP transport: ")
    assert "http://0.0.0.0:8765/mcp" in line and "NEMO_MCP_AUTH_TOKEN" in lines[lines.index(line) + 1]

    code, lines = _doctor(Settings(**common, mcp_auth_token=SecretStr(SECRET)), capsys)  # type: ignore[arg-type]
    assert code == 0
    assert "bearer token" in _line(lines, "✓ HTTP transport: ")
    assert SECRET not in "\n".join(lines) and SECRET[-4:] not in "\n".join(lines)


def test_cloud_unreachable_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A base URL nobody answers on is reported unreachable with a fix, and the exit code is 1."""
    base = f"http://127.0.0.1:{_closed_port()}"
    code, lines = _doctor(Settings(home=tmp_path / "home", api_base=base), capsys)
    assert code == 1
    line = _line(lines, "✗ backend: ")
    assert base in line and ("unreachable" in line or "did not answer" in line)
    fix = lines[lines.index(line) + 1]
    assert fix.startswith("    fix: ") and "--backend local" in fix
    assert lines[-1] == "Not ready: 1 problem marked ✗ for the cloud backend."
    assert (
        _line(lines, "✓ token: ")
        == "✓ token: none yet; a free anonymous one (100 credits, 7 days) is requested on first use"
    )


def test_local_engine_that_cannot_load_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the embedded engine's module cannot be imported, doctor says so and exits 1."""
    monkeypatch.setitem(sys.modules, "nemo_mcp.engine.http", None)
    code, lines = _doctor(Settings(home=tmp_path / "home", backend="local"), capsys)
    assert code == 1
    assert _line(lines, "✗ local engine: ").startswith(
        "✗ local engine: cannot be loaded (ModuleNotFoundError"
    )
    assert lines[lines.index(_line(lines, "✗ local engine: ")) + 1].startswith("    fix: reinstall nemo-mcp")


def test_missing_ffmpeg_fails_local(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """NEMO_FFMPEG pointing nowhere is a failure for the local backend, with the fix to apply."""
    monkeypatch.setenv("NEMO_FFMPEG", str(tmp_path / "no-such-ffmpeg"))
    code, lines = _doctor(Settings(home=tmp_path / "home", backend="local"), capsys)
    assert code == 1
    line = _line(lines, "✗ ffmpeg: ")
    assert line == "✗ ffmpeg: not found"
    assert "NEMO_FFMPEG" in lines[lines.index(line) + 1]


@posix_only
def test_incomplete_ffmpeg_is_only_a_note_for_cloud(
    tmp_path: Path, cloud_base: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ffmpeg without the needed encoders and filters is named, with the bundled copy as the fix."""
    fake = tmp_path / "ffmpeg"
    fake.write_text(
        "#!/bin/sh\n"
        'case "$2" in\n'
        "  -version) echo 'ffmpeg version 4.2.7-0ubuntu0.1 Copyright (c) 2000-2022' ;;\n"
        "  -encoders) printf ' A....D aac   AAC\\n' ;;\n"
        "  -filters) printf ' .. loudnorm  A->A  EBU R128\\n' ;;\n"
        "esac\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("NEMO_FFMPEG", str(fake))
    code, lines = _doctor(Settings(home=tmp_path / "home", api_base=cloud_base), capsys)
    assert code == 0
    assert _line(lines, "✓ ffmpeg: ") == f"✓ ffmpeg: 4.2.7, from NEMO_FFMPEG ({fake})"
    line = _line(lines, "! ffmpeg features: ")
    assert line == (
        "! ffmpeg features: missing libx264, drawtext, subtitles, silencedetect, scdet "
        "(only the local backend needs it)"
    )
    assert "NEMO_FFMPEG=" in lines[lines.index(line) + 1]
    assert lines[-1].startswith("Ready: everything the cloud backend needs is in place (1 note marked !)")


@posix_only
def test_open_state_folder_is_a_note(
    tmp_path: Path, cloud_base: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A state folder others can list is flagged with the chmod that fixes it; the file stays 0600."""
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    code, lines = _doctor(Settings(home=home, api_base=cloud_base), capsys)
    assert code == 0
    line = _line(lines, "! state store: ")
    assert "file 0600, folder 0755" in line and "other users can list the folder" in line
    assert lines[lines.index(line) + 1] == f"    fix: chmod 700 {home}"
    assert stat.S_IMODE((home / "state.sqlite3").stat().st_mode) == 0o600


def test_unwritable_home_fails(tmp_path: Path, cloud_base: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A state folder that cannot be created fails the run and points at NEMO_MCP_HOME."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code, lines = _doctor(Settings(home=blocker / "home", api_base=cloud_base), capsys)
    assert code == 1
    line = _line(lines, "✗ state store: ")
    assert "NEMO_MCP_HOME" in lines[lines.index(line) + 1]
    assert not [line for line in lines if line.startswith(("✓ token", "✓ client id"))]


def test_upload_roots_in_effect(tmp_path: Path, cloud_base: str, capsys: pytest.CaptureFixture[str]) -> None:
    """NEMO_UPLOAD_ROOTS folders are listed; one that does not exist is flagged."""
    videos = tmp_path / "my videos"
    videos.mkdir()
    code, lines = _doctor(Settings(home=tmp_path / "h", api_base=cloud_base, upload_roots=[videos]), capsys)
    assert code == 0
    assert str(videos) in _line(lines, "✓ upload folders: ")

    gone = tmp_path / "gone"
    _, lines = _doctor(Settings(home=tmp_path / "h", api_base=cloud_base, upload_roots=[gone]), capsys)
    assert (
        _line(lines, "! upload folders: ")
        == f"! upload folders: NEMO_UPLOAD_ROOTS names missing folders: {gone}"
    )


def test_plain_marks_on_a_legacy_console(tmp_path: Path, cloud_base: str) -> None:
    """A console that cannot encode ✓ gets plain OK/X/! marks instead of an encoding error."""
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="cp1252")
    code = run_doctor(Settings(home=tmp_path / "h", api_base=cloud_base), out=out)
    out.flush()
    text = raw.getvalue().decode("cp1252")
    assert code == 0
    assert "OK Python: " in text and "✓" not in text


def _section(lines: list[str], header: str) -> list[str]:
    """The lines under a backend's header, up to the next header or the verdict."""
    start = lines.index(header) + 1
    end = next(
        (
            i
            for i in range(start, len(lines))
            if lines[i].endswith("):") or lines[i].startswith(("Ready", "Not"))
        ),
        len(lines),
    )
    return lines[start:end]


def test_first_run_checks_both_backends_and_names_the_ready_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no backend chosen and no internet, the local backend is checked too and the run passes on it."""
    base = f"http://127.0.0.1:{_closed_port()}"
    code = run_doctor(Settings(home=tmp_path / "home", api_base=base), both=True)
    lines = capsys.readouterr().out.splitlines()
    assert code == 0, "\n".join(lines)
    local = _section(lines, "local backend (offline, ffmpeg on this computer):")
    cloud = _section(lines, "cloud backend (NemoVideo over the internet):")
    assert [line.split(":")[0] for line in local] == [
        "✓ ffmpeg",
        "✓ ffmpeg features",
        "✓ font",
        "✓ speech model",
        "✓ local engine",
        "✓ client id",
        "✓ token",
    ]
    assert _line(cloud, "✗ backend: ").startswith(f"✗ backend: {base}")
    assert lines[-1].startswith("Ready: the local backend works")
    assert "NEMO_BACKEND=local" in lines[-1]


def test_first_run_with_both_backends_ready(
    tmp_path: Path, cloud_base: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """When the cloud answers as well, both sections pass and the verdict says both work."""
    code = run_doctor(Settings(home=tmp_path / "home", api_base=cloud_base), both=True)
    lines = capsys.readouterr().out.splitlines()
    assert code == 0, "\n".join(lines)
    assert not [line for line in lines if line.startswith("✗")]
    assert lines[-1].startswith("Ready: both backends work")


def test_first_run_fails_when_neither_backend_works(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No ffmpeg and no cloud: exit code 1, and each backend's problem is marked in its own section."""
    monkeypatch.setenv("NEMO_FFMPEG", str(tmp_path / "no-such-ffmpeg"))
    base = f"http://127.0.0.1:{_closed_port()}"
    code = run_doctor(Settings(home=tmp_path / "home", api_base=base), both=True)
    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    assert _line(_section(lines, "local backend (offline, ffmpeg on this computer):"), "✗ ffmpeg: ")
    assert _line(_section(lines, "cloud backend (NemoVideo over the internet):"), "✗ backend: ")
    assert lines[-1].startswith("Not ready:")


@pytest.mark.parametrize(("environment", "both"), [({}, True), ({"NEMO_BACKEND": "local"}, False)])
def test_the_command_checks_both_backends_only_when_none_is_chosen(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, environment: dict[str, str], both: bool
) -> None:
    """`nemo-mcp doctor` checks both backends on a first run, and only the chosen one otherwise."""
    from nemo_mcp.cli import main as cli

    seen: list[bool] = []

    def fake_doctor(settings: Settings, *, both: bool = False) -> int:
        seen.append(both)
        return 0

    monkeypatch.setattr("nemo_mcp.cli.doctor.run_doctor", fake_doctor)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["doctor", "--home", str(tmp_path)]) == 0
    assert cli.main(["doctor", "--home", str(tmp_path), "--backend", "cloud"]) == 0
    assert seen == [both, False]


def test_missing_font_is_a_note_for_the_local_backend(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without any known font the local backend still passes, with a font note naming a package to install."""
    monkeypatch.setattr("nemo_mcp.engine.render.assets.find_font", lambda: None)
    code, lines = _doctor(Settings(home=tmp_path / "home", backend="local"), capsys)
    assert code == 0
    font = _line(lines, "! font: ")
    assert "titles" in font
    assert "fonts-dejavu-core" in lines[lines.index(font) + 1]
